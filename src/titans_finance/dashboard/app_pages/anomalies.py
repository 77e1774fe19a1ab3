"""Anomaly Detection: flagged transactions by risk, the score distribution, unusual days."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from titans_finance import domain as d
from titans_finance.dashboard import charts
from titans_finance.dashboard import palette as p
from titans_finance.dashboard.state import (
    all_transactions_or_stop,
    currency_of,
    derived,
    errors_shown,
    flash_and_rerun,
    get_client,
    model_status,
    show_flash,
    stored_predictions,
)

RISK_ORDER = ["critical", "high", "medium", "low"]
MAX_SHOWN = 500


def reasons_text(value: Any) -> str:
    """Reasons as one readable line."""
    if isinstance(value, list | tuple):
        return "; ".join(str(v) for v in value)
    return "" if value is None or value != value else str(value)


def score_threshold(scored: pd.DataFrame, status: list[dict[str, Any]]) -> float | None:
    """The model's decision threshold from its metadata, else the lowest flagged score."""
    for entry in status:
        if entry.get("model_type") == "anomaly":
            for section in ("params", "metrics"):
                value = (entry.get(section) or {}).get("threshold")
                if isinstance(value, int | float):
                    return float(value)
    flagged = scored.loc[scored["is_anomaly"].astype(bool), "anomaly_score"]
    return float(flagged.min()) if len(flagged) else None


def unusual_days(frame: pd.DataFrame, quantile: float = 0.95) -> pd.DataFrame:
    """Days whose spending or number of transactions is above the ``quantile`` of all days."""
    spend = frame.loc[frame[d.AMOUNT] < 0]
    daily = spend.groupby(spend[d.DATE].dt.normalize()).agg(
        spent=(d.AMOUNT, lambda s: -s.sum()), transactions=(d.AMOUNT, "size")
    )
    if daily.empty:
        return daily.assign(large_amount=False, high_activity=False)
    daily["large_amount"] = daily["spent"] > daily["spent"].quantile(quantile)
    daily["high_activity"] = daily["transactions"] > daily["transactions"].quantile(quantile)
    return daily


def _score_chart(scored: pd.DataFrame, threshold: float | None) -> go.Figure:
    fig = charts.binned_bars(
        scored["anomaly_score"].astype(float),
        scored["risk_level"].astype(str),
        np.linspace(0.0, 1.0, 51),
        p.RISK_COLOURS,
        order=RISK_ORDER[::-1],
    )
    fig.update_xaxes(title="anomaly score (higher = more unusual)")
    fig.update_yaxes(type="log", dtick=1, title="transactions")  # labels at powers of ten
    if threshold is not None:
        fig.add_vline(
            x=threshold,
            line_dash="dash",
            line_color=p.THRESHOLD,
            annotation_text=f"threshold {threshold:.2f}",
        )
    fig.update_layout(title="Score distribution")
    return p.style_figure(fig)


def _days_chart(days: pd.DataFrame) -> go.Figure:
    colours = [
        p.EXPENSE if large else (p.THRESHOLD if busy else p.TRANSFER)
        for large, busy in zip(days["large_amount"], days["high_activity"], strict=True)
    ]
    fig = go.Figure(
        go.Bar(
            x=days.index,
            y=days["spent"],
            marker_color=colours,
            customdata=days["transactions"],
            hovertemplate="%{x|%Y-%m-%d}: spent %{y:,.2f} in %{customdata} transactions"
            "<extra></extra>",
        )
    )
    fig.update_layout(title="Daily spending", bargap=0)
    return p.style_figure(fig)


def _mark_normal(flagged: pd.DataFrame, currency: str) -> None:
    st.subheader("This is normal")
    st.caption(
        "Mark a flagged transaction as normal: its merchant on that account stops being "
        "flagged for the same reason (stored as feedback for the anomaly model)."
    )
    labels: dict[int, str] = {
        int(row["id"]): f"#{int(row['id'])} · {row[d.DATE]:%Y-%m-%d} · {row[d.DESCRIPTION]} · "
        f"{p.money(row[d.AMOUNT], currency)}"
        for row in flagged.to_dict("records")
    }
    choice = st.selectbox(
        "Flagged transaction", list(labels), format_func=labels.__getitem__, key="normal_pick"
    )
    if st.button("Mark as normal", key="normal_button", disabled=choice is None):
        with errors_shown("mark normal"):
            get_client().mark_normal(int(choice))
            flash_and_rerun(f"Marked #{choice} as normal.", reset=("normal_pick",))


def main() -> None:
    """Render the anomaly page."""
    st.title(":material/crisis_alert: Anomaly Detection")
    show_flash()
    client = get_client()
    frame = all_transactions_or_stop(client)
    currency = currency_of(frame)
    scored = None
    with errors_shown("anomaly model"), st.spinner("Scoring every transaction…"):
        scored = stored_predictions(client, "anomaly")
    days = derived(client, "unusual_days", lambda f, _ex: unusual_days(f))
    if scored is not None:
        threshold = score_threshold(scored, model_status(client))
        flagged = scored.loc[scored["is_anomaly"].astype(bool)].copy()
        flagged["risk_level"] = pd.Categorical(
            flagged["risk_level"].astype(str), categories=RISK_ORDER, ordered=True
        )
        flagged = flagged.sort_values(["risk_level", "anomaly_score"], ascending=[True, False])
        counts = flagged["risk_level"].value_counts()
        cols = st.columns(5)
        cols[0].metric("Flagged", f"{len(flagged):,}", help=f"of {len(scored):,} transactions")
        for col, level in zip(cols[1:], RISK_ORDER, strict=True):
            col.metric(level.title(), f"{int(counts.get(level, 0)):,}")
        st.subheader("Flagged transactions")
        if len(flagged) > MAX_SHOWN:
            st.caption(f"The {MAX_SHOWN:,} riskiest of {len(flagged):,} flagged transactions.")
        flagged = flagged.head(MAX_SHOWN)
        if flagged.empty:
            st.success("No transaction is flagged.", icon=":material/check_circle:")
        else:
            st.dataframe(
                flagged.assign(reasons=flagged["reasons"].map(reasons_text))[
                    [
                        "id",
                        d.DATE,
                        d.DESCRIPTION,
                        d.AMOUNT,
                        d.ACCOUNT,
                        "risk_level",
                        "anomaly_score",
                        "reasons",
                    ]
                ],
                hide_index=True,
                height=360,
                column_config={
                    d.DATE: st.column_config.DateColumn(format="YYYY-MM-DD"),
                    d.AMOUNT: p.amount_column(currency),
                    "anomaly_score": st.column_config.ProgressColumn(
                        "score", min_value=0.0, max_value=1.0, format="%.2f"
                    ),
                    "reasons": st.column_config.TextColumn("reasons", width="large"),
                    "risk_level": st.column_config.TextColumn("risk"),
                },
                key="flagged_table",
            )
        left, right = st.columns(2)
        left.plotly_chart(_score_chart(scored, threshold), key="score_hist")
        with right:
            st.plotly_chart(_days_chart(days), key="days_chart")
            st.caption("Red: large-amount days; amber: high-activity days (above 95% of all days).")
        if not flagged.empty:
            _mark_normal(flagged, currency)
    else:
        st.plotly_chart(_days_chart(days), key="days_chart")
    with st.expander("Large-amount and high-activity days"):
        st.dataframe(
            days.loc[days["large_amount"] | days["high_activity"]].sort_index(ascending=False),
            column_config={"spent": p.amount_column(currency)},
        )


if __name__ == "__main__":  # Streamlit runs pages as __main__; imports stay inert
    main()

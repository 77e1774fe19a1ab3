"""ML Predictions: score one transaction, and review low-confidence categorisations."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from titans_finance import domain as d
from titans_finance.dashboard import charts
from titans_finance.dashboard import palette as p
from titans_finance.dashboard.state import (
    accounts_of,
    all_transactions_or_stop,
    categories_of,
    currency_of,
    errors_shown,
    flash_and_rerun,
    get_client,
    show_flash,
    stored_predictions,
)
from titans_finance.serving import records_to_frame

REVIEW_SIZE = 15
REVIEW_KEY = "review_editor"
_REVIEWED = "reviewed_ids"


def _request_form(frame: pd.DataFrame, accounts: list[str]) -> dict[str, Any] | None:
    last = frame[d.DATE].max().date()
    methods = sorted(str(m) for m in frame[d.PAYMENT_METHOD].dropna().unique())
    with st.form("predict_form", border=True):
        c1, c2, c3 = st.columns([2, 1, 1])
        description = c1.text_input("Description", value="Amazon", key="pf_description")
        amount = c2.number_input(
            "Amount", min_value=0.0, value=25.0, step=5.0, key="pf_amount", format="%.2f"
        )
        kind = c3.selectbox("Type", ["Expense", "Income", "Transfer"], key="pf_type")
        c4, c5, c6 = st.columns([1, 2, 1])
        when = c4.date_input("Date", value=last, key="pf_date")
        account = c5.selectbox("Account", accounts or [d.DEFAULT_ACCOUNT], key="pf_account")
        method = c6.selectbox("Payment method", ["(none)", *methods], key="pf_method")
        submitted = st.form_submit_button("Predict", type="primary")
    if submitted:
        st.session_state["prediction_request"] = {
            "description": description.strip(),
            "amount": float(amount),
            "type": kind,
            "date": when if isinstance(when, date) else last,
            "account": account,
            "payment_method": None if method == "(none)" else method,
        }
    request: dict[str, Any] | None = st.session_state.get("prediction_request")
    return request


def _show_category(result: pd.Series) -> None:
    st.markdown("##### Category")
    confidence = float(result.get("confidence", 0.0))
    st.metric("Predicted category", str(result["predicted_category"]))
    st.progress(
        min(max(confidence, 0.0), 1.0),
        text=f"confidence {confidence:.0%} · {result.get('confidence_level', '')}"
        f" · from {result.get('source', 'model')}",
    )
    alternatives = result.get("alternatives")
    if isinstance(alternatives, list) and alternatives:
        table = pd.DataFrame(alternatives)
        st.dataframe(
            table,
            hide_index=True,
            column_config={
                "probability": st.column_config.ProgressColumn(
                    "probability", min_value=0.0, max_value=1.0, format="percent"
                )
            },
        )


def _show_amount(result: pd.Series, currency: str) -> None:
    st.markdown("##### Amount")
    st.metric("Expected amount", p.money(float(result["predicted_amount"]), currency))
    st.caption(
        f"90% interval: {p.money(float(result['lower']), currency)} to "
        f"{p.money(float(result['upper']), currency)}"
    )


def _reasons(value: Any) -> list[str]:
    if isinstance(value, list | tuple):
        return [str(v) for v in value if str(v).strip()]
    if isinstance(value, str) and value.strip():
        return [part.strip() for part in value.split(";") if part.strip()]
    return []


def _show_anomaly(result: pd.Series) -> None:
    st.markdown("##### Anomaly check")
    score = float(result.get("anomaly_score", 0.0))
    risk = str(result.get("risk_level", "low"))
    if bool(result.get("is_anomaly")):
        st.error(f"Unusual — {risk} risk (score {score:.2f})", icon=":material/warning:")
    else:
        st.success(
            f"Looks normal — {risk} risk (score {score:.2f})", icon=":material/check_circle:"
        )
    reasons = _reasons(result.get("reasons"))
    if reasons:
        st.caption("What the model noticed:")
    for reason in reasons:
        st.markdown(f"- {reason}")


def _predict_one(request: dict[str, Any], currency: str) -> None:
    client = get_client()
    with_amount = records_to_frame([request])
    without_amount = records_to_frame([{**request, "amount": None}])
    cols = st.columns(3)
    with cols[0], errors_shown("category"):
        _show_category(client.predict("category", with_amount).iloc[0])
    with cols[1], errors_shown("amount"):
        _show_amount(client.predict("amount", without_amount).iloc[0], currency)
    with cols[2], errors_shown("anomaly"):
        _show_anomaly(client.predict("anomaly", with_amount).iloc[0])


def review_queue(scored: pd.DataFrame, reviewed: set[int], size: int = REVIEW_SIZE) -> pd.DataFrame:
    """The least confident model categorisations not yet reviewed in this session."""
    from_model = scored["source"].fillna("model") != "rule" if "source" in scored else True
    low = scored["confidence_level"].isin(
        [d.ConfidenceLevel.LOW.value, d.ConfidenceLevel.MEDIUM.value]
    ) | (scored["predicted_category"] != scored[d.CATEGORY])
    queue = scored.loc[from_model & low & ~scored["id"].isin(list(reviewed))]
    return queue.sort_values("confidence").head(size)


def _confidence_chart(scored: pd.DataFrame) -> None:
    levels = [level.value for level in d.ConfidenceLevel][::-1]
    colours = dict(zip(levels, [p.EXPENSE, p.THRESHOLD, p.NET, p.INCOME], strict=True))
    confidence = scored["confidence"].astype(float)
    low = float(np.floor(confidence.min() * 20) / 20) if len(confidence) else 0.0
    fig = charts.binned_bars(
        confidence,
        scored["confidence_level"].astype(str),
        np.linspace(min(low, 0.95), 1.0, 41),
        colours,
        order=levels,
    )
    fig.update_xaxes(title="confidence of the stored transactions' categorisation")
    fig.update_yaxes(type="log", dtick=1, title="transactions")  # the unsure few stay visible
    fig.update_layout(title="How sure the category model is")
    st.plotly_chart(p.style_figure(fig, height=300), key="confidence_chart")


def _review(currency: str, categories: list[str]) -> None:
    client = get_client()
    st.subheader("Review queue")
    show_flash()
    st.caption(
        "The categorisations the model is least sure about. Tick **save** to confirm or "
        "correct a category (stored as feedback for the next training); tick **rule** to "
        "also categorise every transaction from that merchant this way from now on."
    )
    scored = None
    with errors_shown("review queue"), st.spinner("Scoring stored transactions…"):
        scored = stored_predictions(client, "category")
    if scored is None:
        return
    _confidence_chart(scored)
    reviewed: set[int] = st.session_state.setdefault(_REVIEWED, set())
    queue = review_queue(scored, reviewed)
    if queue.empty:
        st.success(
            "Nothing to review: every categorisation is confident.", icon=":material/celebration:"
        )
        return
    table = pd.DataFrame(
        {
            "id": queue["id"].astype(int),
            "date": queue[d.DATE].dt.date,
            "description": queue[d.DESCRIPTION],
            "amount": queue[d.AMOUNT],
            "current": queue[d.CATEGORY],
            "suggested": queue["predicted_category"],
            "confidence": queue["confidence"].astype(float),
            "category": queue["predicted_category"].astype(str),
            "save": False,
            "rule": False,
        }
    ).reset_index(drop=True)
    options = sorted({*categories, *table["suggested"].astype(str)})
    edited = st.data_editor(
        table,
        key=REVIEW_KEY,
        hide_index=True,
        disabled=["id", "date", "description", "amount", "current", "suggested", "confidence"],
        column_config={
            "amount": p.amount_column(currency),
            "confidence": st.column_config.ProgressColumn(
                "confidence", min_value=0.0, max_value=1.0, format="percent"
            ),
            "category": st.column_config.SelectboxColumn(
                "category", options=options, required=True, help="The right category"
            ),
            "save": st.column_config.CheckboxColumn("save", help="Store this category"),
            "rule": st.column_config.CheckboxColumn("rule", help="Also make it a merchant rule"),
        },
    )
    if st.button("Save reviewed rows", type="primary", key="review_save"):
        saved, rules = _store_reviews(edited, queue)
        reviewed.update(saved)
        if saved:
            flash_and_rerun(
                f"Saved {len(saved)} categories and {rules} rules.", reset=(REVIEW_KEY,)
            )
        st.info("Tick **save** on the rows to store.")


def _store_reviews(edited: pd.DataFrame, queue: pd.DataFrame) -> tuple[list[int], int]:
    client = get_client()
    chosen = edited.loc[edited["save"].astype(bool) | edited["rule"].astype(bool)]
    merchants = dict(zip(queue["id"].astype(int), queue[d.MERCHANT], strict=True))
    accounts = dict(zip(queue["id"].astype(int), queue[d.ACCOUNT], strict=True))
    saved: list[int] = []
    rules = 0
    for row in chosen.to_dict("records"):  # a handful of reviewed rows, not a hot path
        tid = int(row["id"])
        category = str(row["category"])
        with errors_shown(f"transaction {tid}"):
            client.set_category(tid, category)
            saved.append(tid)
            if row["rule"]:
                merchant = merchants.get(tid)
                rule = (
                    d.CategoryRule(
                        kind=d.RuleKind.MERCHANT,
                        pattern=str(merchant),
                        category=category,
                        account=accounts.get(tid),
                    )
                    if merchant
                    else d.CategoryRule(
                        kind=d.RuleKind.CONTAINS,
                        pattern=str(row["description"]),
                        category=category,
                    )
                )
                client.add_rule(rule)
                rules += 1
    return saved, rules


def main() -> None:
    """Render the predictions page."""
    st.title(":material/psychology: ML Predictions")
    client = get_client()
    frame = all_transactions_or_stop(client)
    currency = currency_of(frame)
    st.markdown("Enter a transaction to see its category, expected amount and anomaly check.")
    request = _request_form(frame, accounts_of(frame))
    if request:
        with st.spinner("Predicting…"):
            _predict_one(request, currency)
    st.divider()
    _review(currency, categories_of(frame))


if __name__ == "__main__":  # Streamlit runs pages as __main__; imports stay inert
    main()

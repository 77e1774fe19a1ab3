"""Financial Insights: cash-flow forecast, recurring payments, budgets, spending patterns."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from titans_finance import domain as d
from titans_finance.dashboard import palette as p
from titans_finance.dashboard.state import (
    all_transactions_or_stop,
    cached,
    categories_of,
    currency_of,
    derived,
    errors_shown,
    excluded_categories,
    flash_and_rerun,
    get_client,
    show_flash,
)
from titans_finance.insights import UNCATEGORISED, budget_status, month_keys

BUDGET_KEY = "budget_editor"
WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def forecast_figure(daily: pd.DataFrame, coverage: float | None) -> go.Figure:
    """Projected balance with the model's interval (lower/upper) as a shaded band."""
    band = (
        f"P{round((1 - coverage) / 2 * 100)}–P{round((1 + coverage) / 2 * 100)}"
        if coverage
        else "forecast interval"
    )
    fig = go.Figure()
    fig.add_scatter(
        x=daily["date"],
        y=daily["balance_upper"],
        mode="lines",
        line={"width": 0},
        showlegend=False,
        hoverinfo="skip",
    )
    fig.add_scatter(
        x=daily["date"],
        y=daily["balance_lower"],
        mode="lines",
        line={"width": 0},
        fill="tonexty",
        fillcolor=p.FORECAST_BAND,
        name=f"{band} band",
    )
    fig.add_scatter(
        x=daily["date"],
        y=daily["predicted_balance"],
        mode="lines",
        line={"color": p.NET, "width": 2.5},
        name="projected balance",
    )
    fig.add_hline(y=0, line_dash="dot", line_color=p.EXPENSE)
    fig.update_layout(title="Projected balance", yaxis_title="balance", xaxis_title=None)
    return p.style_figure(fig, height=420)


def _forecast(currency: str) -> None:
    client = get_client()
    st.subheader("Cash-flow forecast")
    days = st.segmented_control(
        "Horizon", [30, 60, 90], default=30, format_func=lambda n: f"{n} days", key="fc_days"
    )
    with errors_shown("cash-flow forecast"), st.spinner("Forecasting…"):
        daily, summary = cached(client, "forecast", client.forecast, int(days or 30))
        cols = st.columns(4)
        cols[0].metric("Balance today", p.money(summary.get("start_balance"), currency))
        cols[1].metric(
            f"In {summary.get('horizon_days', days)} days",
            p.money(summary.get("end_balance"), currency),
            delta=p.money(summary.get("net"), currency, signed=True),
        )
        cols[2].metric(
            "Lowest projected balance",
            p.money(summary.get("lowest_balance"), currency),
            help=f"on {summary.get('lowest_balance_date')}",
        )
        cols[3].metric(
            "Chance of going below zero", p.percent(summary.get("probability_below_zero"))
        )
        st.plotly_chart(forecast_figure(daily, summary.get("coverage")), key="forecast_chart")
        st.caption(
            f"Lowest point {p.money(summary.get('lowest_balance'), currency)} on "
            f"{summary.get('lowest_balance_date')}. Expected in: "
            f"{p.money(summary.get('total_inflow'), currency)}, out: "
            f"{p.money(abs(summary.get('total_outflow') or 0.0), currency)}."
        )


def _recurring(currency: str) -> None:
    client = get_client()
    st.subheader("Recurring payments and subscriptions")
    with errors_shown("recurring streams"):
        streams = cached(client, "recurring", client.recurring)
        if streams.empty:
            st.info("No recurring payments detected yet (they need at least three occurrences).")
            return
        active = streams.loc[streams["active"].astype(bool)] if "active" in streams else streams
        outgoing = active.loc[active["typical_amount"] < 0]
        monthly_cost = float(
            (-outgoing["typical_amount"] * 30.4375 / outgoing["period_days"]).sum()
        )
        changed = active.loc[active.get("price_change", pd.Series(0.0, index=active.index)) != 0]
        cols = st.columns(3)
        cols[0].metric("Active streams", f"{len(active):,}")
        cols[1].metric("Recurring spending per month", p.money(monthly_cost, currency))
        cols[2].metric("Price changes", f"{len(changed):,}")
        for row in changed.to_dict("records"):
            st.warning(price_change_text(row, currency), icon=":material/sell:")
        columns = [
            c
            for c in (
                "merchant",
                "category",
                "account",
                "period",
                "typical_amount",
                "last_amount",
                "price_change_pct",
                "next_expected_date",
                "occurrences",
                "active",
            )
            if c in streams
        ]
        st.dataframe(
            streams.sort_values("typical_amount")[columns],
            hide_index=True,
            column_config={
                "typical_amount": p.amount_column(currency, "typical"),
                "last_amount": p.amount_column(currency, "last"),
                "price_change_pct": st.column_config.NumberColumn("price change", format="percent"),
                "next_expected_date": st.column_config.DateColumn("next", format="YYYY-MM-DD"),
            },
            key="streams_table",
        )


def price_change_text(stream: dict[Any, Any], currency: str) -> str:
    """ "Netflix (monthly) went up by $2.14 (+18.2%) to $13.90." for one stream."""
    change = float(stream.get("price_change") or 0.0)
    direction = "went up" if change > 0 else "went down"
    return (
        f"**{stream['merchant']}** ({stream['period']}) {direction} by "
        f"{p.money(abs(change), currency)} ({p.percent(stream.get('price_change_pct'))}) to "
        f"{p.money(abs(float(stream['last_amount'])), currency)}."
    )


def budget_recommendations(status: pd.DataFrame, typical: pd.Series, currency: str) -> list[str]:
    """Plain-words advice: over-budget categories and large categories without a budget."""
    advice = []
    for row in status.to_dict("records"):
        if row["budget"] > 0 and row["spent"] > row["budget"]:
            advice.append(
                f"**{row['category']}** is {p.percent(row['used'] - 1, 0)} over budget "
                f"({p.money(row['spent'] - row['budget'], currency)} over); a typical month "
                f"is {p.money(float(typical.get(row['category'], 0.0)), currency)}."
            )
    unbudgeted = typical.drop(labels=list(status["category"]), errors="ignore").head(3)
    for category, amount in unbudgeted.items():
        advice.append(
            f"**{category}** has no budget; a typical month costs {p.money(amount, currency)} — "
            f"a budget of {p.money(round(amount * 0.9, -1), currency)} would save 10%."
        )
    return advice


def _budgets(frame: pd.DataFrame, excluded: list[str], currency: str) -> None:
    client = get_client()
    st.subheader("Budget vs actual")
    spend = frame.loc[(frame[d.AMOUNT] < 0) & ~frame[d.CATEGORY].isin(excluded)]
    spend_months = month_keys(spend[d.DATE])
    months = sorted(spend_months.unique(), reverse=True)
    if not months:
        st.info("No spending to compare with budgets yet.")
        return
    month = st.columns([1, 3])[0].selectbox("Month", months, key="budget_month")
    by_month = (
        spend.assign(
            month=spend_months,
            category=spend[d.CATEGORY].fillna(UNCATEGORISED),
        )
        .groupby(["category", "month"])[d.AMOUNT]
        .sum()
        .mul(-1)
        .unstack()
        .fillna(0.0)
    )
    typical = by_month.iloc[:, -6:].median(axis=1).sort_values(ascending=False)
    budgets = client.budgets()
    every_month = budgets.loc[budgets["month"].isna()].set_index("category")["amount"]
    table = pd.DataFrame({"category": typical.index, "typical month": typical.to_numpy()})
    table["monthly budget"] = table["category"].map(every_month)
    left, right = st.columns([1, 1.3])
    with left:
        st.caption("Set a monthly budget per category, then save.")
        edited = st.data_editor(
            table,
            key=BUDGET_KEY,
            hide_index=True,
            disabled=["category", "typical month"],
            column_config={
                "typical month": p.amount_column(currency, "typical month"),
                "monthly budget": st.column_config.NumberColumn(
                    "monthly budget", min_value=0.0, step=10.0, format="%.2f"
                ),
            },
            height=360,
        )
        show_flash()
        if st.button("Save budgets", key="budget_save", type="primary"):
            _save_budgets(edited, every_month)
    status = derived(
        client,
        f"budget-status:{month}:{budgets.to_json()}",
        lambda f, ex: budget_status(f, budgets, month, exclude_categories=ex),
        excluded=excluded,
    )
    with right:
        if status.empty:
            st.info("No budgets yet: enter amounts in the table and press **Save budgets**.")
        else:
            fig = go.Figure()
            fig.add_bar(
                y=status["category"],
                x=status["spent"],
                orientation="h",
                name="spent",
                marker_color=[
                    p.EXPENSE if s > b else p.INCOME
                    for s, b in zip(status["spent"], status["budget"], strict=True)
                ],
            )
            fig.add_scatter(
                y=status["category"],
                x=status["budget"],
                mode="markers",
                name="budget",
                marker={
                    "symbol": "line-ns-open",
                    "size": 22,
                    "color": "#222",
                    "line": {"width": 3},
                },
            )
            fig.update_layout(title=f"Spent vs budget in {month}")
            st.plotly_chart(p.style_figure(fig, height=360), key="budget_chart")
    for line in budget_recommendations(status, typical, currency):
        st.markdown(f"- {line}")


def _save_budgets(edited: pd.DataFrame, current: pd.Series) -> None:
    client = get_client()
    changed = 0
    for row in edited.to_dict("records"):  # one row per category: small
        category = str(row["category"])
        value = row["monthly budget"]
        if value is None or value != value:
            continue
        try:
            amount = Decimal(str(value)).quantize(d.CENT)
        except InvalidOperation:
            continue
        if category in current.index and abs(float(current[category]) - float(amount)) < 0.005:
            continue
        with errors_shown(f"budget for {category}"):
            client.set_budget(category, amount)
            changed += 1
    flash_and_rerun(f"Saved {changed} budgets.", reset=(BUDGET_KEY,))


def _patterns(frame: pd.DataFrame, excluded: list[str]) -> None:
    st.subheader("Spending patterns")
    spend = frame.loc[(frame[d.AMOUNT] < 0) & ~frame[d.CATEGORY].isin(excluded)]
    if spend.empty:
        st.info("No spending yet.")
        return
    weeks = max(1.0, (spend[d.DATE].max() - spend[d.DATE].min()).days / 7)
    weekday = (-spend[d.AMOUNT]).groupby(spend[d.DATE].dt.dayofweek).sum().reindex(
        range(7), fill_value=0
    ) / weeks
    monthly: Any = (-spend[d.AMOUNT]).groupby(spend[d.DATE].dt.to_period("M")).sum()
    left, right = st.columns(2)
    fig = go.Figure(go.Bar(x=WEEKDAYS, y=weekday.to_numpy(), marker_color=p.EXPENSE))
    fig.update_layout(title="Average spending per weekday", yaxis_title="average spending")
    left.plotly_chart(p.style_figure(fig), key="weekday_chart")
    fig = go.Figure(
        go.Bar(x=monthly.index.astype(str), y=monthly.to_numpy(), marker_color=p.EXPENSE)
    )
    fig.update_layout(title="Spending per month", yaxis_title="spending")
    right.plotly_chart(p.style_figure(fig), key="month_chart")


def main() -> None:
    """Render the insights page."""
    st.title(":material/insights: Financial Insights")
    client = get_client()
    frame = all_transactions_or_stop(client)
    excluded = excluded_categories(categories_of(frame))
    currency = currency_of(frame)
    _forecast(currency)
    _recurring(currency)
    _budgets(frame, excluded, currency)
    _patterns(frame, excluded)


if __name__ == "__main__":  # Streamlit runs pages as __main__; imports stay inert
    main()

"""Overview: the headline figures, where the money goes, the balance trend, recent activity.

Everything comes from `DashboardClient.overview` (GROUP BY reads, not the store's rows), cached
per store version with `state.stored`, so a rerun recomputes nothing.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from titans_finance import domain as d
from titans_finance import insights
from titans_finance.dashboard import charts
from titans_finance.dashboard import palette as p
from titans_finance.dashboard.state import (
    EMPTY_STORE_FIX,
    excluded_categories,
    get_client,
    stored,
)


def _summary(overview: dict[str, Any], excluded: list[str]) -> dict[str, Any]:
    groups = pd.DataFrame(overview["groups"])
    return insights.summary_of_groups(groups, exclude_categories=excluded)


def _sunburst(overview: dict[str, Any], excluded: list[str]) -> Any:
    merchants = pd.DataFrame(overview["merchants"])
    return charts.spending_sunburst(merchants.loc[~merchants[d.CATEGORY].isin(excluded)])


def main() -> None:
    """Render the overview page."""
    st.title(":material/dashboard: Overview")
    client = get_client()
    with st.spinner("Loading transactions…"):
        overview = stored(client, "overview", client.overview)
    if not overview["rows"]:
        st.info(EMPTY_STORE_FIX, icon=":material/inbox:")
        st.stop()
    excluded = excluded_categories(overview["categories"])
    key = tuple(excluded)
    summary = stored(client, "overview_summary", lambda: _summary(overview, excluded), key)
    currency = overview["currency"]
    st.caption(
        f"{overview['rows']:,} transactions from {summary['date_from']} to {summary['date_to']}"
        + (f" · left out: {', '.join(excluded)}" if excluded else "")
    )

    cols = st.columns(5)
    cols[0].metric("Transactions", f"{overview['rows']:,}")
    cols[1].metric("Income", p.money(summary["income"], currency))
    cols[2].metric("Expenses", p.money(summary["expenses"], currency))
    cols[3].metric("Net", p.money(summary["net"], currency, signed=True))
    cols[4].metric("Savings rate", p.percent(summary["savings_rate"]))

    left, right = st.columns([1, 1])
    with left:
        st.subheader("Where the money goes")
        if summary["by_category"]:
            st.plotly_chart(
                stored(client, "sunburst", lambda: _sunburst(overview, excluded), key),
                key="sunburst",
            )
            st.caption(
                "Click a category to drill down to its merchants; click the centre to go back."
            )
        else:
            st.info("No spending in the stored transactions.")
    with right:
        st.subheader("Balance trend")
        balance = stored(client, "balance", lambda: charts.balance_trend(overview["balance"]))
        st.plotly_chart(balance, key="balance")

    st.subheader("Monthly income and expenses")
    st.plotly_chart(charts.monthly_income_expenses(summary["by_month"]), key="monthly")

    st.subheader("Recent activity")
    recent = pd.DataFrame(overview["recent"], columns=insights.RECENT_COLUMNS)
    st.dataframe(
        recent.assign(**{d.DATE: pd.to_datetime(recent[d.DATE])}),
        hide_index=True,
        column_config={
            d.DATE: st.column_config.DateColumn(format="YYYY-MM-DD"),
            d.AMOUNT: p.amount_column(currency),
        },
    )


if __name__ == "__main__":  # Streamlit runs pages as __main__; imports stay inert
    main()

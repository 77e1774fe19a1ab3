"""Overview: the headline figures, where the money goes, the balance trend, recent activity."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from titans_finance import domain as d
from titans_finance.dashboard import charts
from titans_finance.dashboard import palette as p
from titans_finance.dashboard.state import (
    all_transactions_or_stop,
    categories_of,
    currency_of,
    derived,
    excluded_categories,
    get_client,
)

RECENT_ROWS = 15


def facts_of(frame: pd.DataFrame, _excluded: list[str]) -> dict[str, Any]:
    """What the page shows besides the charts: categories, currency, row count and the latest
    transactions (for `state.derived`: on 1M rows each is a pass over a column that a rerun
    should not repeat)."""
    recent = frame.nlargest(RECENT_ROWS, [d.DATE, "id"]) if "id" in frame else frame.tail(0)
    return {
        "categories": categories_of(frame),
        "currency": currency_of(frame),
        "rows": len(frame),
        "recent": recent[[d.DATE, d.DESCRIPTION, d.CATEGORY, d.ACCOUNT, d.AMOUNT]],
    }


def main() -> None:
    """Render the overview page."""
    st.title(":material/dashboard: Overview")
    client = get_client()
    with st.spinner("Loading transactions…"):
        all_transactions_or_stop(client)  # stops the page on an empty store
    facts = derived(client, "overview_facts", facts_of)
    excluded = excluded_categories(facts["categories"])
    summary = derived(client, "summary", charts.summary_of, excluded=excluded)
    currency = facts["currency"]
    st.caption(
        f"{facts['rows']:,} transactions from {summary['date_from']} to {summary['date_to']}"
        + (f" · left out: {', '.join(excluded)}" if excluded else "")
    )

    cols = st.columns(5)
    cols[0].metric("Transactions", f"{facts['rows']:,}")
    cols[1].metric("Income", p.money(summary["income"], currency))
    cols[2].metric("Expenses", p.money(summary["expenses"], currency))
    cols[3].metric("Net", p.money(summary["net"], currency, signed=True))
    cols[4].metric("Savings rate", p.percent(summary["savings_rate"]))

    left, right = st.columns([1, 1])
    with left:
        st.subheader("Where the money goes")
        if summary["by_category"]:
            st.plotly_chart(
                derived(client, "sunburst", charts.sunburst_of, excluded=excluded), key="sunburst"
            )
            st.caption(
                "Click a category to drill down to its merchants; click the centre to go back."
            )
        else:
            st.info("No spending in the stored transactions.")
    with right:
        st.subheader("Balance trend")
        st.plotly_chart(derived(client, "balance", charts.balance_of), key="balance")

    st.subheader("Monthly income and expenses")
    st.plotly_chart(charts.monthly_income_expenses(summary["by_month"]), key="monthly")

    st.subheader("Recent activity")
    st.dataframe(
        facts["recent"],
        hide_index=True,
        column_config={
            d.DATE: st.column_config.DateColumn(format="YYYY-MM-DD"),
            d.AMOUNT: p.amount_column(currency),
        },
    )


if __name__ == "__main__":  # Streamlit runs pages as __main__; imports stay inert
    main()

"""Overview: the headline figures, where the money goes, the balance trend, recent activity."""

from __future__ import annotations

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


def main() -> None:
    """Render the overview page."""
    st.title(":material/dashboard: Overview")
    client = get_client()
    with st.spinner("Loading transactions…"):
        frame = all_transactions_or_stop(client)
    excluded = excluded_categories(categories_of(frame))
    summary = derived(client, "summary", charts.summary_of, excluded=excluded)
    currency = currency_of(frame)
    st.caption(
        f"{len(frame):,} transactions from {summary['date_from']} to {summary['date_to']}"
        + (f" · left out: {', '.join(excluded)}" if excluded else "")
    )

    cols = st.columns(5)
    cols[0].metric("Transactions", f"{len(frame):,}")
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
    recent = frame.sort_values([d.DATE, "id"], ascending=False).head(15)
    st.dataframe(
        recent[[d.DATE, d.DESCRIPTION, d.CATEGORY, d.ACCOUNT, d.AMOUNT]],
        hide_index=True,
        column_config={
            d.DATE: st.column_config.DateColumn(format="YYYY-MM-DD"),
            d.AMOUNT: p.amount_column(currency),
        },
    )


if __name__ == "__main__":  # Streamlit runs pages as __main__; imports stay inert
    main()

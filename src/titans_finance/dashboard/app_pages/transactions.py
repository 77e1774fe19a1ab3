"""Transaction Analysis: filter, chart, search and export the transactions."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

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
    derived,
    excluded_categories,
    get_client,
    transactions,
)
from titans_finance.domain import TransactionFilter
from titans_finance.export import export_csv

PRESETS: dict[str, int | None] = {
    "All time": None,
    "Last 30 days": 30,
    "Last 3 months": 91,
    "Last 6 months": 182,
    "Last 12 months": 365,
    "Year to date": -1,
    "Custom range": -2,
}
TABLE_ROWS = 5000


def preset_range(
    preset: str, first: date, last: date, custom: tuple[date, date] | None = None
) -> tuple[date | None, date | None]:
    """Date bounds of a preset, counted back from the latest transaction ``last``."""
    days = PRESETS[preset]
    if days is None:
        return None, None
    if days == -1:
        return date(last.year, 1, 1), last
    if days == -2:
        return custom if custom else (first, last)
    return max(first, last - timedelta(days=days)), last


def _filters(frame: pd.DataFrame, accounts: list[str]) -> TransactionFilter:
    first = frame[d.DATE].min().date()
    last = frame[d.DATE].max().date()
    with st.container(border=True):
        row1 = st.columns([1.2, 1.6, 1.6, 1.2])
        preset = row1[0].selectbox(
            "Period",
            list(PRESETS),
            key="tx_preset",
            help=f"Counted back from the latest transaction ({last}).",
        )
        custom: tuple[date, date] | None = None
        if preset == "Custom range":
            picked = row1[0].date_input(
                "From – to", (first, last), min_value=first, max_value=last, key="tx_range"
            )
            if isinstance(picked, tuple) and len(picked) == 2:
                custom = (picked[0], picked[1])
        chosen_accounts = row1[1].multiselect("Accounts", accounts, key="tx_accounts")
        chosen_categories = row1[2].multiselect(
            "Categories", categories_of(frame), key="tx_categories"
        )
        types = row1[3].multiselect("Type", [t.value for t in d.TransactionType], key="tx_types")
        row2 = st.columns([2, 1, 1])
        text = row2[0].text_input(
            "Search description or merchant", key="tx_text", placeholder="e.g. amazon"
        )
        min_amount = row2[1].number_input(
            "Min amount", value=None, step=10.0, key="tx_min", help="Signed: money out is negative."
        )
        max_amount = row2[2].number_input("Max amount", value=None, step=10.0, key="tx_max")
    date_from, date_to = preset_range(preset, first, last, custom)
    return TransactionFilter(
        date_from=date_from,
        date_to=date_to,
        accounts=tuple(chosen_accounts),
        categories=tuple(chosen_categories),
        types=tuple(types),
        text=text.strip() or None,
        min_amount=None if min_amount is None else Decimal(str(min_amount)),
        max_amount=None if max_amount is None else Decimal(str(max_amount)),
    )


def _charts_html(figures: dict[str, Any]) -> str:
    parts = [
        fig.to_html(full_html=False, include_plotlyjs="cdn" if i == 0 else False)
        for i, fig in enumerate(figures.values())
    ]
    body = "\n".join(
        f"<h2>{title}</h2>\n{html}" for title, html in zip(figures, parts, strict=True)
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Titans Finance charts</title>"
        f"</head><body>{body}</body></html>"
    )


def _kaleido_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("kaleido") is not None


def main() -> None:
    """Render the transaction analysis page."""
    st.title(":material/query_stats: Transaction Analysis")
    client = get_client()
    everything = all_transactions_or_stop(client)
    excluded = excluded_categories(categories_of(everything))
    flt = _filters(everything, accounts_of(everything))
    with st.spinner("Querying…"):
        frame = transactions(client, flt)
    currency = currency_of(everything)
    if frame.empty:
        st.warning("No transactions match these filters — widen the period or clear a filter.")
        return
    summary = derived(client, "summary", charts.summary_of, flt, excluded)
    cols = st.columns(4)
    cols[0].metric("Matching transactions", f"{len(frame):,}")
    cols[1].metric("Income", p.money(summary["income"], currency))
    cols[2].metric("Expenses", p.money(summary["expenses"], currency))
    cols[3].metric("Net", p.money(summary["net"], currency, signed=True))

    figures = {
        "Monthly income vs expenses": charts.monthly_income_expenses(summary["by_month"]),
        "Amount distribution": derived(client, "distribution", charts.distribution_of, flt),
        "Payment methods": derived(client, "methods", charts.methods_of, flt),
        "Spending by category": charts.category_bars(summary["by_category"]),
    }
    st.plotly_chart(figures["Monthly income vs expenses"], key="tx_monthly")
    left, right = st.columns(2)
    left.plotly_chart(figures["Amount distribution"], key="tx_hist")
    right.plotly_chart(figures["Payment methods"], key="tx_methods")
    if summary["by_category"]:
        st.plotly_chart(figures["Spending by category"], key="tx_categories_chart")

    st.subheader("Transactions")
    shown = frame.sort_values(d.DATE, ascending=False).head(TABLE_ROWS)
    if len(frame) > TABLE_ROWS:
        st.caption(
            f"Showing the latest {TABLE_ROWS:,} of {len(frame):,}; narrow the filters or "
            "download the CSV for all rows."
        )
    st.dataframe(
        shown[
            [
                d.DATE,
                d.DESCRIPTION,
                d.MERCHANT,
                d.AMOUNT,
                d.TYPE,
                d.CATEGORY,
                d.ACCOUNT,
                d.PAYMENT_METHOD,
            ]
        ],
        hide_index=True,
        height=420,
        column_config={
            d.DATE: st.column_config.DateColumn(format="YYYY-MM-DD"),
            d.AMOUNT: p.amount_column(currency),
        },
        key="tx_table",
    )

    st.subheader("Export")
    export_cols = st.columns(3)
    export_cols[0].download_button(
        f"⬇️ {len(frame):,} rows as CSV",
        data=lambda: export_csv(frame.drop(columns=["import_id"], errors="ignore")),
        file_name="titans-transactions.csv",
        mime="text/csv",
        help="Cells that a spreadsheet would run as formulas are escaped.",
        key="tx_csv",
    )
    export_cols[1].download_button(
        "⬇️ Charts as HTML",
        data=lambda: _charts_html(figures),
        file_name="titans-charts.html",
        mime="text/html",
        help="Interactive charts in one HTML file (loads plotly.js from its CDN when opened).",
        key="tx_html",
    )
    if _kaleido_available():
        export_cols[2].download_button(
            "⬇️ Monthly chart as PNG",
            data=lambda: figures["Monthly income vs expenses"].to_image(format="png"),
            file_name="titans-monthly.png",
            mime="image/png",
            key="tx_png",
        )
    else:
        export_cols[2].caption(
            "PNG export needs the `kaleido` package and a Chrome browser; "
            "the HTML export keeps the charts interactive and opens in any browser."
        )


if __name__ == "__main__":  # Streamlit runs pages as __main__; imports stay inert
    main()

"""Titans Finance dashboard entry point: `titans dashboard` runs `streamlit run` on this file."""

from __future__ import annotations

import streamlit as st

from titans_finance.dashboard.state import get_client

PAGES = (
    ("app_pages/overview.py", "Overview", "📊"),
    ("app_pages/transactions.py", "Transaction Analysis", "🔎"),
    ("app_pages/predictions.py", "ML Predictions", "🧠"),
    ("app_pages/anomalies.py", "Anomaly Detection", "🚨"),
    ("app_pages/insights.py", "Financial Insights", "💡"),
    ("app_pages/imports.py", "Import & models", "📥"),
)


def main() -> None:
    """Configure the page, show the data source and run the selected page."""
    st.set_page_config(
        page_title="Titans Finance",
        page_icon="💰",
        layout="wide",
        initial_sidebar_state="expanded",
    )
    pages = [
        st.Page(path, title=title, icon=icon, default=index == 0)
        for index, (path, title, icon) in enumerate(PAGES)
    ]
    navigation = st.navigation(pages)
    client = get_client()
    st.sidebar.caption(f"Data source: {client.source}")
    navigation.run()


main()

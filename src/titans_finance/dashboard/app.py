"""Titans Finance dashboard entry point: `titans dashboard` runs `streamlit run` on this file."""

from __future__ import annotations

import streamlit as st

from titans_finance.config import get_settings
from titans_finance.dashboard.login import require_login
from titans_finance.dashboard.state import get_client

PAGES = (
    ("app_pages/overview.py", "Overview", ":material/dashboard:"),
    ("app_pages/transactions.py", "Transaction Analysis", ":material/query_stats:"),
    ("app_pages/predictions.py", "ML Predictions", ":material/psychology:"),
    ("app_pages/anomalies.py", "Anomaly Detection", ":material/crisis_alert:"),
    ("app_pages/insights.py", "Financial Insights", ":material/insights:"),
    ("app_pages/imports.py", "Import & models", ":material/upload_file:"),
)


def main() -> None:
    """Configure the page, show the data source and run the selected page."""
    st.set_page_config(
        page_title="Titans Finance",
        page_icon=":material/savings:",
        layout="wide",
        initial_sidebar_state="expanded",
    )
    require_login(get_settings())
    pages = [
        st.Page(path, title=title, icon=icon, default=index == 0)
        for index, (path, title, icon) in enumerate(PAGES)
    ]
    navigation = st.navigation(pages)
    client = get_client()
    st.sidebar.caption(f"Data source: {client.source}")
    navigation.run()


if __name__ == "__main__":  # Streamlit runs pages as __main__; imports stay inert
    main()

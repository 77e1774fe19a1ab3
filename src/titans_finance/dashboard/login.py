"""The dashboard's login gate: who must log in, the login form, and logging out.

A login is asked for when the dashboard listens on a non-loopback address or when users exist
in the store; the user's password is exchanged for a token at the API (POST /auth/token), so the
API applies the user's role to every page.  Loopback development with no users stays open.
"""

from __future__ import annotations

import ipaddress
import logging

import streamlit as st

from titans_finance.config import Settings
from titans_finance.dashboard.client import ApiClient, login
from titans_finance.dashboard.state import LOGIN_KEY, fail
from titans_finance.errors import TitansError

logger = logging.getLogger(__name__)


def is_loopback(address: str) -> bool:
    """True for localhost and loopback IPs (127.0.0.0/8, ::1); False for anything else."""
    if address.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(address.strip().strip("[]")).is_loopback
    except ValueError:
        return False


@st.cache_data(ttl=30, show_spinner=False)
def _users_exist(database_url: str, api_mode: bool) -> bool:
    from titans_finance.auth.store import users_exist
    from titans_finance.storage.db import get_engine

    try:
        return users_exist(get_engine(database_url))
    except TitansError as exc:
        # With an API to log in against, fail closed; without one the pages show the error.
        logger.warning("dashboard: cannot tell whether users exist: %s", exc.message)
        return api_mode


def login_reason(settings: Settings) -> str | None:
    """Why a login is required, or None for open loopback development."""
    if not is_loopback(settings.dashboard_address):
        return f"the dashboard listens on {settings.dashboard_address}"
    if _users_exist(settings.database_url, bool(settings.dashboard_api_url)):
        return "users exist in the store"
    return None


def _logout() -> None:
    client = st.session_state.pop(LOGIN_KEY, None)
    if isinstance(client, ApiClient):
        client.close()


def _login_form(api_url: str, reason: str) -> None:
    st.title("Titans Finance")
    st.caption(f"Log in ({reason}); your role at the API applies to every page.")
    with st.form("login"):
        username = st.text_input("Username", key="login_username")
        password = st.text_input("Password", type="password", key="login_password")
        submitted = st.form_submit_button("Log in", type="primary", key="login_submit")
    if not submitted:
        return
    if not username.strip() or not password:
        st.error("Enter your username and password.", icon=":material/error:")
        return
    try:
        client = login(api_url, username.strip(), password)
    except TitansError as exc:
        st.error(exc.message, icon=":material/lock:")
        return
    st.session_state.pop("login_password", None)
    st.session_state[LOGIN_KEY] = client
    st.rerun()


def require_login(settings: Settings) -> None:
    """Let the page run when logged in or open; otherwise show the login form and stop."""
    client = st.session_state.get(LOGIN_KEY)
    if isinstance(client, ApiClient):
        st.sidebar.caption(f"Logged in as **{client.username}**")
        st.sidebar.button("Log out", key="logout", on_click=_logout, icon=":material/logout:")
        return
    reason = login_reason(settings)
    if reason is None:
        st.sidebar.caption("Open: loopback development with no users, so no login is asked.")
        return
    if not settings.dashboard_api_url:
        fail(
            f"A login is required ({reason}), but TITANS_DASHBOARD_API_URL is not set: point it "
            "at a running `titans serve` to log in against."
        )
    _login_form(settings.dashboard_api_url, reason)
    st.stop()


__all__ = ["is_loopback", "login_reason", "require_login"]

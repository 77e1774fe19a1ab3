"""Shared page plumbing: the client, cached reads keyed on the store version, error display."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import Any, NoReturn, TypeVar

import pandas as pd
import streamlit as st
from streamlit.runtime.scriptrunner_utils.exceptions import RerunException, StopException

from titans_finance import domain as d
from titans_finance.dashboard.client import DashboardClient, make_client
from titans_finance.domain import TransactionFilter
from titans_finance.errors import ModelNotTrainedError, TitansError

logger = logging.getLogger(__name__)
T = TypeVar("T")

EMPTY_STORE_FIX = (
    "No transactions yet: import a bank export with `titans ingest FILE` "
    "or upload one on the **Import & models** page."
)


@st.cache_resource(show_spinner=False)
def _client_for(
    database_url: str, api_url: str | None, key_digest: str, models_dir: str
) -> DashboardClient:
    from titans_finance.config import get_settings

    return make_client(get_settings())


LOGIN_KEY = "_titans_login"  # session state: the logged-in user's ApiClient


def get_client() -> DashboardClient:
    """The logged-in user's client, else the one for the current settings (API when
    TITANS_DASHBOARD_API_URL is set)."""
    import hashlib

    logged_in: DashboardClient | None = st.session_state.get(LOGIN_KEY)
    if logged_in is not None:
        return logged_in

    from titans_finance.config import get_settings

    settings = get_settings()
    key = getattr(settings, "dashboard_api_key", None)
    secret = key.get_secret_value() if key is not None else ""
    return _client_for(
        settings.database_url,
        getattr(settings, "dashboard_api_url", None),
        hashlib.sha256(secret.encode()).hexdigest(),  # a new key gets a new client
        str(settings.models_dir),
    )


def fail(message: str) -> NoReturn:
    """Show an error with its fix and stop the page."""
    st.error(message, icon=":material/error:")
    st.stop()
    raise AssertionError("unreachable")  # st.stop raises; keeps type checkers honest


@contextmanager
def errors_shown(what: str = "") -> Iterator[None]:
    """Turn a TitansError inside the block into an error box that says how to fix it."""
    try:
        yield
    except ModelNotTrainedError as exc:
        st.warning(
            f"{what + ': ' if what else ''}{exc.message} — or use **Retrain** on the "
            "Import & models page.",
            icon=":material/model_training:",
        )
    except TitansError as exc:
        st.error(f"{what + ': ' if what else ''}{exc.message}", icon=":material/error:")
    except (RerunException, StopException):
        raise
    except Exception as exc:  # a model artefact from an older version must not crash the page
        logger.exception("dashboard: %s failed", what or "a call")
        st.error(
            f"{what + ': ' if what else ''}unexpected {type(exc).__name__}: {exc}. If a model is "
            "involved, retrain it (`titans train all` or **Retrain** on the Import & models page).",
            icon=":material/error:",
        )


_FLASH = "_flash_messages"


def flash_and_rerun(message: str, *, reset: tuple[str, ...] = ()) -> None:
    """Remember a success message, forget the widget states in ``reset`` and rerun the page,
    so what is shown already reflects the write."""
    st.session_state.setdefault(_FLASH, []).append(message)
    for key in reset:
        st.session_state.pop(key, None)
    invalidate()
    st.rerun()


def show_flash() -> None:
    """Show (once) the messages remembered by `flash_and_rerun`."""
    for message in st.session_state.pop(_FLASH, []):
        st.success(message, icon=":material/save:")


# -- cached reads ----------------------------------------------------------------------------------
@st.cache_data(ttl=3, show_spinner=False)
def _version(source: str, _client: DashboardClient) -> str:
    return _client.store_version()


def store_version(client: DashboardClient) -> str:
    """The store version (re-read at most every few seconds); errors stop the page with a fix."""
    try:
        return _version(client.source, client)
    except TitansError as exc:
        fail(exc.message)


@st.cache_resource(show_spinner=False)
def _write_generation() -> dict[str, int]:
    return {"writes": 0}


def invalidate() -> None:
    """After a write: forget the cached store version, and count the write so predictions that
    depend on feedback or rules (which the store version does not cover) are recomputed."""
    _write_generation()["writes"] += 1
    _version.clear()
    _models_key.clear()


def _models_token(client: DashboardClient) -> tuple[tuple[str, str], ...]:
    """Trained model versions plus this dashboard's write count (rules, feedback)."""
    writes = ("writes", str(_write_generation()["writes"]))
    return (*_models_key(client.source, client), writes)


def _filter_key(flt: TransactionFilter) -> tuple[tuple[str, Any], ...]:
    return tuple(
        (k, tuple(v) if isinstance(v, list | tuple) else v) for k, v in asdict(flt).items()
    )


@st.cache_resource(max_entries=16, show_spinner=False)
def _transactions(
    source: str, version: str, key: tuple[tuple[str, Any], ...], _client: DashboardClient
) -> pd.DataFrame:
    # cache_resource hands out the same frame without copying 100k rows per rerun: pages treat
    # it as read-only (every transformation builds a new frame).
    return _client.transactions(TransactionFilter(**dict(key)))


def transactions(client: DashboardClient, flt: TransactionFilter | None = None) -> pd.DataFrame:
    """Transactions matching ``flt``, cached per (source, store version, filter). Read-only."""
    flt = flt or TransactionFilter()
    version = store_version(client)
    try:
        return _transactions(client.source, version, _filter_key(flt), client)
    except TitansError as exc:
        fail(exc.message)


@st.cache_data(max_entries=64, show_spinner=False)
def _derived(
    name: str,
    source: str,
    version: str,
    key: tuple[tuple[str, Any], ...],
    excluded: tuple[str, ...],
    _fn: Callable[[pd.DataFrame, list[str]], Any],
    _client: DashboardClient,
) -> Any:
    return _fn(_transactions(source, version, key, _client), list(excluded))


def derived(
    client: DashboardClient,
    name: str,
    fn: Callable[[pd.DataFrame, list[str]], T],
    flt: TransactionFilter | None = None,
    excluded: list[str] | tuple[str, ...] = (),
) -> T:
    """``fn(transactions(flt), excluded)`` cached per store version, filter and exclusions.

    ``name`` identifies ``fn`` in the cache key; use it for summaries and figures that are
    too slow to rebuild on every widget change.
    """
    flt = flt or TransactionFilter()
    version = store_version(client)
    try:
        result: T = _derived(
            name, client.source, version, _filter_key(flt), tuple(excluded), fn, client
        )
    except TitansError as exc:
        fail(exc.message)
    return result


@st.cache_data(max_entries=32, show_spinner=False)
def _stored(
    name: str, source: str, version: str, key: tuple[Any, ...], _fn: Callable[[], Any]
) -> Any:
    return _fn()


def stored(client: DashboardClient, name: str, fn: Callable[[], T], key: tuple[Any, ...] = ()) -> T:
    """``fn()`` cached per store version, ``name`` and ``key`` (what ``fn`` depends on besides
    the store): for figures read from the store's aggregates, which a rerun must not recompute.
    Errors stop the page with their fix."""
    version = store_version(client)
    try:
        result: T = _stored(name, client.source, version, key, fn)
    except TitansError as exc:
        fail(exc.message)
    return result


def all_transactions_or_stop(client: DashboardClient) -> pd.DataFrame:
    """Every stored transaction; stops the page with the fix when the store is empty."""
    frame = transactions(client)
    if frame.empty:
        st.info(EMPTY_STORE_FIX, icon=":material/inbox:")
        st.stop()
    return frame


@st.cache_data(ttl=10, show_spinner=False)
def _models_key(source: str, _client: DashboardClient) -> tuple[tuple[str, str], ...]:
    try:
        status = _client.model_status()
    except TitansError:
        return ()
    return tuple((s["model_type"], str(s.get("version", ""))) for s in status if s.get("trained"))


def model_status(client: DashboardClient) -> list[dict[str, Any]]:
    """Status of every model (not cached: it is a few small files or one request)."""
    return client.model_status()


@st.cache_resource(max_entries=8, show_spinner=False)
def _stored_predictions(
    kind: str,
    source: str,
    version: str,
    models: tuple[tuple[str, str], ...],
    _client: DashboardClient,
) -> pd.DataFrame:
    # a resource, not data: 100k rows with list columns are too slow to copy on every rerun
    frame = _transactions(source, version, _filter_key(TransactionFilter()), _client)
    if frame.empty:
        return frame
    predictions = _client.predict(kind, frame)
    return frame.join(predictions.drop(columns=frame.columns, errors="ignore"))


def stored_predictions(client: DashboardClient, kind: str) -> pd.DataFrame:
    """Every stored transaction joined with model ``kind``'s predictions (cached per versions).

    Raises TitansError (e.g. ModelNotTrainedError) for the caller to show.
    """
    version = store_version(client)
    return _stored_predictions(kind, client.source, version, _models_token(client), client)


@st.cache_data(max_entries=8, show_spinner=False)
def _cached_call(
    name: str,
    source: str,
    version: str,
    models: tuple[tuple[str, str], ...],
    args: tuple[Any, ...],
    _fn: Callable[..., Any],
) -> Any:
    return _fn(*args)


def cached(client: DashboardClient, name: str, fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` cached per store and model versions (for recurring streams, forecasts)."""
    version = store_version(client)
    result: T = _cached_call(name, client.source, version, _models_token(client), args, fn)
    return result


def categories_of(frame: pd.DataFrame) -> list[str]:
    """Sorted distinct non-empty categories of a frame."""
    if d.CATEGORY not in frame:
        return []
    return sorted(str(c) for c in frame[d.CATEGORY].dropna().unique() if str(c).strip())


def accounts_of(frame: pd.DataFrame) -> list[str]:
    """Sorted distinct accounts of a frame."""
    if d.ACCOUNT not in frame:
        return []
    return sorted(str(a) for a in frame[d.ACCOUNT].dropna().unique())


def currency_of(frame: pd.DataFrame) -> str:
    """The most common currency of a frame (USD when unknown)."""
    if d.CURRENCY in frame and frame[d.CURRENCY].notna().any():
        return str(frame[d.CURRENCY].mode().iloc[0])
    return "USD"


_EXCLUDE_KEY = "exclude_categories"
_MIRROR_WORDS = ("credit card payment", "transfer")


def excluded_categories(categories: list[str]) -> list[str]:
    """Sidebar picker of categories left out of income/expense figures, shared by all pages.

    Defaults to categories that mirror spending counted elsewhere (credit-card payments,
    transfers), which would otherwise count the same money twice.
    """
    if _EXCLUDE_KEY not in st.session_state:
        st.session_state[_EXCLUDE_KEY] = [
            c for c in categories if any(word in c.lower() for word in _MIRROR_WORDS)
        ]
    current = [c for c in st.session_state[_EXCLUDE_KEY] if c in categories]

    def _copy() -> None:
        st.session_state[_EXCLUDE_KEY] = st.session_state["_exclude_widget"]

    st.sidebar.multiselect(
        "Leave out of income & expenses",
        categories,
        default=current,
        key="_exclude_widget",
        on_change=_copy,
        help="Categories such as credit-card payments repeat spending already counted.",
    )
    return current


__all__ = [
    "EMPTY_STORE_FIX",
    "LOGIN_KEY",
    "accounts_of",
    "all_transactions_or_stop",
    "cached",
    "categories_of",
    "currency_of",
    "derived",
    "errors_shown",
    "excluded_categories",
    "fail",
    "flash_and_rerun",
    "get_client",
    "invalidate",
    "model_status",
    "show_flash",
    "store_version",
    "stored",
    "stored_predictions",
    "transactions",
]

"""One palette and one set of number formats for every dashboard page."""

from __future__ import annotations

import math
from typing import Any, Final

INCOME: Final = "#2E9E6B"
EXPENSE: Final = "#D64550"
NET: Final = "#3B6FB6"
TRANSFER: Final = "#8C8C8C"
FORECAST_BAND: Final = "rgba(59, 111, 182, 0.18)"
THRESHOLD: Final = "#E09F3E"

TYPE_COLOURS: Final[dict[str, str]] = {
    "Income": INCOME,
    "Expense": EXPENSE,
    "Transfer": TRANSFER,
}
RISK_COLOURS: Final[dict[str, str]] = {
    "low": "#7FB77E",
    "medium": "#E09F3E",
    "high": "#D64550",
    "critical": "#7B1E3A",
}
#: qualitative sequence for categories (colour-blind friendly, from Plotly's "Safe")
CATEGORICAL: Final[list[str]] = [
    "#88CCEE",
    "#CC6677",
    "#DDCC77",
    "#117733",
    "#332288",
    "#AA4499",
    "#44AA99",
    "#999933",
    "#882255",
    "#661100",
    "#6699CC",
    "#888888",
]

_SYMBOLS: Final[dict[str, str]] = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CZK": "Kč "}


def currency_symbol(currency: str | None) -> str:
    """The symbol printed before amounts of ``currency`` (its code when unknown)."""
    if not currency:
        return "$"
    return _SYMBOLS.get(currency.upper(), f"{currency.upper()} ")


def money(value: float | None, currency: str | None = "USD", *, signed: bool = False) -> str:
    """``$1,234.56`` / ``-$12.00``; ``—`` for missing values."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    sign = "-" if value < 0 else ("+" if signed and value > 0 else "")
    return f"{sign}{currency_symbol(currency)}{abs(value):,.2f}"


def percent(value: float | None, digits: int = 1) -> str:
    """``12.3%`` from a fraction 0.123; ``—`` for missing values."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value * 100:.{digits}f}%"


def amount_column(currency: str | None, label: str | None = None) -> Any:
    """A Streamlit number column showing money with the currency (dollar style for USD)."""
    import streamlit as st

    fmt = "dollar" if (currency or "USD").upper() == "USD" else "localized"
    return st.column_config.NumberColumn(label, format=fmt)


def style_figure(fig: Any, *, height: int = 380) -> Any:
    """Apply the shared layout to a Plotly figure and return it."""
    fig.update_layout(
        template="plotly_white",
        height=height,
        margin={"l": 10, "r": 10, "t": 86, "b": 10},
        title={"x": 0, "xanchor": "left", "y": 0.985, "yanchor": "top", "yref": "container"},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.01, "x": 0, "title": None},
        colorway=CATEGORICAL,
        font={"size": 13},
    )
    return fig


__all__ = [
    "CATEGORICAL",
    "EXPENSE",
    "FORECAST_BAND",
    "INCOME",
    "NET",
    "RISK_COLOURS",
    "THRESHOLD",
    "TRANSFER",
    "TYPE_COLOURS",
    "amount_column",
    "currency_symbol",
    "money",
    "percent",
    "style_figure",
]

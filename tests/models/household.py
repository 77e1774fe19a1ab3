"""Factories of realistic household histories: salary, rent, subscriptions, weekly groceries,
random coffee, a stopped gym membership; running balances included."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from titans_finance import domain as d

BERKA_EXPENSE_TYPES = ("VYDAJ", "VYBER")


def _row(day: date, description: str, merchant: str, category: str, amount: float) -> dict:
    return {
        d.DATE: pd.Timestamp(day),
        d.DESCRIPTION: description,
        d.MERCHANT: merchant,
        d.CATEGORY: category,
        d.AMOUNT: round(float(amount), 2),
    }


def household_frame(
    *,
    start: date = date(2024, 1, 1),
    months: int = 12,
    account: str = "checking",
    opening_balance: float = 2000.0,
    seed: int = 0,
    with_balance: bool = True,
) -> pd.DataFrame:
    """A canonical frame of ``months`` months of one household account."""
    rng = np.random.default_rng(seed)
    end = (pd.Timestamp(start) + pd.DateOffset(months=months)).date()
    rows: list[dict] = []
    month_starts = pd.date_range(start, end, freq="MS", inclusive="left")
    for i, first in enumerate(month_starts):
        first_day = first.date()
        rows.append(_row(first_day, "CITY APARTMENTS RENT", "City Apartments", "Rent", -1450))
        rows.append(
            _row(first_day.replace(day=25), "ACME CORP PAYROLL", "Acme Corp", "Salary", 3200)
        )
        netflix = 17.99 if i >= len(month_starts) - 2 else 15.99
        rows.append(
            _row(first_day.replace(day=15), "NETFLIX.COM", "Netflix", "Subscriptions", -netflix)
        )
        if i < len(month_starts) - 4:  # the gym membership was cancelled four months ago
            rows.append(_row(first_day.replace(day=5), "PURE GYM", "Pure Gym", "Fitness", -39))
    day = start + timedelta(days=(5 - start.weekday()) % 7)  # Saturdays
    while day < end:
        amount = -rng.uniform(55, 95)
        rows.append(_row(day, "WHOLE FOODS MKT 10233", "Whole Foods", "Groceries", amount))
        day += timedelta(days=7)
    n_days = (end - start).days
    coffee_days = rng.choice(n_days, size=n_days * 3 // 7, replace=True)
    for offset in coffee_days:
        rows.append(
            _row(
                start + timedelta(days=int(offset)),
                "STARBUCKS #1234",
                "Starbucks",
                "Coffee",
                -rng.uniform(3, 6.5),
            )
        )
    frame = pd.DataFrame(rows).sort_values(d.DATE, kind="stable", ignore_index=True)
    frame[d.TYPE] = np.where(frame[d.AMOUNT] > 0, "Income", "Expense")
    frame[d.ACCOUNT] = account
    frame[d.CURRENCY] = "USD"
    frame[d.PAYMENT_METHOD] = "Card"
    if with_balance:
        frame[d.BALANCE] = (opening_balance + frame[d.AMOUNT].cumsum()).round(2)
    return frame


def households(n_accounts: int = 3, *, months: int = 12, seed: int = 0) -> pd.DataFrame:
    """Several household accounts in one frame."""
    frames = [
        household_frame(
            account=f"acct-{i}", months=months, seed=seed + i, opening_balance=1000.0 + 500 * i
        )
        for i in range(n_accounts)
    ]
    return pd.concat(frames, ignore_index=True).sort_values(d.DATE, ignore_index=True)


def berka_frame(path: Path, *, n_accounts: int | None = None) -> pd.DataFrame:
    """Berka ``trans.asc`` as a canonical frame (signed amounts, balances, a description made of
    operation, k_symbol and the counterparty bank)."""
    raw = pd.read_csv(
        path,
        sep=";",
        encoding="latin-1",
        dtype={"k_symbol": "string", "bank": "string", "account": "string"},
    )
    if n_accounts is not None:
        keep = np.sort(raw["account_id"].unique())[:n_accounts]
        raw = raw[raw["account_id"].isin(keep)]
    sign = np.where(raw["type"].isin(BERKA_EXPENSE_TYPES), -1.0, 1.0)
    operation = raw["operation"].fillna("").astype(str)
    symbol = raw["k_symbol"].fillna("").astype(str).str.strip()
    bank = raw["bank"].fillna("").astype(str)
    description = (
        (operation + " " + symbol + " " + bank).str.strip().str.replace(r"\s+", " ", regex=True)
    )
    frame = pd.DataFrame(
        {
            d.DATE: pd.to_datetime(raw["date"].astype(str), format="%y%m%d"),
            d.DESCRIPTION: description.where(description != "", "UNKNOWN"),
            d.AMOUNT: sign * raw["amount"].to_numpy(dtype=float),
            d.ACCOUNT: raw["account_id"].astype(str),
            d.BALANCE: raw["balance"].to_numpy(dtype=float),
            d.CATEGORY: symbol.where(symbol != "", None),
        }
    )
    frame[d.MERCHANT] = frame[d.DESCRIPTION].str.lower()
    frame[d.TYPE] = np.where(frame[d.AMOUNT] > 0, "Income", "Expense")
    order = np.lexsort((raw["trans_id"].to_numpy(), frame[d.DATE].to_numpy()))
    return frame.iloc[order].reset_index(drop=True)


#: The real public datasets beside the repository (../shared/data).
SHARED_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
BERKA_TRANS = SHARED_DATA / "berka" / "trans.asc"


def berka_slice(n_accounts: int = 40) -> pd.DataFrame:
    """The first ``n_accounts`` Berka accounts (skips the test when the data is absent)."""
    import pytest

    if not BERKA_TRANS.is_file():
        pytest.skip(f"{BERKA_TRANS} is not available")
    return berka_frame(BERKA_TRANS, n_accounts=n_accounts)

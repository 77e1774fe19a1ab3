"""The one module of test-data factories: plain functions returning canonical frames.

* ``canonical_frame``: a storable frame (Decimal money, merchant and fingerprint);
* ``personal_frame`` / ``synthetic_frame``: labelled frames for the category model;
* ``household_frame`` / ``households``: realistic household histories with balances;
* ``berka_slice``: real Berka accounts, read with the project's own reader.
"""

from __future__ import annotations

import functools
import hashlib
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from titans_finance import domain as d
from titans_finance.ingest.readers.berka import read_berka
from titans_finance.merchants import normalize_merchants

#: The real public datasets beside the repository (../shared/data).
SHARED_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
PERSONAL = SHARED_DATA / "personal-transactions" / "personal_transactions.csv"
BERKA_TRANS = SHARED_DATA / "berka" / "trans.asc"
#: Where the model tests split Berka history into training and test rows.
BERKA_CUT = pd.Timestamp("1993-12-01")

MERCHANTS = [
    ("STARBUCKS #1234", "Starbucks", "Coffee", Decimal("-4.50")),
    ("WHOLE FOODS MKT 10233", "Whole Foods", "Groceries", Decimal("-62.10")),
    ("SHELL OIL 5744", "Shell", "Fuel", Decimal("-41.00")),
    ("NETFLIX.COM", "Netflix", "Subscriptions", Decimal("-15.99")),
    ("ACME CORP PAYROLL", "Acme Corp", "Salary", Decimal("3200.00")),
    ("CITY APARTMENTS RENT", "City Apartments", "Rent", Decimal("-1450.00")),
]

#: A small bank export (personal-transactions layout) with one broken row.
SMALL_CSV = (
    "Date,Description,Amount,Transaction Type,Category,Account Name\n"
    "01/02/2024,NETFLIX.COM,15.99,debit,Subscriptions,Checking\n"
    "01/03/2024,WHOLE FOODS MKT 10233,62.10,debit,Groceries,Checking\n"
    "01/05/2024,ACME CORP PAYROLL,3200.00,credit,Paycheck,Checking\n"
    "01/09/2024,SHELL OIL 5744,41.00,debit,Gas & Fuel,Checking\n"
    "02/02/2024,NETFLIX.COM,15.99,debit,Subscriptions,Checking\n"
    "02/05/2024,ACME CORP PAYROLL,3200.00,credit,Paycheck,Checking\n"
    "not a date,BROKEN ROW,abc,debit,Oops,Checking\n"
)

#: The original API's documented request examples.
SEED_CATEGORY = {
    "amount": -25.50,
    "type": "Expense",
    "description": "Coffee shop purchase",
    "payment_method": "credit_card",
}
SEED_AMOUNT = {"type": "Expense", "description": "Restaurant dinner", "category": "Food & Dining"}
SEED_ANOMALY = {
    "amount": -5000.00,
    "type": "Expense",
    "description": "Large unusual purchase",
    "payment_method": "credit_card",
}


def canonical_frame(
    n: int = 60, *, account: str = "checking", start: date = date(2024, 1, 1), seed: int = 0
) -> pd.DataFrame:
    """A storable canonical frame (Decimal money, date objects, merchant and fingerprint)."""
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(MERCHANTS), size=n)
    rows = []
    for i, pick in enumerate(picks):
        raw, merchant, category, amount = MERCHANTS[pick]
        rows.append(
            {
                d.DATE: start + timedelta(days=int(i // 2)),
                d.TYPE: d.type_from_amount(amount).value,
                d.DESCRIPTION: raw,
                d.AMOUNT: amount,
                d.CATEGORY: category,
                d.PAYMENT_METHOD: "Card",
                d.STATUS: "posted",
                d.REFERENCE: None,
                d.RECEIPT_URL: None,
                d.ACCOUNT: account,
                d.CURRENCY: "USD",
                d.BALANCE: None,
                d.MERCHANT: merchant,
                "line": i + 2,
            }
        )
    frame = pd.DataFrame(rows)
    frame["fingerprint"] = [
        hashlib.sha256(f"{account}|{i}|{seed}".encode()).hexdigest() for i in range(n)
    ]
    return frame


# (descriptor stem, category, typical amount)
SYNTHETIC_MERCHANTS: tuple[tuple[str, str, float], ...] = (
    ("STARBUCKS STORE", "Coffee", -5.2),
    ("BLUE BOTTLE COFFEE", "Coffee", -6.1),
    ("WHOLE FOODS MKT", "Groceries", -64.0),
    ("TRADER JOE'S", "Groceries", -48.0),
    ("SHELL OIL", "Fuel", -42.0),
    ("CHEVRON STATION", "Fuel", -39.0),
    ("NETFLIX.COM", "Subscriptions", -15.99),
    ("SPOTIFY USA", "Subscriptions", -9.99),
    ("ACME CORP PAYROLL", "Salary", 3200.0),
    ("CITY APARTMENTS RENT", "Rent", -1450.0),
    ("UBER TRIP HELP.UBER.COM", "Transport", -18.0),
    ("AMAZON MKTPLACE PMTS", "Shopping", -33.0),
)


def personal_frame() -> pd.DataFrame:
    """The real 808-row personal-transactions export as a canonical frame, in date order."""
    raw = pd.read_csv(PERSONAL)
    sign = np.where(raw["Transaction Type"].eq("debit"), -1.0, 1.0)
    frame = pd.DataFrame(
        {
            d.DATE: pd.to_datetime(raw["Date"], format="%m/%d/%Y"),
            d.DESCRIPTION: raw["Description"],
            d.AMOUNT: raw["Amount"] * sign,
            d.TYPE: np.where(sign < 0, "Expense", "Income"),
            d.CATEGORY: raw["Category"],
            d.ACCOUNT: raw["Account Name"],
        }
    )
    return frame.sort_values(d.DATE, kind="stable").reset_index(drop=True)


def synthetic_frame(n: int = 240, seed: int = 0) -> pd.DataFrame:
    """A labelled history with store numbers, city suffixes and processor prefixes."""
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(SYNTHETIC_MERCHANTS), size=n)
    cities = np.array(["SEATTLE WA", "PORTLAND OR", "AUSTIN TX", "BOSTON MA", ""])
    prefixes = np.array(["", "POS ", "SQ *", "CHECKCARD "])
    rows = []
    for i, pick in enumerate(picks):
        stem, category, amount = SYNTHETIC_MERCHANTS[pick]
        store = f" #{rng.integers(100, 9999)}" if rng.random() < 0.7 else ""
        description = f"{rng.choice(prefixes)}{stem}{store} {rng.choice(cities)}".strip()
        rows.append(
            {
                d.DATE: pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(i // 2)),
                d.DESCRIPTION: description,
                d.AMOUNT: round(amount * float(rng.uniform(0.8, 1.2)), 2),
                d.TYPE: "Income" if amount > 0 else "Expense",
                d.CATEGORY: category,
                d.ACCOUNT: "checking" if i % 3 else "visa",
                d.PAYMENT_METHOD: "Card",
                d.CURRENCY: "USD",
            }
        )
    return pd.DataFrame(rows)


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


@functools.cache
def _berka() -> pd.DataFrame:
    frame = read_berka(BERKA_TRANS).frame
    frame[d.MERCHANT] = normalize_merchants(frame[d.DESCRIPTION])  # as ingest fills it
    frame[d.DATE] = pd.to_datetime(frame[d.DATE])
    return frame


def berka_slice(n_accounts: int = 40) -> pd.DataFrame:
    """The ``n_accounts`` lowest-numbered Berka accounts, read with the project's reader (Decimal
    money, balances, the reader's descriptions and categories), in date order; skips the test
    when the data is absent."""
    if not BERKA_TRANS.is_file():
        pytest.skip(f"{BERKA_TRANS} is not available")
    frame = _berka()
    ids = frame[d.ACCOUNT].str.removeprefix("berka-").astype(int)
    keep = np.sort(ids.unique())[:n_accounts]
    out = frame[ids.isin(keep).to_numpy()]
    return out.sort_values([d.DATE, "line"], kind="stable").reset_index(drop=True)

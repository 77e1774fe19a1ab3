"""Labelled transaction frames for the category model tests: the real personal-transactions
export (../shared/data) and a small synthetic history with noisy bank descriptors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from titans_finance import domain as d

SHARED_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
PERSONAL = SHARED_DATA / "personal-transactions" / "personal_transactions.csv"

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

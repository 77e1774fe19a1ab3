"""Plain factory functions for test data in the canonical schema."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd

from titans_finance import domain as d

MERCHANTS = [
    ("STARBUCKS #1234", "Starbucks", "Coffee", Decimal("-4.50")),
    ("WHOLE FOODS MKT 10233", "Whole Foods", "Groceries", Decimal("-62.10")),
    ("SHELL OIL 5744", "Shell", "Fuel", Decimal("-41.00")),
    ("NETFLIX.COM", "Netflix", "Subscriptions", Decimal("-15.99")),
    ("ACME CORP PAYROLL", "Acme Corp", "Salary", Decimal("3200.00")),
    ("CITY APARTMENTS RENT", "City Apartments", "Rent", Decimal("-1450.00")),
]


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

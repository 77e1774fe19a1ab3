from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd
import pytest

from titans_finance.domain import CANONICAL_COLUMNS
from titans_finance.ingest.validate import validate_frame

GOOD = {
    "Date": dt.date(2024, 1, 31),
    "Description": "  Coffee  ",
    "Amount": Decimal("-4.50"),
    "Account": "Checking",
}


def one(**changes: object) -> pd.DataFrame:
    return pd.DataFrame([{**GOOD, **changes, "line": 12}])


def test_good_row_is_tidied() -> None:
    frame, rejects = validate_frame(one(Currency="eur", Category="  "))
    assert rejects == []
    row = frame.iloc[0]
    assert row["Description"] == "Coffee"
    assert row["Type"] == "Expense"
    assert row["Currency"] == "EUR"
    assert row["Category"] is None
    assert row["line"] == 12
    assert set(CANONICAL_COLUMNS) <= set(frame.columns)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        (
            {"Date": "31/31/2024"},
            "line 12: date '31/31/2024' is not a date (expected e.g. 2024-01-31)",
        ),
        ({"Date": None}, "line 12: date is missing"),
        ({"Date": dt.date(1899, 12, 31)}, "line 12: date 1899-12-31 is outside 1900-01-01"),
        ({"Date": dt.date.today() + dt.timedelta(days=400)}, "is outside 1900-01-01"),
        ({"Amount": None}, "line 12: amount is missing"),
        ({"Amount": "twelve"}, "line 12: amount 'twelve' is not a number"),
        ({"Amount": float("inf")}, "line 12: amount"),
        ({"Amount": Decimal("NaN")}, "line 12: amount"),
        ({"Amount": Decimal("1e12")}, "not finite or too large"),
        ({"Description": "x" * 501}, "line 12: description is 501 characters long (at most 500)"),
    ],
)
def test_rejects_with_reasons(changes: dict[str, object], reason: str) -> None:
    frame, rejects = validate_frame(one(**changes))
    assert frame.empty
    assert len(rejects) == 1
    assert rejects[0].line == 12
    assert rejects[0].reason.startswith(reason) or reason in rejects[0].reason


def test_description_filled_from_reference_then_merchant_then_category() -> None:
    frame, rejects = validate_frame(
        pd.concat(
            [
                one(Description="", Reference="REF-9"),
                one(Description=None, merchant="Acme"),
                one(Description=" ", Category="Groceries"),
            ],
            ignore_index=True,
        )
    )
    assert rejects == []
    assert frame["Description"].tolist() == ["REF-9", "Acme", "Groceries"]


@pytest.mark.parametrize("description", [None, "", "   "])
def test_row_with_date_and_amount_is_kept_without_text(description: str | None) -> None:
    frame, rejects = validate_frame(one(Description=description))
    assert rejects == []
    assert frame.iloc[0]["Description"] == ""
    assert frame.iloc[0]["Amount"] == Decimal("-4.50")


@pytest.mark.parametrize(
    ("given", "amount", "expected"),
    [
        (None, "-1", "Expense"),
        (None, "1", "Income"),
        ("debit", "-1", "Expense"),
        ("CREDIT", "1", "Income"),
        ("Withdrawal", "-1", "Expense"),
        ("deposit", "1", "Income"),
        ("income", "1", "Income"),
        ("expense", "-1", "Expense"),
        ("Transfer", "-1", "Transfer"),
        ("Kartenzahlung", "-1", "Expense"),  # unknown label: from the sign
    ],
)
def test_type_mapping(given: str | None, amount: str, expected: str) -> None:
    frame, _ = validate_frame(one(Type=given, Amount=Decimal(amount)))
    assert frame.iloc[0]["Type"] == expected


@pytest.mark.parametrize(
    ("currency", "default", "expected"),
    [
        ("usd", None, "USD"),
        ("€", None, "EUR"),
        ("euro", "GBP", "GBP"),
        (None, "CHF", "CHF"),
        ("", None, None),
    ],
)
def test_currency(currency: str | None, default: str | None, expected: str | None) -> None:
    frame, _ = validate_frame(one(Currency=currency), default_currency=default)
    assert frame.iloc[0]["Currency"] == expected


def test_strings_and_floats_are_coerced() -> None:
    frame, rejects = validate_frame(one(Date="2024-01-31", Amount=-4.5, Balance="1,234.50"))
    assert rejects == []
    assert frame.iloc[0]["Date"] == dt.date(2024, 1, 31)
    assert frame.iloc[0]["Amount"] == Decimal("-4.5")
    assert frame.iloc[0]["Balance"] == Decimal("1234.50")


def test_mixed_good_and_bad_keep_order_and_account_default() -> None:
    frame = pd.DataFrame(
        [
            {**GOOD, "line": 2, "Account": None},
            {**GOOD, "line": 3, "Amount": None},
            {**GOOD, "line": 4},
        ]
    )
    out, rejects = validate_frame(frame)
    assert out["line"].tolist() == [2, 4]
    assert out["Account"].tolist() == ["default", "Checking"]
    assert [r.line for r in rejects] == [3]
    assert "Coffee" in rejects[0].raw

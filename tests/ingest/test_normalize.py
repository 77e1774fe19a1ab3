from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from titans_finance.ingest.normalize import (
    infer_dayfirst,
    infer_decimal_separator,
    parse_amounts,
    parse_dates,
    parse_mcc_codes,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1234.56", "1234.56"),
        ("-12.00", "-12.00"),
        ("12,50", "12.50"),
        ("1,234.56", "1234.56"),
        ("1.234,56", "1234.56"),
        ("38 624.93", "38624.93"),
        ("38\u00a0624,93", "38624.93"),
        ("1\u202f234.50", "1234.50"),
        ("1'234.50", "1234.50"),
        ("$12.00", "12.00"),
        ("12,00 €", "12.00"),
        ("USD 12", "12"),
        ("€-3,5", "-3.5"),
        ("-$1,000.00", "-1000.00"),
        ("(12.00)", "-12.00"),
        ("12.00-", "-12.00"),
        ("12.00 CR", "12.00"),
        ("12.00 DR", "-12.00"),
        ("+5", "5"),
        ("−7.25", "-7.25"),
        ("1,234,567", "1234567"),
        ("1.234.567", "1234567"),
        ("0.125", "0.125"),
        ("£ 1 000", "1000"),
        ("  42  ", "42"),
    ],
)
def test_parse_amounts_single_values(text: str, expected: str) -> None:
    result = parse_amounts(pd.Series([text]))
    assert result.iloc[0] == Decimal(expected)
    assert isinstance(result.iloc[0], Decimal)


@pytest.mark.parametrize(
    "text", ["", "abc", "12 apples", "1 2 3", "12.34.56,7,8", "--", "N/A", None, float("nan")]
)
def test_parse_amounts_unparseable_is_none(text: object) -> None:
    assert parse_amounts(pd.Series([text], dtype=object)).iloc[0] is None


@pytest.mark.parametrize(
    ("column", "expected"),
    [
        # No decimal-comma evidence: "1,234" is a thousands separator.
        (["1,234", "2,500", "12,345"], ["1234", "2500", "12345"]),
        # The column writes decimal commas, so "1,234" has three decimals.
        (["1,234", "12,50"], ["1.234", "12.50"]),
        # Decimal comma column: "1.234" groups thousands.
        (["1.234", "12,50"], ["1234", "12.50"]),
        (["1.234", "12.50"], ["1.234", "12.50"]),
    ],
)
def test_parse_amounts_decides_separator_per_column(column: list[str], expected: list[str]) -> None:
    assert parse_amounts(pd.Series(column)).tolist() == [Decimal(e) for e in expected]


def test_parse_amounts_forced_decimal_comma() -> None:
    result = parse_amounts(pd.Series(["1.234", "5"]), decimal=",")
    assert result.tolist() == [Decimal("1234"), Decimal("5")]


def test_parse_amounts_keeps_index_and_repeats() -> None:
    values = pd.Series(["1.00", "bad", "1.00"], index=[10, 20, 30])
    result = parse_amounts(values)
    assert list(result.index) == [10, 20, 30]
    assert result.tolist() == [Decimal("1.00"), None, Decimal("1.00")]
    assert result.dtype == object


def test_parse_amounts_empty() -> None:
    assert parse_amounts(pd.Series([], dtype=object)).empty


@pytest.mark.parametrize(
    ("column", "expected"), [(["12,50", "3,10"], ","), (["12.50"], "."), (["7"], None)]
)
def test_infer_decimal_separator(column: list[str], expected: str | None) -> None:
    assert infer_decimal_separator(pd.Series(column)) == expected


D = dt.date(2024, 1, 31)


@pytest.mark.parametrize(
    "text",
    [
        "2024-01-31",
        "2024-01-31T10:22:00Z",
        "2024-01-31T10:22:00+02:00",
        "2024-01-31 10:22",
        "2024/01/31",
        "01/31/2024",
        "31/01/2024",
        "31.01.2024",
        "31-01-2024",
        "240131",
        "20240131",
        "1/31/24 9:05",
        "31 Jan 2024",
        "Jan 31, 2024",
    ],
)
def test_parse_dates_formats(text: str) -> None:
    assert parse_dates(pd.Series([text])).iloc[0] == D


@pytest.mark.parametrize("text", ["31/31/2024", "2024-02-30", "", "garbage", "12", None])
def test_parse_dates_invalid_is_none(text: object) -> None:
    assert parse_dates(pd.Series([text], dtype=object)).iloc[0] is None


def test_parse_dates_day_first_inferred_from_column() -> None:
    result = parse_dates(pd.Series(["03/02/2024", "15/02/2024"]))
    assert result.tolist() == [dt.date(2024, 2, 3), dt.date(2024, 2, 15)]


def test_parse_dates_month_first_by_default_and_overridable() -> None:
    values = pd.Series(["01/02/2024", "03/04/2024"])
    assert parse_dates(values).tolist() == [dt.date(2024, 1, 2), dt.date(2024, 3, 4)]
    assert parse_dates(values, dayfirst=True).tolist() == [dt.date(2024, 2, 1), dt.date(2024, 4, 3)]


def test_parse_dates_mixed_formats_in_one_column() -> None:
    values = pd.Series(["2024-01-31", "15/02/2024", "20.02.2024", "20240301", "1/1/19 0:00"])
    assert parse_dates(values).tolist() == [
        dt.date(2024, 1, 31),
        dt.date(2024, 2, 15),
        dt.date(2024, 2, 20),
        dt.date(2024, 3, 1),
        dt.date(2019, 1, 1),
    ]


def test_parse_dates_two_digit_years_pivot() -> None:
    assert parse_dates(pd.Series(["990105", "680105"])).tolist() == [
        dt.date(1999, 1, 5),
        dt.date(2068, 1, 5),
    ]


@pytest.mark.parametrize(
    ("column", "expected"),
    [(["13/01/2024"], True), (["01/13/2024"], False), (["01/02/2024"], None)],
)
def test_infer_dayfirst(column: list[str], expected: bool | None) -> None:
    assert infer_dayfirst(pd.Series(column)) is expected


def test_parse_dates_large_column_is_fast() -> None:
    import time

    values = pd.Series(pd.date_range("2020-01-01", periods=1000).strftime("%m/%d/%Y")).repeat(200)
    start = time.perf_counter()
    result = parse_dates(values)
    assert time.perf_counter() - start < 5.0  # generous: shared CI machines
    assert result.iloc[0] == dt.date(2020, 1, 1)
    assert result.notna().all()


@given(
    cents=st.integers(min_value=-(10**11), max_value=10**11),
    style=st.sampled_from(["en", "de", "fr", "ch", "plain", "paren", "trailing"]),
)
@settings(max_examples=120, deadline=None)
def test_parse_amounts_round_trips_formatted_money(cents: int, style: str) -> None:
    value = Decimal(cents).scaleb(-2)
    body = f"{abs(value):,.2f}"  # 1,234.56
    text = {
        "en": body,
        "de": body.replace(",", "_").replace(".", ",").replace("_", "."),
        "fr": body.replace(",", "\u202f").replace(".", ","),
        "ch": body.replace(",", "'"),
        "plain": f"{abs(value):.2f}",
        "paren": body,
        "trailing": body,
    }[style]
    if value < 0:
        text = {"paren": f"({text})", "trailing": f"{text}-"}.get(style, f"-{text}")
    assert parse_amounts(pd.Series([text])).iloc[0] == value


def test_parse_mcc_codes() -> None:
    values = pd.Series(["5411", " 742 ", 5812.0, "MCC 4900", "12345", "", None, "ab12"])
    assert parse_mcc_codes(values).tolist() == [
        "5411",
        "0742",
        "5812",
        "4900",
        None,
        None,
        None,
        None,
    ]

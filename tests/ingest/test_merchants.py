from __future__ import annotations

import pandas as pd
import pytest

from titans_finance.ingest.merchants import normalize_descriptions, normalize_merchants


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("POS PURCHASE (EFFEC ) DJS BILTONG (PTY) LTD NORKE CARD NO.", "Djs Biltong"),
        ("STARBUCKS #1234", "Starbucks"),
        ("AMZN Mktp US*2K4RT1234", "Amazon"),
        ("SQ *BLUE BOTTLE COFFEE", "Blue Bottle Coffee"),
        ("PAYPAL *NETFLIX", "Netflix"),
        ("UBER *EATS", "Uber Eats"),
        ("BARNES &amp; NOBLE #2626", "Barnes & Noble"),
        ("ADMIRAL BEVERAGE CORP", "Admiral Beverage"),
        ("Acme GmbH", "Acme"),
        ("Boulangerie Dupont S.A.", "Boulangerie Dupont"),
        ("Thai Restaurant", "Thai Restaurant"),
        ("DEBIT CARD PURCHASE XXXX1234 12/03 SHELL OIL 12345678 HOUSTON TX", "Shell"),
        ("CHECKCARD 0412 BLUE APRON 24431064103000 NEW YORK NY", "Blue Apron New York"),
        ("fraud_Rippin, Kub and Mann", "Rippin, Kub And Mann"),
        ("REWE Markt GmbH / Einkauf 12.01", "Rewe Markt"),
        ("VISA 4111XXXXXXXX1111 COSTA COFFEE LONDON GB", "Costa Coffee London"),
        ("Mortgage Payment", "Mortgage Payment"),
    ],
)
def test_normalize_merchants(raw: str, expected: str) -> None:
    assert normalize_merchants(pd.Series([raw])).iloc[0] == expected


def test_normalize_merchants_keeps_index_missing_and_numbers_only() -> None:
    values = pd.Series(["STARBUCKS #1", None, "12345", "STARBUCKS #1"], index=[5, 6, 7, 8])
    result = normalize_merchants(values)
    assert list(result.index) == [5, 6, 7, 8]
    assert result.tolist() == ["Starbucks", None, "12345", "Starbucks"]


def test_normalize_merchants_groups_store_variants() -> None:
    values = pd.Series(["STARBUCKS #1234 SEATTLE WA", "STARBUCKS STORE 99", "Starbucks"])
    assert normalize_merchants(values).nunique() == 1


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Foo   BAR 123 ", "foo bar #"),
        ("AT&amp;T  Bill 2024-01", "at&t bill #-#"),
        ("", ""),
        (None, ""),
    ],
)
def test_normalize_descriptions(raw: str | None, expected: str) -> None:
    assert normalize_descriptions(pd.Series([raw], dtype=object)).iloc[0] == expected


def test_merchants_on_real_us_descriptors(real_data) -> None:  # type: ignore[no-untyped-def]
    frame = pd.read_csv(real_data / "us-merchants" / "Datas.csv", encoding="utf-8-sig")
    merchants = normalize_merchants(frame["Description"])
    assert merchants.notna().all()
    assert not merchants.str.contains("&amp;").any()
    assert not merchants.str.contains(r"#\d", regex=True).any()
    assert merchants.nunique() < frame["Description"].nunique()

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from titans_finance import domain as d
from titans_finance.merchants import merchant_key, normalize_merchants


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


def test_merchants_on_real_us_descriptors(shared_data: Path) -> None:
    frame = pd.read_csv(shared_data / "us-merchants" / "Datas.csv", encoding="utf-8-sig")
    merchants = normalize_merchants(frame["Description"])
    assert merchants.notna().all()
    assert not merchants.str.contains("&amp;").any()
    assert not merchants.str.contains(r"#\d", regex=True).any()
    assert merchants.nunique() < frame["Description"].nunique()


def test_merchant_key_prefers_the_merchant_column_then_the_cleaned_description() -> None:
    frame = pd.DataFrame(
        {
            d.DESCRIPTION: ["TST* JOES DINER 44 SOMEWHERE", "X", "SQ *BLUE BOTTLE #12", "1234"],
            d.MERCHANT: [None, " Costco ", "", None],
        },
        index=[5, 5, 2, 9],  # the identity is positional: repeated labels are fine
    )
    keys = merchant_key(frame)
    assert list(keys.index) == [5, 5, 2, 9]
    assert keys.iloc[1] == "costco"
    assert keys.iloc[2] == normalize_merchants(pd.Series(["SQ *BLUE BOTTLE #12"])).iloc[0].lower()
    assert (
        keys.iloc[0]
        == normalize_merchants(pd.Series(["TST* JOES DINER 44 SOMEWHERE"])).iloc[0].lower()
    )
    assert keys.iloc[3] == "1234"  # nothing of a name left: the tidied description


def test_merchant_key_without_merchant_or_description_columns() -> None:
    frame = pd.DataFrame({d.AMOUNT: [1.0, 2.0]})
    assert merchant_key(frame).tolist() == ["", ""]


def test_every_history_model_and_the_category_model_key_merchants_alike() -> None:
    """One identity: the category model's cached key and the history models' working frame."""
    from titans_finance.features.text import MERCHANT_KEY_COLUMN, prepare_text
    from titans_finance.models._history import working_frame

    frame = pd.DataFrame(
        {
            d.DATE: pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"]),
            d.DESCRIPTION: [
                "CHECKCARD 0412 STARBUCKS #1234 SEATTLE WA",
                "AMZN Mktp US*2K3",
                "Rent",
            ],
            d.AMOUNT: [-4.5, -20.0, -900.0],
        }
    )
    work = working_frame(frame, need_amount=True, what="test", training=True)
    assert prepare_text(frame)[MERCHANT_KEY_COLUMN].tolist() == work["_merchant"].tolist()
    assert work["_merchant"].tolist() == ["starbucks", "amazon", "rent"]

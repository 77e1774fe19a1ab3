"""Cold start: default taxonomy, low confidence, category-model output columns."""

from __future__ import annotations

import pandas as pd

from titans_finance import domain as d
from titans_finance.models.category import OUTPUT_COLUMNS
from titans_finance.models.cold_start import DEFAULT_TAXONOMY, cold_start_predict


def test_known_merchants_and_keywords() -> None:
    frame = pd.DataFrame(
        {
            d.DESCRIPTION: [
                "STARBUCKS STORE #1234 SEATTLE WA",
                "WHOLE FOODS MKT 10233",
                "SHELL OIL 5744",
                "NETFLIX.COM",
                "ACME CORP PAYROLL",
                "MONTHLY SERVICE FEE",
                "ATM WITHDRAWAL 0042",
                "zzqx unknown thing",
                "mystery credit",
            ],
            d.AMOUNT: [-4.5, -60, -40, -15.99, 3200, -12, -100, -7, 55],
        },
        index=range(100, 109),
    )
    result = cold_start_predict(frame)
    assert list(result.index) == list(frame.index)
    assert list(result.columns) == list(OUTPUT_COLUMNS)
    assert result["predicted_category"].tolist() == [
        "Restaurants & Coffee",
        "Groceries",
        "Fuel",
        "Entertainment & Subscriptions",
        "Salary & Income",
        "Fees & Charges",
        "Cash",
        "Other",
        "Salary & Income",
    ]
    assert (result["source"] == "cold_start").all()
    assert (result["confidence"] <= 0.6).all()
    assert (result["confidence_level"] == "LOW").all()
    assert all(1 <= len(alts) <= 3 for alts in result["alternatives"])
    assert set(result["predicted_category"]) - {"Other"} <= set(DEFAULT_TAXONOMY)


def test_empty_and_missing_columns() -> None:
    empty = cold_start_predict(pd.DataFrame({d.DESCRIPTION: pd.Series([], dtype=object)}))
    assert len(empty) == 0
    only_text = cold_start_predict(pd.DataFrame({d.DESCRIPTION: ["Uber trip"]}))
    assert only_text["predicted_category"].iloc[0] == "Transport"


def test_brand_database_decides_and_says_so() -> None:
    frame = pd.DataFrame(
        {
            d.DESCRIPTION: ["SHEETZ #1234 ALTOONA PA", "PAYROLL ACME", "zzqx"],
            d.AMOUNT: [-30.0, 1000.0, -5.0],
        }
    )
    result = cold_start_predict(frame)
    assert result["predicted_category"].tolist() == ["Fuel", "Salary & Income", "Other"]
    assert result["explanation"].iloc[0] == "brand database: Sheetz (amenity=fuel -> Fuel)"
    assert "keyword 'payroll'" in result["explanation"].iloc[1]  # money words before brands
    assert result["explanation"].iloc[2] == "no brand or keyword matched"

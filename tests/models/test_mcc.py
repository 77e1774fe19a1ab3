from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from titans_finance import domain as d
from titans_finance.models.category import CategoryModel
from titans_finance.models.cold_start import DEFAULT_TAXONOMY, cold_start_predict
from titans_finance.models.mcc import (
    MCC_RANGES,
    MccHits,
    describe_mcc,
    mcc_category,
    mcc_explanations,
)


def test_every_mcc_range_maps_to_a_default_taxonomy_category() -> None:
    assert {category for _, _, category in MCC_RANGES} <= set(DEFAULT_TAXONOMY)


@pytest.mark.parametrize(
    ("code", "category"),
    [
        ("5411", "Groceries"),
        ("5541", "Fuel"),
        ("5812", "Restaurants & Coffee"),
        ("4900", "Utilities"),
        ("6011", "Cash"),
        ("3000", "Travel"),
        ("5999", "Shopping"),
        ("0742", None),
        (None, None),
        ("abcd", None),
    ],
)
def test_mcc_category(code: str | None, category: str | None) -> None:
    assert mcc_category(code) == category


def test_descriptions_come_from_iso18245() -> None:
    assert describe_mcc("5411") == "Grocery Stores, Supermarkets"
    assert describe_mcc("0001") is None
    texts = mcc_explanations(np.asarray(["5411", None, "0001"], dtype=object))
    assert texts.tolist() == ["MCC 5411 Grocery Stores, Supermarkets", None, "MCC 0001"]


def test_mcc_hits_one_hot_code_and_category() -> None:
    train = pd.DataFrame({d.MCC: ["5411", "5541", None]})
    hits = MccHits().fit(train)
    names = hits.get_feature_names_out().tolist()
    assert names[:2] == ["mcc=5411", "mcc=5541"]
    matrix = hits.transform(pd.DataFrame({d.MCC: ["5411", "5542", None, "bad"]})).toarray()
    assert matrix.shape == (4, len(names))
    assert matrix[0, names.index("mcc=5411")] == 1 and matrix[0].sum() == 2
    # a code training never saw still carries its category
    assert matrix[1, names.index("mcc_category=Fuel")] == 1 and matrix[1].sum() == 1
    assert matrix[2].sum() == matrix[3].sum() == 0
    without = pd.DataFrame({d.DESCRIPTION: ["x", "y"]})
    assert MccHits().fit(without).transform(without).nnz == 0


def _history(n: int = 160) -> pd.DataFrame:
    kinds = [
        ("SHELL OIL 123", "Car", "5541"),
        ("KROGER 55", "Food", "5411"),
        ("NETFLIX COM", "Fun", "4899"),
        ("ACME PAYROLL", "Pay", None),
    ]
    rows = [kinds[i % 4] for i in range(n)]
    return pd.DataFrame(
        {
            d.DATE: pd.date_range("2024-01-01", periods=n, freq="D"),
            d.DESCRIPTION: [r[0] for r in rows],
            d.AMOUNT: [-20.0 if r[1] != "Pay" else 900.0 for r in rows],
            d.CATEGORY: [r[1] for r in rows],
            d.MCC: [r[2] for r in rows],
        }
    )


def test_category_model_reads_and_explains_the_mcc() -> None:
    model = CategoryModel(calibration_folds=2).fit(_history())
    new = pd.DataFrame(
        {
            d.DATE: [pd.Timestamp("2024-09-01")] * 2,
            d.DESCRIPTION: ["ZORBLAX 9", "ZORBLAX 9"],
            d.AMOUNT: [-20.0, -20.0],
            d.MCC: ["5411", "5542"],
        }
    )
    out = model.predict(new)
    assert out["predicted_category"].tolist() == ["Food", "Car"]
    assert out["explanation"].iat[0].endswith("MCC 5411 Grocery Stores, Supermarkets")
    assert "MCC 5542" in out["explanation"].iat[1]
    assert "merchant not seen in training" in out["explanation"].iat[0]


def test_cold_start_takes_the_mcc_category_before_brand_and_keywords() -> None:
    frame = pd.DataFrame(
        {
            d.DESCRIPTION: ["STARBUCKS 12", "STARBUCKS 12", "ACME PAYROLL"],
            d.AMOUNT: [-5.0, -5.0, 900.0],
            d.MCC: ["5541", None, "5541"],
        }
    )
    out = cold_start_predict(frame)
    assert out["predicted_category"].tolist() == ["Fuel", "Restaurants & Coffee", "Salary & Income"]
    assert out["explanation"].iat[0] == "MCC 5541 Service Stations -> Fuel"
    assert out["explanation"].iat[1].startswith("brand database: Starbucks")

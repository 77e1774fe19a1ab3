"""Amount features."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd

from titans_finance import domain as d
from titans_finance.features.amount import AmountBins, AmountFeatures


def test_amount_features_accept_decimal() -> None:
    frame = pd.DataFrame({d.AMOUNT: [Decimal("-100.00"), Decimal("12.34"), None]})
    out = AmountFeatures().fit(frame).transform(frame)
    assert out["amount"].tolist() == [-100.0, 12.34, 0.0]
    assert out["is_outflow"].tolist() == [1.0, 0.0, 0.0]
    assert out["is_round_100"].iloc[0] == 1 and out["is_round_1"].iloc[1] == 0
    assert out["cents"].iloc[1] == 34
    assert out["amount_magnitude"].iloc[0] == 2


def test_amount_bins_separate_signs_and_magnitudes() -> None:
    frame = pd.DataFrame({d.AMOUNT: [-5.0, 5.0, -5000.0, -4.99]})
    bins = AmountBins().fit(frame)
    matrix = bins.transform(frame).toarray()
    names = list(bins.get_feature_names_out())
    assert matrix.shape == (4, len(names))
    assert not np.array_equal(matrix[0], matrix[1])  # in vs out
    assert not np.array_equal(matrix[0], matrix[2])  # magnitude
    assert matrix[0, names.index("round_1")] == 1 and matrix[3, names.index("round_1")] == 0

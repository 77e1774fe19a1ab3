"""Amount features."""

from __future__ import annotations

import numpy as np
import pandas as pd

from titans_finance import domain as d
from titans_finance.features.amount import AmountBins


def test_amount_bins_separate_signs_and_magnitudes() -> None:
    frame = pd.DataFrame({d.AMOUNT: [-5.0, 5.0, -5000.0, -4.99]})
    bins = AmountBins().fit(frame)
    matrix = bins.transform(frame).toarray()
    names = list(bins.get_feature_names_out())
    assert matrix.shape == (4, len(names))
    assert not np.array_equal(matrix[0], matrix[1])  # in vs out
    assert not np.array_equal(matrix[0], matrix[2])  # magnitude
    assert matrix[0, names.index("round_1")] == 1 and matrix[3, names.index("round_1")] == 0

"""Calendar features."""

from __future__ import annotations

import numpy as np
import pandas as pd

from titans_finance import domain as d
from titans_finance.features.time import CalendarOneHot


def test_calendar_one_hot() -> None:
    frame = pd.DataFrame({d.DATE: pd.to_datetime(["2024-01-01", "2024-01-31", None])})
    encoder = CalendarOneHot().fit(frame)
    matrix = encoder.transform(frame).toarray()
    names = list(encoder.get_feature_names_out())
    assert matrix.shape == (3, len(names))
    assert matrix[0, names.index("dow_0")] == 1 and matrix[0, names.index("dom_1_3")] == 1
    assert matrix[1, names.index("dom_28_31")] == 1
    np.testing.assert_array_equal(matrix[2], np.eye(len(names))[names.index("date_missing")])

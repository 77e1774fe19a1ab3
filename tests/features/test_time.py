"""Calendar features."""

from __future__ import annotations

import numpy as np
import pandas as pd

from titans_finance import domain as d
from titans_finance.features.time import TIME_FEATURES, CalendarOneHot, TimeFeatures


def test_time_features_values_and_missing_dates() -> None:
    frame = pd.DataFrame({d.DATE: ["2024-02-29", None, "2024-03-02"]}, index=[7, 8, 9])
    out = TimeFeatures().fit(frame).transform(frame)
    assert list(out.columns) == list(TIME_FEATURES)
    assert list(out.index) == [7, 8, 9]
    first = out.loc[7]
    assert first["day_of_week"] == 3  # Thursday
    assert first["day_of_month"] == 29 and first["month"] == 2
    assert first["is_month_end"] == 1 and first["days_to_month_end"] == 0
    assert out.loc[9, "is_weekend"] == 1
    assert (out.loc[8] == 0).all()


def test_calendar_one_hot() -> None:
    frame = pd.DataFrame({d.DATE: pd.to_datetime(["2024-01-01", "2024-01-31", None])})
    encoder = CalendarOneHot().fit(frame)
    matrix = encoder.transform(frame).toarray()
    names = list(encoder.get_feature_names_out())
    assert matrix.shape == (3, len(names))
    assert matrix[0, names.index("dow_0")] == 1 and matrix[0, names.index("dom_1_3")] == 1
    assert matrix[1, names.index("dom_28_31")] == 1
    np.testing.assert_array_equal(matrix[2], np.eye(len(names))[names.index("date_missing")])

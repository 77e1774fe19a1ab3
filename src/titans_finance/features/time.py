"""Calendar features from the transaction date."""

from __future__ import annotations

from typing import Self

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin

from titans_finance.features._columns import date_column

TIME_FEATURES: tuple[str, ...] = (
    "day_of_week",
    "day_of_month",
    "month",
    "quarter",
    "day_of_year",
    "week_of_year",
    "is_weekend",
    "is_month_start",
    "is_month_end",
    "days_to_month_end",
    "dow_sin",
    "dow_cos",
    "dom_sin",
    "dom_cos",
    "month_sin",
    "month_cos",
)


def calendar_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The 16 calendar features of ``TIME_FEATURES`` (zeros where the date is missing)."""
    dates = date_column(frame)
    dt = dates.dt
    dow = dt.dayofweek.fillna(0).to_numpy(np.float64)
    dom = dt.day.fillna(1).to_numpy(np.float64)
    month = dt.month.fillna(1).to_numpy(np.float64)
    dim = dt.days_in_month.fillna(31).to_numpy(np.float64)
    out = pd.DataFrame(
        {
            "day_of_week": dow,
            "day_of_month": dom,
            "month": month,
            "quarter": dt.quarter.fillna(1).to_numpy(np.float64),
            "day_of_year": dt.dayofyear.fillna(1).to_numpy(np.float64),
            "week_of_year": dt.isocalendar().week.fillna(1).to_numpy(np.float64),
            "is_weekend": (dow >= 5).astype(np.float64),
            "is_month_start": (dom <= 3).astype(np.float64),
            "is_month_end": (dom >= dim - 2).astype(np.float64),
            "days_to_month_end": dim - dom,
            "dow_sin": np.sin(2 * np.pi * dow / 7),
            "dow_cos": np.cos(2 * np.pi * dow / 7),
            "dom_sin": np.sin(2 * np.pi * (dom - 1) / dim),
            "dom_cos": np.cos(2 * np.pi * (dom - 1) / dim),
            "month_sin": np.sin(2 * np.pi * (month - 1) / 12),
            "month_cos": np.cos(2 * np.pi * (month - 1) / 12),
        },
        index=frame.index,
    )
    missing = dates.isna().to_numpy()
    if missing.any():
        out.loc[missing, :] = 0.0
    return out


class TimeFeatures(BaseEstimator, TransformerMixin):
    """Numeric calendar features (day of week/month, month, cyclic encodings, month edges).

    Stateless; takes a canonical frame, returns a float DataFrame with ``TIME_FEATURES``.
    """

    def fit(self, frame: pd.DataFrame, y: object = None) -> Self:
        """Nothing to learn; returns self."""
        self.n_features_out_ = len(TIME_FEATURES)
        return self

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Calendar features for each row."""
        return calendar_frame(frame)

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        """Output column names."""
        return np.asarray(TIME_FEATURES, dtype=object)


class CalendarOneHot(BaseEstimator, TransformerMixin):
    """Sparse one-hot of day of week and day-of-month bucket, for linear models.

    Day of month is bucketed (1-3, 4-7, 8-14, 15-21, 22-27, 28-31) so a rent on the 1st and a
    salary at month end become learnable without one weight per day.
    """

    _DOM_EDGES = np.array([3, 7, 14, 21, 27], dtype=np.float64)

    def fit(self, frame: pd.DataFrame, y: object = None) -> Self:
        """Nothing to learn; returns self."""
        self.n_features_out_ = 7 + 6 + 1
        return self

    def transform(self, frame: pd.DataFrame) -> sp.csr_matrix:
        """One-hot rows (a 'date missing' column when there is no date)."""
        dates = date_column(frame)
        missing = dates.isna().to_numpy()
        dow = dates.dt.dayofweek.fillna(0).to_numpy(np.int64)
        dom = dates.dt.day.fillna(1).to_numpy(np.float64)
        bucket = 7 + np.searchsorted(self._DOM_EDGES, dom, side="left")
        n = len(frame)
        rows = np.repeat(np.arange(n), 2)
        cols = np.column_stack([dow, bucket]).ravel()
        data = np.ones(2 * n, dtype=np.float32)
        data[np.repeat(missing, 2)] = 0.0
        matrix = sp.csr_matrix((data, (rows, cols)), shape=(n, self.n_features_out_))
        matrix = matrix + sp.csr_matrix(
            (missing.astype(np.float32), (np.arange(n), np.full(n, 13))),
            shape=(n, self.n_features_out_),
        )
        matrix.eliminate_zeros()
        return matrix.tocsr()

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        """Output column names."""
        dows = [f"dow_{i}" for i in range(7)]
        doms = ["dom_1_3", "dom_4_7", "dom_8_14", "dom_15_21", "dom_22_27", "dom_28_31"]
        return np.asarray([*dows, *doms, "date_missing"], dtype=object)


__all__ = ["TIME_FEATURES", "CalendarOneHot", "TimeFeatures", "calendar_frame"]

"""Calendar features from the transaction date (sparse one-hot, for linear models)."""

from __future__ import annotations

from typing import Self

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin

from titans_finance.frame import date_column


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


__all__ = ["CalendarOneHot"]

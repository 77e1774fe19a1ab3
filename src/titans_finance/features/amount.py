"""Amount features: sign and log-magnitude bins plus roundness flags, for linear models."""

from __future__ import annotations

from typing import Self

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin

from titans_finance.frame import amount_column


class AmountBins(BaseEstimator, TransformerMixin):
    """Sparse one-hot of (sign, log-magnitude bin) plus roundness flags, for linear models.

    Parameters
    ----------
    bins_per_decade : int
        Resolution of the log10 magnitude bins (2 = bins at 1, 3.2, 10, 32, ...).
    max_decades : int
        Amounts above 10**max_decades share the last bin.
    """

    def __init__(self, bins_per_decade: int = 2, max_decades: int = 6) -> None:
        self.bins_per_decade = bins_per_decade
        self.max_decades = max_decades

    def fit(self, frame: pd.DataFrame, y: object = None) -> Self:
        """Fix the output width; returns self."""
        self.n_bins_ = self.bins_per_decade * self.max_decades + 1
        self.n_features_out_ = 2 * self.n_bins_ + 2
        return self

    def transform(self, frame: pd.DataFrame) -> sp.csr_matrix:
        """One-hot bin per row (outflows and inflows have separate bins) + round flags."""
        amount = amount_column(frame)
        absolute = np.abs(amount)
        level = np.floor(np.log10(absolute + 1.0) * self.bins_per_decade).astype(np.int64)
        level = np.clip(level, 0, self.n_bins_ - 1)
        column = level + np.where(amount < 0, self.n_bins_, 0)
        cents = np.round(absolute * 100).astype(np.int64)
        n = len(frame)
        rows = np.arange(n)
        round_1 = (cents % 100 == 0) & (cents > 0)
        round_10 = round_1 & (cents % 1000 == 0)
        all_rows = np.concatenate([rows, rows[round_1], rows[round_10]])
        all_cols = np.concatenate(
            [
                column,
                np.full(int(round_1.sum()), 2 * self.n_bins_),
                np.full(int(round_10.sum()), 2 * self.n_bins_ + 1),
            ]
        )
        data = np.ones(len(all_rows), dtype=np.float32)
        return sp.csr_matrix((data, (all_rows, all_cols)), shape=(n, self.n_features_out_))

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        """Output column names."""
        names = [f"in_bin_{i}" for i in range(self.n_bins_)]
        names += [f"out_bin_{i}" for i in range(self.n_bins_)]
        return np.asarray([*names, "round_1", "round_10"], dtype=object)


__all__ = ["AmountBins"]

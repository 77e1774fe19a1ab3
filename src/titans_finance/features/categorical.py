"""Categorical features: one-hot of type, account, payment method and merchant identity."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin

from titans_finance import domain as d
from titans_finance.features.text import lower_strip, merchant_key_of
from titans_finance.frame import amount_column, map_distinct, text_column

DEFAULT_CATEGORICALS: tuple[str, ...] = (d.TYPE, d.ACCOUNT, d.PAYMENT_METHOD, d.CURRENCY)
MERCHANT_KEY = "merchant_key"


def categorical_values(frame: pd.DataFrame, column: str) -> pd.Series:
    """Lower-cased values of ``column``; ``Type`` falls back to the amount sign, ``merchant_key``
    is derived from merchant/description."""
    if column == MERCHANT_KEY:
        return merchant_key_of(frame)
    source = frame[column] if column in frame else text_column(frame, column)
    values = map_distinct(source, lower_strip)
    if column == d.TYPE:
        sign = np.where(amount_column(frame) < 0, "expense", "income")
        values = values.where(values != "", pd.Series(sign, index=frame.index, dtype=object))
    return values


class CategoricalOneHot(BaseEstimator, TransformerMixin):
    """Sparse one-hot of categorical columns; unseen and rare values map to no column.

    Parameters
    ----------
    columns : sequence of str
        Canonical column names, or ``"merchant_key"`` for the merchant identity.
    min_count : int
        Values seen fewer times in training are ignored (they behave as unseen).
    """

    def __init__(self, columns: Sequence[str] = DEFAULT_CATEGORICALS, min_count: int = 1) -> None:
        self.columns = columns
        self.min_count = min_count

    def fit(self, frame: pd.DataFrame, y: object = None) -> Self:
        """Learn each column's vocabulary; returns self."""
        self.vocabularies_: dict[str, pd.Index] = {}
        offset = 0
        self.offsets_: dict[str, int] = {}
        for column in self.columns:
            counts = categorical_values(frame, column).value_counts()
            kept = counts[counts >= self.min_count].index.sort_values()
            self.vocabularies_[column] = pd.Index(kept)
            self.offsets_[column] = offset
            offset += len(kept)
        self.n_features_out_ = offset
        return self

    def transform(self, frame: pd.DataFrame) -> sp.csr_matrix:
        """One-hot rows (all zeros for a column whose value was not seen in training)."""
        n = len(frame)
        rows: list[np.ndarray] = []
        cols: list[np.ndarray] = []
        for column in self.columns:
            position = self.vocabularies_[column].get_indexer(
                pd.Index(categorical_values(frame, column))
            )
            known = position >= 0
            rows.append(np.flatnonzero(known))
            cols.append(position[known] + self.offsets_[column])
        row = np.concatenate(rows) if rows else np.array([], dtype=np.int64)
        col = np.concatenate(cols) if cols else np.array([], dtype=np.int64)
        data = np.ones(len(row), dtype=np.float32)
        return sp.csr_matrix((data, (row, col)), shape=(n, self.n_features_out_))

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        """Output column names (``column=value``)."""
        return np.asarray(
            [f"{c}={v}" for c in self.columns for v in self.vocabularies_[c]], dtype=object
        )


__all__ = ["DEFAULT_CATEGORICALS", "MERCHANT_KEY", "CategoricalOneHot", "categorical_values"]

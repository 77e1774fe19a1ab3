"""Behavioural features: how a transaction compares with its merchant's history.

:class:`MerchantProfile` learns per-merchant statistics at fit time (vectorised groupby) and
looks them up at transform time, so a single transaction scored alone gets the same features
as in training.
"""

from __future__ import annotations

from typing import Self

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from titans_finance.features.text import merchant_key_of
from titans_finance.frame import amount_column, date_column

PROFILE_FEATURES: tuple[str, ...] = (
    "merchant_seen",
    "merchant_count_log",
    "merchant_amount_median_log",
    "amount_vs_merchant_median",
    "merchant_amount_cv",
    "merchant_interval_median",
    "merchant_is_monthly",
    "merchant_is_weekly",
    "merchant_is_recurring",
)


def _merchant_stats(frame: pd.DataFrame) -> pd.DataFrame:
    data = pd.DataFrame(
        {
            "merchant": merchant_key_of(frame).to_numpy(),
            "abs": np.abs(amount_column(frame)),
            "date": date_column(frame).to_numpy(),
        }
    )
    data = data.sort_values(["merchant", "date"], kind="stable")
    data["gap"] = data.groupby("merchant")["date"].diff().dt.days
    grouped = data.groupby("merchant")
    stats = pd.DataFrame(
        {
            "count": grouped.size(),
            "median": grouped["abs"].median(),
            "mean": grouped["abs"].mean(),
            "std": grouped["abs"].std(ddof=0),
            "interval": grouped["gap"].median(),
        }
    )
    stats["cv"] = (stats["std"] / stats["mean"].where(stats["mean"] > 0)).fillna(0.0)
    return stats


class MerchantProfile(BaseEstimator, TransformerMixin):
    """Per-merchant history learnt at fit time: frequency, typical amount, recurrence.

    Parameters
    ----------
    min_occurrences : int
        Occurrences needed before a merchant can count as recurring.
    """

    def __init__(self, min_occurrences: int = 3) -> None:
        self.min_occurrences = min_occurrences

    def fit(self, frame: pd.DataFrame, y: object = None) -> Self:
        """Learn per-merchant statistics; returns self."""
        stats = _merchant_stats(frame)
        interval = stats["interval"]
        enough = stats["count"] >= self.min_occurrences
        stats["monthly"] = (enough & interval.between(26, 35)).astype(np.float64)
        stats["weekly"] = (enough & interval.between(6, 8)).astype(np.float64)
        stats["recurring"] = (enough & interval.between(6, 400) & (stats["cv"] < 0.5)).astype(
            np.float64
        )
        self.stats_ = stats
        self.n_features_out_ = len(PROFILE_FEATURES)
        return self

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Profile features per row (zeros for merchants not seen in training)."""
        position = self.stats_.index.get_indexer(pd.Index(merchant_key_of(frame)))
        seen = position >= 0
        take = np.where(seen, position, 0)

        def column(name: str, default: float = 0.0) -> np.ndarray:
            if len(self.stats_) == 0:
                return np.full(len(frame), default)
            values = self.stats_[name].to_numpy(np.float64)[take]
            return np.where(seen, np.nan_to_num(values, nan=default), default)

        absolute = np.abs(amount_column(frame))
        median = column("median")
        return pd.DataFrame(
            {
                "merchant_seen": seen.astype(np.float64),
                "merchant_count_log": np.log1p(column("count")),
                "merchant_amount_median_log": np.log1p(median),
                "amount_vs_merchant_median": np.where(
                    seen, np.log1p(absolute) - np.log1p(median), 0.0
                ),
                "merchant_amount_cv": column("cv"),
                "merchant_interval_median": np.log1p(column("interval")),
                "merchant_is_monthly": column("monthly"),
                "merchant_is_weekly": column("weekly"),
                "merchant_is_recurring": column("recurring"),
            },
            index=frame.index,
        )

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        """Output column names."""
        return np.asarray(PROFILE_FEATURES, dtype=object)


__all__ = ["PROFILE_FEATURES", "MerchantProfile"]

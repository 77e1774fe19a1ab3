"""Behavioural features: how a transaction compares with its merchant's and account's history.

Two flavours, both vectorised (groupby/rolling, no per-row Python):

* :class:`MerchantProfile` learns per-merchant statistics at fit time and looks them up at
  transform time, so a single transaction scored alone gets the same features as in training.
* :class:`RollingBehaviour` computes history inside the frame it is given (rolling amounts,
  days since the previous transaction, frequency), for batch analyses over a full history.
"""

from __future__ import annotations

from typing import Self

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from titans_finance import domain as d
from titans_finance.features._columns import amount_column, date_column, text_column
from titans_finance.features.text import merchant_key

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

ROLLING_FEATURES: tuple[str, ...] = (
    "merchant_days_since_prev",
    "merchant_prev_count",
    "merchant_rolling_mean_abs",
    "merchant_amount_ratio",
    "account_days_since_prev",
    "account_count_30d",
    "account_outflow_30d",
    "account_inflow_30d",
)


def _merchant_stats(frame: pd.DataFrame) -> pd.DataFrame:
    data = pd.DataFrame(
        {
            "merchant": merchant_key(frame).to_numpy(),
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
        position = self.stats_.index.get_indexer(pd.Index(merchant_key(frame)))
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


def rolling_frame(
    frame: pd.DataFrame, window_days: int = 30, merchant_window: int = 5
) -> pd.DataFrame:
    """History features computed within ``frame`` (see ``ROLLING_FEATURES``), input order kept.

    Each row only sees earlier rows (by date, then input order) of its merchant or account.
    """
    amount = amount_column(frame)
    data = pd.DataFrame(
        {
            "merchant": merchant_key(frame).to_numpy(),
            "account": text_column(frame, d.ACCOUNT, "default").to_numpy(),
            "date": date_column(frame).fillna(pd.Timestamp(0)).to_numpy(),
            "abs": np.abs(amount),
            "out": np.where(amount < 0, -amount, 0.0),
            "in": np.where(amount > 0, amount, 0.0),
            "order": np.arange(len(frame)),
        }
    )
    result = pd.DataFrame(index=np.arange(len(frame)))

    # Merchant history: sorted by merchant then time, so group results align with rows.
    data = data.sort_values(["merchant", "date", "order"], kind="stable", ignore_index=True)
    by_merchant = data.groupby("merchant", sort=True)
    previous = by_merchant["abs"].shift(1)
    rolling_mean = (
        previous.groupby(data["merchant"], sort=True)
        .rolling(merchant_window, min_periods=1)
        .mean()
        .to_numpy()
    )
    rolling_mean = np.nan_to_num(rolling_mean, nan=0.0)
    order = data["order"].to_numpy()
    result.loc[order, "merchant_days_since_prev"] = (
        by_merchant["date"].diff().dt.days.fillna(-1.0).to_numpy()
    )
    result.loc[order, "merchant_prev_count"] = by_merchant.cumcount().to_numpy(np.float64)
    result.loc[order, "merchant_rolling_mean_abs"] = rolling_mean
    result.loc[order, "merchant_amount_ratio"] = np.where(
        rolling_mean > 0, data["abs"].to_numpy() / np.where(rolling_mean > 0, rolling_mean, 1), 1.0
    )

    # Account activity over a trailing time window (the current row excluded).
    data = data.sort_values(["account", "date", "order"], kind="stable", ignore_index=True)
    order = data["order"].to_numpy()
    result.loc[order, "account_days_since_prev"] = (
        data.groupby("account", sort=True)["date"].diff().dt.days.fillna(-1.0).to_numpy()
    )
    indexed = data.set_index("date")
    rolling = indexed.groupby("account", sort=True)[["abs", "out", "in"]].rolling(
        f"{window_days}D", closed="left"
    )
    counts = rolling["abs"].count().to_numpy()
    sums = rolling[["out", "in"]].sum().to_numpy()
    result.loc[order, "account_count_30d"] = np.nan_to_num(counts)
    result.loc[order, "account_outflow_30d"] = np.nan_to_num(sums[:, 0])
    result.loc[order, "account_inflow_30d"] = np.nan_to_num(sums[:, 1])
    result.index = frame.index
    return result[list(ROLLING_FEATURES)].astype(np.float64)


class RollingBehaviour(BaseEstimator, TransformerMixin):
    """Within-batch history: days since the merchant/account's previous transaction, rolling
    merchant amount, account activity over a trailing window.

    Parameters
    ----------
    window_days : int
        Trailing window for account counts and sums (excludes the current day's later rows).
    merchant_window : int
        Number of previous merchant transactions averaged.
    """

    def __init__(self, window_days: int = 30, merchant_window: int = 5) -> None:
        self.window_days = window_days
        self.merchant_window = merchant_window

    def fit(self, frame: pd.DataFrame, y: object = None) -> Self:
        """Nothing to learn; returns self."""
        self.n_features_out_ = len(ROLLING_FEATURES)
        return self

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        """History features per row, input order kept."""
        return rolling_frame(frame, self.window_days, self.merchant_window)

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        """Output column names."""
        return np.asarray(ROLLING_FEATURES, dtype=object)


__all__ = [
    "PROFILE_FEATURES",
    "ROLLING_FEATURES",
    "MerchantProfile",
    "RollingBehaviour",
    "rolling_frame",
]

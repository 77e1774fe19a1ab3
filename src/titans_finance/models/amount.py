"""Amount prediction with calibrated intervals (conformalised quantile regression)."""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.utils.validation import check_is_fitted

from titans_finance import domain as d
from titans_finance.errors import TrainingDataError
from titans_finance.models._history import (
    attach,
    group_table,
    prior_stats,
    single_threaded,
    working_frame,
)
from titans_finance.models.base import TitansModel

logger = logging.getLogger(__name__)

#: history levels, most specific first: (key columns, prefix)
_LEVELS: tuple[tuple[list[str], str], ...] = (
    (["_account", "_merchant"], "am"),
    (["_account", "_category"], "ac"),
    (["_merchant"], "m"),
    (["_account", "_type_sign"], "at"),
    (["_category"], "c"),
)
_FEATURES: tuple[str, ...] = (
    "ref",
    "type_sign",
    "am_n",
    "am_median",
    "am_last",
    "am_last3",
    "am_std",
    "am_max",
    "ac_n",
    "ac_median",
    "m_n",
    "m_median",
    "at_median",
    "c_median",
    "is_cash",
    "day",
    "weekday",
    "days_since",
)
#: history size bins for Mondrian (per-bin) conformal correction: no history, 1-2, 3-9, 10+
_BINS = np.array([1, 3, 10])
_MIN_ROWS = 30


class AmountModel(TitansModel):
    """Predict a transaction's signed amount with a calibrated interval.

    Method: the magnitude is modelled in log space as a residual from a reference level (the
    median of the most specific history available: same account and merchant, then the merchant
    across accounts, account and category, account and direction, category, everything).  Three
    ``HistGradientBoostingRegressor`` models (quantile loss at 0.5, (1-coverage)/2 and
    (1+coverage)/2) learn from history features (median, last, mean of the last three, spread,
    count of that pair; category and merchant medians; calendar), which training computes from
    strictly earlier rows only so training and scoring see the same kind of history.  The interval
    is conformalised quantile regression (CQR, Romano et al. 2019): the bound models are fitted
    on the older 75% of the training rows and calibrated on the most recent 25%, whose features
    come from the older part's history only (time-ordered, so the correction measures
    forecasting error at a horizon like the one of future rows, not fitting error), with a
    separate correction per category within each history-size bin (Mondrian CQR; cells with
    few calibration rows fall back to the bin, then to all rows) so that coverage holds for
    volatile cash withdrawals as well as fixed fees, for new merchants as for long-standing
    pairs.  Working in log space makes the width
    proportional to the amount's scale.  The sign comes from ``Type`` (Expense negative, Income
    positive) or, for transfers and unknown types, from the pair's history.  CQR rather than a
    residual quantile: its width adapts to each row (a fixed fee gets a narrow interval, a cash
    withdrawal a wide one); MAPIE would add a dependency for the same few lines.

    Parameters
    ----------
    coverage : float
        Target probability that the true amount lies in ``[lower, upper]`` (default 0.9).
    calibration_fraction : float
        Share of the most recent training rows used to calibrate the interval.
    drift_margin : float
        Share of the miscoverage budget ``1 - coverage`` held back because the future drifts
        from the calibration period (0.1 calibrates a 90% interval at 91%; on the development
        Berka accounts, time-ordered hold-outs otherwise fall 1-4 points short).
    max_iter, learning_rate, min_samples_leaf :
        ``HistGradientBoostingRegressor`` settings.
    random_state : int
        Seed of the boosting models.
    """

    model_type: ClassVar[str] = "amount"

    def __init__(
        self,
        coverage: float = 0.9,
        calibration_fraction: float = 0.25,
        drift_margin: float = 0.1,
        max_iter: int = 100,
        learning_rate: float = 0.1,
        min_samples_leaf: int = 20,
        random_state: int = 0,
    ) -> None:
        self.coverage = coverage
        self.calibration_fraction = calibration_fraction
        self.drift_margin = drift_margin
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.min_samples_leaf = min_samples_leaf
        self.random_state = random_state

    # -- features ---------------------------------------------------------------------------------
    def feature_names(self) -> list[str]:
        """Model features (log-magnitude history statistics and calendar)."""
        return list(_FEATURES)

    @staticmethod
    def _assemble(work: pd.DataFrame, global_median: float) -> pd.DataFrame:
        """Model matrix from a working frame that already carries the history statistics."""
        ref = work["am_median"].copy()
        for column in ("m_median", "ac_median", "at_median", "c_median"):
            ref = ref.fillna(work[column])
        ref = ref.fillna(global_median)
        features = pd.DataFrame(index=work.index)
        features["ref"] = ref
        features["type_sign"] = work["_type_sign"]
        for column in _FEATURES:
            if column in features:
                continue
            if column in work:
                features[column] = work[column].astype(float)
        for column in ("am_median", "am_last", "am_last3", "am_max", "ac_median", "m_median"):
            features[column] = features[column] - ref  # relative to the reference level
        for column in ("am_n", "ac_n", "m_n"):
            features[column] = features[column].fillna(0.0)
        features["is_cash"] = work["_is_cash"].astype(float)
        features["day"] = work["_date"].dt.day.astype(float)
        features["weekday"] = work["_date"].dt.weekday.astype(float)
        since = (work["_date"] - work["am_last_date"]).dt.days
        features["days_since"] = since.astype(float)
        return features[list(_FEATURES)]

    def _training_matrix(self, work: pd.DataFrame) -> pd.DataFrame:
        for keys, prefix in _LEVELS:
            work = pd.concat([work, prior_stats(work, keys, prefix)], axis=1)
        global_median = work["_log"].expanding().median().shift(1).fillna(work["_log"].iloc[0])
        features = self._assemble(work, 0.0)
        missing_ref = work[[f"{p}_median" for _, p in _LEVELS]].isna().all(axis=1)
        features.loc[missing_ref, "ref"] = global_median[missing_ref]
        return features

    # -- fit --------------------------------------------------------------------------------------
    def _fit(self, frame: pd.DataFrame) -> None:
        with single_threaded():
            self._fit_impl(frame)

    def _fit_impl(self, frame: pd.DataFrame) -> None:
        if not 0.0 < self.coverage < 1.0:
            raise TrainingDataError(f"coverage must be between 0 and 1, got {self.coverage}")
        work = working_frame(frame, need_amount=True, what="amount model training", training=True)
        if len(work) < _MIN_ROWS:
            raise TrainingDataError(
                f"amount model training needs at least {_MIN_ROWS} transactions, got {len(work)}"
            )
        work = work.sort_values(["_date", "_pos"], kind="stable").reset_index(drop=True)
        features = self._training_matrix(work)
        target = work["_log"] - features["ref"]

        alpha = (1.0 - self.coverage) / 2.0
        n_cal = int(len(work) * self.calibration_fraction)
        split = len(work) - n_cal
        proper = slice(0, split)
        self.calibration_ = {"global": 0.0}
        if n_cal >= 20:
            low, high = self._quantile_models(alpha)
            low.fit(features.iloc[proper], target.iloc[proper])
            high.fit(features.iloc[proper], target.iloc[proper])
            # calibration rows see only the proper part's history, as future rows will see
            # only the training history: the correction then covers the forecast horizon
            history = work.iloc[proper]
            self.tables_ = {p: group_table(history, keys, p) for keys, p in _LEVELS}
            self.global_median_ = float(history["_log"].median())
            cal_work = work.iloc[split:][[c for c in work.columns if c.startswith("_")]]
            cal_x = self._history_features(cal_work.reset_index(drop=True))[1]
            cal_y = work["_log"].iloc[split:].to_numpy() - cal_x["ref"].to_numpy()
            scores = np.maximum(low.predict(cal_x) - cal_y, cal_y - high.predict(cal_x))
            bin_keys, cell_keys = _mondrian_keys(cal_work, cal_x)
            # hold back part of the miscoverage budget for drift between calibration and use
            level = self.coverage + self.drift_margin * (1.0 - self.coverage)
            self.calibration_ = {"global": _conformal_quantile(scores, level)}
            for keys, minimum in ((bin_keys, 30), (cell_keys, 50)):
                for key, rows in pd.Series(np.arange(len(keys))).groupby(keys):
                    if len(rows) >= minimum:
                        self.calibration_[str(key)] = _conformal_quantile(
                            scores[rows.to_numpy()], level
                        )
        else:
            logger.warning("amount model: too few rows to calibrate intervals; using raw quantiles")

        self.median_model_ = self._model("quantile", 0.5).fit(features, target)
        if n_cal >= 20:
            # split conformal: keep the bound models the correction was measured on
            self.low_model_, self.high_model_ = low, high
        else:
            self.low_model_, self.high_model_ = self._quantile_models(alpha)
            self.low_model_.fit(features, target)
            self.high_model_.fit(features, target)

        self.tables_ = {prefix: group_table(work, keys, prefix) for keys, prefix in _LEVELS}
        self.global_median_ = float(work["_log"].median())
        self.baseline_ = (
            pd.DataFrame(
                {
                    "_account": work["_account"],
                    "_description": _descriptions(frame, work["_pos"]),
                    "_amount": work["_amount"],
                }
            )
            .groupby(["_account", "_description"], sort=False)["_amount"]
            .median()
            .rename("baseline")
            .reset_index()
        )
        self.baseline_global_ = float(work["_amount"].median())

    def _model(self, loss: str, quantile: float | None = None) -> HistGradientBoostingRegressor:
        params: dict[str, Any] = {
            "loss": loss,
            "max_iter": self.max_iter,
            "learning_rate": self.learning_rate,
            "min_samples_leaf": self.min_samples_leaf,
            "random_state": self.random_state,
        }
        if quantile is not None:
            params["quantile"] = quantile
        return HistGradientBoostingRegressor(**params)

    def _quantile_models(
        self, alpha: float
    ) -> tuple[HistGradientBoostingRegressor, HistGradientBoostingRegressor]:
        return self._model("quantile", alpha), self._model("quantile", 1.0 - alpha)

    # -- predict ----------------------------------------------------------------------------------
    def _scoring_matrix(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        work = working_frame(frame, need_amount=False, what="amount prediction", training=False)
        return self._history_features(work)

    def _history_features(self, work: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        for keys, prefix in _LEVELS:
            work = attach(work, self.tables_[prefix], keys)
        return work, self._assemble(work, self.global_median_)

    def _predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        with single_threaded():
            return self._predict_impl(frame)

    def _predict_impl(self, frame: pd.DataFrame) -> pd.DataFrame:
        check_is_fitted(self, "median_model_")
        work, features = self._scoring_matrix(frame)
        ref = features["ref"].to_numpy()
        mid = self.median_model_.predict(features)
        low = self.low_model_.predict(features)
        high = self.high_model_.predict(features)
        bin_keys, cell_keys = _mondrian_keys(work, features)
        correction = (
            pd.Series(cell_keys)
            .map(self.calibration_)
            .fillna(pd.Series(bin_keys).map(self.calibration_))
            .fillna(self.calibration_["global"])
            .to_numpy(dtype=float)
        )
        low = np.minimum(low - correction, mid)
        high = np.maximum(high + correction, mid)
        magnitude = np.expm1(np.maximum(ref + mid, 0.0))
        mag_low = np.expm1(np.maximum(ref + low, 0.0))
        mag_high = np.expm1(np.maximum(ref + high, 0.0))

        sign = work["_type_sign"].to_numpy().copy()
        unknown = sign == 0
        if unknown.any():
            share_negative = work["am_neg"].fillna(work["ac_neg"]).fillna(0.5).to_numpy()
            sign[unknown] = np.where(share_negative[unknown] >= 0.5, -1.0, 1.0)
        predicted = sign * magnitude
        lower = np.where(sign < 0, -mag_high, mag_low)
        upper = np.where(sign < 0, -mag_low, mag_high)
        return pd.DataFrame(
            {
                "predicted_amount": np.round(predicted, 2),
                "lower": np.round(lower, 2),
                "upper": np.round(upper, 2),
            },
            index=frame.index,
        )

    # -- evaluate ---------------------------------------------------------------------------------
    def baseline_predict(self, frame: pd.DataFrame) -> np.ndarray:
        """The per-(account, description) training median, else the global training median."""
        check_is_fitted(self, "baseline_")
        work = working_frame(frame, need_amount=False, what="amount baseline", training=False)
        keys = pd.DataFrame(
            {"_account": work["_account"], "_description": _descriptions(frame, work["_pos"])}
        )
        merged = keys.merge(self.baseline_, on=["_account", "_description"], how="left")
        return merged["baseline"].fillna(self.baseline_global_).to_numpy(dtype=float)

    def evaluate(self, frame: pd.DataFrame) -> dict[str, float]:
        """Hold-out metrics: mae, baseline_mae, mae_ratio, coverage, mean_interval_width."""
        check_is_fitted(self, "median_model_")
        work = working_frame(frame, need_amount=True, what="amount evaluation", training=False)
        actual = work["_amount"].to_numpy()
        predicted = self.predict(frame)
        errors = np.abs(predicted["predicted_amount"].to_numpy() - actual)
        baseline = np.abs(self.baseline_predict(frame) - actual)
        lower, upper = predicted["lower"].to_numpy(), predicted["upper"].to_numpy()
        mae, baseline_mae = float(errors.mean()), float(baseline.mean())
        return {
            "mae": mae,
            "baseline_mae": baseline_mae,
            "mae_ratio": mae / baseline_mae if baseline_mae > 0 else float("nan"),
            "coverage": float(np.mean((actual >= lower - 0.005) & (actual <= upper + 0.005))),
            "mean_interval_width": float(np.mean(upper - lower)),
            "rows": float(len(actual)),
        }


def _descriptions(frame: pd.DataFrame, positions: pd.Series) -> np.ndarray:
    source = frame[d.DESCRIPTION] if d.DESCRIPTION in frame else frame[d.MERCHANT]
    text = source.astype(object).where(source.notna(), "").astype(str).str.strip().str.lower()
    return text.to_numpy()[positions.to_numpy()]


def _mondrian_keys(work: pd.DataFrame, features: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Calibration cells: history-size bin, and category within it (a fee and a cash
    withdrawal need different corrections for coverage to hold for each)."""
    bins = np.searchsorted(_BINS, features["am_n"].to_numpy(), side="right").astype(str)
    kind = work["_category"].where(work["_category"] != "", work["_merchant"]).to_numpy(dtype=str)
    bin_keys = np.char.add("bin:", bins)
    cell_keys = np.char.add(np.char.add(np.char.add("cell:", kind), "|"), bins)
    return bin_keys, cell_keys


def _conformal_quantile(scores: np.ndarray, coverage: float) -> float:
    """The finite-sample-corrected ``coverage`` quantile of conformity scores."""
    n = len(scores)
    level = min(1.0, np.ceil((n + 1) * coverage) / n)
    return float(np.quantile(scores, level, method="higher"))


__all__ = ["AmountModel"]

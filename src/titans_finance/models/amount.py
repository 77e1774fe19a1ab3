"""Amount prediction with calibrated intervals (horizon-aware conformalised quantile regression)."""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.utils.validation import check_is_fitted

from titans_finance import domain as d
from titans_finance.errors import TrainingDataError
from titans_finance.models._history import attach_all, single_threaded, working_frame
from titans_finance.models.base import TitansModel

logger = logging.getLogger(__name__)

#: history levels, most specific first: (key columns, prefix); the first gets full statistics
_LEVELS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("_account", "_merchant"), "am"),
    (("_account", "_category"), "ac"),
    (("_merchant",), "m"),
    (("_account", "_type_sign"), "at"),
    (("_category",), "c"),
)
#: statistics of the (account, merchant) pair, in log-magnitude relative to the reference level
_RELATIVE: tuple[str, ...] = (
    "am_median",
    "am_last",
    "am_last3",
    "am_q25",
    "am_q75",
    "am_recent",
    "ac_median",
    "m_median",
    "at_median",
    "c_median",
)
_FEATURES: tuple[str, ...] = (
    "ref",
    "type_sign",
    "is_cash",
    "horizon",
    "day",
    "weekday",
    *_RELATIVE,
    "am_n",
    "am_n30",
    "am_n90",
    "am_rate",
    "am_since",
    "am_age",
    "am_slope",
    "ac_n",
    "m_n",
)
#: history size bins for Mondrian (per-bin) conformal correction: no history, 1-2, 3-9, 10+
_BINS = np.array([1, 3, 10])
_MIN_ROWS = 30
#: calibration rows a history-size bin, and a category within a bin, needs for its own
#: correction (in smaller cells the finite-sample quantile over-covers)
_MIN_BIN_ROWS = 100
_MIN_CELL_ROWS = 200
#: shrinkage weights tried for the model's correction to the reference level
_SHRINKS = np.linspace(0.0, 1.0, 5)
_MIN_SHRINK_ROWS = 200  # calibration rows a category needs for its own shrinkage
_RECENT_DAYS = 91
_MIN_SUPPORT = 3
#: rows weigh (reference magnitude) ** this in the point model: between counting every row
#: alike and absolute error in money, where a few large cash withdrawals would dominate
_WEIGHT_POWER = 0.5


class AmountModel(TitansModel):
    """Predict a transaction's signed amount with a calibrated interval.

    Method: the magnitude is modelled in log space as a residual from a reference level (the
    median of the most specific history available: same account and merchant, then account and
    category, the merchant across accounts, account and direction, category, everything).
    Training is horizon-aware: from forecast origins every ``origin_step_days`` the rows of the
    next ``horizon_days`` get features computed from the history before the origin only (pair
    median, last, mean of the last three, quartiles, recent median, recent counts, trend, age,
    days since last; account-category, merchant and category medians; days ahead; calendar), so
    the models learn how amounts drift from a history that is weeks or months old, as it is
    when scoring future rows.  ``HistGradientBoostingRegressor`` models with quantile loss at
    0.5, (1-coverage)/2 and (1+coverage)/2 learn the log residual; the point model's rows are
    resampled in proportion to the square root of their reference magnitude (a compromise
    between counting every row alike and absolute error in money).  The point model's
    correction is shrunk toward the reference level by a factor chosen on the time-ordered
    calibration rows (0 = the pair median when the model does not beat it).  The amount
    itself is never an input: rows to score need a date and a description (or merchant).

    The interval is conformalised quantile regression (CQR, Romano et al. 2019): the bound
    models are fitted on the older rows and calibrated on the most recent
    ``calibration_fraction``, whose features come from the older part's history only, with a
    separate correction per category within each history-size bin (Mondrian CQR; a cell with
    fewer than 200 calibration rows falls back to its bin, a bin with fewer than 100 to all
    rows: in small cells the finite-sample quantile over-covers).  The lower and the upper
    bound get separate corrections, each at half the miscoverage budget (the asymmetric
    variant in Romano et al. 2019), so a calibration period whose amounts fall below the
    models' lower bound (a burst of small withdrawals) widens the interval downward only.
    Working in log space makes the width proportional to the amount's scale.  The sign comes
    from ``Type`` (Expense negative, Income positive) or, for transfers and unknown types, from
    the history: the share of money-out rows of the account and merchant, else of the merchant
    on any account, else of the account and category, else of the category (money out without
    any history).

    Parameters
    ----------
    coverage : float
        Target probability that the true amount lies in ``[lower, upper]`` (default 0.9).
    calibration_fraction : float
        Share of the most recent training rows used to calibrate the interval and the shrinkage.
    drift_margin : float
        Share of the miscoverage budget ``1 - coverage`` held back because the future drifts
        from the calibration period (0.05 calibrates a 90% interval at 90.5%; default 0).
    horizon_days, origin_step_days : int
        Length of the window after each training forecast origin, and spacing of the origins.
    max_iter, learning_rate, min_samples_leaf :
        ``HistGradientBoostingRegressor`` settings.
    max_rows : int
        Cap on the history rows the boosting models learn from: beyond it, the full histories
        of a random subset of accounts (the statistics used when scoring still come from every
        row).  Keeps the fit on a million-row store to about a minute.
    random_state : int
        Seed of the boosting models and of the account subset.
    """

    model_type: ClassVar[str] = "amount"

    def __init__(
        self,
        coverage: float = 0.9,
        calibration_fraction: float = 0.25,
        drift_margin: float = 0.0,
        horizon_days: int = 120,
        origin_step_days: int = 30,
        max_iter: int = 100,
        learning_rate: float = 0.1,
        min_samples_leaf: int = 20,
        max_rows: int = 100_000,
        random_state: int = 0,
    ) -> None:
        self.coverage = coverage
        self.calibration_fraction = calibration_fraction
        self.drift_margin = drift_margin
        self.horizon_days = horizon_days
        self.origin_step_days = origin_step_days
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.min_samples_leaf = min_samples_leaf
        self.max_rows = max_rows
        self.random_state = random_state

    # -- features ---------------------------------------------------------------------------------
    def feature_names(self) -> list[str]:
        """Model features (log-magnitude history statistics, horizon and calendar)."""
        return list(_FEATURES)

    @staticmethod
    def _features(
        rows: pd.DataFrame, history: HistoryTables, cutoff: pd.Timestamp
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Attach the history statistics to ``rows``; return (joined rows, model matrix)."""
        work = attach_all(rows, [(history.tables[prefix], list(keys)) for keys, prefix in _LEVELS])
        ref = _reference(work)
        ref = ref.fillna(history.global_median)
        features = pd.DataFrame(index=work.index)
        features["ref"] = ref
        features["type_sign"] = work["_type_sign"]
        features["is_cash"] = work["_is_cash"].astype(float)
        horizon = (work["_date"] - cutoff).dt.days.clip(lower=0).astype(float)
        features["horizon"] = horizon
        features["day"] = work["_date"].dt.day.astype(float)
        features["weekday"] = work["_date"].dt.weekday.astype(float)
        for column in _RELATIVE:
            features[column] = work[column] - ref
        for column in ("am_n", "am_n30", "am_n90", "ac_n", "m_n"):
            features[column] = work[column].fillna(0.0)
        features["am_rate"] = work["am_n"] / np.maximum(work["am_age"], 30.0) * 30.0
        features["am_since"] = work["am_since"] + horizon
        features["am_age"] = work["am_age"]
        features["am_slope"] = work["am_slope"]
        return work, features[list(_FEATURES)].astype(float)

    def _examples(self, work: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Horizon-aware training rows of a date-sorted working frame: for each origin, every
        ``origin_step_days`` after the first date, the rows of the next ``horizon_days`` with
        features from the history before the origin.  Too short a span for one step: one
        origin at the middle row's date; all on one date: the rows against their own history."""
        first, end = work["_date"].iloc[0], work["_date"].iloc[-1] + pd.Timedelta(days=1)
        step = pd.Timedelta(days=self.origin_step_days)
        origins = list(pd.date_range(first + step, end, freq=step, inclusive="left"))
        middle = work["_date"].iloc[len(work) // 2]
        if not origins and middle > first:
            origins = [middle]
        parts: list[pd.DataFrame] = []
        matrices: list[pd.DataFrame] = []
        for origin in origins:
            stop = min(origin + pd.Timedelta(days=self.horizon_days), end)
            window = work[(work["_date"] >= origin) & (work["_date"] < stop)]
            if window.empty:
                continue
            history = HistoryTables.build(work[work["_date"] < origin], origin)
            joined, features = self._features(window, history, origin)
            parts.append(joined)
            matrices.append(features)
        if not parts:
            return self._features(work, HistoryTables.build(work, end), end)
        return pd.concat(parts, ignore_index=True), pd.concat(matrices, ignore_index=True)

    # -- fit --------------------------------------------------------------------------------------
    def _fit(self, frame: pd.DataFrame) -> None:
        with single_threaded():
            self._fit_impl(frame)

    def _fit_impl(self, frame: pd.DataFrame) -> None:
        if not 0.0 < self.coverage < 1.0:
            raise TrainingDataError(f"coverage must be between 0 and 1, got {self.coverage}")
        if min(self.horizon_days, self.origin_step_days) < 1:
            raise TrainingDataError("horizon_days and origin_step_days must be at least 1")
        if self.max_rows < _MIN_ROWS:
            raise TrainingDataError(f"max_rows must be at least {_MIN_ROWS}, got {self.max_rows}")
        work = working_frame(frame, need_amount=True, what="amount model training", training=True)
        if len(work) < _MIN_ROWS:
            raise TrainingDataError(
                f"amount model training needs at least {_MIN_ROWS} transactions, got {len(work)}"
            )
        work = work.sort_values(["_date", "_pos"], kind="stable").reset_index(drop=True)
        alpha = (1.0 - self.coverage) / 2.0
        self.calibration_: dict[str, float] = {}
        self.shrink_ = 1.0
        self.shrinks_: dict[str, float] = {}
        learn = _cap_rows(work, self.max_rows, self.random_state)
        split = _split_date(learn, self.calibration_fraction)
        bounds = self._fit_calibrated(learn, split, alpha) if split is not None else None

        rows, features = self._examples(learn)
        target = rows["_log"] - features["ref"]
        self.median_model_ = self._median_model(features, target)
        if bounds is None:
            logger.warning("amount model: too few rows to calibrate intervals; using raw quantiles")
            bounds = (
                self._model(alpha).fit(features, target),
                self._model(1.0 - alpha).fit(features, target),
            )
        self.low_model_, self.high_model_ = bounds
        self.cutoff_ = work["_date"].iloc[-1] + pd.Timedelta(days=1)
        self.history_ = HistoryTables.build(work, self.cutoff_)
        self.categories_ = _usual_categories(work)
        self._fit_baseline(frame, work)

    def _fit_calibrated(
        self, work: pd.DataFrame, split: pd.Timestamp, alpha: float
    ) -> tuple[HistGradientBoostingRegressor, HistGradientBoostingRegressor] | None:
        """Split conformal: fit the bound and point models on the rows before ``split``; on the
        rows from ``split`` on (features from the older history only, as future rows see only
        the training history) set the CQR corrections and the shrinkage; return the bound
        models (None when either part is too small)."""
        older = work[work["_date"] < split]
        recent = work[work["_date"] >= split].reset_index(drop=True)
        rows, features = self._examples(older)
        if len(features) < _MIN_ROWS or len(recent) < 20:
            return None
        low, high, mid = self._fitted_trio(rows, features, alpha)
        cal_work, cal_x = self._features(recent, HistoryTables.build(older, split), split)
        cal_y = cal_work["_log"].to_numpy() - cal_x["ref"].to_numpy()
        correction = mid.predict(cal_x)
        self.shrink_ = _best_shrink(cal_x, cal_y, correction)
        # per category with enough calibration rows: the model may beat the pair median on
        # fees and not on household payments
        kinds = _shrink_keys(cal_work)
        for kind in np.unique(kinds):
            rows = kinds == kind
            if rows.sum() >= _MIN_SHRINK_ROWS:
                self.shrinks_[str(kind)] = _best_shrink(cal_x[rows], cal_y[rows], correction[rows])
        self.calibration_ = self._calibrate(cal_work, cal_x, cal_y, low, high)
        return low, high

    def _fitted_trio(
        self, rows: pd.DataFrame, features: pd.DataFrame, alpha: float
    ) -> tuple[
        HistGradientBoostingRegressor, HistGradientBoostingRegressor, HistGradientBoostingRegressor
    ]:
        """Lower, upper and median models fitted on the proper (older) training rows."""
        target = rows["_log"] - features["ref"]
        low = self._model(alpha).fit(features, target)
        high = self._model(1.0 - alpha).fit(features, target)
        return low, high, self._median_model(features, target)

    def _calibrate(
        self,
        cal_work: pd.DataFrame,
        cal_x: pd.DataFrame,
        cal_y: np.ndarray,
        low: HistGradientBoostingRegressor,
        high: HistGradientBoostingRegressor,
    ) -> dict[str, float]:
        """Asymmetric Mondrian CQR corrections, keyed ``lo:``/``hi:`` + cell: global, per
        history-size bin, per category within a bin; each side at half the miscoverage."""
        bin_keys, cell_keys = _mondrian_keys(cal_work, cal_x)
        # hold back part of the miscoverage budget for drift between calibration and use
        level = self.coverage + self.drift_margin * (1.0 - self.coverage)
        side_level = 1.0 - (1.0 - level) / 2.0
        calibration: dict[str, float] = {}
        sides = (("lo", low.predict(cal_x) - cal_y), ("hi", cal_y - high.predict(cal_x)))
        for side, scores in sides:
            calibration[f"{side}:global"] = _conformal_quantile(scores, side_level)
            for keys, minimum in ((bin_keys, _MIN_BIN_ROWS), (cell_keys, _MIN_CELL_ROWS)):
                for key, rows in pd.Series(np.arange(len(keys))).groupby(keys):
                    if len(rows) >= minimum:
                        calibration[f"{side}:{key}"] = _conformal_quantile(
                            scores[rows.to_numpy()], side_level
                        )
        return calibration

    def _fit_baseline(self, frame: pd.DataFrame, work: pd.DataFrame) -> None:
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

    def _median_model(
        self, features: pd.DataFrame, target: pd.Series
    ) -> HistGradientBoostingRegressor:
        """The point model, fitted on rows resampled in proportion to their weight (the same
        objective as a weighted fit; sample weights make sklearn's quantile boosting slow)."""
        rows = _weighted_sample(_weights(features), self.random_state)
        return self._model(0.5).fit(features.iloc[rows], target.iloc[rows])

    def _model(self, quantile: float) -> HistGradientBoostingRegressor:
        params: dict[str, Any] = {
            "loss": "quantile",
            "quantile": quantile,
            "max_iter": self.max_iter,
            "learning_rate": self.learning_rate,
            "min_samples_leaf": self.min_samples_leaf,
            "random_state": self.random_state,
        }
        return HistGradientBoostingRegressor(**params)

    # -- predict ----------------------------------------------------------------------------------
    def _predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        with single_threaded():
            return self._predict_impl(frame)

    def _predict_impl(self, frame: pd.DataFrame) -> pd.DataFrame:
        check_is_fitted(self, "median_model_")
        work = working_frame(frame, need_amount=False, what="amount prediction", training=False)
        work = _fill_categories(work, getattr(self, "categories_", None))
        work, features = self._features(work, self.history_, self.cutoff_)
        ref = features["ref"].to_numpy()
        shrink = (
            pd.Series(_shrink_keys(work))
            .map(getattr(self, "shrinks_", {}))
            .fillna(self.shrink_)
            .to_numpy(dtype=float)
        )
        mid = shrink * self.median_model_.predict(features)
        # a pair whose last three amounts are equal (a pension, a salary, a standing order)
        # repeats its last amount exactly
        steady = (features["am_n"].to_numpy() >= 3) & (
            np.abs(work["am_last3"].to_numpy(dtype=float) - work["am_last"].to_numpy(dtype=float))
            < 1e-9
        )
        mid = np.where(steady, work["am_last"].to_numpy(dtype=float) - ref, mid)
        low = self.low_model_.predict(features)
        high = self.high_model_.predict(features)
        bin_keys, cell_keys = _mondrian_keys(work, features)
        low_fix, high_fix = (
            pd.Series(np.char.add(f"{side}:", cell_keys))
            .map(self.calibration_)
            .fillna(pd.Series(np.char.add(f"{side}:", bin_keys)).map(self.calibration_))
            # a model saved before the two-sided corrections has symmetric ones, unprefixed
            .fillna(pd.Series(cell_keys).map(self.calibration_))
            .fillna(pd.Series(bin_keys).map(self.calibration_))
            .fillna(self.calibration_.get(f"{side}:global", self.calibration_.get("global", 0.0)))
            .to_numpy(dtype=float)
            for side in ("lo", "hi")
        )
        low = np.minimum(low - low_fix, mid)
        high = np.maximum(high + high_fix, mid)
        magnitude = np.expm1(np.maximum(ref + mid, 0.0))
        mag_low = np.expm1(np.maximum(ref + low, 0.0))
        mag_high = np.expm1(np.maximum(ref + high, 0.0))

        sign = work["_type_sign"].to_numpy().copy()
        unknown = sign == 0
        if unknown.any():
            share_negative = _share_money_out(work)
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


class HistoryTables:
    """Per-level statistics of the log-magnitudes of the rows before ``cutoff``."""

    def __init__(self, tables: dict[str, pd.DataFrame], global_median: float) -> None:
        self.tables = tables
        self.global_median = global_median

    @classmethod
    def build(cls, history: pd.DataFrame, cutoff: pd.Timestamp) -> HistoryTables:
        """Tables of a date-sorted working frame; the first level gets the full statistics."""
        tables = {
            prefix: _level_table(history, list(keys), prefix, cutoff, full=i == 0)
            for i, (keys, prefix) in enumerate(_LEVELS)
        }
        median = float(history["_log"].median()) if len(history) else 0.0
        return cls(tables, median)


def _level_table(
    history: pd.DataFrame, keys: list[str], prefix: str, cutoff: pd.Timestamp, *, full: bool
) -> pd.DataFrame:
    """One grouped pass: count, median and share of money-out rows; with ``full`` also last,
    mean of the last three, quartiles, median of the last 91 days, counts in the last 30 and
    91 days, age and days since the last row (at ``cutoff``) and trend per 30 days."""
    grouped = history.groupby(keys, sort=False, observed=True)
    log = grouped["_log"]
    table = pd.DataFrame({f"{prefix}_n": log.size(), f"{prefix}_median": log.median()})
    table[f"{prefix}_neg"] = (
        (history["_sign"] < 0).groupby([history[k] for k in keys], sort=False).mean()
    )
    if full:
        table = table.join(_recency_stats(history, keys, prefix, cutoff))
    return table.reset_index()


def _recency_stats(
    history: pd.DataFrame, keys: list[str], prefix: str, cutoff: pd.Timestamp
) -> pd.DataFrame:
    grouped = history.groupby(keys, sort=False, observed=True)
    log = grouped["_log"]
    out = pd.DataFrame(
        {
            f"{prefix}_last": log.last(),
            f"{prefix}_q25": log.quantile(0.25),
            f"{prefix}_q75": log.quantile(0.75),
            f"{prefix}_since": (cutoff - grouped["_date"].max()).dt.days.astype(float),
            f"{prefix}_age": (cutoff - grouped["_date"].min()).dt.days.astype(float),
        }
    )
    tail = history.loc[grouped.cumcount(ascending=False).to_numpy() < 3]
    out[f"{prefix}_last3"] = tail.groupby(keys, sort=False, observed=True)["_log"].mean()
    days = (history["_date"] - cutoff).dt.days.astype(float)
    recent = history[days >= -_RECENT_DAYS].groupby(keys, sort=False, observed=True)["_log"]
    out[f"{prefix}_recent"] = recent.median()
    out[f"{prefix}_n90"] = recent.size()
    out[f"{prefix}_n30"] = history[days >= -30].groupby(keys, sort=False, observed=True).size()
    out[[f"{prefix}_n90", f"{prefix}_n30"]] = out[[f"{prefix}_n90", f"{prefix}_n30"]].fillna(0.0)
    out[f"{prefix}_slope"] = _slope(history, keys, days / 30.0)
    return out


def _slope(history: pd.DataFrame, keys: list[str], t: pd.Series) -> pd.Series:
    """Least-squares slope of log-magnitude on time within each group (0 for fewer than 3)."""
    y = history["_log"]
    sums = (
        pd.DataFrame({"t": t, "y": y, "ty": t * y, "tt": t * t, "n": 1.0})
        .groupby([history[k] for k in keys], sort=False)
        .sum()
    )
    var = sums["tt"] - sums["t"] ** 2 / sums["n"]
    cov = sums["ty"] - sums["t"] * sums["y"] / sums["n"]
    slope = cov / var.where((var > 1e-9) & (sums["n"] >= 3))
    return slope.fillna(0.0)


def _shrink_keys(work: pd.DataFrame) -> np.ndarray:
    """The category of each row: the cells of the per-category shrinkage (adding the
    direction, to tell cash deposits from withdrawals, made cut-offs worse on Berka)."""
    return work["_category"].to_numpy(dtype=str)


def _usual_categories(work: pd.DataFrame) -> dict[str, pd.Series]:
    """The most frequent category per (account, merchant) and per merchant in training."""
    known = work[work["_category"] != ""]
    out: dict[str, pd.Series] = {}
    for name, keys in (("am", ["_account", "_merchant"]), ("m", ["_merchant"])):
        counts = known.groupby([*keys, "_category"], sort=False).size().rename("n").reset_index()
        top = counts.sort_values("n", ascending=False, kind="stable").drop_duplicates(keys)
        out[name] = top.set_index(keys)["_category"]
    return out


def _fill_categories(work: pd.DataFrame, usual: dict[str, pd.Series] | None) -> pd.DataFrame:
    """Rows without a category take the usual one of their account and merchant, else of the
    merchant (a request carrying only date, account, description and type)."""
    missing = work["_category"].to_numpy() == ""
    if usual is None or not missing.any():
        return work
    pair = pd.MultiIndex.from_frame(work[["_account", "_merchant"]])
    by_pair = usual["am"].reindex(pair).to_numpy(dtype=object)
    by_merchant = usual["m"].reindex(work["_merchant"]).to_numpy(dtype=object)
    guess = np.where(pd.isna(by_pair), by_merchant, by_pair)
    guess = np.where(pd.isna(guess), "", guess)
    work = work.copy()
    work["_category"] = np.where(missing, guess, work["_category"].to_numpy(dtype=object))
    return work


def _share_money_out(work: pd.DataFrame) -> np.ndarray:
    """Share of money-out rows in the most specific history: the account and merchant, the
    merchant on any account, the account and category, the category (0.5 without history)."""
    share = work["am_neg"]
    for prefix in ("m", "ac", "c"):
        share = share.fillna(work[f"{prefix}_neg"])
    return share.fillna(0.5).to_numpy(dtype=float)


def _reference(work: pd.DataFrame) -> pd.Series:
    """The median of the most specific history level; a broader level is trusted over a more
    specific one of fewer than ``_MIN_SUPPORT`` rows (a merchant's 24 rows over a single
    account-category row)."""
    ref = work["am_median"].copy()
    for prefix in ("ac", "m"):
        ref = ref.fillna(work[f"{prefix}_median"].where(work[f"{prefix}_n"] >= _MIN_SUPPORT))
    for prefix in ("ac", "m", "at", "c"):
        ref = ref.fillna(work[f"{prefix}_median"])
    return ref


def _cap_rows(work: pd.DataFrame, cap: int, seed: int) -> pd.DataFrame:
    """At most about ``cap`` rows of a date-sorted working frame: the whole histories of
    accounts taken in a random order while they fit (the most recent ``cap`` rows when a
    single account is larger), so every kept pair keeps its full history."""
    if len(work) <= cap:
        return work
    sizes = work["_account"].value_counts(sort=False)
    order = sizes.iloc[np.random.default_rng(seed).permutation(len(sizes))]
    chosen = order.index[(order.cumsum() <= cap).to_numpy()]
    if len(chosen) == 0:
        single: pd.DataFrame = work[(work["_account"] == order.index[0]).to_numpy()]
        return single.tail(cap).reset_index(drop=True)
    return work[work["_account"].isin(chosen)].reset_index(drop=True)


def _split_date(work: pd.DataFrame, fraction: float) -> pd.Timestamp | None:
    """First date of the most recent ``fraction`` of the rows (None when too few rows)."""
    n_cal = int(len(work) * fraction)
    if n_cal < 20:
        return None
    split = work["_date"].iloc[len(work) - n_cal]
    return split if split > work["_date"].iloc[0] else None


def _weights(features: pd.DataFrame) -> np.ndarray:
    """Row weights proportional to the reference magnitude (absolute error in money)."""
    reference = np.asarray(features["ref"].to_numpy(dtype=np.float64))
    return np.asarray((np.expm1(reference.clip(0.0, 30.0)) + 1.0) ** _WEIGHT_POWER)


def _weighted_sample(weight: np.ndarray, seed: int) -> np.ndarray:
    """As many row positions as rows, drawn with replacement in proportion to ``weight``."""
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(len(weight), size=len(weight), p=weight / weight.sum()))


def _best_shrink(features: pd.DataFrame, target: np.ndarray, correction: np.ndarray) -> float:
    """The share of the model's correction that minimises absolute error on calibration rows."""
    ref = features["ref"].to_numpy()
    actual = np.expm1(ref + target)
    predicted = np.expm1(np.maximum(ref[:, None] + np.outer(correction, _SHRINKS), 0.0))
    errors = np.abs(predicted - actual[:, None]).mean(axis=0)
    return float(_SHRINKS[int(np.argmin(errors))])


def _descriptions(frame: pd.DataFrame, positions: pd.Series) -> np.ndarray:
    source = frame[d.DESCRIPTION] if d.DESCRIPTION in frame else frame[d.MERCHANT]
    text = source.astype(object).where(source.notna(), "").astype(str).str.strip().str.lower()
    return np.asarray(text.to_numpy(dtype=object)[positions.to_numpy()], dtype=object)


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

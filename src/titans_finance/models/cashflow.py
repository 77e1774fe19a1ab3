"""Cash-flow forecast per account: known recurring streams on their expected dates plus a robust
model of the variable rest, with intervals from a block bootstrap of historical daily flows.

With enough accounts, the model also learns from its own history (refits at earlier cut-offs) a
median-regression correction of the 30-day net and, conformal style, a per-account interval
scale (from the account's own volatility, pooled across accounts) that makes its 90 % intervals
cover 90 % of accounts; see ``CashflowModel._calibrate``.  On the Berka accounts statsforecast's
AutoETS and HistoricAverage on daily nets did worse than a zero-change forecast
(bench/bench_cashflow.py ``--statsforecast``), so the variable part is a winsorised daily mean,
not a time-series model.

Rows dated after today (UTC) in the history — scheduled or pending payments, mistyped dates — are
refused with a ``TrainingDataError`` (``drop_future_rows=True`` drops them with a warning): they
have not happened, and counting them would start the forecast from a wrong balance.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import special
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import LogisticRegression, QuantileRegressor
from sklearn.utils.validation import check_is_fitted

from titans_finance import domain as d
from titans_finance.errors import NotFoundError, TrainingDataError, ValidationError
from titans_finance.frame import to_float
from titans_finance.models._history import working_frame
from titans_finance.models.base import ModelMetadata, TitansModel
from titans_finance.models.recurring import RecurringModel

logger = logging.getLogger(__name__)

MAX_HORIZON_DAYS = d.MAX_HORIZON_DAYS
ALL_ACCOUNTS = "ALL"
DAILY_COLUMNS = [
    "date",
    d.ACCOUNT,
    "predicted_net",
    "lower",
    "upper",
    "predicted_balance",
    "balance_lower",
    "balance_upper",
]


@dataclass
class ForecastResult:
    """A forecast: one row per day (and account) plus a summary of the selected accounts' total.

    ``summary`` keys: total_inflow, total_outflow, net, start_balance, end_balance,
    lowest_balance, lowest_balance_date, probability_below_zero, horizon_days, accounts,
    coverage.
    """

    daily: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)


def check_horizon(days: object) -> int:
    """A horizon in days, validated to 1..366."""
    if isinstance(days, bool) or not isinstance(days, int | np.integer):
        raise ValidationError(f"horizon must be a whole number of days, got {days!r}")
    if not 1 <= int(days) <= MAX_HORIZON_DAYS:
        raise ValidationError(f"horizon must be between 1 and {MAX_HORIZON_DAYS} days, got {days}")
    return int(days)


class CashflowModel(TitansModel):
    """Daily cash-flow and balance forecast per account.

    Parameters
    ----------
    horizon
        Default number of days forecast (1..366).
    coverage
        Central probability of the intervals (0.9 = 5 %..95 %).
    n_simulations
        Simulated paths per account for intervals and the probability of going below zero.
    lookback_days
        History window of the variable (non-recurring) flows.
    block_days
        Block length of the bootstrap of daily variable flows (keeps weekly structure).
    winsor_quantile
        Daily variable inflows / outflows are clipped at this quantile before the mean is taken,
        so a one-off large item does not become a daily trend.
    interval_scale
        Extra multiplier of the (calibrated) simulated deviations from the point forecast.
    drift_margin
        Share of the miscoverage budget ``1 - coverage`` held back when calibrating, because
        a month can differ from every month of the history (0.4: the 90 % interval is
        calibrated to 94 % of the past cut-offs).
    calibration_origins
        Earlier cut-offs (a calendar month apart) at which the model is refitted on its own
        history to learn a 30-day correction, the interval scale and the calibration of the
        probability of going below zero; 0 turns calibration off.  Eight rather than six: on
        the Berka development accounts the last two cut-offs' MAE / zero-change fell from
        0.762 / 0.805 to 0.734 / 0.796 (bench/bench_cashflow.py), at a fit no slower than six
        were with the simplex solver.
    min_calibration_samples
        Fewest accounts x cut-offs needed to learn them (fewer: the raw structural forecast).
    min_seasonal_samples
        Fewest cut-off samples reaching a year back before the year-ago net enters the
        correction (short histories are not fitted on a feature they lack).
    boost_iterations
        Trees of the median-loss gradient boosting of the linear correction's residuals (0:
        the linear correction alone).
    min_below_zero_events
        Fewest cut-off samples that went below zero (and that did not) for the calibration of
        the probability of going below zero to learn from them alone; with fewer, half a
        pseudo-sample of the missing kind is added (at the riskiest, or safest, input), so a
        history where no account went below zero still gives a calibrated, small probability
        (without calibration cut-offs: the raw share of simulated paths).
    min_history_days, min_transactions
        Least history accepted for training.
    drop_future_rows
        Rows dated after today (UTC) are an error (a ``TrainingDataError`` naming how many and
        the first date); True drops them with a warning instead.
    random_state
        Seed of the simulations (forecasts are reproducible).
    """

    model_type: ClassVar[str] = "cashflow"
    primary_metric: ClassVar[str] = "mae_ratio"
    higher_is_better: ClassVar[bool] = False

    def __init__(
        self,
        horizon: int = 30,
        coverage: float = 0.9,
        n_simulations: int = 500,
        lookback_days: int = 365,
        block_days: int = 7,
        winsor_quantile: float = 0.98,
        interval_scale: float = 1.0,
        drift_margin: float = 0.4,
        calibration_origins: int = 8,
        min_calibration_samples: int = 300,
        min_seasonal_samples: int = 100,
        boost_iterations: int = 200,
        min_below_zero_events: int = 1,
        min_history_days: int = 30,
        min_transactions: int = 10,
        drop_future_rows: bool = False,
        random_state: int = 0,
    ) -> None:
        self.horizon = horizon
        self.coverage = coverage
        self.n_simulations = n_simulations
        self.lookback_days = lookback_days
        self.block_days = block_days
        self.winsor_quantile = winsor_quantile
        self.interval_scale = interval_scale
        self.drift_margin = drift_margin
        self.calibration_origins = calibration_origins
        self.min_calibration_samples = min_calibration_samples
        self.min_seasonal_samples = min_seasonal_samples
        self.boost_iterations = boost_iterations
        self.min_below_zero_events = min_below_zero_events
        self.min_history_days = min_history_days
        self.min_transactions = min_transactions
        self.drop_future_rows = drop_future_rows
        self.random_state = random_state

    # -- fitting ----------------------------------------------------------------------------------
    def _validate_params(self) -> None:
        check_horizon(self.horizon)
        if not 0.0 < self.coverage < 1.0:
            raise ValidationError(f"coverage must be between 0 and 1, got {self.coverage}")
        if not 0.0 <= self.drift_margin < 1.0:
            raise ValidationError(f"drift_margin must be in [0, 1), got {self.drift_margin}")
        if self.n_simulations < 50:
            raise ValidationError(f"n_simulations must be at least 50, got {self.n_simulations}")
        if self.block_days < 1 or self.lookback_days < self.min_history_days:
            raise ValidationError("block_days must be >= 1 and lookback_days >= min_history_days")

    def _fit(self, frame: pd.DataFrame) -> None:
        self._validate_params()
        work = working_frame(frame, need_amount=True, what="cash-flow model", training=True)
        future = self._future_rows(work)
        descriptions = (
            frame[d.DESCRIPTION].astype(str).to_numpy()
            if d.DESCRIPTION in frame
            else work["_merchant"].to_numpy()
        )
        balance = (
            to_float(frame[d.BALANCE].reset_index(drop=True))
            if d.BALANCE in frame
            else np.full(len(frame), np.nan)
        )
        work = work.assign(_balance=balance)[~future]
        order = np.lexsort((work["_pos"].to_numpy(), work["_date"].to_numpy()))
        work = work.iloc[order].reset_index(drop=True)
        self._check_history(work)
        self.state_ = self._build_state(work, descriptions)
        self.history_end_ = self.state_.end
        self.accounts_ = self.state_.accounts
        self.start_balance_ = self.state_.start_balance
        self.recurring_ = self.state_.recurring
        self._calibrate(work, descriptions)

    def _future_rows(self, work: pd.DataFrame) -> np.ndarray:
        """Rows dated after today (UTC): an error, or dropped with a warning when
        ``drop_future_rows``."""
        today = pd.Timestamp(datetime.now(UTC).date())
        future = (work["_date"] > today).to_numpy()
        self.dropped_future_rows_ = 0
        if not future.any():
            return future
        count, first = int(future.sum()), work["_date"][future].min().date()
        if not self.drop_future_rows:
            raise TrainingDataError(
                f"cash-flow forecasting: {count} row(s) are dated after today ({today.date()}), "
                f"the first on {first}; a forecast starts from what has happened, so remove "
                "scheduled or pending payments (or mistyped dates) from the history"
            )
        self.dropped_future_rows_ = count
        logger.warning(
            "cash-flow model: dropped %d row(s) dated after today (%s), the first on %s",
            count,
            today.date(),
            first,
        )
        return future

    def _check_history(self, work: pd.DataFrame) -> None:
        if len(work) < self.min_transactions:
            raise TrainingDataError(
                f"cash-flow forecasting needs at least {self.min_transactions} transactions, "
                f"got {len(work)}; import more history"
            )
        span = int((work["_date"].max() - work["_date"].min()).days) + 1
        if span < self.min_history_days:
            raise TrainingDataError(
                f"cash-flow forecasting needs at least {self.min_history_days} days of history, "
                f"got {span} ({work['_date'].min().date()} .. {work['_date'].max().date()}); "
                "import a longer export"
            )

    def _build_state(self, work: pd.DataFrame, descriptions: np.ndarray) -> _State:
        """Fit everything the forecast needs on ``work`` (sorted by date, then input order)."""
        end = pd.Timestamp(work["_date"].max())
        recurring_model = RecurringModel().fit_working(work, descriptions)
        recurring_model.metadata_ = ModelMetadata(
            model_type=RecurringModel.model_type, training_rows=len(work)
        )
        recurring = recurring_model.recurring_mask_working(work)
        accounts = np.sort(work["_account"].astype(str).unique())
        acc_idx = np.searchsorted(accounts, work["_account"].astype(str).to_numpy())
        amount = work["_amount"].to_numpy(dtype=float)
        n_acc = len(accounts)
        start_balance = _start_balances(work, acc_idx, n_acc)
        first = work.groupby(acc_idx)["_date"].min().reindex(range(n_acc)).to_numpy()

        # Daily flows over the lookback window, accounts x days.
        n_days = self.lookback_days
        window_start = end - pd.Timedelta(days=n_days - 1)
        day = (work["_date"] - window_start).dt.days.to_numpy()
        inside = day >= 0
        variable_in = np.zeros((n_acc, n_days))
        variable_out = np.zeros((n_acc, n_days))
        every = np.zeros((n_acc, n_days))
        gross = np.zeros((n_acc, n_days))
        pos = inside & ~recurring & (amount > 0)
        neg = inside & ~recurring & (amount < 0)
        np.add.at(variable_in, (acc_idx[pos], day[pos]), amount[pos])
        np.add.at(variable_out, (acc_idx[neg], day[neg]), amount[neg])
        np.add.at(every, (acc_idx[inside], day[inside]), amount[inside])
        np.add.at(gross, (acc_idx[inside], day[inside]), np.abs(amount[inside]))
        first_day = (pd.DatetimeIndex(first) - window_start).days.to_numpy()
        valid_from = np.clip(first_day, 0, n_days - 1).astype(np.int64)
        valid = np.arange(n_days)[None, :] >= valid_from[:, None]
        variable_in[~valid] = np.nan
        variable_out[~valid] = np.nan
        q = self.winsor_quantile
        cap_in = np.nanquantile(variable_in, q, axis=1)
        cap_out = np.nanquantile(variable_out, 1.0 - q, axis=1)
        daily_in = np.nanmean(np.minimum(variable_in, cap_in[:, None]), axis=1)
        daily_out = np.nanmean(np.maximum(variable_out, cap_out[:, None]), axis=1)

        # Features of the learned 30-day correction (see ``_calibrate``).
        recent = every[:, -30:].sum(axis=1)
        tail = every[:, -90:]
        after = tail.sum(axis=1)[:, None] - np.cumsum(tail, axis=1)
        eod = start_balance[:, None] - after
        eod[~valid[:, -90:]] = np.nan
        mean_balance = np.nanmean(eod, axis=1)
        age = (end - pd.DatetimeIndex(first)).days.to_numpy().astype(float)
        gross[~valid] = np.nan
        scale = np.column_stack(
            [
                np.log1p(np.nanmean(gross, axis=1) * 30.0),
                np.log1p(_rolling_net_spread(every, valid_from)),
                np.log1p(np.abs(start_balance)),
                30.0 / (age + 30.0),
            ]
        )
        state = _State(
            end=end,
            accounts=list(accounts),
            start_balance=start_balance,
            valid_from=valid_from,
            variable=(variable_in + variable_out).astype(np.float32),
            daily_inflow=daily_in,
            daily_outflow=daily_out,
            raw_daily_mean=np.nanmean(variable_in + variable_out, axis=1),
            recurring=recurring_model,
            scale=scale,
        )
        recurring_30, _ = self._recurring_matrix(state, 30)
        state.recurring_30 = recurring_30
        youth = 30.0 / (age + 30.0)
        # the same 30 calendar days a year earlier (yearly bills, a 13th salary; calendar, not
        # 364 days, so a rent paid on the 1st is in it as it is in the forecast's days) less the
        # account's usual 30 days over the lookback year, so that only what was unusual about
        # them carries over (a plain year-ago net mostly repeats the usual month, and the median
        # regression then kept a fifth of a yearly bill): only where the account existed then;
        # otherwise 0 with a flag of 0 (see ``_calibrate``, which ignores these columns until
        # enough samples have them)
        year_start = end - pd.DateOffset(years=1)
        year_day = (work["_date"] - year_start).dt.days.to_numpy()
        in_year = (year_day >= 1) & (year_day <= 30)
        has_year = np.asarray(pd.DatetimeIndex(first) <= year_start + pd.Timedelta(days=1))
        year_ago = np.bincount(acc_idx[in_year], weights=amount[in_year], minlength=n_acc)
        usual_30 = every.sum(axis=1) / (n_days - valid_from) * 30.0
        state.features = np.column_stack(
            [
                recurring_30.sum(axis=1),
                (daily_in + daily_out) * 30.0,
                start_balance - mean_balance,
                recent,
                youth,
                start_balance,
                np.where(has_year, year_ago - usual_30, 0.0),
                has_year.astype(float),
            ]
        )
        return state

    def _calibrate(self, work: pd.DataFrame, descriptions: np.ndarray) -> None:
        """Learn, on the model's own history, a correction of the 30-day net, the scale of the
        intervals and the calibration of the probability of going below zero.

        The history is cut at ``calibration_origins`` earlier dates, one calendar month apart
        (month ends when the history ends on a month end, so a salary paid on the last day
        falls in the same place of every window); at each cut the structural forecast is
        refitted and compared with what followed. A median (LAD) regression of the actual 30-day
        net on the expected recurring net, the variable mean, the balance's deviation from its
        90-day mean, the last 30 days' net, the account's youth (30 / (age in days + 30); a
        young account's forecast is shrunk toward no change), the balance and, once
        ``min_seasonal_samples`` cut-off samples reach a year back, the net of the same 30
        calendar days a year earlier less the account's usual 30 days (what was unusual about
        them: a yearly bill, a 13th salary) gives the point correction. It has one intercept per
        cut-off and no shared one (``_cut_effects_regression``; the slopes are shared): some
        months every account gains or loses more than usual, and a pooled intercept would absorb
        a mix of those shocks and bias the forecast. The forecast, whose month's shock is
        unknown, uses the median of the per-cut intercepts (``cut_intercepts_``), unless leaving
        each cut-off out in turn says one pooled intercept predicts it better
        (``_per_cut_pays``; balances that drift the same way on every account make the
        intercepts trade off against the balance slope): then the intercept is pooled
        (``per_cut_intercepts_`` False). A median-loss
        gradient boosting on the same inputs corrects the residuals of the fit with its
        per-cut intercepts (non-linear effects, e.g. a mid-month cut-off before a salary).

        The intervals are split conformal, scaled per account, on the residuals of the forecast
        as it would have been made (the median intercept and out-of-fold boosting, so a
        cut-off's own shock counts as error): a least-squares regression of the log absolute
        residual on the account's own volatility (log 30-day turnover, log spread of its
        rolling 30-day nets, log balance, youth, log bootstrap width) gives each account a
        scale, pooled across accounts so that short histories borrow from the rest;
        the ``coverage`` (plus ``drift_margin``) quantile of the residuals over that scale,
        taken per cut-off and then the median over cut-offs (one unusual month, e.g. a
        January of large cash withdrawals, does not widen every later forecast), multiplies
        it.  With too few accounts x cut-offs, neither is
        learned (the structural forecast and its raw bootstrap spread are used as they are).

        The probability of going below zero is Platt-scaled: a logistic regression of "the
        end-of-day balance went below zero within the 30 days" on the forecast's lowest
        balance over its calibrated spread, fitted on the same cut-offs (with fewer than
        ``min_below_zero_events`` such events, half a pseudo-event at the riskiest sample).
        """
        self.correction_coef_: np.ndarray | None = None
        self.cut_intercepts_: np.ndarray | None = None
        self.per_cut_intercepts_ = False
        self.boost_: HistGradientBoostingRegressor | None = None
        self.feature_mask_ = np.ones(self.state_.features.shape[1], dtype=bool)
        self.scale_coef_: np.ndarray | None = None
        self.scale_fill_ = np.zeros(self.state_.scale.shape[1])
        self.interval_factor_ = 1.0
        self.width_floor_ = 0.0
        self.calibration_samples_ = 0
        self.below_zero_coef_: np.ndarray | None = None
        self.below_zero_events_ = 0
        self.seasonal_samples_ = 0
        rng = np.random.default_rng(self.random_state)
        self.state_.widths = self._widths(self.state_, rng)
        most = len(self.state_.accounts) * self.calibration_origins
        if self.calibration_origins <= 0 or most < self.min_calibration_samples:
            return  # cannot reach enough samples: skip the refits
        cuts = self._calibration_cuts(work, descriptions, rng)
        samples = sum(len(cut.actual) for cut in cuts)
        self.calibration_samples_ = samples
        if samples < self.min_calibration_samples:
            logger.info("cash-flow model: %d calibration samples, no correction learned", samples)
            return
        features = np.vstack([cut.state.features for cut in cuts])
        actual = np.concatenate([cut.actual for cut in cuts])
        widths = np.vstack([cut.widths for cut in cuts])
        scale = np.vstack([cut.state.scale for cut in cuts])
        which = np.concatenate([np.full(len(cut.actual), k) for k, cut in enumerate(cuts)])
        seasonal = int(features[:, _HAS_YEAR].sum())
        self.feature_mask_[_YEAR_COLUMNS] = seasonal >= self.min_seasonal_samples
        self.seasonal_samples_ = seasonal
        chosen = features[:, self.feature_mask_]
        self.per_cut_intercepts_ = _per_cut_pays(chosen, actual, which)
        if self.per_cut_intercepts_:
            intercepts, slopes = _cut_effects_regression(chosen, actual, which)
        else:
            pooled_intercept, slopes = _pooled_regression(chosen, actual)
            intercepts = np.full(int(which.max()) + 1, pooled_intercept)
        intercept = float(np.median(intercepts))
        self.cut_intercepts_ = intercepts
        self.correction_coef_ = np.r_[intercept, slopes]
        linear = intercepts[which] + chosen @ slopes
        boosted = np.zeros(len(actual))
        if self.boost_iterations > 0:
            self.boost_ = self._booster().fit(chosen, actual - linear)
            boosted = self._out_of_fold(chosen, actual - linear, which)
        # the forecast does not know its month's shock (it takes the median intercept): its
        # intervals and P(below zero) are calibrated on what it would have said, as the
        # boosting is out of fold
        as_made = linear - intercepts[which] + intercept + boosted
        residual = actual - as_made
        positive = widths[widths > 0]
        self.width_floor_ = float(0.1 * np.median(positive)) if len(positive) else 0.0
        self.scale_fill_ = np.nan_to_num(np.nanmedian(scale, axis=0))
        design = self._scale_design(scale, widths)
        target = np.log(np.abs(residual) + max(self.width_floor_, 1.0))
        fitted, *_ = np.linalg.lstsq(design, target, rcond=None)
        self.scale_coef_ = fitted
        lower, upper = self._scaled_sides(design, widths)
        ratio = np.where(residual > 0, residual / upper, -residual / lower)
        level = self.coverage + self.drift_margin * (1.0 - self.coverage)
        finite = np.isfinite(ratio)
        per_cut = [np.quantile(ratio[finite & (which == k)], level) for k in np.unique(which)]
        self.interval_factor_ = float(np.median(per_cut))
        self._calibrate_below_zero(cuts, as_made, 0.5 * (lower + upper) * self.interval_factor_)
        logger.info(
            "cash-flow model: correction learned on %d samples, interval factor %.2f",
            samples,
            self.interval_factor_,
        )

    def _calibrate_below_zero(
        self, cuts: list[_Cut], predicted: np.ndarray, half_width: np.ndarray
    ) -> None:
        """Platt scaling of P(below zero) on the cut-offs (see ``_calibrate``)."""
        lowest: list[np.ndarray] = []
        at = 0
        for cut in cuts:
            n = len(cut.actual)
            structural = cut.state.features[:, 0] + cut.state.features[:, 1]
            variable = cut.state.daily_inflow + cut.state.daily_outflow
            daily = (
                cut.state.recurring_30
                + (variable + (predicted[at : at + n] - structural) / 30.0)[:, None]
            )
            lowest.append((cut.state.start_balance[:, None] + np.cumsum(daily, axis=1)).min(axis=1))
            at += n
        went_below = np.concatenate([cut.went_below for cut in cuts])
        self.below_zero_events_ = events = int(went_below.sum())
        x = _below_zero_input(np.concatenate(lowest), half_width / self._z())
        y = went_below.astype(np.int64)
        weight = np.ones(len(x))
        # too few samples of a kind (no account went below zero at any cut-off): half a pseudo-
        # sample of it at the riskiest (safest) input, so the fit says "rare" as the cut-offs
        # do instead of leaving it to the raw share of simulated paths (dev Brier 0.03-0.08
        # against outcome rates of 0-1.2 %)
        if events < self.min_below_zero_events:
            x, y, weight = np.r_[x, x.min()], np.r_[y, 1], np.r_[weight, 0.5]
        if len(went_below) - events < self.min_below_zero_events:
            x, y, weight = np.r_[x, x.max()], np.r_[y, 0], np.r_[weight, 0.5]
        platt = LogisticRegression(C=1.0).fit(x[:, None], y, sample_weight=weight)
        self.below_zero_coef_ = np.r_[platt.intercept_, platt.coef_.ravel()]

    def _out_of_fold(self, chosen: np.ndarray, target: np.ndarray, which: np.ndarray) -> np.ndarray:
        """The boosting's predictions of each sample by a fit on the other cut-offs (three
        folds by cut-off), so its in-sample fit does not make the intervals too narrow."""
        folds = which % 3
        if len(np.unique(folds)) < 2:
            assert self.boost_ is not None
            return np.asarray(self.boost_.predict(chosen), dtype=np.float64)
        out = np.zeros(len(target))
        for fold in np.unique(folds):
            test = folds == fold
            out[test] = self._booster().fit(chosen[~test], target[~test]).predict(chosen[test])
        return out

    def _booster(self) -> HistGradientBoostingRegressor:
        """The median-loss boosting of the linear correction's residuals (see ``_calibrate``)."""
        return HistGradientBoostingRegressor(
            loss="absolute_error",
            max_iter=self.boost_iterations,
            learning_rate=0.05,
            max_leaf_nodes=15,
            min_samples_leaf=40,
            random_state=self.random_state,
        )

    def _z(self) -> float:
        """Standard-normal quantile of the interval's upper end."""
        return float(np.sqrt(2.0) * special.erfinv(self.coverage))

    def _calibration_cuts(
        self, work: pd.DataFrame, descriptions: np.ndarray, rng: np.random.Generator
    ) -> list[_Cut]:
        """The refitted state, actual 30-day net, raw widths and whether the balance went below
        zero, at each earlier cut-off (one calendar month apart)."""
        end = self.state_.end
        cuts: list[_Cut] = []
        for k in range(1, self.calibration_origins + 1):
            cut = (
                end - pd.offsets.MonthEnd(k) if end.is_month_end else end - pd.DateOffset(months=k)
            )
            past = work[work["_date"] <= cut]
            if len(past) < self.min_transactions or (
                (cut - past["_date"].min()).days + 1 < self.min_history_days
            ):
                break
            state = self._build_state(past.reset_index(drop=True), descriptions)
            window = work[(work["_date"] > cut) & (work["_date"] <= cut + pd.Timedelta(days=30))]
            acc = pd.Index(state.accounts).get_indexer(pd.Index(window["_account"].astype(str)))
            day = (window["_date"] - cut).dt.days.to_numpy() - 1
            ok = acc >= 0
            flows = np.zeros((len(state.accounts), 30))
            np.add.at(flows, (acc[ok], day[ok]), window["_amount"].to_numpy(dtype=float)[ok])
            path = state.start_balance[:, None] + np.cumsum(flows, axis=1)
            cuts.append(
                _Cut(
                    state=state,
                    actual=flows.sum(axis=1),
                    widths=self._widths(state, rng),
                    went_below=(np.minimum(path.min(axis=1), state.start_balance) < 0.0),
                )
            )
        return cuts

    def _scale_design(self, scale: np.ndarray, widths: np.ndarray) -> np.ndarray:
        """Inputs of the per-account interval scale: an intercept, the scale features (missing
        ones filled with the calibration median, plus a missing flag) and the log raw width."""
        missing = np.isnan(scale)
        filled = np.where(missing, self.scale_fill_[None, :], scale)
        half = np.maximum(widths, self.width_floor_).mean(axis=1)
        return np.column_stack([np.ones(len(scale)), filled, missing.any(axis=1), np.log1p(half)])

    def _scaled_sides(
        self, design: np.ndarray, widths: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per-account scale split below / above the point as the raw bootstrap spread is."""
        assert self.scale_coef_ is not None
        scale = np.exp(np.clip(design @ self.scale_coef_, -50.0, 50.0))
        sides = np.maximum(widths, max(self.width_floor_, 1e-9))
        half = sides.mean(axis=1)
        return scale * sides[:, 0] / half, scale * sides[:, 1] / half

    def _account_factors(self) -> np.ndarray:
        """Multiplier of each account's simulated deviations: its calibrated 30-day half-width
        over its raw one (the pooled factor where no scale was learned)."""
        state = self.state_
        n = len(state.accounts)
        widths = state.widths if state.widths is not None else np.zeros((n, 2))
        if getattr(self, "scale_coef_", None) is None:
            return np.full(n, self.interval_factor_)
        lower, upper = self._scaled_sides(self._scale_design(state.scale, widths), widths)
        half = np.maximum(widths, max(self.width_floor_, 1e-9)).mean(axis=1)
        return np.asarray(self.interval_factor_ * 0.5 * (lower + upper) / half, dtype=np.float64)

    def _widths(self, state: _State, rng: np.random.Generator) -> np.ndarray:
        """Raw simulated spread of each account's 30-day net: (below, above) the mean."""
        _, occurrences = self._recurring_matrix(state, 30)
        alpha = (1.0 - self.coverage) / 2.0
        n_sims = min(self.n_simulations, 200)
        out = np.zeros((len(state.accounts), 2))
        for batch in _batches(len(state.accounts), n_sims * 30):
            sims = _deviations(state, batch, 30, occurrences, rng, n_sims, self.block_days)
            low, high = np.quantile(sims.sum(axis=2), [alpha, 1.0 - alpha], axis=1)
            out[batch, 0] = np.maximum(-low, 0.0)
            out[batch, 1] = np.maximum(high, 0.0)
        return out

    # -- forecasting ------------------------------------------------------------------------------
    def _account_indices(self, account: str | None) -> list[int]:
        if account is None:
            return list(range(len(self.accounts_)))
        if account not in self.accounts_:
            known = ", ".join(self.accounts_[:20]) + (" ..." if len(self.accounts_) > 20 else "")
            raise NotFoundError(
                f"account {account!r} has no transactions in the forecast history; "
                f"known accounts: {known}"
            )
        return [self.accounts_.index(account)]

    @staticmethod
    def _recurring_matrix(state: _State, days: int) -> tuple[np.ndarray, pd.DataFrame]:
        """Expected recurring amounts, accounts x days, and the occurrences behind them."""
        start = state.end + pd.Timedelta(days=1)
        upcoming = state.recurring.upcoming(start, days)
        matrix = np.zeros((len(state.accounts), days))
        if upcoming.empty:
            return matrix, upcoming.assign(_acc=np.zeros(0, dtype=np.int64), _day=0)
        acc = pd.Index(state.accounts).get_indexer(pd.Index(upcoming["account"].astype(str)))
        day = (upcoming["date"] - start).dt.days.to_numpy()
        ok = acc >= 0
        upcoming = upcoming[ok].assign(_acc=acc[ok], _day=day[ok])
        np.add.at(matrix, (acc[ok], day[ok]), upcoming["expected_amount"].to_numpy(dtype=float))
        return matrix, upcoming

    def _corrections(self) -> np.ndarray:
        """Learned change of each account's 30-day net against the structural forecast."""
        if getattr(self, "correction_coef_", None) is None:
            return np.zeros(len(self.accounts_))
        coef = self.correction_coef_
        assert coef is not None
        features = self.state_.features
        structural = features[:, 0] + features[:, 1]
        chosen = features[:, self.feature_mask_]
        booster = getattr(self, "boost_", None)
        boost = booster.predict(chosen) if booster is not None else 0.0
        return np.asarray(coef[0] + chosen @ coef[1:] + boost - structural, dtype=np.float64)

    def forecast(
        self, days: int | None = None, *, by_account: bool = False, account: str | None = None
    ) -> ForecastResult:
        """Forecast ``days`` days after the history's end (default: ``horizon``).

        ``by_account`` gives one row per day and account; otherwise one row per day for the
        total of the selected accounts (``Account`` = "ALL").  ``account`` restricts the forecast
        to one account.  The summary always describes the selected accounts' total.  The point
        forecast is the recurring streams on their dates plus the robust daily mean of the
        variable rest plus the learned 30-day correction spread evenly over the days; intervals
        come from the calibrated block bootstrap.
        """
        check_is_fitted(self, "state_")
        days = check_horizon(self.horizon if days is None else days)
        selected = np.asarray(self._account_indices(account), dtype=np.int64)
        state = self.state_
        recurring, occurrences = self._recurring_matrix(state, days)
        variable = state.daily_inflow + state.daily_outflow + self._corrections() / 30.0
        points = recurring + variable[:, None]
        alpha = (1.0 - self.coverage) / 2.0
        quantiles = [alpha, 1.0 - alpha]
        rng = np.random.default_rng(self.random_state)
        dates = pd.date_range(state.end + pd.Timedelta(days=1), periods=days, freq="D")
        widths = state.widths if state.widths is not None else np.zeros((len(state.accounts), 2))
        factor = self._account_factors() * self.interval_scale
        z = self._z()
        # too calm a history: add the spread seen across accounts (see ``_calibrate``)
        sigma = np.maximum(self.width_floor_ - widths.max(axis=1), 0.0) / (z * np.sqrt(30.0))
        total_sims = np.zeros((self.n_simulations, days))
        frames: list[pd.DataFrame] = []
        for part in _batches(len(selected), self.n_simulations * days):
            batch = selected[part]
            sims = _deviations(
                state, batch, days, occurrences, rng, self.n_simulations, self.block_days
            )
            if sigma[batch].any():
                noise = rng.normal(size=sims.shape)
                sims += noise * sigma[batch][:, None, None]
            sims *= factor[batch][:, None, None]
            total_sims += sims.sum(axis=0)
            if by_account:
                frames.append(
                    _daily_frame(
                        dates,
                        [state.accounts[i] for i in batch],
                        points[batch],
                        sims,
                        state.start_balance[batch],
                        quantiles,
                    )
                )
        total_point = points[selected].sum(axis=0)
        start_total = float(state.start_balance[selected].sum())
        chosen = recurring[selected]
        inflow = float(
            chosen[chosen > 0].sum()
            + (
                (state.daily_inflow[selected] + np.maximum(self._corrections()[selected], 0.0))
                * days
            ).sum()
        )
        if not by_account:
            label = state.accounts[selected[0]] if account is not None else ALL_ACCOUNTS
            frames.append(
                _daily_frame(
                    dates,
                    [label],
                    total_point[None, :],
                    total_sims[None, :, :],
                    np.array([start_total]),
                    quantiles,
                )
            )
        daily = pd.concat(frames, ignore_index=True)
        balance = start_total + np.cumsum(total_point)
        paths = start_total + np.cumsum(total_point[None, :] + total_sims, axis=1)
        lowest = int(np.argmin(balance))
        net = float(total_point.sum())
        summary: dict[str, Any] = {
            "total_inflow": round(inflow, 2),
            "total_outflow": round(net - inflow, 2),
            "net": round(net, 2),
            "start_balance": round(float(start_total), 2),
            "end_balance": round(float(balance[-1]), 2),
            "lowest_balance": round(float(balance[lowest]), 2),
            "lowest_balance_date": dates[lowest].date().isoformat(),
            "probability_below_zero": self._below_zero(balance, paths),
            "horizon_days": days,
            "accounts": len(selected),
            "coverage": self.coverage,
        }
        return ForecastResult(daily=daily, summary=summary)

    def _below_zero(self, balance: np.ndarray, paths: np.ndarray) -> float:
        """P(an end-of-day balance below zero within the horizon) of the point path ``balance``
        and its simulated ``paths`` (sims x days): Platt-scaled on the lowest point over the
        simulated end spread where learned (see ``_calibrate``), else the share of paths."""
        coef = getattr(self, "below_zero_coef_", None)
        if coef is None:
            return float(np.mean(paths.min(axis=1) < 0.0))
        alpha = (1.0 - self.coverage) / 2.0
        low, high = np.quantile(paths[:, -1], [alpha, 1.0 - alpha])
        x = _below_zero_input(np.array([balance.min()]), np.array([(high - low) / (2 * self._z())]))
        return float(special.expit(coef[0] + coef[1] * x[0]))

    def _predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        if not isinstance(frame, pd.DataFrame) or d.DATE not in frame:
            raise ValidationError("cash-flow predictions need a frame with a Date column")
        dates = pd.to_datetime(pd.Series(frame[d.DATE].to_numpy()), errors="coerce")
        if dates.isna().any():
            bad = int(np.flatnonzero(dates.isna().to_numpy())[0])
            raise ValidationError(f"row {bad} has an unreadable Date ({frame[d.DATE].iloc[bad]!r})")
        dates = dates.dt.normalize()
        offset = (dates - self.history_end_).dt.days.to_numpy()
        if len(frame) == 0:
            return pd.DataFrame(columns=["predicted_net", "lower", "upper", "predicted_balance"])
        first = self.history_end_.date() + pd.Timedelta(days=1)
        last = self.history_end_.date() + pd.Timedelta(days=MAX_HORIZON_DAYS)
        if (offset < 1).any() or (offset > MAX_HORIZON_DAYS).any():
            bad = int(np.flatnonzero((offset < 1) | (offset > MAX_HORIZON_DAYS))[0])
            raise ValidationError(
                f"row {bad}: date {dates.iloc[bad].date()} is outside the forecast range "
                f"{first} .. {last} (the day after the history's end up to {MAX_HORIZON_DAYS} "
                "days ahead)"
            )
        days = int(offset.max())
        by_account = d.ACCOUNT in frame
        if by_account:
            accounts = frame[d.ACCOUNT].astype(str).to_numpy()
            names = [str(name) for name in pd.unique(accounts)]
            for name in names:
                self._account_indices(name)
            daily = (
                self.forecast(days, by_account=True, account=names[0]).daily
                if len(names) == 1
                else self.forecast(days, by_account=True).daily
            )
            keys = pd.DataFrame({"date": dates.to_numpy(), d.ACCOUNT: accounts})
        else:
            daily = self.forecast(days).daily
            keys = pd.DataFrame({"date": dates.to_numpy(), d.ACCOUNT: ALL_ACCOUNTS})
        merged = keys.merge(daily, on=["date", d.ACCOUNT], how="left")
        return merged[["predicted_net", "lower", "upper", "predicted_balance"]].set_axis(
            frame.index
        )

    # -- evaluation -------------------------------------------------------------------------------
    def evaluate(self, frame: pd.DataFrame, days: int | None = None) -> dict[str, float]:
        """Accuracy of the ``days``-day (default 30) net per account on a later hold-out.

        ``mae_30d_net``: mean absolute error of each account's net over the days after the
        history's end; ``zero_change_mae``: the same for a forecast of no change;
        ``mae_ratio`` = their ratio; ``end_balance_coverage``: share of accounts whose actual
        end balance lies in the interval.  Accounts unseen in training are ignored.  A hold-out
        ending sooner than ``days`` after the history shortens the window (``horizon_days``).
        """
        check_is_fitted(self, "accounts_")
        days = check_horizon(30 if days is None else days)
        work = working_frame(frame, need_amount=True, what="cash-flow evaluation", training=False)
        offset = (work["_date"] - self.history_end_).dt.days.to_numpy()
        if offset.max() < 1:
            raise ValidationError(
                f"the hold-out ends {work['_date'].max().date()}, not after the history's end "
                f"{self.history_end_.date()}: evaluate on later transactions"
            )
        days = min(days, int(offset.max()))
        in_window = (offset >= 1) & (offset <= days)
        actual = (
            pd.Series(work["_amount"].to_numpy()[in_window])
            .groupby(work["_account"].astype(str).to_numpy()[in_window])
            .sum()
            .reindex(self.accounts_, fill_value=0.0)
            .to_numpy()
        )
        result = self.forecast(days, by_account=True).daily
        end = result[result["date"] == result["date"].max()].set_index(d.ACCOUNT)
        end = end.reindex(self.accounts_)
        predicted_net = end["predicted_balance"].to_numpy() - self.start_balance_
        actual_end = self.start_balance_ + actual
        error = np.abs(predicted_net - actual)
        zero = np.abs(actual)
        covered = (end["balance_lower"].to_numpy() <= actual_end + 0.005) & (
            actual_end - 0.005 <= end["balance_upper"].to_numpy()
        )
        mae, zero_mae = float(error.mean()), float(zero.mean())
        return {
            "mae_30d_net": mae,
            "zero_change_mae": zero_mae,
            "mae_ratio": mae / zero_mae if zero_mae > 0 else float("nan"),
            "end_balance_coverage": float(covered.mean()),
            "accounts": float(len(self.accounts_)),
            "horizon_days": float(days),
        }

    def feature_names(self) -> list[str]:
        """Inputs the forecast uses."""
        return ["Date", "Amount", "Account", "Balance", "merchant"]


@dataclass
class _State:
    """What the forecast needs, fitted on the history up to ``end``."""

    end: pd.Timestamp
    accounts: list[str]
    start_balance: np.ndarray
    valid_from: np.ndarray
    variable: np.ndarray
    daily_inflow: np.ndarray
    daily_outflow: np.ndarray
    raw_daily_mean: np.ndarray
    recurring: RecurringModel
    features: np.ndarray = field(default_factory=lambda: np.zeros((0, 8)))
    scale: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))
    widths: np.ndarray | None = None
    recurring_30: np.ndarray = field(default_factory=lambda: np.zeros((0, 30)))


# columns of ``_State.features``: the year-ago excess net and its flag (see ``_calibrate``)
_YEAR_COLUMNS = [6, 7]
_HAS_YEAR = 7


@dataclass
class _Cut:
    """One calibration cut-off: the state refitted there and what followed."""

    state: _State
    actual: np.ndarray
    widths: np.ndarray
    went_below: np.ndarray


def _median_regression(
    design: np.ndarray, target: np.ndarray, *, fit_intercept: bool
) -> tuple[float, np.ndarray]:
    """(intercept, coefficients) of an unpenalised median (LAD) regression solved by HiGHS's
    interior-point method: the same optimum as its default (dual simplex here) at a third to a
    half of the CPU time on the cut-off samples (2,920 x 12 at Berka's last cut-off: 0.13-0.17
    vs 0.37 CPU s).  Solved on columns and target divided by their largest magnitude (a LAD
    fit is scale-equivariant): balances in the hundreds of millions made both HiGHS solvers
    give up ("numerical difficulties") and scikit-learn then fail with a TypeError."""
    column_scale = np.abs(design).max(axis=0) if len(design) else np.ones(design.shape[1])
    column_scale = np.where(column_scale > 0, column_scale, 1.0)
    target_scale = float(np.abs(target).max()) if len(target) else 1.0
    target_scale = target_scale if target_scale > 0 else 1.0
    regression = QuantileRegressor(
        quantile=0.5, alpha=0.0, fit_intercept=fit_intercept, solver="highs-ipm"
    )
    regression.fit(design / column_scale, target / target_scale)
    coef = np.asarray(regression.coef_, dtype=np.float64) * target_scale / column_scale
    return float(regression.intercept_) * target_scale, coef


def _cut_effects_regression(
    features: np.ndarray, target: np.ndarray, which: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Median (LAD) regression of ``target`` on ``features`` with one intercept per calibration
    cut-off (``which``: 0, 1, ... per sample) and no shared one: (intercepts per cut-off, shared
    slopes).  A shock common to the accounts of one cut-off (a month when every account gains or
    loses more than usual) goes into that cut-off's intercept, not into the slopes."""
    n_cuts = int(which.max()) + 1
    dummies = (which[:, None] == np.arange(n_cuts)[None, :]).astype(np.float64)
    _, coef = _median_regression(np.column_stack([dummies, features]), target, fit_intercept=False)
    return coef[:n_cuts], coef[n_cuts:]


def _pooled_regression(features: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    """Median (LAD) regression of ``target`` on ``features`` with one shared intercept."""
    return _median_regression(features, target, fit_intercept=True)


def _per_cut_pays(features: np.ndarray, target: np.ndarray, which: np.ndarray) -> bool:
    """Whether per-cut intercepts (the forecast taking their median) predict a left-out cut-off
    at least as well as one pooled intercept, summed over every cut-off left out in turn.

    Per-cut intercepts keep a month's common shock out of the slopes; but when a feature moves
    with the cut-off itself (balances that drift the same way on every account), the intercepts
    and that slope trade off, and the median intercept no longer matches a new cut-off: then
    the pooled fit is kept."""
    cuts = np.unique(which)
    if len(cuts) < 3:
        return True
    per_cut = pooled = 0.0
    for k in cuts:
        train, test = which != k, which == k
        codes = np.unique(which[train], return_inverse=True)[1]
        intercepts, slopes = _cut_effects_regression(features[train], target[train], codes)
        per_cut += float(
            np.abs(target[test] - np.median(intercepts) - features[test] @ slopes).sum()
        )
        intercept, coef = _pooled_regression(features[train], target[train])
        pooled += float(np.abs(target[test] - intercept - features[test] @ coef).sum())
    return per_cut <= pooled


def _below_zero_input(lowest: np.ndarray, spread: np.ndarray) -> np.ndarray:
    """Input of the Platt scaling of P(below zero): the lowest forecast balance in standard
    deviations of the forecast (clipped: far above zero is all the same)."""
    return np.asarray(np.clip(lowest / np.maximum(spread, 1.0), -10.0, 10.0), dtype=np.float64)


def _start_balances(work: pd.DataFrame, acc_idx: np.ndarray, n_accounts: int) -> np.ndarray:
    """Last known balance per account: the closing balance of its last day with balances plus
    any later amounts, or the running sum of Amount where no balance is given.

    Exports do not always list same-day rows in booking order, so the day's closing row is the
    one whose balance no other row of that day starts from (its balance minus its amount).
    ``work`` is sorted by date, then input order.
    """
    amount = work["_amount"].to_numpy(dtype=float)
    total = np.bincount(acc_idx, weights=amount, minlength=n_accounts)
    balance = work["_balance"].to_numpy(dtype=float)
    has = ~np.isnan(balance)
    if not has.any():
        return total
    dates = work["_date"].to_numpy()
    rows = np.arange(len(work))
    last_row = np.full(n_accounts, -1)
    np.maximum.at(last_row, acc_idx[has], rows[has])
    known = last_row >= 0
    last_day = np.full(n_accounts, np.datetime64("NaT"), dtype=dates.dtype)
    last_day[known] = dates[last_row[known]]
    day_rows = has & (dates == last_day[acc_idx])
    group = pd.DataFrame(
        {
            "acc": acc_idx[day_rows],
            "row": rows[day_rows],
            "closing": np.round(balance[day_rows] * 100).astype(np.int64),
            "opening": np.round((balance[day_rows] - amount[day_rows]) * 100).astype(np.int64),
        }
    )
    opened = group[["acc", "opening"]].rename(columns={"opening": "closing"}).drop_duplicates()
    flagged = group.merge(opened.assign(_used=True), on=["acc", "closing"], how="left")
    closing = flagged[flagged["_used"].isna()].groupby("acc")["row"].max()
    last_row[closing.index.to_numpy()] = closing.to_numpy()
    after = (dates > last_day[acc_idx]) | ((dates == last_day[acc_idx]) & ~has)
    tail = np.bincount(acc_idx[after], weights=amount[after], minlength=n_accounts)
    start = total.copy()
    start[known] = balance[last_row[known]] + tail[known]
    return start


def _rolling_net_spread(every: np.ndarray, valid_from: np.ndarray, window: int = 30) -> np.ndarray:
    """Each account's median absolute deviation of its rolling ``window``-day net flows (from
    its first day on), or NaN with fewer than ``window`` days of its own history."""
    n_acc, n_days = every.shape
    if n_days <= window:
        return np.full(n_acc, np.nan)
    total = np.cumsum(np.c_[np.zeros(n_acc), every], axis=1)
    sums = total[:, window:] - total[:, :-window]  # window ending on day window-1 .. n_days-1
    starts = np.arange(n_days - window + 1)
    sums[starts[None, :] < valid_from[:, None]] = np.nan
    out = np.full(n_acc, np.nan)
    rows = np.isfinite(sums).any(axis=1)
    if rows.any():
        mine = sums[rows]
        centre = np.nanmedian(mine, axis=1, keepdims=True)
        out[rows] = np.nanmedian(np.abs(mine - centre), axis=1)
    return out


def _batches(n: int, cells_per_item: int, budget: int = 4_000_000) -> list[np.ndarray]:
    """Index batches of ``n`` items so one batch of simulations stays within ``budget`` cells."""
    size = max(1, budget // max(cells_per_item, 1))
    return [np.arange(i, min(i + size, n)) for i in range(0, n, size)]


def _deviations(
    state: _State,
    accounts: np.ndarray,
    days: int,
    occurrences: pd.DataFrame,
    rng: np.random.Generator,
    n_sims: int,
    block_days: int,
) -> np.ndarray:
    """Simulated deviations of the accounts' daily net flows from their means (accounts x sims x
    days): a moving-block bootstrap of each account's own variable daily flows (blocks keep the
    weekly rhythm; a history shorter than a block is wrapped) plus the amount noise of its
    recurring streams."""
    flows = state.variable[accounts].astype(float)
    first = state.valid_from[accounts]
    n_valid = flows.shape[1] - first
    block = max(1, block_days)
    n_blocks = -(-days // block)
    high = np.where(n_valid >= block, n_valid - block + 1, n_valid)
    starts = rng.integers(0, high[:, None, None], size=(len(accounts), n_sims, n_blocks))
    offsets = (starts[..., None] + np.arange(block)) % n_valid[:, None, None, None]
    offsets = offsets.reshape(len(accounts), n_sims, -1)[:, :, :days]
    columns = first[:, None, None] + offsets
    sims: np.ndarray = flows[np.arange(len(accounts))[:, None, None], columns]
    sims -= state.raw_daily_mean[accounts][:, None, None]
    if len(occurrences):
        position = pd.Series(np.arange(len(accounts)), index=accounts)
        mine = occurrences[occurrences["_acc"].isin(accounts)]
        if len(mine):
            where = position.reindex(mine["_acc"].to_numpy()).to_numpy()
            spread = mine["amount_spread"].to_numpy(dtype=float)
            noise = rng.normal(size=(len(mine), n_sims)) * spread[:, None]
            np.add.at(
                sims,
                (where[:, None], np.arange(n_sims)[None, :], mine["_day"].to_numpy()[:, None]),
                noise,
            )
    return sims


def _daily_frame(
    dates: pd.DatetimeIndex,
    accounts: list[str],
    points: np.ndarray,
    sims: np.ndarray,
    start_balances: np.ndarray,
    quantiles: list[float],
) -> pd.DataFrame:
    """Daily rows of a batch of series (points: series x days, sims: series x sims x days).

    Intervals are the simulated deviations' quantiles around the point forecast, forced to
    bracket it (a skewed bootstrap can put both quantiles on one side of the mean).
    """
    low, high = np.quantile(sims, quantiles, axis=1)
    bal_low, bal_high = np.quantile(np.cumsum(sims, axis=2), quantiles, axis=1)
    balance = start_balances[:, None] + np.cumsum(points, axis=1)
    n_series, n_days = points.shape
    return pd.DataFrame(
        {
            "date": np.tile(dates.to_numpy(), n_series),
            d.ACCOUNT: np.repeat(np.asarray(accounts, dtype=object), n_days),
            "predicted_net": np.round(points, 2).ravel(),
            "lower": np.round(points + np.minimum(low, 0.0), 2).ravel(),
            "upper": np.round(points + np.maximum(high, 0.0), 2).ravel(),
            "predicted_balance": np.round(balance, 2).ravel(),
            "balance_lower": np.round(balance + np.minimum(bal_low, 0.0), 2).ravel(),
            "balance_upper": np.round(balance + np.maximum(bal_high, 0.0), 2).ravel(),
        }
    )


__all__ = ["ALL_ACCOUNTS", "DAILY_COLUMNS", "MAX_HORIZON_DAYS", "CashflowModel", "ForecastResult"]

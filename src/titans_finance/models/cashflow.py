"""Cash-flow forecast per account: known recurring streams on their expected dates plus a robust
model of the variable rest, with intervals from a block bootstrap of historical daily flows.

Rows dated after today (UTC) in the history — scheduled or pending payments — are dropped with a
warning: they have not happened, and counting them would start the forecast from a wrong balance.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from titans_finance import domain as d
from titans_finance.errors import NotFoundError, TrainingDataError, ValidationError
from titans_finance.models._history import to_float, working_frame
from titans_finance.models.base import TitansModel
from titans_finance.models.recurring import RecurringModel

logger = logging.getLogger(__name__)

MAX_HORIZON_DAYS = 366
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
        Multiplier of the simulated deviations from the point forecast (1 = raw bootstrap).
    min_history_days, min_transactions
        Least history accepted for training.
    random_state
        Seed of the simulations (forecasts are reproducible).
    """

    model_type: ClassVar[str] = "cashflow"

    def __init__(
        self,
        horizon: int = 30,
        coverage: float = 0.9,
        n_simulations: int = 500,
        lookback_days: int = 365,
        block_days: int = 7,
        winsor_quantile: float = 0.98,
        interval_scale: float = 1.0,
        min_history_days: int = 30,
        min_transactions: int = 10,
        random_state: int = 0,
    ) -> None:
        self.horizon = horizon
        self.coverage = coverage
        self.n_simulations = n_simulations
        self.lookback_days = lookback_days
        self.block_days = block_days
        self.winsor_quantile = winsor_quantile
        self.interval_scale = interval_scale
        self.min_history_days = min_history_days
        self.min_transactions = min_transactions
        self.random_state = random_state

    # -- fitting ----------------------------------------------------------------------------------
    def _validate_params(self) -> None:
        check_horizon(self.horizon)
        if not 0.0 < self.coverage < 1.0:
            raise ValidationError(f"coverage must be between 0 and 1, got {self.coverage}")
        if self.n_simulations < 50:
            raise ValidationError(f"n_simulations must be at least 50, got {self.n_simulations}")
        if self.block_days < 1 or self.lookback_days < self.min_history_days:
            raise ValidationError("block_days must be >= 1 and lookback_days >= min_history_days")

    def _fit(self, frame: pd.DataFrame) -> None:
        self._validate_params()
        work = working_frame(frame, need_amount=True, what="cash-flow model", training=True)
        today = pd.Timestamp(datetime.now(UTC).date())
        future = (work["_date"] > today).to_numpy()
        self.dropped_future_rows_ = int(future.sum())
        if future.any():
            logger.warning(
                "cash-flow model: dropped %d row(s) dated after today (%s): a forecast starts "
                "from what has happened",
                self.dropped_future_rows_,
                today.date(),
            )
            frame = frame.iloc[np.flatnonzero(~future)]
            work = work[~future].reset_index(drop=True)
            work["_pos"] = np.arange(len(work))
        self._check_history(work)
        self.history_end_ = pd.Timestamp(work["_date"].max())
        self.recurring_ = RecurringModel().fit(frame)
        recurring = self.recurring_.recurring_mask(frame)
        self._fit_accounts(frame, work, recurring)

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

    def _fit_accounts(self, frame: pd.DataFrame, work: pd.DataFrame, recurring: np.ndarray) -> None:
        order = np.lexsort((work["_pos"].to_numpy(), work["_date"].to_numpy()))
        work = work.iloc[order].reset_index(drop=True)
        recurring = recurring[order]
        accounts = np.sort(work["_account"].astype(str).unique())
        self.accounts_ = list(accounts)
        acc_idx = np.searchsorted(accounts, work["_account"].astype(str).to_numpy())
        amount = work["_amount"].to_numpy(dtype=float)
        self.start_balance_ = self._start_balances(frame, work, acc_idx, len(accounts))
        self.first_date_ = (
            work.groupby(acc_idx)["_date"].min().reindex(range(len(accounts))).to_numpy()
        )

        # Daily variable (non-recurring) inflows and outflows, accounts x days of the lookback.
        n_days = self.lookback_days
        window_start = self.history_end_ - pd.Timedelta(days=n_days - 1)
        day = (work["_date"] - window_start).dt.days.to_numpy()
        use = (~recurring) & (day >= 0)
        inflow = np.zeros((len(accounts), n_days))
        outflow = np.zeros((len(accounts), n_days))
        pos = use & (amount > 0)
        neg = use & (amount < 0)
        np.add.at(inflow, (acc_idx[pos], day[pos]), amount[pos])
        np.add.at(outflow, (acc_idx[neg], day[neg]), amount[neg])
        first_day = (pd.DatetimeIndex(self.first_date_) - window_start).days.to_numpy()
        self.valid_from_ = np.clip(first_day, 0, n_days - 1).astype(np.int64)
        valid = np.arange(n_days)[None, :] >= self.valid_from_[:, None]
        inflow[~valid] = np.nan
        outflow[~valid] = np.nan
        self.variable_in_ = inflow.astype(np.float32)
        self.variable_out_ = outflow.astype(np.float32)
        q = self.winsor_quantile
        cap_in = np.nanquantile(inflow, q, axis=1)
        cap_out = np.nanquantile(outflow, 1.0 - q, axis=1)
        self.daily_inflow_ = np.nanmean(np.minimum(inflow, cap_in[:, None]), axis=1)
        self.daily_outflow_ = np.nanmean(np.maximum(outflow, cap_out[:, None]), axis=1)
        self.raw_daily_mean_ = np.nanmean(inflow + outflow, axis=1)

    def _start_balances(
        self, frame: pd.DataFrame, work: pd.DataFrame, acc_idx: np.ndarray, n_accounts: int
    ) -> np.ndarray:
        """Last known balance per account: the last Balance value plus any later amounts, or the
        running sum of Amount where no balance is given."""
        amount = work["_amount"].to_numpy(dtype=float)
        total = np.bincount(acc_idx, weights=amount, minlength=n_accounts)
        if d.BALANCE not in frame:
            return total
        balance = to_float(frame[d.BALANCE].reset_index(drop=True))[work["_pos"].to_numpy()]
        has = ~np.isnan(balance)
        if not has.any():
            return total
        rows = np.arange(len(work))
        last_row = np.full(n_accounts, -1)
        np.maximum.at(last_row, acc_idx[has], rows[has])
        # amounts after each account's last balanced row
        after = rows > last_row[acc_idx]
        tail = np.bincount(acc_idx[after], weights=amount[after], minlength=n_accounts)
        known = last_row >= 0
        start = total.copy()
        start[known] = balance[last_row[known]] + tail[known]
        return start

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

    def _recurring_matrix(self, days: int) -> tuple[np.ndarray, pd.DataFrame]:
        """Expected recurring amounts, accounts x days, and the occurrences behind them."""
        start = self.history_end_ + pd.Timedelta(days=1)
        upcoming = self.recurring_.upcoming(start, days)
        matrix = np.zeros((len(self.accounts_), days))
        if upcoming.empty:
            return matrix, upcoming
        acc = pd.Index(self.accounts_).get_indexer(upcoming["account"].astype(str))
        day = (upcoming["date"] - start).dt.days.to_numpy()
        ok = acc >= 0
        upcoming = upcoming[ok].assign(_acc=acc[ok], _day=day[ok])
        np.add.at(matrix, (acc[ok], day[ok]), upcoming["expected_amount"].to_numpy(dtype=float))
        return matrix, upcoming

    def _simulate(
        self, i: int, days: int, occurrences: pd.DataFrame, rng: np.random.Generator
    ) -> np.ndarray:
        """Simulated deviations of daily net flows from the point forecast (sims x days)."""
        flows = (self.variable_in_[i] + self.variable_out_[i]).astype(float)
        flows = flows[self.valid_from_[i] :]
        n_sims = self.n_simulations
        block = max(1, min(self.block_days, len(flows)))
        n_blocks = -(-days // block)
        starts = rng.integers(0, len(flows) - block + 1, size=(n_sims, n_blocks))
        index = (starts[:, :, None] + np.arange(block)[None, None, :]).reshape(n_sims, -1)
        sims = flows[index[:, :days]] - self.raw_daily_mean_[i]
        if len(occurrences):
            spread = occurrences["amount_spread"].to_numpy(dtype=float)
            noise = rng.normal(size=(n_sims, len(occurrences))) * spread[None, :]
            np.add.at(sims.T, occurrences["_day"].to_numpy(), noise.T)
        return sims * self.interval_scale

    def forecast(
        self, days: int | None = None, *, by_account: bool = False, account: str | None = None
    ) -> ForecastResult:
        """Forecast ``days`` days after the history's end (default: ``horizon``).

        ``by_account`` gives one row per day and account; otherwise one row per day for the
        total of the selected accounts (``Account`` = "ALL").  ``account`` restricts the forecast
        to one account.  The summary always describes the selected accounts' total.
        """
        check_is_fitted(self, "accounts_")
        days = check_horizon(self.horizon if days is None else days)
        selected = self._account_indices(account)
        recurring, occurrences = self._recurring_matrix(days)
        alpha = (1.0 - self.coverage) / 2.0
        quantiles = [alpha, 1.0 - alpha]
        rng = np.random.default_rng(self.random_state)
        dates = pd.date_range(self.history_end_ + pd.Timedelta(days=1), periods=days, freq="D")
        by_occ = dict(tuple(occurrences.groupby("_acc"))) if len(occurrences) else {}
        total_sims = np.zeros((self.n_simulations, days))
        total_point = np.zeros(days)
        inflow = outflow = start_total = 0.0
        frames: list[pd.DataFrame] = []
        for i in selected:
            occ = by_occ.get(i, occurrences.iloc[:0])
            point = recurring[i] + self.daily_inflow_[i] + self.daily_outflow_[i]
            sims = self._simulate(i, days, occ, rng)
            total_sims += sims
            total_point += point
            start_total += self.start_balance_[i]
            amounts = recurring[i]
            inflow += float(amounts[amounts > 0].sum() + self.daily_inflow_[i] * days)
            outflow += float(amounts[amounts < 0].sum() + self.daily_outflow_[i] * days)
            if by_account:
                frames.append(
                    _daily_frame(
                        dates, self.accounts_[i], point, sims, self.start_balance_[i], quantiles
                    )
                )
        if not by_account:
            label = self.accounts_[selected[0]] if account is not None else ALL_ACCOUNTS
            frames.append(
                _daily_frame(dates, label, total_point, total_sims, start_total, quantiles)
            )
        daily = pd.concat(frames, ignore_index=True)
        balance = start_total + np.cumsum(total_point)
        paths = start_total + np.cumsum(total_point[None, :] + total_sims, axis=1)
        lowest = int(np.argmin(balance))
        summary: dict[str, Any] = {
            "total_inflow": round(inflow, 2),
            "total_outflow": round(outflow, 2),
            "net": round(float(total_point.sum()), 2),
            "start_balance": round(float(start_total), 2),
            "end_balance": round(float(balance[-1]), 2),
            "lowest_balance": round(float(balance[lowest]), 2),
            "lowest_balance_date": dates[lowest].date().isoformat(),
            "probability_below_zero": float(np.mean(paths.min(axis=1) < 0.0)),
            "horizon_days": days,
            "accounts": len(selected),
            "coverage": self.coverage,
        }
        return ForecastResult(daily=daily, summary=summary)

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
            for name in pd.unique(accounts):
                self._account_indices(str(name))
            daily = self.forecast(days, by_account=True).daily
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
        end balance lies in the interval.  Accounts unseen in training are ignored.
        """
        check_is_fitted(self, "accounts_")
        days = check_horizon(30 if days is None else days)
        work = working_frame(frame, need_amount=True, what="cash-flow evaluation", training=False)
        offset = (work["_date"] - self.history_end_).dt.days.to_numpy()
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
        }

    def feature_names(self) -> list[str]:
        """Inputs the forecast uses."""
        return ["Date", "Amount", "Account", "Balance", "merchant"]


def _daily_frame(
    dates: pd.DatetimeIndex,
    account: str,
    point: np.ndarray,
    sims: np.ndarray,
    start_balance: float,
    quantiles: list[float],
) -> pd.DataFrame:
    """Daily rows of one series; intervals from the simulated deviations, forced to bracket the
    point forecast (a skewed bootstrap can put both quantiles on one side of the mean)."""
    low, high = np.quantile(sims, quantiles, axis=0)
    cumulative = np.cumsum(sims, axis=1)
    bal_low, bal_high = np.quantile(cumulative, quantiles, axis=0)
    balance = start_balance + np.cumsum(point)
    return pd.DataFrame(
        {
            "date": dates,
            d.ACCOUNT: account,
            "predicted_net": np.round(point, 2),
            "lower": np.round(point + np.minimum(low, 0.0), 2),
            "upper": np.round(point + np.maximum(high, 0.0), 2),
            "predicted_balance": np.round(balance, 2),
            "balance_lower": np.round(balance + np.minimum(bal_low, 0.0), 2),
            "balance_upper": np.round(balance + np.maximum(bal_high, 0.0), 2),
        }
    )


__all__ = ["ALL_ACCOUNTS", "DAILY_COLUMNS", "MAX_HORIZON_DAYS", "CashflowModel", "ForecastResult"]

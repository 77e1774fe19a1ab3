"""Recurring streams: salary, rent, subscriptions, loan repayments, insurance.

A stream is one (account, merchant, sign) group whose occurrences arrive on a regular calendar
period.  Detection is a handful of grouped passes over the whole history (no per-row loops).
"""

from __future__ import annotations

import hashlib
import logging
from typing import ClassVar

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from titans_finance.errors import ValidationError
from titans_finance.models._history import MAD_TO_SIGMA, working_frame
from titans_finance.models.base import TitansModel

logger = logging.getLogger(__name__)

#: Canonical periods: name -> (mean length in days, calendar months per step or 0 for days).
PERIODS: dict[str, tuple[float, int]] = {
    "weekly": (7.0, 0),
    "biweekly": (14.0, 0),
    "monthly": (30.4375, 1),
    "quarterly": (91.3125, 3),
    "yearly": (365.25, 12),
}
_PERIOD_NAMES = np.array(list(PERIODS))
_PERIOD_DAYS = np.array([days for days, _ in PERIODS.values()])
_PERIOD_MONTHS = np.array([months for _, months in PERIODS.values()])
_KEYS = ["_account", "_merchant", "_sign"]

STREAM_COLUMNS = [
    "stream_id",
    "account",
    "merchant",
    "description",
    "category",
    "direction",
    "period",
    "period_days",
    "typical_amount",
    "amount_spread",
    "amount_stability",
    "regularity",
    "occurrences",
    "first_date",
    "last_date",
    "last_amount",
    "next_expected_date",
    "tolerance_days",
    "active",
    "price_change",
    "price_change_pct",
]
UPCOMING_COLUMNS = [
    "stream_id",
    "account",
    "merchant",
    "category",
    "period",
    "date",
    "expected_amount",
    "amount_spread",
    "overdue",
]


def stream_ids(accounts: pd.Series, merchants: pd.Series, signs: pd.Series) -> pd.Series:
    """Stable stream ids: the same (account, merchant, direction) keeps its id across refits."""
    keys = accounts.astype(str) + "\x1f" + merchants.astype(str) + "\x1f" + signs.astype(str)
    unique = pd.unique(keys)
    ids = {key: "rs-" + hashlib.sha1(key.encode()).hexdigest()[:10] for key in unique}  # noqa: S324
    return keys.map(ids)


def add_months(dates: np.ndarray, months: np.ndarray) -> np.ndarray:
    """Add whole calendar months to day dates, keeping the day of month (clipped to month end)."""
    days = dates.astype("datetime64[D]")
    month_start = days.astype("datetime64[M]")
    day_of_month = (days - month_start.astype("datetime64[D]")).astype(np.int64)
    target = month_start + months.astype(np.int64)
    month_len = ((target + 1).astype("datetime64[D]") - target.astype("datetime64[D]")).astype(
        np.int64
    )
    return np.asarray(target.astype("datetime64[D]") + np.minimum(day_of_month, month_len - 1))


def step_dates(dates: np.ndarray, period_idx: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """``dates`` moved ``steps`` periods forward: calendar months for monthly and longer periods
    (rent stays on the 1st), whole days for weekly and biweekly."""
    days = dates.astype("datetime64[D]")
    months = _PERIOD_MONTHS[period_idx]
    by_month = add_months(days, months * steps)
    by_day = days + np.round(_PERIOD_DAYS[period_idx] * steps).astype(np.int64)
    return np.where(months > 0, by_month, by_day)


class RecurringModel(TitansModel):
    """Detect recurring streams and project their next occurrences.

    Parameters
    ----------
    min_occurrences
        Fewest dated occurrences (same-day rows are merged) a group needs to be a stream.
    period_tolerance
        Largest relative distance of the median gap from a canonical period (0.2 = 20 %).
    min_regularity
        Smallest share of gaps within ``date_tolerance`` of the period.
    date_tolerance
        Lateness (or earliness) allowed for an occurrence, as a share of the period, clipped
        to ``[2, 15]`` days.
    """

    model_type: ClassVar[str] = "recurring"
    primary_metric: ClassVar[str] = "occurrence_f1"
    higher_is_better: ClassVar[bool] = True

    def __init__(
        self,
        min_occurrences: int = 3,
        period_tolerance: float = 0.2,
        min_regularity: float = 0.6,
        date_tolerance: float = 0.15,
    ) -> None:
        self.min_occurrences = min_occurrences
        self.period_tolerance = period_tolerance
        self.min_regularity = min_regularity
        self.date_tolerance = date_tolerance

    # -- fitting ----------------------------------------------------------------------------------
    def _fit(self, frame: pd.DataFrame) -> None:
        work = working_frame(frame, need_amount=True, what="recurring model", training=True)
        descriptions = (
            frame["Description"].astype(str).to_numpy()
            if "Description" in frame
            else work["_merchant"].to_numpy()
        )
        self.fit_working(work, descriptions)

    def fit_working(self, work: pd.DataFrame, descriptions: np.ndarray) -> RecurringModel:
        """Detect streams in an already-parsed working frame (see ``models._history``);
        ``descriptions`` is indexed by the working frame's ``_pos``.  Used by the cash-flow
        model, which parses its history once and refits on several cut-offs."""
        work = work[work["_amount"] != 0]
        self.history_end_ = pd.Timestamp(work["_date"].max()) if len(work) else None
        self.streams_ = self._detect(work, descriptions)
        logger.info(
            "recurring: %d streams (%d active) in %d rows",
            len(self.streams_),
            int(self.streams_["active"].sum()) if len(self.streams_) else 0,
            len(work),
        )
        return self

    def _tolerance(self, period_days: np.ndarray) -> np.ndarray:
        return np.clip(np.asarray(period_days) * self.date_tolerance, 2.0, 15.0)

    def _detect(self, work: pd.DataFrame, descriptions: np.ndarray) -> pd.DataFrame:
        if work.empty:
            return pd.DataFrame(columns=STREAM_COLUMNS)
        work = work.assign(_description=np.asarray(descriptions)[work["_pos"].to_numpy()])
        # One occurrence per group and day: two same-day rows are one payment split in two.
        daily = (
            work.groupby([*_KEYS, "_date"], sort=True)
            .agg(
                amount=("_amount", "sum"),
                description=("_description", "last"),
                category=("_category", "last"),
            )
            .reset_index()
        )
        group = daily.groupby(_KEYS, sort=False)
        daily["_n"] = group["_date"].transform("size")
        daily = daily[daily["_n"] >= self.min_occurrences].copy()
        if daily.empty:
            return pd.DataFrame(columns=STREAM_COLUMNS)
        group = daily.groupby(_KEYS, sort=False)
        gap = group["_date"].diff().dt.days.astype("float64")
        daily["_gap"] = gap
        median_gap = group["_gap"].transform("median").to_numpy()
        # Nearest canonical period on a log scale, accepted within the relative tolerance.
        distance = np.abs(np.log(median_gap[:, None] / _PERIOD_DAYS[None, :]))
        period_idx = np.argmin(distance, axis=1)
        period_ok = distance[np.arange(len(daily)), period_idx] <= np.log1p(self.period_tolerance)
        period_days = _PERIOD_DAYS[period_idx]
        tolerance = self._tolerance(period_days)
        daily["_period_idx"] = period_idx
        daily["_period_ok"] = period_ok
        daily["_on_time"] = np.where(
            np.isnan(gap), np.nan, (np.abs(gap - period_days) <= tolerance).astype(float)
        )
        group = daily.groupby(_KEYS, sort=False)
        median_amount = group["amount"].transform("median")
        daily["_dev"] = (daily["amount"] - median_amount).abs()
        group = daily.groupby(_KEYS, sort=False)
        streams = group.agg(
            occurrences=("_date", "size"),
            first_date=("_date", "min"),
            last_date=("_date", "max"),
            typical_amount=("amount", "median"),
            mad=("_dev", "median"),
            last_amount=("amount", "last"),
            regularity=("_on_time", "mean"),
            period_idx=("_period_idx", "first"),
            period_ok=("_period_ok", "first"),
            description=("description", "last"),
        ).reset_index()
        category = (
            daily.groupby([*_KEYS, "category"], sort=False)
            .size()
            .rename("_count")
            .reset_index()
            .sort_values("_count", ascending=False, kind="stable")
            .drop_duplicates(_KEYS)
            .drop(columns="_count")
        )
        streams = streams.merge(category, on=_KEYS, how="left")
        streams = streams[
            streams["period_ok"] & (streams["regularity"] >= self.min_regularity)
        ].reset_index(drop=True)
        if streams.empty:
            return pd.DataFrame(columns=STREAM_COLUMNS)
        # Price change: the last amount against the typical amount before it.
        members = daily.merge(streams[_KEYS], on=_KEYS, how="inner")
        previous = members[members.groupby(_KEYS).cumcount(ascending=False) > 0]
        prior = previous.groupby(_KEYS)["amount"].median().rename("prior_typical").reset_index()
        streams = streams.merge(prior, on=_KEYS, how="left")

        idx = streams["period_idx"].to_numpy(dtype=np.int64)
        period_days = _PERIOD_DAYS[idx]
        tolerance = self._tolerance(period_days)
        last = streams["last_date"].to_numpy().astype("datetime64[D]")
        next_date = step_dates(last, idx, np.ones(len(streams), dtype=np.int64))
        end = np.datetime64(pd.Timestamp(work["_date"].max()).date(), "D")
        overdue_days = np.asarray(end - next_date).astype(np.int64)
        typical = streams["typical_amount"].to_numpy()
        spread = streams["mad"].to_numpy() * MAD_TO_SIGMA
        # A price change is a last amount outside the stream's usual noise (a subscription rise),
        # not the week-to-week wobble of a grocery bill.
        # Positive = a larger amount (a dearer subscription, a pay rise), whatever the direction.
        change = np.abs(streams["last_amount"].to_numpy()) - np.abs(
            streams["prior_typical"].to_numpy()
        )
        change = np.where(np.abs(change) > np.maximum(2.0 * spread, 0.005), change, 0.0)
        out = pd.DataFrame(
            {
                "stream_id": stream_ids(
                    streams["_account"], streams["_merchant"], streams["_sign"]
                ).to_numpy(),
                "account": streams["_account"].astype(str).to_numpy(),
                "merchant": streams["_merchant"].astype(str).to_numpy(),
                "description": streams["description"].to_numpy(),
                "category": streams["category"].to_numpy(),
                "direction": np.where(streams["_sign"] > 0, "in", "out"),
                "period": _PERIOD_NAMES[idx],
                "period_days": period_days,
                "typical_amount": np.round(typical, 2),
                "amount_spread": np.round(spread, 2),
                "amount_stability": np.round(
                    1.0 - np.minimum(1.0, spread / np.maximum(np.abs(typical), 1e-9)), 3
                ),
                "regularity": np.round(streams["regularity"].to_numpy(), 3),
                "occurrences": streams["occurrences"].to_numpy(dtype=np.int64),
                "first_date": pd.to_datetime(streams["first_date"]).to_numpy(),
                "last_date": pd.to_datetime(streams["last_date"]).to_numpy(),
                "last_amount": np.round(streams["last_amount"].to_numpy(), 2),
                "next_expected_date": next_date.astype("datetime64[ns]"),
                "tolerance_days": tolerance,
                "active": overdue_days <= tolerance,
                "price_change": np.round(change, 2),
                "price_change_pct": np.round(
                    change / np.maximum(np.abs(streams["prior_typical"].to_numpy()), 1e-9), 4
                ),
            }
        )
        return out.sort_values(["account", "merchant", "direction"]).reset_index(drop=True)

    # -- queries ----------------------------------------------------------------------------------
    def streams(self, *, active_only: bool = False) -> pd.DataFrame:
        """The detected streams (a copy), optionally only the active ones."""
        check_is_fitted(self, "streams_")
        table = self.streams_
        return (table[table["active"]] if active_only else table).reset_index(drop=True).copy()

    def upcoming(
        self, start: object = None, days: int = 30, *, include_overdue: bool = True
    ) -> pd.DataFrame:
        """Expected occurrences of the active streams in ``[start, start + days)``.

        ``start`` defaults to the day after the history's end.  With ``include_overdue``, an
        occurrence due within its tolerance before ``start`` that has not arrived is placed on
        ``start`` (``overdue`` = True): it is late, not cancelled.
        """
        check_is_fitted(self, "streams_")
        if days <= 0:
            raise ValidationError(f"days must be positive, got {days}")
        if start is None:
            if self.history_end_ is None:
                return pd.DataFrame(columns=UPCOMING_COLUMNS)
            start_ts = self.history_end_ + pd.Timedelta(days=1)
        else:
            start_ts = pd.Timestamp(start).normalize()  # type: ignore[arg-type]
        active = self.streams_[self.streams_["active"]].reset_index(drop=True)
        if active.empty:
            return pd.DataFrame(columns=UPCOMING_COLUMNS)
        first_day = np.datetime64(start_ts.date(), "D")
        stop = first_day + np.timedelta64(int(days), "D")
        idx = pd.Index(_PERIOD_NAMES).get_indexer(active["period"].to_numpy())
        last = active["last_date"].to_numpy().astype("datetime64[D]")
        period_days = active["period_days"].to_numpy(dtype=float)
        tolerance = active["tolerance_days"].to_numpy(dtype=float)
        # Steps 1..n per stream, n covering the window (plus one spare for calendar rounding).
        span = (stop - last).astype(np.int64)
        n_steps = np.maximum(np.ceil(span / period_days).astype(np.int64) + 1, 1)
        owner = np.repeat(np.arange(len(active)), n_steps)
        steps = np.arange(len(owner)) - np.repeat(np.cumsum(n_steps) - n_steps, n_steps) + 1
        dates = step_dates(last[owner], idx[owner], steps)
        overdue = (dates < first_day) & ((first_day - dates).astype(np.int64) <= tolerance[owner])
        keep = (dates >= first_day) & (dates < stop)
        if include_overdue:
            keep |= overdue
            dates = np.where(overdue, first_day, dates)
        else:
            overdue[:] = False
        owner, dates, overdue = owner[keep], dates[keep], overdue[keep]
        rows = active.iloc[owner]
        return pd.DataFrame(
            {
                "stream_id": rows["stream_id"].to_numpy(),
                "account": rows["account"].to_numpy(),
                "merchant": rows["merchant"].to_numpy(),
                "category": rows["category"].to_numpy(),
                "period": rows["period"].to_numpy(),
                "date": dates.astype("datetime64[ns]"),
                "expected_amount": rows["typical_amount"].to_numpy(dtype=float),
                "amount_spread": rows["amount_spread"].to_numpy(dtype=float),
                "overdue": overdue,
            }
        ).sort_values(["date", "account", "stream_id"], ignore_index=True)

    def _assign(self, frame: pd.DataFrame, *, training: bool = False) -> pd.DataFrame:
        """Working frame of ``frame`` with its stream's columns joined (NaN when none)."""
        work = working_frame(frame, need_amount=True, what="recurring model", training=training)
        return self._assign_working(work)

    def _assign_working(self, work: pd.DataFrame) -> pd.DataFrame:
        keys = pd.DataFrame(
            {
                "account": work["_account"].astype(str),
                "merchant": work["_merchant"].astype(str),
                "direction": np.where(work["_amount"] > 0, "in", "out"),
            }
        )
        table = self.streams_[
            [
                "account",
                "merchant",
                "direction",
                "stream_id",
                "period",
                "next_expected_date",
                "typical_amount",
                "tolerance_days",
                "active",
            ]
        ]
        merged = keys.merge(table, on=["account", "merchant", "direction"], how="left")
        merged.index = work.index
        merged["_date"] = work["_date"].to_numpy()
        merged["_amount"] = work["_amount"].to_numpy()
        merged.loc[work["_amount"].to_numpy() == 0, "stream_id"] = np.nan
        return merged

    def _predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        merged = self._assign(frame)
        is_recurring = merged["stream_id"].notna().to_numpy()
        return pd.DataFrame(
            {
                "stream_id": merged["stream_id"].astype(object).where(is_recurring, None),
                "is_recurring": is_recurring,
                "merchant": merged["merchant"].to_numpy(),
                "period": merged["period"].astype(object).where(is_recurring, None),
                "typical_amount": merged["typical_amount"].to_numpy(dtype=float),
                "next_expected_date": pd.to_datetime(merged["next_expected_date"]).to_numpy(),
            },
            index=frame.index,
        )

    def recurring_mask(self, frame: pd.DataFrame) -> np.ndarray:
        """Boolean per row of ``frame``: does it belong to a detected stream?"""
        check_is_fitted(self, "streams_")
        return self._assign(frame, training=True)["stream_id"].notna().to_numpy()

    def recurring_mask_working(self, work: pd.DataFrame) -> np.ndarray:
        """:meth:`recurring_mask` of an already-parsed working frame."""
        check_is_fitted(self, "streams_")
        return self._assign_working(work)["stream_id"].notna().to_numpy()

    # -- evaluation -------------------------------------------------------------------------------
    def evaluate(self, frame: pd.DataFrame) -> dict[str, float]:
        """Occurrence precision/recall and amount MAPE on a later hold-out frame.

        An expected occurrence (from :meth:`upcoming`) is matched when the same stream has an
        actual transaction within its date tolerance.  Precision: matched expected / expected;
        recall: actual transactions of known streams matched / such transactions; amount MAPE
        over matched pairs.  Only dates whose tolerance window ends inside the hold-out count.
        """
        check_is_fitted(self, "streams_")
        empty = {
            "occurrence_f1": 0.0,
            "occurrence_precision": 0.0,
            "occurrence_recall": 0.0,
            "amount_mape": 0.0,
        }
        if frame is None or len(frame) == 0 or self.history_end_ is None:
            return {**empty, "expected_occurrences": 0.0, "actual_occurrences": 0.0}
        actual = self._assign(frame)
        actual = actual[actual["_date"] > self.history_end_]
        if actual.empty:
            return {**empty, "expected_occurrences": 0.0, "actual_occurrences": 0.0}
        holdout_end = pd.Timestamp(actual["_date"].max())
        start = self.history_end_ + pd.Timedelta(days=1)
        days = int((holdout_end - start).days) + 1
        expected = self.upcoming(start, days, include_overdue=False)
        expected = expected.merge(
            self.streams_[["stream_id", "tolerance_days"]], on="stream_id", how="left"
        )
        limit = holdout_end - pd.to_timedelta(expected["tolerance_days"], unit="D")
        expected = expected[expected["date"] <= limit]
        actual = actual[actual["stream_id"].notna()]
        actual = actual[
            actual["_date"] <= holdout_end - pd.to_timedelta(actual["tolerance_days"], unit="D")
        ]
        actual = (
            actual.groupby(["stream_id", "_date"])["_amount"]
            .sum()
            .reset_index()
            .sort_values(by="_date")
        )
        n_expected, n_actual = len(expected), len(actual)
        if n_expected == 0 and n_actual == 0:
            return {**empty, "expected_occurrences": 0.0, "actual_occurrences": 0.0}
        exp = expected.sort_values("date").rename(columns={"date": "_date"})
        exp["_exp_date"] = exp["_date"]
        act = actual.rename(columns={"_amount": "actual_amount"})
        act["_act_date"] = act["_date"]
        # Expected -> nearest actual of the same stream (precision, amount error).
        to_actual = pd.merge_asof(exp, act, on="_date", by="stream_id", direction="nearest").dropna(
            subset=["_act_date"]
        )
        close = (to_actual["_act_date"] - to_actual["_exp_date"]).abs().dt.days <= to_actual[
            "tolerance_days"
        ]
        matched_exp = to_actual[close]
        # Actual -> nearest expected of the same stream (recall).
        to_expected = pd.merge_asof(
            act,
            exp[["_date", "stream_id", "_exp_date", "tolerance_days"]],
            on="_date",
            by="stream_id",
            direction="nearest",
        ).dropna(subset=["_exp_date"])
        hit = (to_expected["_act_date"] - to_expected["_exp_date"]).abs().dt.days <= to_expected[
            "tolerance_days"
        ]
        errors = (
            matched_exp["actual_amount"] - matched_exp["expected_amount"]
        ).abs() / matched_exp["actual_amount"].abs().clip(lower=1e-9)
        precision = float(len(matched_exp) / n_expected) if n_expected else 0.0
        recall = float(hit.sum() / n_actual) if n_actual else 0.0
        return {
            "occurrence_f1": (
                2 * precision * recall / (precision + recall) if precision + recall else 0.0
            ),
            "occurrence_precision": precision,
            "occurrence_recall": recall,
            "amount_mape": float(errors.mean()) if len(errors) else 0.0,
            "expected_occurrences": float(n_expected),
            "actual_occurrences": float(n_actual),
        }

    def feature_names(self) -> list[str]:
        """Inputs the detector uses."""
        return ["Date", "Amount", "Account", "merchant"]


__all__ = ["PERIODS", "STREAM_COLUMNS", "UPCOMING_COLUMNS", "RecurringModel", "add_months"]

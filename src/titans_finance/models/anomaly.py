"""Personal, explainable anomaly detection: every row is judged against its own account's past."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier, IsolationForest
from sklearn.metrics import average_precision_score
from sklearn.utils.validation import check_is_fitted

from titans_finance import domain as d
from titans_finance.errors import TrainingDataError, ValidationError
from titans_finance.frame import to_float
from titans_finance.models._history import (
    MAD_TO_SIGMA,
    attach,
    attach_all,
    group_table,
    prior_stats,
    single_threaded,
    working_frame,
)
from titans_finance.models.base import TitansModel

logger = logging.getLogger(__name__)

#: reason codes, in the order their detectors are combined
AMOUNT = "amount_unusual"
NEW_MERCHANT = "new_merchant_large"
DUPLICATE = "possible_duplicate"
PRICE_RISE = "price_rise"
CASH = "cash_outsized"
PATTERN = "unusual_pattern"
REASON_CODES: tuple[str, ...] = (AMOUNT, NEW_MERCHANT, DUPLICATE, PRICE_RISE, CASH, PATTERN)

#: the isolation forest judges the pattern around the amount (history size, calendar, gap),
#: not the amount itself: the amount enters only through a non-decreasing gate, so the score
#: never falls as |amount| grows
_IF_FEATURES: tuple[str, ...] = (
    "log_n",
    "level",
    "is_cash",
    "sign",
    "day",
    "weekday",
    "log_gap",
)
#: the context columns `_features` reads
_FEATURE_INPUTS = ["n", "level", "_is_cash", "_sign", "_date", "am_last_date"]
_AM = ["_account", "_merchant"]
_AC = ["_account", "_category"]
_A = ["_account"]
_NBINS = np.array([3, 6, 12])  # history-size bins: 1-2, 3-5, 6-11, 12+ earlier rows
_MIN_ROWS = 20
_USUAL_REPEATS = 3  # same-day repeats in an account's history from which repeats are usual
_FEEDBACK_KEYS = frozenset({"account", "merchant", "category", "reason_code"})
_SYNTHETIC_RATE = 0.15
_FACTORS = (3.0, 30.0)  # synthetic anomalies: amount multiplied by a log-uniform factor
_REASON_FLOOR = 0.3  # a detector at or above this level contributes its reason
_SCALE_FLOOR = 0.2  # log-space: deviations under ~20% are never "unusual" on their own
_PRIOR_WEIGHT = 3.0  # pseudo-observations pulling a short history's spread to the account's
#: the profile of all accounts together, for rows that name no account
ALL_ACCOUNTS = "*all accounts*"
#: severity floor by |amount| / the largest amount the account ever moved (in or out):
#: 5x -> 0.5 (medium), 7x -> 0.75 (high), 10x -> 0.9 (critical), 100x -> 0.99; chosen on
#: Berka development accounts (starting at 1.5-3x flagged many clean rows and lowered AP)
SEVERITY_RATIOS: tuple[float, ...] = (5.0, 7.0, 10.0, 100.0)
SEVERITY_SCORES: tuple[float, ...] = (0.5, 0.75, 0.9, 0.99)
_SEVERITY_MIN_ROWS = 5  # an account needs this many rows before its largest amount means much
_SEVERITY_TEXT_RATIO = 1.5  # from this ratio an amount reason names the account's largest
#: risk level by combined score: below ``threshold`` low, then medium, high and critical
RISK_BOUNDS: tuple[float, float] = (0.75, 0.9)


def _ramp(x: np.ndarray, low: float, high: float) -> np.ndarray:
    """0 below ``low``, 1 above ``high``, linear between (NaN -> 0)."""
    out = np.clip((np.asarray(x, dtype=float) - low) / (high - low), 0.0, 1.0)
    return np.nan_to_num(out, nan=0.0)


_MONOTONE = {
    "log": 1,
    "z_pred": 1,
    "z_std": 1,
    "z": 1,
    "excess": 1,
    "over_account_max": 1,
    "over_account_median": 1,
    "over_cash_max": 1,
    "over_global": 1,
    "over_category_q99": 1,
    "over_category_max": 1,
    "over_inflow": 1,
    "over_balance": 1,
}


def _amount_signals(ctx: pd.DataFrame, global_median: float) -> pd.DataFrame:
    """The "larger than usual" signals the combiner weighs, all in log-magnitude units."""

    def column(name: str) -> np.ndarray:
        return ctx[name].to_numpy(dtype=float)

    log = column("_log")
    signals = {
        "log": log,
        "z_pred": np.clip(column("z_pred"), -30, 30),
        "z": np.clip(column("z"), -30, 30),
        "z_std": np.clip(column("z_std"), -30, 30),
        "excess": np.clip(column("excess"), -15, 15),
        "over_account_max": log - column("a_max"),
        "over_account_median": log - column("a_median"),
        "over_cash_max": np.where(
            ctx["_is_cash"].to_numpy(dtype=bool), log - column("cash_max"), np.nan
        ),
        "over_global": log - global_median,
        "over_category_q99": log - column("k_q99"),
        "over_category_max": log - column("k_max"),
        "over_inflow": log - column("a_inflow"),
        "over_balance": log - column("a_balance"),
        "log_n": np.log1p(column("n")),
        "level": column("level"),
        "is_cash": column("_is_cash"),
        "sign": column("_sign"),
        "pred_scale": column("pred_scale"),
    }
    # one float block, a signal per row of it (the layout pandas keeps), filled in place: a
    # missing reference (no cash history, no balance) means "nothing to be larger than"
    values = np.empty((len(signals), len(ctx)))
    for row, signal in zip(values, signals.values(), strict=True):
        row[:] = signal
    values[~np.isfinite(values)] = -20.0
    return pd.DataFrame(values.T, index=ctx.index, columns=list(signals), copy=False)


def _on_distinct(score: Callable[[pd.DataFrame], np.ndarray], rows: pd.DataFrame) -> np.ndarray:
    """``score`` (row-wise: a row's output depends on that row alone) run once per distinct row
    of the numeric frame ``rows`` and broadcast back.

    Recurring payments (same account, merchant and amount) give identical rows, and the tree
    models cost the same per row whatever it holds.  Rows are grouped by a 64-bit hash, then
    checked to be exactly equal to their group's first row; on a collision every row is scored.
    """
    codes, uniques = pd.factorize(pd.util.hash_pandas_object(rows, index=False).to_numpy())
    if len(uniques) == len(rows):
        return score(rows)
    # codes count up in order of first appearance: the first rows, in code order
    first = np.flatnonzero(~pd.Series(codes).duplicated().to_numpy())
    origin = first[codes]
    for _, column in rows.items():
        values = column.to_numpy()
        if not (values[origin] == values).all():  # (NaN never equals: every row is scored)
            return score(rows)
    return np.asarray(score(rows.iloc[first]))[codes]


def _repeat_keys(work: pd.DataFrame, *, same_amount: bool = True) -> pd.DataFrame:
    """Account, merchant, amount in cents (0 when not ``same_amount``), date and row number."""
    cents = np.round(work["_amount"].to_numpy() * 100).astype(np.int64)
    return pd.DataFrame(
        {
            "_account": work["_account"].to_numpy(),
            "_merchant": work["_merchant"].to_numpy(),
            "_cents": cents if same_amount else np.zeros(len(work), dtype=np.int64),
            "_date": work["_date"].to_numpy(),
            "_row": np.arange(len(work)),
        }
    )


def _repeats(work: pd.DataFrame, days: int, *, same_amount: bool = True) -> np.ndarray:
    """Rows repeating an earlier row of ``work`` (same account, merchant and, when
    ``same_amount``, amount) within ``days`` days.

    One ``np.lexsort`` on integer codes (account, merchant, cents, date, row): groups come out
    in code order rather than name order, which does not change which rows repeat."""
    keys = _repeat_keys(work, same_amount=same_amount)
    account = pd.factorize(keys["_account"].to_numpy())[0]
    merchant = pd.factorize(keys["_merchant"].to_numpy())[0]
    cents = keys["_cents"].to_numpy()
    dates = keys["_date"].to_numpy()
    order = np.lexsort((keys["_row"].to_numpy(), dates, cents, merchant, account))
    account, merchant, cents, dates = account[order], merchant[order], cents[order], dates[order]
    same = np.zeros(len(order), dtype=bool)
    same[1:] = (
        (account[1:] == account[:-1]) & (merchant[1:] == merchant[:-1]) & (cents[1:] == cents[:-1])
    )
    gap = np.zeros(len(order), dtype="timedelta64[ns]")
    gap[1:] = dates[1:] - dates[:-1]
    flagged = np.zeros(len(work), dtype=bool)
    flagged[order[same & (gap <= np.timedelta64(days, "D"))]] = True
    return flagged


def severity(ratio: np.ndarray) -> np.ndarray:
    """The severity floor for |amount| at ``ratio`` times the largest amount the account
    ever moved: 0 below 5x, then piecewise linear in log(ratio) through ``SEVERITY_SCORES``
    (a tiny tolerance keeps an exact 10x at 0.9 despite rounding)."""
    log_ratio = np.log(np.maximum(np.nan_to_num(np.asarray(ratio, dtype=float), nan=0.0), 1e-12))
    log_ratio = log_ratio + 1e-9
    points = np.log(np.asarray(SEVERITY_RATIOS))
    score = np.interp(log_ratio, points, np.asarray(SEVERITY_SCORES))
    return np.where(log_ratio >= points[0], score, 0.0)


def risk_levels(score: np.ndarray, threshold: float) -> np.ndarray:
    """Risk level of each combined score: low below ``threshold``, medium below 0.75, high
    below 0.9, critical from 0.9 (non-decreasing in the score)."""
    return np.select(
        [score < threshold, score < RISK_BOUNDS[0], score < RISK_BOUNDS[1]],
        [d.RiskLevel.LOW.value, d.RiskLevel.MEDIUM.value, d.RiskLevel.HIGH.value],
        d.RiskLevel.CRITICAL.value,
    )


def _rows_of(ctx: pd.DataFrame, column: str, rows: np.ndarray) -> np.ndarray:
    """One column of ``ctx`` at ``rows``: reasons read a few columns of a few rows, never a
    row-subset copy of the whole context frame."""
    return np.asarray(ctx[column].to_numpy()[rows])


def _money(values: np.ndarray) -> list[str]:
    return [f"{v:,.2f}" for v in values]


class AnomalyModel(TitansModel):
    """Score transactions for how unusual they are for their own account.

    Each row is compared with its own account's history (compact statistics fitted on the
    training frame).  Per reason code, a detector gives a score in [0, 1]; they are combined as
    a noisy-OR (``1 - prod(1 - s_i)``), so one strong signal suffices and weak signals add up:

    - ``amount_unusual`` / ``new_merchant_large`` / ``cash_outsized`` (one of the three per row,
      by kind: a cash withdrawal, money out to a merchant new to the account, anything else):
      "larger than expected".  The signals are the robust z-score of log |amount| against the
      same account and merchant (falling back to account and category, then the account),
      ``(x - median) / (1.4826 MAD)`` with the spread shrunk towards the typical forecast error
      of that category at that history size for short histories; the excess over the largest
      amount seen there, over the account's largest and over the category's 99th percentile
      across accounts, over the account's median monthly money in and over its median balance
      (when the history has a Balance column).  A monotone gradient-boosted combiner, learnt
      from synthetic anomalies (recent training rows with the amount multiplied 3-30x, and
      withdrawals of 3-30x the account's median withdrawal added on random dates, judged against
      the earlier rows only), weighs them into a probability, rescaled to an ``expected_rate``
      of anomalies.  Plain thresholds on the same signals (z >= 4, a new merchant above the
      account's 90th percentile, a withdrawal beyond the previous largest) are floors capped at
      ``threshold``: a rule alone flags a row but ranks below strong learnt scores.
    - ``possible_duplicate``: a charge (not cash, not a credit) with the same account, merchant
      and amount within ``duplicate_days``, in the batch or against the tail of the history,
      unless that merchant is usually paid that often; it scores ``threshold`` (flagged).
    - ``price_rise``: a merchant with steady recurring amounts charging more than
      ``price_rise_threshold`` above its usual price; from ``threshold`` up, by the size of the
      rise.
    - ``unusual_pattern``: an ``IsolationForest`` over the pattern around the amount (history
      size and level, calendar, days since the merchant's last row), times a ramp of how far
      the amount is above usual; its score is the rank among the training rows and
      it weighs at most ``isolation_weight``, so alone it never flags a row: on Berka with
      injected anomalies it lowers average precision when given more weight.

    Severity: rows at 5x or more the largest amount their account ever moved (in or out;
    accounts with at least 5 rows) get a floor on their amount reason that grows with the
    ratio (``SEVERITY_RATIOS`` -> ``SEVERITY_SCORES``: 5x medium, 7x high, 10x critical);
    from 1.5x the reason names the account's largest amount.  Risk levels: score below
    ``threshold`` low, below 0.75 medium, below 0.9 high, else critical.  Every detector
    except ``possible_duplicate`` (an exact-amount match) is non-decreasing in |amount| with
    all else equal, so score and risk level never fall as the amount grows.

    A row without an account (the ``default`` account when training had none of that name)
    is judged against the profile of all accounts together: the user's whole history.

    Only larger-than-usual amounts count.  Fitted state is statistics per (account, merchant),
    (account, category), account and category plus the last three rows per (account,
    merchant): never the whole history.  A batch is scored in one vectorised pass.
    ``set_feedback`` suppresses reasons the user marked as normal; ``missing_recurring``
    reports steady payments that did not come.

    Parameters
    ----------
    threshold : float
        ``anomaly_score`` at or above which a row is flagged.
    duplicate_days : int
        Window for possible duplicate charges.
    price_rise_threshold : float
        Relative rise over a steady recurring amount that counts as a price rise (0.10 = 10%).
    n_estimators, contamination_rank, isolation_weight :
        IsolationForest size; training-score rank from which its detector starts to count;
        its largest contribution.
    combiner_iter : int
        Boosting iterations of the combiner.
    expected_rate : float
        Share of anomalies assumed in real data (sets how the combiner's odds are rescaled).
    validation_fraction : float
        Share of the most recent training rows the learnt parts are fitted on.
    random_state : int
        Seed.
    """

    model_type: ClassVar[str] = "anomaly"

    def __init__(
        self,
        threshold: float = 0.5,
        duplicate_days: int = 3,
        price_rise_threshold: float = 0.10,
        n_estimators: int = 50,
        combiner_iter: int = 100,
        contamination_rank: float = 0.995,
        isolation_weight: float = 0.15,
        expected_rate: float = 0.01,
        validation_fraction: float = 0.35,
        random_state: int = 0,
    ) -> None:
        self.threshold = threshold
        self.duplicate_days = duplicate_days
        self.price_rise_threshold = price_rise_threshold
        self.n_estimators = n_estimators
        self.combiner_iter = combiner_iter
        self.contamination_rank = contamination_rank
        self.isolation_weight = isolation_weight
        self.expected_rate = expected_rate
        self.validation_fraction = validation_fraction
        self.random_state = random_state

    def feature_names(self) -> list[str]:
        """Features of the isolation forest."""
        return list(_IF_FEATURES)

    # -- fit --------------------------------------------------------------------------------------
    def _fit(self, frame: pd.DataFrame) -> None:
        with single_threaded():
            self._fit_impl(frame)

    def _fit_impl(self, frame: pd.DataFrame) -> None:
        work = working_frame(frame, need_amount=True, what="anomaly model training", training=True)
        if len(work) < _MIN_ROWS:
            raise TrainingDataError(
                f"anomaly model training needs at least {_MIN_ROWS} transactions, got {len(work)}"
            )
        if d.BALANCE in frame:
            work["_balance"] = to_float(frame[d.BALANCE])
        work = work.sort_values(["_date", "_pos"], kind="stable").reset_index(drop=True)
        if "id" in frame:
            work["_id"] = frame["id"].astype(str).to_numpy()[work["_pos"].to_numpy()]
        # The learnt parts (combiner, forest) see recent rows judged against the statistics of
        # the earlier rows only (the view a new batch gets of the history), from two
        # rolling-origin windows so they see histories of different lengths.
        windows: list[tuple[pd.DataFrame, pd.DataFrame]] = []
        start = 1.0 - self.validation_fraction
        for low, high in ((start - self.validation_fraction / 2, start), (start, 1.01)):
            cut, end = work["_date"].quantile(low), work["_date"].quantile(min(high, 1.0))
            early = work[work["_date"] < cut]
            late = work[
                (work["_date"] >= cut)
                & ((work["_date"] <= end) if high > 1 else (work["_date"] < end))
            ]
            if len(early) >= _MIN_ROWS and len(late) >= _MIN_ROWS:
                self._build(early)
                raw = late[[c for c in late.columns if c.startswith("_")]]
                context = self._context(raw)
                windows.append((context, self._synthetic(context, raw)))
        if not windows:
            logger.warning("anomaly model: short history; learning from in-sample statistics")
            self._build(work)
            context = self._context(work)
            windows.append((context, self._synthetic(context, work)))
        clean = pd.concat([w[0] for w in windows], ignore_index=True)
        fake = pd.concat([w[1] for w in windows], ignore_index=True)
        features = self._features(clean).to_numpy()
        self.forest_ = IsolationForest(
            n_estimators=self.n_estimators, random_state=self.random_state, n_jobs=1
        ).fit(features)
        self.forest_scores_ = np.sort(-self.forest_.score_samples(features))[
            :: max(1, len(features) // 2000)
        ]
        self._fit_combiner(clean, fake)
        self._build(work, pooled=True)
        self.feedback_: list[dict[str, str]] = []

    def _build(self, work: pd.DataFrame, *, pooled: bool = False) -> None:
        """Compact history statistics of ``work`` (date-sorted): the scoring context; with
        ``pooled`` the per-account tables also hold ``ALL_ACCOUNTS``, every account together."""
        median = float(work["_log"].median())
        self.global_ = {
            "median": median,
            "scale": max(MAD_TO_SIGMA * float((work["_log"] - median).abs().median()), 0.5),
            "mag_mean": float(work["_mag"].mean()),
            "mag_std": float(work["_mag"].std(ddof=0)) or 1.0,
        }
        self.accounts_ = np.sort(work["_account"].unique().astype(str))
        full = work
        if pooled:
            full = pd.concat([work, work.assign(_account=ALL_ACCOUNTS)], ignore_index=True)
        self.am_ = self._recurring(full, group_table(full, _AM, "am"))
        self.ac_ = group_table(full, _AC, "ac")
        account = group_table(full, _A, "a")
        self.account_ = account.merge(self._account_levels(full), on="_account", how="left")
        cash = full[full["_is_cash"] & (full["_sign"] < 0)]
        money_out = full.loc[full["_sign"] < 0]
        self.typical_out_ = (
            cash.groupby("_account")["_mag"]
            .median()
            .combine_first(money_out.groupby("_account")["_mag"].median())
        )
        self.cash_merchant_ = cash.groupby("_account")["_merchant"].agg(
            lambda m: m.value_counts().index[0]
        )
        columns = ["_account", "cash_n", "cash_median", "cash_mad", "cash_max"]
        self.cash_ = (
            group_table(cash, _A, "cash")[columns]
            if len(cash)
            else pd.DataFrame(
                {c: pd.Series(dtype=object if c == "_account" else float) for c in columns}
            )
        )
        ckey = work["_category"].where(work["_category"] != "", work["_merchant"])
        by_key = work.groupby(ckey.to_numpy())["_log"]
        self.category_ = (
            pd.DataFrame(
                {"k_q99": by_key.quantile(0.99), "k_max": by_key.max(), "k_n": by_key.size()}
            )
            .rename_axis("_ckey")
            .reset_index()
        )
        rank = full.groupby(_AM, sort=False).cumcount(ascending=False)
        tail_columns = ["_account", "_merchant", "_amount", "_date"] + (
            ["_id"] if "_id" in full else []
        )
        self.tail_ = full.loc[rank.to_numpy() < 3, tail_columns].reset_index(drop=True)
        self.trained_until_ = work["_date"].max()

        # Typical one-step forecast error per category and history size: each row judged
        # against its earlier rows only.
        prior = work
        for keys, prefix in ((_AM, "am"), (_AC, "ac"), (_A, "a")):
            prior = pd.concat([prior, prior_stats(work, keys, prefix)], axis=1)
        prior = self._levels(prior)
        seen = prior["n"].to_numpy() > 0
        spread = prior.loc[seen, ["_ckey", "nbin"]].assign(
            _dev=np.abs(prior.loc[seen, "_log"] - prior.loc[seen, "ref_median"])
        )
        # q90 of |deviation| / 1.645 is sigma for normal errors and follows heavy tails better
        cells = spread.groupby(["_ckey", "nbin"])["_dev"]
        by_cell = pd.DataFrame({"size": cells.size(), "q90": cells.quantile(0.9)})
        by_cell = by_cell[by_cell["size"] >= 20]
        self.spread_ = (
            (by_cell["q90"] / 1.645).clip(lower=_SCALE_FLOOR).rename("pred_scale").reset_index()
        )
        by_bin = spread.groupby("nbin")["_dev"].quantile(0.9) / 1.645
        self.spread_bin_ = {int(str(k)): max(float(v), _SCALE_FLOOR) for k, v in by_bin.items()}

    def _account_levels(self, work: pd.DataFrame) -> pd.DataFrame:
        """Per account: in log-magnitude, the 90th percentile of amounts, the median monthly
        money in and the median balance (NaN without a Balance column); and how many rows
        share their day and merchant with another (a bank posting twice, two coffees)."""
        by_account = work.groupby("_account", sort=False)
        month = work["_date"].dt.to_period("M")
        income = work["_mag"].where(work["_sign"] > 0, 0.0)
        monthly_in = income.groupby([work["_account"], month]).sum().groupby(level=0).median()
        balance = (
            by_account["_balance"].median().clip(lower=0.0)
            if "_balance" in work
            else pd.Series(np.nan, index=by_account.size().index)
        )
        return (
            pd.DataFrame(
                {
                    "a_p90": by_account["_log"].quantile(0.9),
                    "a_inflow": np.log1p(monthly_in),
                    "a_balance": np.log1p(balance),
                    "a_repeats": pd.Series(_repeats(work, 0, same_amount=False))
                    .groupby(work["_account"].to_numpy())
                    .sum(),
                }
            )
            .rename_axis("_account")
            .reset_index()
        )

    def _synthetic(self, context: pd.DataFrame, raw: pd.DataFrame) -> pd.DataFrame:
        """Synthetic anomalies judged against the same history: a random share of ``context``
        rows with the amount multiplied by a log-uniform factor in ``_FACTORS``, and as many
        outsized cash withdrawals (that factor times the account's median money out) added on
        the dates of random rows."""
        rng = np.random.default_rng(self.random_state + len(context))
        n_fake = max(100, int(len(context) * _SYNTHETIC_RATE))
        picks = rng.choice(len(context), size=n_fake, replace=n_fake > len(context))
        fake = context.iloc[picks].copy()
        factor = np.exp(rng.uniform(np.log(_FACTORS[0]), np.log(_FACTORS[1]), size=n_fake))
        fake["_log"] = np.log1p(np.expm1(fake["_log"].to_numpy()) * factor)
        scaled = self._scaled(fake.drop(columns=["pred_scale"]), own_spread=True)

        cash = raw.iloc[rng.choice(len(raw), size=n_fake, replace=True)].copy()
        typical = cash["_account"].map(self.typical_out_).fillna(np.expm1(self.global_["median"]))
        cash["_amount"] = -typical.to_numpy() * factor[rng.permutation(n_fake)]
        cash["_mag"] = -cash["_amount"]
        cash["_log"] = np.log1p(cash["_mag"])
        cash["_sign"] = -1.0
        cash["_is_cash"] = True
        cash["_merchant"] = cash["_account"].map(self.cash_merchant_).fillna("cash withdrawal")
        cash["_category"] = "cash"
        return pd.concat([scaled, self._context(cash)], ignore_index=True)

    def _fit_combiner(self, clean_rows: pd.DataFrame, fake_rows: pd.DataFrame) -> None:
        """Learn how the amount signals combine, separating real rows from synthetic anomalies.
        Monotone constraints keep the score non-decreasing in every "larger than usual"
        signal, so it stays explainable by the per-reason rules."""
        clean = _amount_signals(clean_rows, self.global_["median"])
        shifted = _amount_signals(fake_rows, self.global_["median"])
        x = pd.concat([clean, shifted], ignore_index=True)
        y = np.r_[np.zeros(len(clean)), np.ones(len(shifted))]
        n_fake = len(shifted)
        prior = clean
        constraints = [_MONOTONE.get(column, 0) for column in x.columns]
        # prior odds of the synthetic set, to re-weight towards ``expected_rate``
        self.odds_ratio_ = (self.expected_rate / (1.0 - self.expected_rate)) / (n_fake / len(prior))
        self.combiner_ = HistGradientBoostingClassifier(
            max_iter=self.combiner_iter,
            learning_rate=0.1,
            max_leaf_nodes=15,
            min_samples_leaf=40,
            monotonic_cst=constraints,
            random_state=self.random_state,
        ).fit(x, y)

    def _recurring(self, work: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
        """Add steady-recurring information to the (account, merchant) table."""
        grouped = work.groupby(_AM, sort=False)
        gaps = grouped["_date"].diff().dt.days
        recent = work.assign(_gap=gaps).loc[grouped.cumcount(ascending=False).to_numpy() < 3]
        stats = recent.groupby(_AM, sort=False).agg(
            rec_low=("_mag", "min"),
            rec_high=("_mag", "max"),
            rec_typical=("_mag", "median"),
        )
        median_gap = work.assign(_gap=gaps).groupby(_AM, sort=False)["_gap"].median()
        stats = stats.join(median_gap.rename("rec_gap")).reset_index()
        table = table.merge(stats, on=_AM, how="left")
        steady = (
            (table["am_n"] >= 3)
            & (table["rec_high"] <= table["rec_low"] * 1.02 + 0.01)
            & table["rec_gap"].between(6, 400)
            & (table["am_neg"] > 0.5)
        )
        table["rec_steady"] = steady.to_numpy()
        return table.drop(columns=["rec_low", "rec_high"])

    # -- feature and detector pass ----------------------------------------------------------------
    def _levels(self, work: pd.DataFrame) -> pd.DataFrame:
        """Pick each row's reference history: same account and merchant, else account and
        category, else the account, else everything; its size, median and maximum."""
        use_am = work["am_n"].fillna(0).to_numpy() > 0
        use_ac = ~use_am & (work["ac_n"].fillna(0).to_numpy() > 0)
        use_a = ~use_am & ~use_ac & (work["a_n"].fillna(0).to_numpy() > 0)
        conditions = [use_am, use_ac, use_a]
        work["n"] = np.select(conditions, [work["am_n"], work["ac_n"], work["a_n"]], 0.0)
        work["ref_median"] = np.select(
            conditions,
            [work["am_median"], work["ac_median"], work["a_median"]],
            self.global_["median"],
        )
        work["ref_max"] = np.select(
            conditions, [work["am_max"], work["ac_max"], work["a_max"]], np.inf
        )
        work["level"] = np.select(conditions, [0, 1, 2], 3)
        work["nbin"] = np.where(
            use_am, np.searchsorted(_NBINS, work["n"].to_numpy(), side="right"), 0
        )
        category = work["_category"].where(work["_category"] != "", work["_merchant"])
        work["_ckey"] = category.to_numpy()
        return work

    def _scaled(self, work: pd.DataFrame, *, own_spread: bool) -> pd.DataFrame:
        """Deviation measures: ``z_pred`` against the typical forecast error of the category at
        this history size (learnt out-of-sample), ``z`` also using the pair's own spread (MAD)
        when ``own_spread``, and ``excess`` over the largest amount seen."""
        work = attach(work, self.spread_, ["_ckey", "nbin"])
        fallback = work["nbin"].map(self.spread_bin_).fillna(self.global_["scale"])
        pred = work["pred_scale"].fillna(fallback).to_numpy(dtype=float)
        pred = np.where(work["level"].to_numpy() == 3, self.global_["scale"], pred)
        deviation = work["_log"].to_numpy() - work["ref_median"].to_numpy(dtype=float)
        work["pred_scale"] = pred
        work["z_pred"] = deviation / pred
        level = work["level"].to_numpy()
        n = work["n"].to_numpy(dtype=float)
        std = np.select(
            [level == 0, level == 1, level == 2],
            [work["am_std"], work["ac_std"], work["a_std"]],
            0.0,
        ).astype(float)
        blended = np.sqrt(
            (n * np.nan_to_num(std) ** 2 + _PRIOR_WEIGHT * pred**2) / (n + _PRIOR_WEIGHT)
        )
        work["z_std"] = deviation / np.maximum(blended, _SCALE_FLOOR)
        if own_spread:
            mad = np.select(
                [work["level"] == 0, work["level"] == 1, work["level"] == 2],
                [work["am_mad"], work["ac_mad"], work["a_mad"]],
                0.0,
            )
            own = MAD_TO_SIGMA * np.nan_to_num(mad.astype(float))
            scale = np.sqrt((n * own**2 + _PRIOR_WEIGHT * pred**2) / (n + _PRIOR_WEIGHT))
            work["z"] = deviation / np.maximum(scale, _SCALE_FLOOR)
        else:
            work["z"] = work["z_pred"]
        work["excess"] = work["_log"].to_numpy() - work["ref_max"].to_numpy(dtype=float)
        return work

    def _context(self, work: pd.DataFrame) -> pd.DataFrame:
        """Attach the fitted statistics and compute deviation measures (vectorised)."""
        work = attach_all(
            work, [(self.am_, _AM), (self.ac_, _AC), (self.account_, _A), (self.cash_, _A)]
        )
        work = self._levels(work)
        work = attach(work, self.category_, ["_ckey"])
        return self._scaled(work, own_spread=True)

    def _features(self, ctx: pd.DataFrame) -> pd.DataFrame:
        out = pd.DataFrame(index=ctx.index)
        out["log_n"] = np.log1p(ctx["n"])
        out["level"] = ctx["level"].astype(float)
        out["is_cash"] = ctx["_is_cash"].astype(float)
        out["sign"] = ctx["_sign"]
        out["day"] = ctx["_date"].dt.day.astype(float)
        out["weekday"] = ctx["_date"].dt.weekday.astype(float)
        gap = (ctx["_date"] - ctx["am_last_date"]).dt.days.abs()
        out["log_gap"] = np.log1p(gap.fillna(-1.0).clip(lower=-1.0) + 1.0)
        return out.fillna(0.0)

    def _detectors(self, work: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Per-row detector scores (one column per reason code) and the context frame."""
        ctx = self._context(work)
        out_money = ctx["_sign"].to_numpy() < 0
        scores = pd.DataFrame(index=ctx.index)

        # one learnt "larger than expected" score, attributed to the reason that explains it
        raw = _on_distinct(
            lambda x: self.combiner_.predict_proba(x)[:, 1],
            _amount_signals(ctx, self.global_["median"]),
        )
        odds = raw / np.maximum(1.0 - raw, 1e-12) * self.odds_ratio_
        # an account with (almost) no past cannot look unusual against it
        history = ctx["a_n"].fillna(0).to_numpy(dtype=float)
        magnitude = odds / (1.0 + odds) * np.minimum(1.0, (history + 1.0) / 3.0)
        cash = ctx["_is_cash"].to_numpy(dtype=bool) & out_money
        new = (ctx["level"].to_numpy() > 0) & ~cash & out_money
        rules = self._rules(ctx)  # interpretable floors where the learnt score has no examples
        # a rule alone flags a row (reaches the threshold) but ranks below strong learnt scores
        floor = self.threshold
        scores[AMOUNT] = np.where(
            ~cash & ~new, np.maximum(magnitude, np.minimum(rules[AMOUNT], floor)), 0.0
        )
        scores[NEW_MERCHANT] = np.where(
            new, np.maximum(magnitude, np.minimum(rules[NEW_MERCHANT], floor)), 0.0
        )
        # repeated round cash amounts and repeated credits are normal; charges are not
        charge = out_money & ~ctx["_is_cash"].to_numpy(dtype=bool)
        # ... unless this merchant is usually paid that often (coffee, transit)
        frequent = ctx["rec_gap"].to_numpy(dtype=float) <= self.duplicate_days
        # ... or the account's history often holds one merchant twice on a day
        frequent |= ctx["a_repeats"].fillna(0).to_numpy(dtype=float) >= _USUAL_REPEATS
        scores[DUPLICATE] = np.where(self._duplicates(ctx) & charge & ~frequent, floor, 0.0)
        typical = ctx["rec_typical"].to_numpy()
        rise = ctx["_mag"].to_numpy() / np.where(typical > 0, typical, np.nan) - 1.0
        steady = ctx["rec_steady"].to_numpy(dtype=object) == True  # noqa: E712 (NaN for new pairs)
        rising = steady & out_money & (rise > self.price_rise_threshold)
        scores[PRICE_RISE] = np.where(
            rising,
            floor
            + (1.0 - floor)
            * 0.2
            * _ramp(rise, self.price_rise_threshold, self.price_rise_threshold + 0.5),
            0.0,
        )
        scores[CASH] = np.where(cash, np.maximum(magnitude, np.minimum(rules[CASH], floor)), 0.0)

        # severity: the further beyond the largest amount the account ever moved, the higher
        ratio = ctx["_mag"].to_numpy(dtype=float) / np.expm1(ctx["a_max"].to_numpy(dtype=float))
        seasoned = ctx["a_n"].fillna(0).to_numpy(dtype=float) >= _SEVERITY_MIN_ROWS
        ctx["over_max"] = np.where(seasoned, ratio, np.nan)
        floor_by_size = severity(ctx["over_max"].to_numpy())
        kind = np.select([cash, new], [2, 1], 0)  # the one amount reason of each row
        for code, column in enumerate((AMOUNT, NEW_MERCHANT, CASH)):
            values = scores[column].to_numpy()
            scores[column] = np.where(kind == code, np.maximum(values, floor_by_size), values)

        # unusual pattern around the amount, counted only as far as the amount is above usual
        above = _ramp(ctx["z_pred"].to_numpy(dtype=float), 0.0, 2.0)
        pattern = np.zeros(len(ctx))
        # the forest only where the amount is above usual: elsewhere its weight is 0
        counted = np.flatnonzero(above > 0)
        if len(counted):
            rank = self._isolation(ctx[_FEATURE_INPUTS].iloc[counted])
            pattern[counted] = _ramp(rank, self.contamination_rank, 1.0) * above[counted]
        scores[PATTERN] = self.isolation_weight * pattern
        return scores, ctx

    @staticmethod
    def _rules(ctx: pd.DataFrame) -> dict[str, np.ndarray]:
        """Plain thresholds on the robust z-score and on new highs, per reason."""
        log = ctx["_log"].to_numpy(dtype=float)
        n = ctx["n"].to_numpy(dtype=float)
        amount = np.maximum(
            _ramp(ctx["z"].to_numpy(dtype=float), 4.0, 10.0),
            _ramp(ctx["excess"].to_numpy(dtype=float), 0.7, 2.3) * _ramp(n, 3.0, 10.0),
        )
        enough = ctx["a_n"].fillna(0).to_numpy(dtype=float) >= 5
        new = _ramp(log - ctx["a_p90"].to_numpy(dtype=float), 0.3, 1.5) * enough
        cash_n = ctx["cash_n"].fillna(0).to_numpy(dtype=float)
        cash_scale = np.maximum(
            MAD_TO_SIGMA * np.nan_to_num(ctx["cash_mad"].to_numpy(dtype=float)), 0.5
        )
        cash_z = (log - ctx["cash_median"].to_numpy(dtype=float)) / cash_scale
        with_history = np.maximum(
            _ramp(log - ctx["cash_max"].to_numpy(dtype=float), 0.7, 2.0) * _ramp(cash_n, 2.0, 6.0),
            _ramp(cash_z, 4.0, 10.0),
        )
        without = _ramp(log - ctx["a_max"].to_numpy(dtype=float), 0.5, 2.0) * enough
        cash = np.where(cash_n > 0, with_history, without)
        return {AMOUNT: amount, NEW_MERCHANT: new, CASH: cash}

    def _isolation(self, ctx: pd.DataFrame) -> np.ndarray:
        """Isolation-forest outlyingness as the rank among the validation rows (0..1)."""
        raw = -_on_distinct(lambda x: self.forest_.score_samples(x.to_numpy()), self._features(ctx))
        ranks = np.searchsorted(self.forest_scores_, raw, side="right")
        return np.asarray(ranks / len(self.forest_scores_), dtype=np.float64)

    def _duplicates(self, ctx: pd.DataFrame) -> np.ndarray:
        """Rows repeating an earlier row's account, merchant and amount within the window."""
        window = pd.Timedelta(days=self.duplicate_days)
        flagged = _repeats(ctx, self.duplicate_days)
        keys = _repeat_keys(ctx)
        tail = self.tail_.assign(
            _cents=np.round(self.tail_["_amount"].to_numpy() * 100).astype(np.int64)
        )
        hits = keys.merge(
            tail.rename(columns={"_date": "_tail_date"}),
            on=["_account", "_merchant", "_cents"],
            how="inner",
        )
        if len(hits):
            gap = hits["_date"] - hits["_tail_date"]
            later = (gap > pd.Timedelta(0)) & (gap <= window)
            if "_id" in hits and "id" in ctx:
                same_day_other = (gap == pd.Timedelta(0)) & (
                    ctx["id"].astype(str).to_numpy()[hits["_row"].to_numpy()]
                    != hits["_id"].to_numpy()
                )
                later |= same_day_other
            flagged[hits.loc[later, "_row"].to_numpy()] = True
        return flagged

    # -- predict ----------------------------------------------------------------------------------
    def _predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        with single_threaded():
            return self._predict_impl(frame)

    def _predict_impl(self, frame: pd.DataFrame) -> pd.DataFrame:
        check_is_fitted(self, "forest_")
        work = working_frame(frame, need_amount=True, what="anomaly scoring", training=False)
        if "id" in frame:
            work["id"] = frame["id"].to_numpy()
        accounts = getattr(self, "accounts_", None)
        if accounts is not None and d.DEFAULT_ACCOUNT not in accounts:
            # no account named: compare with the user's whole history
            unnamed = work["_account"].to_numpy() == d.DEFAULT_ACCOUNT
            work["_account"] = np.where(unnamed, ALL_ACCOUNTS, work["_account"].to_numpy())
        scores, ctx = self._detectors(work)
        self._apply_feedback(scores, ctx)
        values = scores.to_numpy()
        combined = 1.0 - np.prod(1.0 - values, axis=1)
        flagged = combined >= self.threshold
        risk = risk_levels(combined, self.threshold)
        codes, reasons = self._reasons(values, flagged, ctx)
        return pd.DataFrame(
            {
                "anomaly_score": np.round(combined, 4),
                "is_anomaly": flagged,
                "risk_level": risk,
                "reasons": reasons,
                "reason_codes": codes,
            },
            index=frame.index,
        )

    def _reasons(
        self, values: np.ndarray, flagged: np.ndarray, ctx: pd.DataFrame
    ) -> tuple[list[list[str]], list[list[str]]]:
        """Plain-words reasons; only rows with a notable detector are visited."""
        active = values >= _REASON_FLOOR
        top = values.argmax(axis=1)
        active[np.flatnonzero(flagged), top[flagged]] = True
        texts = {
            code: self._texts(code, np.flatnonzero(active[:, i]), ctx)
            for i, code in enumerate(REASON_CODES)
        }
        codes: list[list[str]] = [[] for _ in range(len(ctx))]
        reasons: list[list[str]] = [[] for _ in range(len(ctx))]
        for code, (rows, strings) in texts.items():
            for row, text in zip(rows, strings, strict=True):
                codes[row].append(code)
                reasons[row].append(text)
        return codes, reasons

    def _texts(
        self, code: str, rows: np.ndarray, ctx: pd.DataFrame
    ) -> tuple[np.ndarray, list[str]]:
        """Reason texts of ``rows`` for ``code``; amount reasons say how far beyond the
        account's largest amount the row is, and rows without an account say "your accounts"."""
        rows, texts = self._base_texts(code, rows, ctx)
        if not len(rows) or code not in (AMOUNT, NEW_MERCHANT, CASH):
            return rows, texts
        ratio = _rows_of(ctx, "over_max", rows).astype(float)
        largest = np.expm1(_rows_of(ctx, "a_max", rows).astype(float))
        pooled = _rows_of(ctx, "_account", rows) == ALL_ACCOUNTS
        out: list[str] = []
        for text, r, big, whole in zip(texts, ratio, _money(largest), pooled, strict=True):
            if r >= _SEVERITY_TEXT_RATIO:
                text += f"; {r:.1f}x the largest amount ever moved on this account ({big})"
            if whole:
                text = text.replace("this account", "any of your accounts").replace(
                    "the account's", "your accounts'"
                )
            out.append(text)
        return rows, out

    def _base_texts(
        self, code: str, rows: np.ndarray, ctx: pd.DataFrame
    ) -> tuple[np.ndarray, list[str]]:
        if not len(rows):
            return rows, []
        mag = _rows_of(ctx, "_mag", rows)
        merchant = _rows_of(ctx, "_merchant", rows)
        if code == AMOUNT:
            usual = np.expm1(_rows_of(ctx, "ref_median", rows).astype(float))
            ratio = mag / np.maximum(usual, 0.01)
            return rows, [
                f"{a} is {r:.1f}x the usual {u} for {m or 'this kind of payment'} on this account"
                for a, r, u, m in zip(_money(mag), ratio, _money(usual), merchant, strict=True)
            ]
        if code == NEW_MERCHANT:
            return rows, [
                f"first transaction with {m or 'this merchant'} on this account, and larger than "
                f"90% of the account's transactions ({a})"
                for m, a in zip(merchant, _money(mag), strict=True)
            ]
        if code == DUPLICATE:
            return rows, [
                f"possible duplicate charge: the same amount ({a}) at {m or 'this merchant'} "
                f"within {self.duplicate_days} days"
                for m, a in zip(merchant, _money(mag), strict=True)
            ]
        if code == PRICE_RISE:
            typical = _rows_of(ctx, "rec_typical", rows).astype(float)
            return rows, [
                f"{m} usually charges {t}; this charge of {a} is {r:+.0%}"
                for m, t, a, r in zip(
                    merchant, _money(typical), _money(mag), mag / typical - 1.0, strict=True
                )
            ]
        if code == CASH:
            largest = np.expm1(_rows_of(ctx, "cash_max", rows).astype(float))
            return rows, [
                f"cash withdrawal of {a} is larger than any earlier withdrawal on this account"
                + (f" (largest so far {b})" if np.isfinite(x) else " (none before)")
                for a, b, x in zip(
                    _money(mag), _money(np.nan_to_num(largest)), largest, strict=True
                )
            ]
        return rows, [
            "unusual combination of amount, day and merchant history for this account"
        ] * len(rows)

    # -- feedback ---------------------------------------------------------------------------------
    def set_feedback(self, normal_patterns: Iterable[Mapping[str, Any]]) -> AnomalyModel:
        """Suppress flags the user marked as normal.

        Each pattern may hold ``account``, ``merchant``, ``category`` and ``reason_code`` (one of
        ``REASON_CODES``); a missing or None key matches anything, other keys (an id, a date)
        are ignored.  A row matching a pattern no longer scores on that reason (on every reason
        when ``reason_code`` is absent).  A pattern naming nothing is skipped rather than
        silencing everything.  Replaces any earlier feedback; returns self.  Raises
        ``ValidationError`` for an unknown reason code.
        """
        check_is_fitted(self, "forest_")
        patterns: list[dict[str, str]] = []
        for pattern in normal_patterns:
            code = pattern.get("reason_code")
            if code is not None and code not in REASON_CODES:
                raise ValidationError(
                    f"feedback reason_code {code!r} is not one of {', '.join(REASON_CODES)}"
                )
            kept = {
                key: str(value).strip() if key == "account" else str(value).strip().lower()
                for key, value in pattern.items()
                if key in _FEEDBACK_KEYS and value is not None and str(value).strip() != ""
            }
            if not kept:
                logger.warning("ignoring a feedback pattern that names nothing: %r", pattern)
                continue
            patterns.append(kept)
        self.feedback_ = patterns
        return self

    def _apply_feedback(self, scores: pd.DataFrame, ctx: pd.DataFrame) -> None:
        for pattern in getattr(self, "feedback_", []):
            mask = np.ones(len(ctx), dtype=bool)
            if "account" in pattern:
                mask &= ctx["_account"].to_numpy() == pattern["account"]
            if "merchant" in pattern:
                mask &= ctx["_merchant"].to_numpy() == pattern["merchant"]
            if "category" in pattern:
                mask &= ctx["_category"].to_numpy() == pattern["category"]
            columns = [pattern["reason_code"]] if "reason_code" in pattern else list(REASON_CODES)
            scores.loc[mask, columns] = 0.0

    # -- reports and evaluation -------------------------------------------------------------------
    def missing_recurring(
        self, as_of: str | date | datetime | None = None, tolerance: float = 1.5
    ) -> pd.DataFrame:
        """Steady recurring payments not seen for ``tolerance`` times their usual interval.

        ``as_of`` defaults to the last training date.  Columns: account, merchant,
        typical_amount, period_days, last_seen, days_overdue.
        """
        check_is_fitted(self, "am_")
        today = pd.Timestamp(as_of) if as_of is not None else pd.Timestamp(self.trained_until_)
        steady = self.am_[self.am_["rec_steady"] & (self.am_["_account"] != ALL_ACCOUNTS)]
        due = steady["am_last_date"] + pd.to_timedelta(steady["rec_gap"] * tolerance, unit="D")
        late = steady[due < today]
        return pd.DataFrame(
            {
                "account": late["_account"],
                "merchant": late["_merchant"],
                "typical_amount": late["rec_typical"],
                "period_days": late["rec_gap"],
                "last_seen": late["am_last_date"],
                "days_overdue": (today - late["am_last_date"]).dt.days - late["rec_gap"],
            }
        ).reset_index(drop=True)

    def global_zscore(self, frame: pd.DataFrame) -> np.ndarray:
        """The baseline: |amount| z-score against the whole training set."""
        check_is_fitted(self, "global_")
        work = working_frame(frame, need_amount=True, what="anomaly baseline", training=False)
        return ((work["_mag"] - self.global_["mag_mean"]) / self.global_["mag_std"]).to_numpy()

    def evaluate(self, frame: pd.DataFrame) -> dict[str, float]:
        """Inject anomalies (fixed seed) into a copy of a clean hold-out and measure.

        Returns average_precision, baseline_ap (global |amount| z-score), flagged_rate_clean,
        reasons_coverage (share of flagged rows with at least one reason), injected.
        """
        check_is_fitted(self, "forest_")
        clean = self.predict(frame)
        injected, labels = inject_anomalies(frame, seed=0)
        scored = self.predict(injected)
        flagged = scored["is_anomaly"].to_numpy()
        with_reason = scored["reasons"].map(len).to_numpy() > 0
        return {
            "average_precision": float(average_precision_score(labels, scored["anomaly_score"])),
            "baseline_ap": float(average_precision_score(labels, self.global_zscore(injected))),
            "flagged_rate_clean": float(clean["is_anomaly"].mean()),
            "reasons_coverage": float(with_reason[flagged].mean()) if flagged.any() else 1.0,
            "recall_at_threshold": float(flagged[labels == 1].mean()),
            "injected": float(labels.sum()),
        }


def inject_anomalies(
    frame: pd.DataFrame, rate: float = 0.02, seed: int = 0
) -> tuple[pd.DataFrame, np.ndarray]:
    """A copy of ``frame`` with anomalies and a 0/1 label per row.

    Half of ``rate`` of the rows get their amount multiplied by 10; as many outsized cash
    withdrawals (10x the account's median withdrawal, or its median money out when it has none)
    are appended on random dates of random accounts.
    """
    rng = np.random.default_rng(seed)
    out = frame.copy()
    if d.AMOUNT not in out or out.empty:
        raise ValidationError("cannot inject anomalies: the frame has no Amount rows")
    amount = pd.Series(to_float(out[d.AMOUNT]), index=out.index)
    n_each = max(1, int(len(out) * rate / 2))
    scaled = rng.choice(len(out), size=min(n_each, len(out)), replace=False)
    amount.iloc[scaled] = amount.iloc[scaled] * 10.0
    out[d.AMOUNT] = amount
    labels = np.zeros(len(out), dtype=int)
    labels[scaled] = 1

    accounts = out[d.ACCOUNT] if d.ACCOUNT in out else pd.Series(d.DEFAULT_ACCOUNT, index=out.index)
    description = (
        out[d.DESCRIPTION].astype(str) if d.DESCRIPTION in out else pd.Series("", index=out.index)
    )
    is_cash = description.str.contains("withdraw|atm|cash", case=False, regex=True) & (amount < 0)
    cash_median = amount[is_cash].abs().groupby(accounts[is_cash]).median()
    out_median = amount[amount < 0].abs().groupby(accounts[amount < 0]).median()
    base_rows = out.iloc[rng.choice(len(out), size=n_each, replace=True)].copy()
    acc = (
        base_rows[d.ACCOUNT]
        if d.ACCOUNT in base_rows
        else pd.Series(d.DEFAULT_ACCOUNT, index=base_rows.index)
    )
    typical = acc.map(cash_median).fillna(acc.map(out_median)).fillna(amount.abs().median())
    base_rows[d.AMOUNT] = -10.0 * typical.to_numpy()
    base_rows[d.TYPE] = d.TransactionType.EXPENSE.value
    base_rows[d.DESCRIPTION] = "Cash withdrawal"
    if d.PAYMENT_METHOD in base_rows:
        base_rows[d.PAYMENT_METHOD] = "Cash"
    if d.CATEGORY in base_rows:
        base_rows[d.CATEGORY] = "Cash"
    if d.MERCHANT in base_rows:
        base_rows[d.MERCHANT] = "cash withdrawal"
    if "id" in base_rows:
        base_rows["id"] = [f"injected-{i}" for i in range(len(base_rows))]
    combined = pd.concat([out, base_rows], ignore_index=True)
    labels = np.concatenate([labels, np.ones(len(base_rows), dtype=int)])
    return combined, labels


__all__ = ["REASON_CODES", "AnomalyModel", "inject_anomalies"]

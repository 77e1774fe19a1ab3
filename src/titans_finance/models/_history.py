"""Private helpers shared by the amount and anomaly models: a numeric working frame and
compact per-group history statistics (in log-magnitude space), vectorised throughout."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from titans_finance import domain as d
from titans_finance.errors import TrainingDataError, ValidationError
from titans_finance.features.text import lower_strip
from titans_finance.frame import map_distinct, text_column, to_float
from titans_finance.merchants import merchant_key

logger = logging.getLogger(__name__)

#: 1.4826 * MAD estimates the standard deviation of a normal sample.
MAD_TO_SIGMA = 1.4826

_CASH = re.compile(r"\b(?:atm|cash|withdrawal|withdraw|vyber)\b", re.IGNORECASE)


@contextmanager
def single_threaded() -> Iterator[None]:
    """Run OpenMP code (gradient boosting) on one thread.

    On a busy machine (API workers, Dask, other jobs) OpenMP threads spin against each other:
    fitting a few thousand rows took 80 s instead of 2 s on two shared cores.  Batch scoring
    scales out through processes (``scale/``), not threads.
    """
    with threadpool_limits(limits=1, user_api="openmp"):
        yield


def require_columns(
    frame: object, columns: Sequence[str], *, what: str, training: bool
) -> pd.DataFrame:
    """Check a frame is a non-empty DataFrame holding ``columns``; raise a user-facing error."""
    error = TrainingDataError if training else ValidationError
    if not isinstance(frame, pd.DataFrame):
        raise error(f"{what} needs a pandas DataFrame of transactions, got {type(frame).__name__}")
    if frame.empty:
        raise error(
            f"{what} received no transactions; "
            + (
                "import transactions first (titans ingest PATH)"
                if training
                else "pass at least one row"
            )
        )
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise error(
            f"{what}: missing column(s) {', '.join(missing)}; the transaction frame must use the "
            f"canonical columns ({', '.join(d.REQUIRED_COLUMNS)}, ...)"
        )
    return frame


def working_frame(
    frame: pd.DataFrame, *, need_amount: bool, what: str, training: bool
) -> pd.DataFrame:
    """A numeric working copy: _pos, _date, _account, _merchant, _category, _type_sign, _is_cash,
    and, when Amount is present, _amount, _mag (|amount|), _log (log1p |amount|)."""
    error = TrainingDataError if training else ValidationError
    columns = [d.DATE, d.AMOUNT] if need_amount else [d.DATE]
    require_columns(frame, columns, what=what, training=training)
    if d.DESCRIPTION not in frame and d.MERCHANT not in frame:
        raise error(f"{what}: needs a {d.DESCRIPTION} or {d.MERCHANT} column")
    work = pd.DataFrame(index=pd.RangeIndex(len(frame)))
    work["_pos"] = np.arange(len(frame))
    dates = pd.to_datetime(pd.Series(frame[d.DATE].to_numpy()), errors="coerce")
    if getattr(dates.dt, "tz", None) is not None:
        dates = dates.dt.tz_convert(None)
    if dates.isna().any():
        bad = int(np.flatnonzero(dates.isna().to_numpy())[0])
        raise error(f"{what}: row {bad} has an unreadable {d.DATE} ({frame[d.DATE].iloc[bad]!r})")
    work["_date"] = dates.dt.normalize().to_numpy()
    work["_account"] = text_column(frame, d.ACCOUNT, d.DEFAULT_ACCOUNT).to_numpy()
    work["_merchant"] = merchant_key(frame).to_numpy()
    # string work once per distinct value, not per row
    work["_category"] = map_distinct(text_column(frame, d.CATEGORY), lower_strip).to_numpy()
    type_sign = {"expense": -1.0, "income": 1.0}
    work["_type_sign"] = (
        map_distinct(
            text_column(frame, d.TYPE),
            lambda v: np.asarray([type_sign.get(t, 0.0) for t in lower_strip(v)], dtype=object),
        )
        .to_numpy()
        .astype(float)
    )
    method_cash = map_distinct(
        text_column(frame, d.PAYMENT_METHOD),
        lambda v: np.asarray(["cash" in t for t in lower_strip(v)], dtype=object),
    )
    description_cash = map_distinct(
        text_column(frame, d.DESCRIPTION),
        lambda v: pd.Series(v, dtype=object).str.contains(_CASH, regex=True).to_numpy(object),
    )
    work["_is_cash"] = method_cash.to_numpy(bool) | description_cash.to_numpy(bool)
    if d.AMOUNT in frame:
        amount = to_float(frame[d.AMOUNT])
        if need_amount and np.isnan(amount).any():
            bad = int(np.flatnonzero(np.isnan(amount))[0])
            raise error(
                f"{what}: row {bad} has a non-numeric {d.AMOUNT} ({frame[d.AMOUNT].iloc[bad]!r})"
            )
        work["_amount"] = amount
        work["_mag"] = np.abs(amount)
        work["_log"] = np.log1p(np.abs(amount))
        work["_sign"] = np.sign(amount)
    return work


def group_table(work: pd.DataFrame, keys: list[str], prefix: str) -> pd.DataFrame:
    """Per-group history statistics of ``_log`` (and sign) in one grouped pass.

    Columns: ``{prefix}_n``, ``_median``, ``_mad`` (raw MAD of log-magnitude), ``_max``,
    ``_last``, ``_last3`` (mean of the last three), ``_std``, ``_neg`` (share of money-out rows),
    ``_last_date``.  ``work`` must be sorted by date.
    """
    grouped = work.groupby(keys, sort=False, observed=True)
    table = grouped["_log"].agg(["size", "median", "max", "last", "std"])
    table.columns = [
        f"{prefix}_n",
        f"{prefix}_median",
        f"{prefix}_max",
        f"{prefix}_last",
        f"{prefix}_std",
    ]
    deviation = (work["_log"] - grouped["_log"].transform("median")).abs()
    table[f"{prefix}_mad"] = deviation.groupby([work[k] for k in keys], sort=False).median()
    recent = work.loc[grouped.cumcount(ascending=False).to_numpy() < 3]
    table[f"{prefix}_last3"] = recent.groupby(keys, sort=False, observed=True)["_log"].mean()
    table[f"{prefix}_neg"] = (work["_sign"] < 0).groupby([work[k] for k in keys], sort=False).mean()
    table[f"{prefix}_last_date"] = grouped["_date"].max()
    table[f"{prefix}_std"] = table[f"{prefix}_std"].fillna(0.0)
    return table.reset_index()


def attach(work: pd.DataFrame, table: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Left-join a statistics table (unique on ``keys``) onto a shallow copy of the working
    frame, keeping row order: one hash lookup per row, then one take per column."""
    return attach_all(work, [(table, keys)])


def attach_all(
    work: pd.DataFrame, tables: Sequence[tuple[pd.DataFrame, list[str]]]
) -> pd.DataFrame:
    """`attach` of several tables (the caller's frame is left as it was): a new frame of the
    columns of ``work`` (shared, not copied) and the statistics, each its own array, never
    copied into a consolidated block (on a million rows that copying cost more than the
    lookups).  A column already in ``work`` (or in an earlier table) is replaced.

    Each key column of ``work`` is factorized once for all the tables; a row of a table is
    found through integer codes, then each statistic is one ``take`` (missing where no row
    matches, the dtype widened as ``reindex`` does)."""
    columns: dict[str, Any] = {name: work[name] for name in work.columns}
    factorized: dict[str, tuple[np.ndarray, pd.Index]] = {}
    for table, keys in tables:
        positions = _matching_rows(work, table, keys, factorized)
        for column in table.columns:
            if column not in keys:
                columns[column] = pd.api.extensions.take(
                    table[column].to_numpy(), positions, allow_fill=True
                )
    return pd.DataFrame(columns, index=work.index, copy=False)


def _matching_rows(
    work: pd.DataFrame,
    table: pd.DataFrame,
    keys: list[str],
    factorized: dict[str, tuple[np.ndarray, pd.Index]],
) -> np.ndarray:
    """The row of ``table`` (unique on ``keys``) holding each row's keys, -1 where none does.

    Keys become codes of the batch's distinct values (missing values match each other, as in
    an index lookup); several keys are combined pairwise and renumbered densely, so the last
    step is one array lookup."""
    work_codes: np.ndarray | None = None
    table_codes = np.zeros(0, dtype=np.intp)
    size = 0
    for key in keys:
        if key not in factorized:
            batch_codes, batch_values = pd.factorize(work[key].to_numpy(), use_na_sentinel=False)
            factorized[key] = (batch_codes, pd.Index(batch_values))
        codes, uniques = factorized[key]
        found = uniques.get_indexer(pd.Index(table[key]))  # -1: a value not in this batch
        if work_codes is None:
            work_codes, table_codes, size = codes, found, len(uniques)
            continue
        pairs, distinct = pd.factorize(work_codes.astype(np.int64) * len(uniques) + codes)
        table_pairs = np.where(
            (table_codes < 0) | (found < 0), -1, table_codes.astype(np.int64) * len(uniques) + found
        )
        work_codes, table_codes, size = (
            pairs,
            pd.Index(distinct).get_indexer(pd.Index(table_pairs)),
            len(distinct),
        )
    assert work_codes is not None, "at least one key"
    lookup = np.full(size, -1, dtype=np.intp)
    present = table_codes >= 0
    lookup[table_codes[present]] = np.flatnonzero(present)
    return np.asarray(lookup[work_codes])


def prior_stats(work: pd.DataFrame, keys: list[str], prefix: str) -> pd.DataFrame:
    """For each (date-sorted) row, the statistics of strictly earlier rows of its group; the
    same definitions as ``group_table`` so training and scoring features agree."""
    grouped = work.groupby(keys, sort=False, observed=True)["_log"]
    out = pd.DataFrame(index=work.index)
    count = grouped.cumcount()
    out[f"{prefix}_n"] = count.astype(float)
    expanding = grouped.expanding()
    out[f"{prefix}_median"] = expanding.median().reset_index(
        level=list(range(len(keys))), drop=True
    )
    out[f"{prefix}_max"] = expanding.max().reset_index(level=list(range(len(keys))), drop=True)
    out[f"{prefix}_std"] = expanding.std().reset_index(level=list(range(len(keys))), drop=True)
    out[f"{prefix}_last3"] = (
        grouped.rolling(3, min_periods=1)
        .mean()
        .reset_index(level=list(range(len(keys))), drop=True)
    )
    out[f"{prefix}_last"] = work["_log"]
    out[f"{prefix}_last_date"] = work["_date"]
    shifted = out.groupby([work[k] for k in keys], sort=False, observed=True).shift(1)
    shifted[f"{prefix}_n"] = count.astype(float)
    shifted[f"{prefix}_std"] = shifted[f"{prefix}_std"].fillna(0.0)
    return shifted


__all__ = [
    "MAD_TO_SIGMA",
    "attach",
    "attach_all",
    "group_table",
    "prior_stats",
    "require_columns",
    "single_threaded",
    "working_frame",
]

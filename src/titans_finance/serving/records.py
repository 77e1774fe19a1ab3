"""Request records -> ONE canonical frame, built column-wise; frames back to JSON-ready records.

Missing dates become today, amounts are signed from the type, merchants are normalised the way
ingest does it, so a request looks exactly like a stored transaction to the models.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pandas as pd

from titans_finance import domain as d

# Fields of a request record, in key order (also the LRU cache key order).
RECORD_FIELDS = d.RECORD_FIELDS


def _signed_amounts(amounts: np.ndarray, types: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
    """Signed amounts (negative = money out) and the type of every row.

    A positive amount declared as an Expense is money out; a negative Income is money in.  Rows
    without a type take it from the sign; rows with neither keep a missing amount and no type
    (the amount model then takes the direction from the history).  Types are mapped per
    distinct value, not per row.
    """
    codes, uniques = pd.factorize(pd.Series(types, dtype=object), use_na_sentinel=True)
    parsed = [d.parse_type(u) for u in uniques]
    names = np.array([t.value if t else "" for t in parsed] + [""], dtype=object)
    declared = names[codes]  # sentinel -1 picks the trailing ""
    magnitude = np.abs(amounts)
    signed = np.where(
        declared == d.TransactionType.EXPENSE.value,
        -magnitude,
        np.where(declared == d.TransactionType.INCOME.value, magnitude, amounts),
    )
    canonical = np.where(
        declared == d.TransactionType.TRANSFER.value,
        d.TransactionType.TRANSFER.value,
        np.where(signed > 0, d.TransactionType.INCOME.value, d.TransactionType.EXPENSE.value),
    ).astype(object)
    canonical[(declared == "") & np.isnan(amounts)] = None
    return signed, canonical


# Normalised merchant per raw description, shared by every request of this process: merchant
# cleaning is a chain of regexes with a fixed cost per call, and descriptions repeat endlessly.
_MERCHANT_MEMO: dict[str, Any] = {}
_MERCHANT_MEMO_MAX = 200_000


def _merchants(descriptions: pd.Series) -> np.ndarray:
    from titans_finance.merchants import normalize_merchants

    codes, uniques = pd.factorize(descriptions, use_na_sentinel=False)
    memo = _MERCHANT_MEMO
    found = [memo.get(u, memo) for u in uniques]  # `memo` itself marks "not cached"
    missing = [u for u, f in zip(uniques, found, strict=True) if f is memo]
    if missing:
        cleaned = normalize_merchants(pd.Series(missing, dtype=object)).tolist()
        if len(memo) + len(missing) > _MERCHANT_MEMO_MAX:
            memo.clear()
        fresh = dict(zip(missing, cleaned, strict=True))
        memo.update(fresh)
        found = [fresh[u] if f is memo else f for u, f in zip(uniques, found, strict=True)]
    table = np.empty(len(found), dtype=object)
    table[:] = found
    return table[codes]


def _dates(values: Sequence[Any], today: date) -> np.ndarray:
    """Dates (date objects or ISO strings; None = today) as datetime64[D], converted per
    distinct value: a batch holds few distinct dates."""
    codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
    table = np.empty(len(uniques) + 1, dtype="datetime64[D]")
    # a timestamp with an offset keeps its own calendar date (numpy would shift it to UTC)
    local = [pd.Timestamp(u).date() for u in uniques]
    table[: len(uniques)] = np.array(local, dtype="datetime64[D]")
    table[len(uniques)] = np.datetime64(today, "D")  # code -1: missing
    return table[codes]


def records_to_frame(
    records: Sequence[Mapping[str, Any]], *, today: date | None = None
) -> pd.DataFrame:
    """Request records (dicts with `RECORD_FIELDS`) as ONE canonical frame, built column-wise.

    Missing dates become ``today``; amounts are signed from ``type``; merchants are normalised
    the way ingest does it, so a request looks exactly like a stored transaction to the models.
    """
    columns = {name: [r.get(name) for r in records] for name in RECORD_FIELDS}
    return columns_to_frame(columns, today=today)


def columns_to_frame(
    columns: Mapping[str, Sequence[Any]], *, today: date | None = None
) -> pd.DataFrame:
    """Like `records_to_frame` but from per-field lists (the fast path for large batches)."""
    n = len(next(iter(columns.values()))) if columns else 0
    today = today or datetime.now(UTC).date()

    def column(name: str) -> Sequence[Any]:
        values = columns.get(name)
        return values if values is not None else [None] * n

    amounts = pd.Series(column("amount"), dtype="float64").to_numpy()
    signed, types = _signed_amounts(amounts, column("type"))
    dates = _dates(column("date"), today)
    descriptions = pd.Series(column("description"), dtype=object).fillna("").astype(str)
    accounts = pd.Series(column("account"), dtype=object).fillna(d.DEFAULT_ACCOUNT)
    frame = pd.DataFrame(
        {
            d.DATE: dates.astype("datetime64[ns]"),
            d.TYPE: types,
            d.DESCRIPTION: descriptions.to_numpy(),
            # a row without an amount (an amount prediction request) keeps it missing, not 0
            d.AMOUNT: signed,
            d.CATEGORY: pd.Series(column("category"), dtype=object).to_numpy(),
            d.PAYMENT_METHOD: pd.Series(column("payment_method"), dtype=object).to_numpy(),
            d.ACCOUNT: accounts.to_numpy(),
            d.CURRENCY: pd.Series(column("currency"), dtype=object).to_numpy(),
            d.MCC: pd.Series(column("mcc"), dtype=object).to_numpy(),
            d.MERCHANT: _merchants(descriptions),
        }
    )
    return frame


def record_key(record: Mapping[str, Any]) -> tuple[Hashable, ...]:
    """A hashable, normalised key of one request record (for the prediction caches)."""
    key: list[Hashable] = []
    for name in RECORD_FIELDS:
        value = record.get(name)
        if isinstance(value, str):
            value = value.strip()
        elif isinstance(value, float) and math.isnan(value):
            value = None
        elif isinstance(value, date):
            value = value.isoformat()
        key.append(value)
    return tuple(key)


def to_jsonable(value: Any) -> Any:
    """Numpy/pandas scalars and containers as plain JSON types (NaN -> None)."""
    if value is None or isinstance(value, bool | str | int):
        return value
    if value is pd.NaT:
        return None
    if isinstance(value, float | np.floating):
        as_float = float(value)
        return None if math.isnan(as_float) or math.isinf(as_float) else as_float
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, datetime):
        stamp = pd.Timestamp(value)
        return stamp.date().isoformat() if stamp == stamp.normalize() else stamp.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, np.datetime64):
        return to_jsonable(pd.Timestamp(value))
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray | pd.Series):
        return [to_jsonable(v) for v in list(value)]
    return str(value)


def frame_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A frame as a list of JSON-ready dicts."""
    columns = list(frame.columns)
    return [
        {str(c): to_jsonable(v) for c, v in zip(columns, row, strict=True)}
        for row in frame.itertuples(index=False, name=None)
    ]


__all__ = [
    "RECORD_FIELDS",
    "columns_to_frame",
    "frame_records",
    "record_key",
    "records_to_frame",
    "to_jsonable",
]

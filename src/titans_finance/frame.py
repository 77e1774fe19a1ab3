"""The canonical transaction frame: column accessors and per-distinct-value helpers.

Low in the stack, beside :mod:`titans_finance.domain` (the column names and vocabulary): every
layer above (ingest, storage, features, models, serving) reads the canonical frame through these
helpers rather than writing its own.

* ``per_distinct`` / ``map_distinct``: bank exports repeat the same dates, amounts and
  descriptors, so work is done once per distinct value and broadcast back to the rows.
* ``factorize_text`` / ``factorize_objects`` / ``expand``: the same idea as (codes, uniques), for
  stripped strings and for any object column (rows holding the very same object, as readers
  make them, are grouped by identity first; Decimals by spelling).
* ``text_column`` / ``clean_text`` / ``amount_column`` / ``date_column``: tolerant column access
  (a constant column when the column is absent).
* ``missing_values``: ``pd.isna`` on a list of (distinct) values, Decimals answered by their
  own ``is_nan``; ingest checks a per-value table once instead of every row.
* ``to_float``: the one Decimal -> float conversion of the project, where money leaves exact
  arithmetic for model input, charts and JSON.
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from titans_finance import domain as d


def per_distinct(
    values: pd.Series, func: Callable[[Any], object], missing: object = None
) -> pd.Series:
    """``func`` applied once per distinct non-missing value; ``missing`` for missing values.

    Returns an object Series with the index of ``values``.
    """
    codes, uniques = factorize_objects(values)
    table = np.empty(len(uniques) + 1, dtype=object)
    table[: len(uniques)] = [func(u) for u in uniques]
    table[len(uniques)] = missing  # code -1 (missing) picks the last entry
    return pd.Series(table[codes], index=values.index, dtype=object)


def map_distinct(
    values: pd.Series,
    func: Callable[[list[str]], Sequence[Any] | np.ndarray | pd.Series],
    missing: object = "",
) -> pd.Series:
    """``func`` on the list of distinct non-missing values *as strings*, broadcast back.

    ``func`` is vectorised: it takes every distinct text at once and returns one result each,
    in order.  Missing values get ``missing``.  Returns an object Series with the index of
    ``values``.
    """
    codes, uniques = pd.factorize(values, sort=False, use_na_sentinel=True)
    if pd.api.types.infer_dtype(uniques, skipna=False) == "string":
        texts = list(uniques)
    else:
        texts = [str(u) for u in uniques]
    mapped = func(texts)
    table = np.empty(len(texts) + 1, dtype=object)
    table[: len(texts)] = list(mapped)
    table[len(texts)] = missing
    return pd.Series(table[codes], index=values.index, dtype=object)


def _first_rows(codes: np.ndarray) -> np.ndarray:
    """The first row of every code, for codes numbered in order of first appearance (from 0):
    a new code is where the running maximum grows."""
    return np.flatnonzero(np.diff(np.maximum.accumulate(codes), prepend=-1) > 0)


def _addresses(objects: np.ndarray) -> np.ndarray:
    """``id`` of every element of an object array, read from the array's buffer of object
    pointers (which are the ids in CPython) instead of one Python call per row."""
    if sys.implementation.name != "cpython" or not len(objects):
        return np.fromiter(map(id, objects), dtype=np.intp, count=len(objects))
    contiguous = np.ascontiguousarray(objects)  # kept alive while its pointers are copied
    pointers = ctypes.cast(contiguous.ctypes.data, ctypes.POINTER(ctypes.c_ssize_t))
    return np.ctypeslib.as_array(pointers, shape=(len(contiguous),)).copy()


def _by_identity(objects: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(codes, distinct objects) grouping rows that hold the very same object.

    Readers spread one object per distinct value over the rows, so grouping by ``id`` (an
    integer hash) first leaves only a few objects to hash by value.
    """
    codes, _ = pd.factorize(_addresses(objects))
    return codes, objects[_first_rows(codes)]


def factorize_text(values: pd.Series | np.ndarray) -> tuple[np.ndarray, pd.Series]:
    """(codes, distinct stripped strings): ``uniques[codes]`` rebuilds the stripped column.

    Missing values become ''. Work on the few distinct values, then expand with ``codes``.
    """
    by_object, objects = _by_identity(np.asarray(values, dtype=object))
    codes, raw = pd.factorize(objects, use_na_sentinel=True)
    stripped = [str(v).strip() for v in raw.tolist()] + [""]
    remap, uniques = pd.factorize(np.asarray(stripped, dtype=object), use_na_sentinel=True)
    return remap[codes[by_object]].astype(np.intp), pd.Series(uniques, dtype=object)


def factorize_objects(values: pd.Series | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(codes, distinct values) of an object column, code -1 for missing values.

    Rows holding the same object are grouped first (see ``_by_identity``); Decimals are then
    told apart by spelling (``str`` round-trips a Decimal exactly), which is several times
    faster than hashing them.
    """
    by_object, objects = _by_identity(np.asarray(values, dtype=object))
    if pd.api.types.infer_dtype(objects, skipna=True) != "decimal":
        codes, uniques = pd.factorize(objects, use_na_sentinel=True)
        return codes[by_object], np.asarray(uniques, dtype=object)
    spelled = np.array(list(map(str, objects.tolist())), dtype=object)
    codes, _spellings = pd.factorize(spelled)
    # Missing values (None, NaN, ...) are found among the distinct spellings' first objects.
    first = objects[_first_rows(codes)]
    present = ~pd.isna(first)
    if present.all():
        return codes[by_object], first
    remap = np.where(present, np.cumsum(present) - 1, -1)
    return remap[codes][by_object], first[present]


def missing_values(values: Sequence[object] | np.ndarray) -> np.ndarray:
    """``pd.isna`` of every value as a boolean array; Decimals answer through their own
    ``is_nan`` (pandas' generic check of a Decimal is several times slower)."""
    items = list(values)
    out = np.array(
        [v is None or (isinstance(v, Decimal) and v.is_nan()) for v in items], dtype=bool
    )
    other = [i for i, v in enumerate(items) if v is not None and not isinstance(v, Decimal)]
    if other:
        out[other] = pd.isna(np.array([items[i] for i in other], dtype=object))
    return out


def expand(codes: np.ndarray, parsed: list[object], index: pd.Index | None = None) -> pd.Series:
    """Per-row values from a per-unique table (object dtype)."""
    table = np.empty(len(parsed), dtype=object)
    table[:] = parsed
    return pd.Series(table[codes], index=index, dtype=object)


def text_column(frame: pd.DataFrame, name: str, default: str = "") -> pd.Series:
    """Column ``name`` as strings, as given ('' for missing); a constant column when absent."""
    if name not in frame:
        return pd.Series(default, index=frame.index, dtype=object)
    values = frame[name]
    return values.astype(object).where(values.notna(), default).astype(str)


def clean_text(frame: pd.DataFrame, name: str, empty: str | None = "") -> pd.Series:
    """Column ``name`` as stripped strings; missing or blank values (and an absent column)
    become ``empty``.  Strips once per distinct value."""
    if name not in frame:
        return pd.Series(empty, index=frame.index, dtype=object)
    codes, uniques = factorize_text(frame[name])
    if empty != "":
        uniques = uniques.where(uniques != "", empty)
    return expand(codes, uniques.tolist(), frame.index)


def to_float(values: pd.Series) -> np.ndarray:
    """Amounts as float64 (accepts Decimal, strings of numbers, floats); NaN where not a number.

    The one Decimal -> float conversion of the project (for model input, charts and JSON).  An
    object column is converted once per distinct value (bank exports repeat the same amounts)
    and broadcast back.
    """
    if values.dtype != object:
        numbers = pd.to_numeric(values, errors="coerce")
        return np.asarray(pd.Series(numbers).astype("float64").to_numpy(), dtype=np.float64)
    codes, uniques = factorize_objects(values)
    spelled = pd.Series(uniques, dtype=object).astype("string")
    distinct = pd.to_numeric(spelled, errors="coerce").astype("float64").to_numpy()
    return np.asarray(np.append(distinct, np.nan)[codes], dtype=np.float64)


def amount_column(frame: pd.DataFrame) -> np.ndarray:
    """Signed amounts as float64 (Decimal and strings converted; missing or absent -> 0)."""
    if d.AMOUNT not in frame:
        return np.zeros(len(frame), dtype=np.float64)
    return np.asarray(np.nan_to_num(to_float(frame[d.AMOUNT]), nan=0.0), dtype=np.float64)


def date_column(frame: pd.DataFrame) -> pd.Series:
    """Dates as naive datetime64 (NaT when missing or absent)."""
    if d.DATE not in frame:
        return pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")
    values = frame[d.DATE]
    if not pd.api.types.is_datetime64_any_dtype(values):
        values = pd.to_datetime(values, errors="coerce")
    if getattr(values.dt, "tz", None) is not None:
        values = values.dt.tz_localize(None)
    return values


__all__ = [
    "amount_column",
    "clean_text",
    "date_column",
    "expand",
    "factorize_objects",
    "factorize_text",
    "map_distinct",
    "missing_values",
    "per_distinct",
    "text_column",
    "to_float",
]

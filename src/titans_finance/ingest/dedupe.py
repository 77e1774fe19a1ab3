"""Row fingerprints that make re-imports idempotent while keeping genuine repeats apart."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from decimal import Decimal

import numpy as np
import pandas as pd

from titans_finance import domain as d
from titans_finance.ingest.merchants import normalize_descriptions
from titans_finance.ingest.normalize import expand, factorize_text

_SEP = "\x1f"  # unit separator: cannot occur in a CSV field we keep


def _column(frame: pd.DataFrame, column: str) -> pd.Series:
    if column in frame:
        return frame[column]
    return pd.Series(None, index=frame.index, dtype=object)


def _text(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame:
        return pd.Series("", index=frame.index, dtype=object)
    codes, uniques = factorize_text(frame[column])
    return expand(codes, uniques.tolist(), frame.index)


def _format_amount(value: object) -> str:
    try:
        return str(Decimal(str(value)).quantize(d.CENT))
    except ArithmeticError:
        return ""


def _format_date(value: object) -> str:
    try:
        return pd.Timestamp(value).strftime("%Y-%m-%d")  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""


def _per_unique(values: pd.Series, func: Callable[[object], str]) -> pd.Series:
    """``func`` once per distinct non-missing value; '' for missing values."""
    codes, uniques = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=True)
    table = np.array([*(func(u) for u in uniques), ""], dtype=object)
    return pd.Series(table[codes], index=values.index, dtype=object)


def fingerprints(frame: pd.DataFrame) -> pd.Series:
    """A sha256 hex digest per row (same index).

    Rows with a ``Reference`` hash account + reference; others hash account + ISO date + amount
    (2 dp) + normalised description. Each key also includes its occurrence number within the
    frame, so identical rows in one file stay distinct while re-importing the same (or an
    overlapping) export reproduces the same fingerprints.
    """
    if frame.empty:
        return pd.Series([], index=frame.index, dtype=object)
    account = _text(frame, d.ACCOUNT).replace("", d.DEFAULT_ACCOUNT)
    reference = _text(frame, d.REFERENCE)
    has_ref = reference != ""
    description = (
        normalize_descriptions(frame[d.DESCRIPTION])
        if d.DESCRIPTION in frame
        else pd.Series("", index=frame.index, dtype=object)
    )
    by_content = (
        "c"
        + _SEP
        + account
        + _SEP
        + _per_unique(_column(frame, d.DATE), _format_date)
        + _SEP
        + _per_unique(_column(frame, d.AMOUNT), _format_amount)
        + _SEP
        + description
    )
    key = ("r" + _SEP + account + _SEP + reference).where(has_ref, by_content)
    occurrence = key.groupby(key, sort=False).cumcount().astype(str)
    material = (key + _SEP + occurrence).tolist()
    return pd.Series(
        [hashlib.sha256(m.encode("utf-8")).hexdigest() for m in material],
        index=frame.index,
        dtype=object,
    )


__all__ = ["fingerprints"]

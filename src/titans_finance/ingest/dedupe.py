"""Row fingerprints that make re-imports idempotent while keeping genuine repeats apart."""

from __future__ import annotations

import hashlib
from decimal import Decimal

import pandas as pd

from titans_finance import domain as d
from titans_finance.ingest.merchants import normalize_descriptions

_SEP = "\x1f"  # unit separator: cannot occur in a CSV field we keep


def _text(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame:
        return pd.Series("", index=frame.index, dtype=object)
    values = frame[column]
    return values.astype(object).where(values.notna(), "").astype(str).str.strip()


def _amount_text(values: pd.Series) -> pd.Series:
    """Amounts as 2-decimal strings (``-12.50``); unparseable ones as ''."""

    def fmt(value: object) -> str:
        if value is None or (isinstance(value, float) and value != value):
            return ""
        try:
            return str(Decimal(str(value)).quantize(d.CENT))
        except ArithmeticError:
            return ""

    codes, uniques = pd.factorize(values.astype(object), use_na_sentinel=True)
    table = [fmt(v) for v in uniques.tolist()] + [""]
    return pd.Series([table[c] for c in codes.tolist()], index=values.index, dtype=object)


def _date_text(values: pd.Series) -> pd.Series:
    stamps = pd.to_datetime(values, errors="coerce")
    return stamps.dt.strftime("%Y-%m-%d").fillna("").astype(object)


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
        + _date_text(frame[d.DATE] if d.DATE in frame else pd.Series(None, index=frame.index))
        + _SEP
        + _amount_text(frame[d.AMOUNT] if d.AMOUNT in frame else pd.Series(None, index=frame.index))
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

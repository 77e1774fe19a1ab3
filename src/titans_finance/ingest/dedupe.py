"""Row fingerprints that make re-imports idempotent while keeping genuine repeats apart."""

from __future__ import annotations

import hashlib
import html
from decimal import Decimal

import pandas as pd

from titans_finance import domain as d
from titans_finance.frame import clean_text, map_distinct, per_distinct

_SEP = "\x1f"  # unit separator: cannot occur in a CSV field we keep


def _column(frame: pd.DataFrame, column: str) -> pd.Series:
    if column in frame:
        return frame[column]
    return pd.Series(None, index=frame.index, dtype=object)


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


def _fingerprint_unique(texts: list[str]) -> pd.Series:
    raw = pd.Series(texts, dtype=object).map(html.unescape).astype(str)
    out = raw.str.lower().str.replace(r"\d+", "#", regex=True)
    return out.str.replace(r"\s+", " ", regex=True).str.strip()


def fingerprint_descriptions(descriptions: pd.Series) -> pd.Series:
    """Descriptions as they enter a fingerprint: lower-cased, HTML-unescaped, whitespace
    collapsed and digit runs as ``#`` ('' for missing)."""
    return map_distinct(descriptions, _fingerprint_unique, missing="")


def fingerprints(frame: pd.DataFrame) -> pd.Series:
    """A sha256 hex digest per row (same index).

    Rows with a ``Reference`` hash account + reference; others hash account + ISO date + amount
    (2 dp) + normalised description. Each key also includes its occurrence number within the
    frame, so identical rows in one file stay distinct while re-importing the same (or an
    overlapping) export reproduces the same fingerprints.
    """
    if frame.empty:
        return pd.Series([], index=frame.index, dtype=object)
    account = clean_text(frame, d.ACCOUNT).replace("", d.DEFAULT_ACCOUNT)
    reference = clean_text(frame, d.REFERENCE)
    has_ref = reference != ""
    description = (
        fingerprint_descriptions(frame[d.DESCRIPTION])
        if d.DESCRIPTION in frame
        else pd.Series("", index=frame.index, dtype=object)
    )
    by_content = (
        "c"
        + _SEP
        + account
        + _SEP
        + per_distinct(_column(frame, d.DATE), _format_date, "")
        + _SEP
        + per_distinct(_column(frame, d.AMOUNT), _format_amount, "")
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


__all__ = ["fingerprint_descriptions", "fingerprints"]

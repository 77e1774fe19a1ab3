"""Row fingerprints that make re-imports idempotent while keeping genuine repeats apart."""

from __future__ import annotations

import hashlib
import html
from collections.abc import Callable
from decimal import Decimal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from titans_finance import domain as d
from titans_finance.frame import factorize_objects, factorize_text, map_distinct

_SEP = "\x1f"  # unit separator: cannot occur in a CSV field we keep


def _format_amount(value: object) -> str:
    try:
        exact = value if isinstance(value, Decimal) else Decimal(str(value))
        return str(exact.quantize(d.CENT))
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


class _Part:
    """One part of a fingerprint key: per-row codes into its distinct spellings (code -1 or
    an absent column: the spelling ``missing``)."""

    def __init__(self, codes: np.ndarray, table: list[str], missing: str = "") -> None:
        # Distinct values can share a spelling (1.5 and 1.50 both spell 1.50): number the
        # spellings, so that equal codes mean equal text.
        spelled, self.table = pd.factorize(np.asarray([*table, missing], dtype=object))
        self.codes = spelled[np.where(codes < 0, len(table), codes)]

    @classmethod
    def constant(cls, rows: int, text: str) -> _Part:
        return cls(np.full(rows, -1, dtype=np.intp), [], text)

    def arrow(self) -> pa.Array:
        """Per-row strings, built in Arrow (no row objects)."""
        table = pa.array(self.table.tolist(), type=pa.string())
        return table.take(pa.array(self.codes, type=pa.int64()))

    def holds(self, text: str) -> bool:
        return any(text in value for value in self.table.tolist())


def _text(frame: pd.DataFrame, column: str, default: str = "") -> _Part:
    """The stripped text of a column ('' where missing, ``default`` where empty)."""
    if column not in frame:
        return _Part.constant(len(frame), default)
    codes, uniques = factorize_text(frame[column])
    return _Part(codes, [u or default for u in uniques.tolist()])


def _formatted(frame: pd.DataFrame, column: str, func: Callable[[object], str]) -> _Part:
    """``func`` once per distinct non-missing value of a column; '' for missing values."""
    if column not in frame:
        return _Part.constant(len(frame), "")
    codes, uniques = factorize_objects(frame[column])
    return _Part(codes, [func(u) for u in uniques])


def _descriptions(frame: pd.DataFrame) -> _Part:
    """The fingerprint form of every row's description (``fingerprint_descriptions``)."""
    if d.DESCRIPTION not in frame:
        return _Part.constant(len(frame), "")
    codes, uniques = pd.factorize(frame[d.DESCRIPTION].astype(object), use_na_sentinel=True)
    return _Part(codes, _fingerprint_unique([str(u) for u in uniques]).tolist())


def _combined(codes: list[np.ndarray]) -> np.ndarray:
    """One code per distinct tuple of per-row codes (each code below the row count, so two
    combine into one int64 before they are numbered again)."""
    out = codes[0]
    for more in codes[1:]:
        out, _ = pd.factorize(out.astype(np.int64) * (int(more.max()) + 1) + more)
    return np.asarray(out)


def _occurrences(key: pa.Array, parts: list[_Part], by_reference: np.ndarray) -> np.ndarray:
    """How many rows before each row have the same key (0 for the first).

    Keys are equal exactly when their parts' codes are (and both are keyed the same way),
    unless a part's text holds the separator: then the key text itself is grouped.
    """
    if any(part.holds(_SEP) for part in parts):
        groups = key.dictionary_encode().indices.to_numpy(zero_copy_only=False)
    else:
        account, reference, *content = (part.codes for part in parts)
        unused = np.zeros(len(by_reference), dtype=np.intp)
        groups = _combined(
            [
                by_reference.astype(np.intp),
                account,
                np.where(by_reference, reference, unused),
                *(np.where(by_reference, unused, c) for c in content),
            ]
        )
    return np.asarray(pd.Series(groups).groupby(groups, sort=False).cumcount().to_numpy())


def fingerprints(frame: pd.DataFrame) -> pd.Series:
    """A sha256 hex digest per row (same index).

    Rows with a ``Reference`` hash account + reference; others hash account + ISO date + amount
    (2 dp) + normalised description. Each key also includes its occurrence number within the
    frame, so identical rows in one file stay distinct while re-importing the same (or an
    overlapping) export reproduces the same fingerprints.

    The per-column work runs once per distinct value and repeats are counted on integer
    codes; the keys are joined and spelled in Arrow, so only the sha256 itself is a per-row
    Python step.
    """
    if frame.empty:
        return pd.Series([], index=frame.index, dtype=object)
    parts = [
        _text(frame, d.ACCOUNT, default=d.DEFAULT_ACCOUNT),
        _text(frame, d.REFERENCE),
        _formatted(frame, d.DATE, _format_date),
        _formatted(frame, d.AMOUNT, _format_amount),
        _descriptions(frame),
    ]
    account, reference, date, amount, description = (part.arrow() for part in parts)
    by_content = pc.binary_join_element_wise("c", account, date, amount, description, _SEP)
    with_reference = pc.not_equal(reference, "")
    key = pc.if_else(
        with_reference, pc.binary_join_element_wise("r", account, reference, _SEP), by_content
    )
    occurrence = _occurrences(key, parts, with_reference.to_numpy(zero_copy_only=False))
    material = pc.binary_join_element_wise(
        key, pc.cast(pa.array(occurrence, type=pa.int64()), pa.string()), _SEP
    )
    encoded = pc.cast(material, pa.binary()).to_pylist()
    sha256 = hashlib.sha256
    return pd.Series(
        [sha256(m).hexdigest() for m in encoded],
        index=frame.index,
        dtype=object,
    )


__all__ = ["fingerprint_descriptions", "fingerprints"]

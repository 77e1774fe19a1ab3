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


def _arrow_column(codes: np.ndarray, table: list[str]) -> pa.Array:
    """Per-row strings from distinct strings and per-row codes, built in Arrow (no row objects)."""
    indices = np.where(codes < 0, len(table) - 1, codes)  # -1 (missing): the last entry
    return pa.array(table, type=pa.string()).take(pa.array(indices, type=pa.int64()))


def _text(frame: pd.DataFrame, column: str, default: str = "") -> pa.Array:
    """The stripped text of a column ('' where missing, ``default`` where empty)."""
    if column not in frame:
        return pa.array(np.full(len(frame), default, dtype=object), type=pa.string())
    codes, uniques = factorize_text(frame[column])
    return _arrow_column(codes, [u or default for u in uniques.tolist()])


def _formatted(frame: pd.DataFrame, column: str, func: Callable[[object], str]) -> pa.Array:
    """``func`` once per distinct non-missing value of a column; '' for missing values."""
    if column not in frame:
        return pa.array(np.full(len(frame), "", dtype=object), type=pa.string())
    codes, uniques = factorize_objects(frame[column])
    return _arrow_column(codes, [*(func(u) for u in uniques), ""])


def _descriptions(frame: pd.DataFrame) -> pa.Array:
    """The fingerprint form of every row's description (``fingerprint_descriptions``)."""
    if d.DESCRIPTION not in frame:
        return pa.array(np.full(len(frame), "", dtype=object), type=pa.string())
    codes, uniques = pd.factorize(frame[d.DESCRIPTION].astype(object), use_na_sentinel=True)
    described = _fingerprint_unique([str(u) for u in uniques]).tolist()
    return _arrow_column(codes, [*described, ""])


def fingerprints(frame: pd.DataFrame) -> pd.Series:
    """A sha256 hex digest per row (same index).

    Rows with a ``Reference`` hash account + reference; others hash account + ISO date + amount
    (2 dp) + normalised description. Each key also includes its occurrence number within the
    frame, so identical rows in one file stay distinct while re-importing the same (or an
    overlapping) export reproduces the same fingerprints.

    The per-column work runs once per distinct value; the keys are joined, counted and
    spelled in Arrow, so only the sha256 itself is a per-row Python step.
    """
    if frame.empty:
        return pd.Series([], index=frame.index, dtype=object)
    account = _text(frame, d.ACCOUNT, default=d.DEFAULT_ACCOUNT)
    reference = _text(frame, d.REFERENCE)
    by_content = pc.binary_join_element_wise(
        "c",
        account,
        _formatted(frame, d.DATE, _format_date),
        _formatted(frame, d.AMOUNT, _format_amount),
        _descriptions(frame),
        _SEP,
    )
    by_reference = pc.binary_join_element_wise("r", account, reference, _SEP)
    key = pc.if_else(pc.not_equal(reference, ""), by_reference, by_content)
    groups = key.dictionary_encode().indices.to_numpy(zero_copy_only=False)
    occurrence = pd.Series(groups).groupby(groups, sort=False).cumcount().to_numpy()
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

"""Text features: descriptor normalisation and n-gram vectorisers that score unique texts once."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any, Self

import numpy as np
import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.feature_extraction.text import TfidfVectorizer

from titans_finance import domain as d
from titans_finance.features._columns import text_column

# Payment-rail noise that says nothing about the merchant.
_NOISE_WORDS = (
    "pos|purchase|checkcard|check card|card purchase|ppd|ccd|authorized on|x{3,}|contactless|"
    "paypass|trace|seq"
)
_STRIPPED: tuple[str, ...] = (
    r"https?://\S+|www\.",
    r"\b(?:sq|tst|sp|pp|pypl|paypal|dd|ddbr|fs|in|ic|ec)\s*\*\s*",  # processor prefixes
    r"#\s*\w+",  # store / terminal numbers
    r"\b\d{1,2}[/-]\d{1,2}(?:[/-]\d{2,4})?\b",  # dates
    r"\b\w*\d\w*\d\w*\d\w*\b",  # tokens with 3+ digits (card, store, reference numbers)
    rf"\b(?:{_NOISE_WORDS})\b",
    r"[^a-z0-9&' ]+",
)
# One alternation pass (leftmost-first, as in Python re and RE2) then whitespace collapse.
_PATTERNS: tuple[tuple[str, str], ...] = (
    ("|".join(f"(?:{p})" for p in _STRIPPED), " "),
    (r"\s+", " "),
)
_COMPILED = tuple((re.compile(pattern), repl) for pattern, repl in _PATTERNS)


NORMALISED_COLUMN = "_description_normalised"
MERCHANT_KEY_COLUMN = "_merchant_key"


def normalize_text(text: str) -> str:
    """Normalise one bank descriptor: lowercase, unescape, drop numbers and payment-rail noise."""
    value = html.unescape(text).lower()
    for pattern, repl in _COMPILED:
        value = pattern.sub(repl, value)
    return value.strip()


def _normalize_unique(values: list[str]) -> np.ndarray:
    """:func:`normalize_text` over many strings with Arrow's vectorised regex kernels (same
    results on ASCII text)."""
    array = pa.array(values, type=pa.string())
    has_entity = pc.match_substring(array, "&")
    if pc.any(has_entity).as_py():  # HTML entities ("&amp;") are rare: unescape just those
        rows = np.flatnonzero(has_entity.to_numpy(zero_copy_only=False))
        fixed = np.asarray(values, dtype=object)
        fixed[rows] = [html.unescape(values[i]) for i in rows.tolist()]
        array = pa.array(fixed, type=pa.string())
    array = pc.utf8_lower(array)
    for pattern, repl in _PATTERNS:
        array = pc.replace_substring_regex(array, pattern=pattern, replacement=repl)
    return np.asarray(pc.utf8_trim_whitespace(array).to_numpy(zero_copy_only=False), dtype=object)


def map_distinct(values: pd.Series, func: Callable[[list[str]], np.ndarray]) -> pd.Series:
    """Apply ``func`` to the distinct values only and broadcast back (missing -> '')."""
    codes, uniques = pd.factorize(values, sort=False, use_na_sentinel=True)
    if pd.api.types.infer_dtype(uniques, skipna=False) == "string":
        mapped = func(list(uniques))
    else:
        mapped = func([str(u) for u in uniques])
    table = np.append(mapped, "").astype(object)  # code -1 (missing) -> ''
    return pd.Series(table[codes], index=values.index, dtype=object)


def normalize_descriptors(values: pd.Series) -> pd.Series:
    """Vectorised :func:`normalize_text`: each distinct descriptor is normalised once."""
    return map_distinct(values, _normalize_unique)


def _first_words(values: list[str], max_words: int = 3) -> np.ndarray:
    return np.asarray([" ".join(v.split(" ")[:max_words]) for v in values], dtype=object)


def lower_strip(values: list[str]) -> np.ndarray:
    """Strip and lowercase each string."""
    return np.asarray([v.strip().lower() for v in values], dtype=object)


def normalized_description(frame: pd.DataFrame) -> pd.Series:
    """The normalised Description (precomputed by :func:`prepare_text` when present)."""
    if NORMALISED_COLUMN in frame:
        return frame[NORMALISED_COLUMN]
    return normalize_descriptors(text_column(frame, d.DESCRIPTION))


def merchant_key(frame: pd.DataFrame, max_words: int = 3) -> pd.Series:
    """A merchant identity per row: the ``merchant`` column when present, else the first words
    of the normalised description (lowercase)."""
    if MERCHANT_KEY_COLUMN in frame:
        return frame[MERCHANT_KEY_COLUMN]
    derived = map_distinct(normalized_description(frame), lambda v: _first_words(v, max_words))
    if d.MERCHANT in frame:
        given = map_distinct(frame[d.MERCHANT], lower_strip)
        return given.where(given != "", derived)
    return derived


def prepare_text(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` plus the normalised description and merchant key, computed once so every
    transformer of a pipeline reuses them."""
    source = frame[d.DESCRIPTION] if d.DESCRIPTION in frame else text_column(frame, d.DESCRIPTION)
    out = frame.assign(**{NORMALISED_COLUMN: normalize_descriptors(source)})
    out[MERCHANT_KEY_COLUMN] = merchant_key(out)
    return out


def transaction_text(frame: pd.DataFrame, source: str = "description") -> pd.Series:
    """The text a vectoriser sees: ``description`` (normalised), ``merchant`` or ``both``."""
    if source == "description":
        return normalized_description(frame)
    if source == "merchant":
        return merchant_key(frame)
    if source == "both":
        return normalized_description(frame) + " | " + merchant_key(frame)
    raise ValueError(f"unknown text source {source!r}; use description, merchant or both")


class TextVectorizer(BaseEstimator, TransformerMixin):
    """An n-gram vectoriser over transaction text that transforms each distinct text once.

    Bank exports repeat the same descriptors, so factorising before vectorising makes a large
    batch cost roughly its number of distinct texts.

    Parameters
    ----------
    vectorizer : sklearn text vectoriser or None
        Defaults to TF-IDF char_wb 2-5 grams, 2**15 features, sublinear tf, float32.
    source : {"description", "merchant", "both"}
        Which text to build (see :func:`transaction_text`).
    """

    def __init__(self, vectorizer: Any = None, source: str = "description") -> None:
        self.vectorizer = vectorizer
        self.source = source

    def _default(self) -> Any:
        return TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=(2, 5),
            max_features=1 << 15,
            sublinear_tf=True,
            dtype=np.float32,
        )

    def fit(self, frame: pd.DataFrame, y: object = None) -> Self:
        """Learn the vocabulary from the distinct texts of ``frame``; returns self."""
        text = transaction_text(frame, self.source)
        self.vectorizer_ = (
            clone(self.vectorizer) if self.vectorizer is not None else self._default()
        )
        # Fit on every row so document frequencies reflect how often a text occurs.
        self.vectorizer_.fit(text.to_numpy())
        return self

    def transform(self, frame: pd.DataFrame) -> sp.csr_matrix:
        """Sparse n-gram matrix, one row per input row."""
        text = transaction_text(frame, self.source)
        codes, uniques = pd.factorize(text, sort=False)
        if len(uniques) == 0:
            return sp.csr_matrix((len(frame), len(self.vectorizer_.vocabulary_)), dtype=np.float32)
        matrix = self.vectorizer_.transform(np.asarray(uniques, dtype=object))
        return matrix[codes]

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        """Output column names."""
        return np.asarray(
            [f"{self.source}:{n}" for n in self.vectorizer_.get_feature_names_out()], dtype=object
        )


__all__ = [
    "MERCHANT_KEY_COLUMN",
    "NORMALISED_COLUMN",
    "TextVectorizer",
    "lower_strip",
    "map_distinct",
    "merchant_key",
    "normalize_descriptors",
    "normalize_text",
    "normalized_description",
    "prepare_text",
    "transaction_text",
]

"""Text features: descriptor normalisation and n-gram vectorisers that score unique texts once."""

from __future__ import annotations

import html
import re
from typing import Any, Self

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.feature_extraction.text import TfidfVectorizer

from titans_finance import domain as d
from titans_finance.frame import map_distinct, text_column
from titans_finance.merchants import merchant_key

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


def clean_descriptor(text: str) -> str:
    """One bank descriptor as the text models read it: lower-case, HTML-unescaped, numbers and
    payment-rail noise dropped (not the merchant name: see :mod:`titans_finance.merchants`)."""
    value = html.unescape(text).lower()
    for pattern, repl in _COMPILED:
        value = pattern.sub(repl, value)
    return value.strip()


def _normalize_unique(values: list[str]) -> np.ndarray:
    """:func:`clean_descriptor` over many strings with Arrow's vectorised regex kernels (same
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


def clean_descriptors(values: pd.Series) -> pd.Series:
    """Vectorised :func:`clean_descriptor`: each distinct descriptor is cleaned once ('' for
    missing)."""
    return map_distinct(values, _normalize_unique)


def lower_strip(values: list[str]) -> np.ndarray:
    """Strip and lowercase each string."""
    return np.asarray([v.strip().lower() for v in values], dtype=object)


def normalized_description(frame: pd.DataFrame) -> pd.Series:
    """The normalised Description (precomputed by :func:`prepare_text` when present)."""
    if NORMALISED_COLUMN in frame:
        return frame[NORMALISED_COLUMN]
    return clean_descriptors(text_column(frame, d.DESCRIPTION))


def merchant_key_of(frame: pd.DataFrame) -> pd.Series:
    """The merchant identity per row: the column :func:`prepare_text` precomputed when present,
    else :func:`titans_finance.merchants.merchant_key`."""
    if MERCHANT_KEY_COLUMN in frame:
        return frame[MERCHANT_KEY_COLUMN]
    return merchant_key(frame)


def prepare_text(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` plus the normalised description and merchant key, computed once so every
    transformer of a pipeline reuses them."""
    source = frame[d.DESCRIPTION] if d.DESCRIPTION in frame else text_column(frame, d.DESCRIPTION)
    out = frame.assign(**{NORMALISED_COLUMN: clean_descriptors(source)})
    out[MERCHANT_KEY_COLUMN] = merchant_key(out)
    return out


def transaction_text(frame: pd.DataFrame, source: str = "description") -> pd.Series:
    """The text a vectoriser sees: ``description`` (normalised), ``merchant`` or ``both``."""
    if source == "description":
        return normalized_description(frame)
    if source == "merchant":
        return merchant_key_of(frame)
    if source == "both":
        return normalized_description(frame) + " | " + merchant_key_of(frame)
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
    "clean_descriptor",
    "clean_descriptors",
    "lower_strip",
    "merchant_key_of",
    "normalized_description",
    "prepare_text",
    "transaction_text",
]

"""Text features: descriptor normalisation and n-gram vectorisers that score unique texts once."""

from __future__ import annotations

import html
import re
from typing import Any, Self

import numpy as np
import pandas as pd
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
_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"https?://\S+|www\.", " "),
    (r"\b(?:sq|tst|sp|pp|pypl|paypal|dd|ddbr|fs|in|ic|ec)\s*\*\s*", " "),  # processor prefixes
    (r"#\s*\w+", " "),  # store / terminal numbers
    (r"\b\w*\d\w*\d\w*\d\w*\b", " "),  # tokens with 3+ digits (card, store, date, ref numbers)
    (r"\b\d{1,2}[/-]\d{1,2}(?:[/-]\d{2,4})?\b", " "),  # dates
    (rf"\b(?:{_NOISE_WORDS})\b", " "),
    (r"[^a-z0-9&' ]+", " "),
    (r"\s+", " "),
)
_COMPILED = tuple((re.compile(pattern), repl) for pattern, repl in _PATTERNS)


def normalize_text(text: str) -> str:
    """Normalise one bank descriptor: lowercase, unescape, drop numbers and payment-rail noise."""
    value = html.unescape(text).lower()
    for pattern, repl in _COMPILED:
        value = pattern.sub(repl, value)
    return value.strip()


def normalize_descriptors(values: pd.Series) -> pd.Series:
    """Vectorised :func:`normalize_text`: each distinct descriptor is normalised once."""
    codes, uniques = pd.factorize(values.astype(object).where(values.notna(), ""), sort=False)
    normalised = np.array([normalize_text(str(u)) for u in uniques], dtype=object)
    if len(normalised) == 0:
        return pd.Series([], index=values.index, dtype=object)
    return pd.Series(normalised[codes], index=values.index, dtype=object)


def merchant_key(frame: pd.DataFrame, max_words: int = 3) -> pd.Series:
    """A merchant identity per row: the ``merchant`` column when present, else the first words
    of the normalised description (lowercase)."""
    derived = normalize_descriptors(text_column(frame, d.DESCRIPTION))
    derived = derived.str.split(" ", n=max_words).str[:max_words].str.join(" ")
    if d.MERCHANT in frame:
        given = text_column(frame, d.MERCHANT).str.strip().str.lower()
        return given.where(given != "", derived)
    return derived


def transaction_text(frame: pd.DataFrame, source: str = "description") -> pd.Series:
    """The text a vectoriser sees: ``description`` (normalised), ``merchant`` or ``both``."""
    if source == "description":
        return normalize_descriptors(text_column(frame, d.DESCRIPTION))
    if source == "merchant":
        return merchant_key(frame)
    if source == "both":
        return (
            normalize_descriptors(text_column(frame, d.DESCRIPTION)) + " | " + merchant_key(frame)
        )
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
    "TextVectorizer",
    "merchant_key",
    "normalize_descriptors",
    "normalize_text",
    "transaction_text",
]

"""Descriptor normalisation and the dedup n-gram vectoriser."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from titans_finance import domain as d
from titans_finance.features.text import (
    TextVectorizer,
    merchant_key,
    normalize_descriptors,
    normalize_text,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("SQ *BLUE BOTTLE COFFEE #123", "blue bottle coffee"),
        ("BARNES &amp; NOBLE #2626", "barnes & noble"),
        ("POS PURCHASE 12/03 WAL-MART 8473627", "wal mart"),
        ("Amazon", "amazon"),
        ("", ""),
    ],
)
def test_normalize_text(raw: str, expected: str) -> None:
    assert normalize_text(raw) == expected


def test_normalize_descriptors_keeps_index_and_handles_missing() -> None:
    values = pd.Series(["SHELL OIL 5744", None, "SHELL OIL 5744"], index=[3, 1, 2])
    out = normalize_descriptors(values)
    assert out.tolist() == ["shell oil", "", "shell oil"]
    assert list(out.index) == [3, 1, 2]


def test_merchant_key_prefers_merchant_column() -> None:
    frame = pd.DataFrame(
        {d.DESCRIPTION: ["TST* JOES DINER 44 SOMEWHERE", "X"], d.MERCHANT: [None, "Costco"]}
    )
    assert merchant_key(frame).tolist() == ["joes diner 44", "costco"]


def test_text_vectorizer_matches_plain_vectorisation() -> None:
    frame = pd.DataFrame(
        {d.DESCRIPTION: ["Shell Oil 1234", "Netflix", "SHELL OIL #5678", "netflix"]}
    )
    vectorizer = TextVectorizer().fit(frame)
    matrix = vectorizer.transform(frame)
    assert matrix.shape[0] == 4 and matrix.dtype == np.float32
    # identical normalised text -> identical rows
    np.testing.assert_array_equal(matrix[0].toarray(), matrix[2].toarray())
    np.testing.assert_array_equal(matrix[1].toarray(), matrix[3].toarray())
    assert len(vectorizer.get_feature_names_out()) == matrix.shape[1]

"""Descriptor normalisation and the dedup n-gram vectoriser."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from titans_finance import domain as d
from titans_finance.features.text import (
    MERCHANT_KEY_COLUMN,
    TextVectorizer,
    clean_descriptor,
    clean_descriptors,
    merchant_key_of,
    prepare_text,
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
def test_clean_descriptor(raw: str, expected: str) -> None:
    assert clean_descriptor(raw) == expected


def test_clean_descriptors_keeps_index_and_handles_missing() -> None:
    values = pd.Series(["SHELL OIL 5744", None, "SHELL OIL 5744"], index=[3, 1, 2])
    out = clean_descriptors(values)
    assert out.tolist() == ["shell oil", "", "shell oil"]
    assert list(out.index) == [3, 1, 2]


def test_merchant_key_of_prefers_merchant_column_and_reuses_the_prepared_key() -> None:
    frame = pd.DataFrame(
        {d.DESCRIPTION: ["TST* JOES DINER 44 SOMEWHERE", "X"], d.MERCHANT: [None, "Costco"]}
    )
    assert merchant_key_of(frame).tolist() == ["joes diner somewhere", "costco"]
    prepared = prepare_text(frame).assign(**{MERCHANT_KEY_COLUMN: ["a", "b"]})
    assert merchant_key_of(prepared).tolist() == ["a", "b"]


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

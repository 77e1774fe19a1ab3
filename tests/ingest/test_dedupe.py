from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd
import pytest

from titans_finance.ingest.dedupe import fingerprint_descriptions, fingerprints


def frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    base = {"Account": "Checking", "Reference": None}
    return pd.DataFrame([{**base, **row} for row in rows])


ROW = {"Date": dt.date(2024, 1, 2), "Amount": Decimal("-4.5"), "Description": "Coffee 123"}


def test_fingerprints_are_sha256_hex_and_deterministic() -> None:
    first = fingerprints(frame([ROW]))
    second = fingerprints(frame([ROW]))
    assert first.tolist() == second.tolist()
    assert len(first.iloc[0]) == 64
    int(first.iloc[0], 16)


def test_genuine_repeats_in_one_file_get_distinct_fingerprints() -> None:
    result = fingerprints(frame([ROW, ROW, ROW]))
    assert result.nunique() == 3


def test_overlapping_exports_share_fingerprints() -> None:
    other = {**ROW, "Date": dt.date(2024, 1, 3), "Description": "Bakery"}
    january = fingerprints(frame([ROW, ROW, other]))
    overlap = fingerprints(frame([ROW, ROW]))
    assert set(overlap) <= set(january)


def test_amount_and_description_normalised() -> None:
    a = fingerprints(frame([{**ROW, "Amount": Decimal("-4.50"), "Description": " COFFEE  999 "}]))
    b = fingerprints(frame([{**ROW, "Amount": -4.5, "Description": "coffee 1"}]))
    c = fingerprints(frame([{**ROW, "Date": "2024-01-02"}]))
    assert a.iloc[0] == b.iloc[0] == c.iloc[0]


def test_fields_that_matter_change_the_fingerprint() -> None:
    base = fingerprints(frame([ROW])).iloc[0]
    for change in (
        {"Amount": Decimal("-4.51")},
        {"Date": dt.date(2024, 1, 3)},
        {"Description": "Tea"},
        {"Account": "Savings"},
    ):
        assert fingerprints(frame([{**ROW, **change}])).iloc[0] != base


def test_reference_wins_over_content() -> None:
    a = fingerprints(frame([{**ROW, "Reference": "TX-1"}]))
    b = fingerprints(frame([{**ROW, "Reference": "TX-1", "Description": "edited later"}]))
    c = fingerprints(frame([{**ROW, "Reference": "TX-2"}]))
    assert a.iloc[0] == b.iloc[0] != c.iloc[0]
    assert fingerprints(frame([{**ROW, "Reference": "TX-1"}] * 2)).nunique() == 2


def test_missing_account_is_default_and_index_kept() -> None:
    f = pd.DataFrame([ROW, ROW], index=[7, 9])
    g = frame([{**ROW, "Account": "default"}, {**ROW, "Account": "default"}])
    assert list(fingerprints(f).index) == [7, 9]
    assert fingerprints(f).tolist() == fingerprints(g).tolist()


def test_empty_frame() -> None:
    assert fingerprints(pd.DataFrame(columns=["Date", "Amount", "Description"])).empty


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Foo   BAR 123 ", "foo bar #"),
        ("AT&amp;T  Bill 2024-01", "at&t bill #-#"),
        ("", ""),
        (None, ""),
    ],
)
def test_fingerprint_descriptions(raw: str | None, expected: str) -> None:
    assert fingerprint_descriptions(pd.Series([raw], dtype=object)).iloc[0] == expected


def test_fingerprint_values_stay_those_of_stored_rows() -> None:
    """The digests existing stores hold: sha256 of the key fields joined by U+001F and the
    occurrence number, so a faster implementation must reproduce them exactly."""
    import hashlib

    sep = "\x1f"
    by_content = sep.join(["c", "Checking", "2024-01-02", "-4.50", "coffee #"])
    by_reference = sep.join(["r", "Checking", "TX-1"])
    expected = [hashlib.sha256(f"{by_content}{sep}{n}".encode()).hexdigest() for n in (0, 1)] + [
        hashlib.sha256(f"{by_reference}{sep}0".encode()).hexdigest()
    ]
    rows = frame([ROW, {**ROW, "Amount": Decimal("-4.500")}, {**ROW, "Reference": "TX-1"}])
    assert fingerprints(rows).tolist() == expected

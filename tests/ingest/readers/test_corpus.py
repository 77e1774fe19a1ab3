"""Every file of the development corpus imports exactly, auto-detected and without a mapping."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from titans_finance import domain as d
from titans_finance.ingest.readers import detect_format, read_file
from titans_finance.ingest.readers.delimited import _field_of

CORPUS = Path(__file__).resolve().parents[2] / "data" / "formats"
EXPECTED: dict[str, dict[str, str | int]] = json.loads((CORPUS / "expected.json").read_text())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_file_is_exact(name: str) -> None:
    want = EXPECTED[name]
    path = CORPUS / name
    assert detect_format(path) == want["format"]
    result = read_file(path, account="test")
    assert len(result.frame) == want["rows"], result.rejects
    assert sum(result.frame[d.AMOUNT], Decimal(0)) == Decimal(str(want["sum"]))
    assert result.rejects == []


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("Started Date", "date"),
        ("Date Processed", "date"),
        ("datum verrichting", "date"),
        ("desc", "description"),
        ("Omschrijving-1", "description"),
        ("Buchungsbetrag", "amount"),
        ("Zaúčtovaná částka", "amount"),
        ("Suma", "amount"),
        ("Tranzakció dátuma", "date"),
        ("Beløp", "amount"),
        ("CreditDebet", "direction"),
        ("D/K", "direction"),
        ("S/H", "direction"),
        ("Account Name", "account"),
        ("Main", None),
    ],
)
def test_header_recognition(header: str, field: str | None) -> None:
    assert _field_of(header) == field


def test_headerless_rows_keep_their_lines() -> None:
    result = read_file(CORPUS / "headerless_balance.csv")
    assert list(result.frame["line"]) == [1, 2, 3, 4]
    assert result.frame[d.BALANCE].iloc[-1] == Decimal("2550.40")
    assert result.frame[d.DESCRIPTION].iloc[0] == "Coffee shop Berlin"


def test_colon_dates(tmp_path: Path) -> None:
    path = tmp_path / "colon.csv"
    path.write_text("Date,Description,Amount\n2012:03:01,Coffee,-4.50\n")
    assert str(read_file(path).frame[d.DATE].iloc[0]) == "2012-03-01"

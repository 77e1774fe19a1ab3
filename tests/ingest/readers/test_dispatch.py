"""Format detection by content and the read_file dispatcher."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from titans_finance import domain as d
from titans_finance.errors import InputFileError, ValidationError
from titans_finance.ingest.readers import SUPPORTED_FORMATS, detect_format, read_file


@pytest.mark.parametrize(
    ("relative", "expected"),
    [
        ("ofx/bank_v1.ofx", "ofx"),
        ("ofx/creditcard_v2.ofx", "ofx"),
        ("ofx/statement.qfx", "ofx"),
        ("ofx/quirks_lowercase_noheader.ofx", "ofx"),
        ("ofx/no_root.ofx", "ofx"),
        ("camt/statement_053.xml", "camt"),
        ("camt/truncated_053.xml", "camt"),
        ("qif/bank.qif", "qif"),
        ("qif/ccard_dayfirst.qif", "qif"),
        ("berka/trans_slice.asc", "berka"),
    ],
)
def test_detect_golden_files(golden: Path, relative: str, expected: str) -> None:
    assert detect_format(golden / relative) == expected


def test_detect_ignores_misleading_extension(golden: Path, tmp_path: Path) -> None:
    disguised = tmp_path / "export.csv"
    disguised.write_bytes((golden / "qif" / "bank.qif").read_bytes())
    assert detect_format(disguised) == "qif"
    csv = tmp_path / "statement.ofx"
    csv.write_text("Date,Description,Amount\n2024-01-02,Coffee,-4.50\n")
    assert detect_format(csv) == "csv"


def test_empty_file_falls_back_to_extension(tmp_path: Path) -> None:
    path = tmp_path / "empty.qfx"
    path.write_bytes(b"")
    assert detect_format(path) == "ofx"
    with pytest.raises(InputFileError, match="empty"):
        read_file(path)


@pytest.mark.parametrize(
    ("relative", "rows"),
    [
        ("ofx/bank_v1.ofx", 6),
        ("camt/statement_053.xml", 5),
        ("qif/bank.qif", 5),
        ("berka/trans_slice.asc", 42),
    ],
)
def test_read_file_auto(golden: Path, relative: str, rows: int) -> None:
    result = read_file(golden / relative)
    assert len(result.frame) == rows
    assert result.format == detect_format(golden / relative)
    assert all(isinstance(a, Decimal) for a in result.frame[d.AMOUNT])


def test_read_file_explicit_format_and_account(golden: Path) -> None:
    result = read_file(golden / "ofx" / "statement.qfx", format="QFX", account="Joint")
    assert result.format == "ofx"
    assert set(result.frame[d.ACCOUNT]) == {"Joint"}


def test_csv_dispatch(tmp_path: Path) -> None:
    path = tmp_path / "bank.csv"
    path.write_text("Date,Description,Amount\n2024-01-02,Coffee,-4.50\n2024-01-03,Salary,100\n")
    assert detect_format(path) == "csv"
    result = read_file(path)
    assert result.format == "csv"
    assert len(result.frame) == 2
    assert sorted(result.frame[d.AMOUNT]) == [Decimal("-4.50"), Decimal("100")]


def test_unknown_format_lists_valid_names(golden: Path) -> None:
    with pytest.raises(
        ValidationError, match=r"auto\|csv\|ofx\|qif\|camt\|mt940\|xlsx\|pdf\|berka"
    ):
        read_file(golden / "qif" / "bank.qif", format="docx")
    assert SUPPORTED_FORMATS == ("csv", "ofx", "qif", "camt", "mt940", "xlsx", "pdf", "berka")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="no such file"):
        read_file(tmp_path / "nope.ofx")
    with pytest.raises(InputFileError, match="no such file"):
        read_file(tmp_path / "nope.ofx", format="ofx")

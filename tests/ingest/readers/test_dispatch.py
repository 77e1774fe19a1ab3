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
        ("formats/mt940_structured.sta", "mt940"),
        ("formats/mt940_swift_blocks.940", "mt940"),
        ("formats/mt942_interim.942", "mt940"),
        ("formats/statement_title_rows.xlsx", "xlsx"),
        ("formats/statement_legacy.xls", "xlsx"),
        ("formats/statement_text_layer.pdf", "pdf"),
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


@pytest.mark.parametrize(
    ("content", "what"),
    [
        (b"PK\x03\x04\x14\x00\x00\x00export.csv" + b"\x00" * 64, "ZIP archive"),
        (b"\x1f\x8b\x08\x00" + b"\x00" * 64, "gzip"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "PNG image"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 64, "JPEG image"),
    ],
)
def test_non_exports_named_and_no_mapping_suggested(
    tmp_path: Path, content: bytes, what: str
) -> None:
    path = tmp_path / "statement.csv"
    path.write_bytes(content)
    with pytest.raises(InputFileError, match=what) as error:
        read_file(path)
    assert "--mapping" not in str(error.value)


def test_mt940_with_semicolons_is_not_sniffed_as_csv(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(
        ":20:A;B\n:25:DE1;2\n:28C:1\n:60F:C240101EUR1,00\n:61:240102D1,00NMSC;X\n"
        ":86:a;b;c\n:62F:C240102EUR0,00\n-\n"
    )
    assert detect_format(path) == "mt940"
    assert read_file(path).frame[d.AMOUNT].tolist() == [Decimal("-1.00")]


@pytest.mark.parametrize(
    "name",
    [
        "mt940_structured.sta",
        "mt940_swift_blocks.940",
        "statement_title_rows.xlsx",
        "statement_legacy.xls",
        "statement_text_layer.pdf",
    ],
)
@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9])
def test_truncated_samples_are_read_or_refused_never_crash(
    golden: Path, tmp_path: Path, name: str, keep: float
) -> None:
    data = (golden / "formats" / name).read_bytes()
    path = tmp_path / name
    path.write_bytes(data[: int(len(data) * keep)])
    try:
        result = read_file(path)
    except InputFileError as exc:
        assert str(path) in str(exc)
    else:
        assert len(result.frame) <= 6

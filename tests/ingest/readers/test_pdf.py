"""PDF reader (optional pdfplumber): ruled and unruled tables, pages, scanned and broken files.

Test PDFs are drawn here with fpdf2 (pure Python, dev group): each test states its layout in a
few lines, and no binary fixture beyond the corpus sample has to be kept in step.
"""

from __future__ import annotations

import builtins
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fpdf import FPDF

from titans_finance import domain as d
from titans_finance.errors import InputFileError
from titans_finance.ingest.readers import detect_format, read_file
from titans_finance.ingest.readers.pdf import read_pdf

pytest.importorskip("pdfplumber")

FORMATS = Path(__file__).resolve().parents[2] / "data" / "formats"
HEADER = ("Date", "Description", "Amount")


def statement(path: Path, pages: list[list[tuple[str, ...]]], *, ruled: bool) -> Path:
    """A PDF with a title line and the header above each page's rows."""
    document = FPDF()
    document.set_font("Helvetica", size=9)
    for rows in pages:
        document.add_page()
        document.cell(0, 8, "Example Bank - Statement", new_x="LMARGIN", new_y="NEXT")
        for row in [HEADER, *rows]:
            for width, value, align in zip((30, 100, 30), row, "LLR", strict=True):
                document.cell(width, 7, value, border=1 if ruled else 0, align=align)
            document.ln(7)
    document.output(str(path))
    return path


ROWS = [("2024-01-02", "Coffee", "-3.50"), ("2024-01-03", "Salary", "2,000.00")]


@pytest.mark.parametrize("ruled", [True, False], ids=["ruled", "unruled"])
def test_table_over_two_pages(tmp_path: Path, ruled: bool) -> None:
    path = statement(tmp_path / "s.pdf", [ROWS, [("2024-01-04", "Rent", "-900.00")]], ruled=ruled)
    assert detect_format(path) == "pdf"
    result = read_file(path, account="Giro")
    assert result.rejects == []  # the repeated header and the page titles are not rows
    assert result.frame[d.AMOUNT].tolist() == [
        Decimal("-3.50"),
        Decimal("2000.00"),
        Decimal("-900.00"),
    ]
    assert result.frame[d.DESCRIPTION].tolist() == ["Coffee", "Salary", "Rent"]
    assert set(result.frame[d.ACCOUNT]) == {"Giro"}


def test_corpus_sample_with_decimal_commas() -> None:
    frame = read_pdf(FORMATS / "statement_text_layer.pdf").frame
    assert sum(frame[d.AMOUNT], Decimal(0)) == Decimal("654.50")


def test_scanned_pdf_refused_clearly_without_mapping_hint(tmp_path: Path) -> None:
    document = FPDF()
    document.add_page()
    document.rect(10, 10, 100, 50, style="F")  # an image-like page: no text at all
    path = tmp_path / "scan.pdf"
    document.output(str(path))
    with pytest.raises(InputFileError, match="without a text layer") as error:
        read_file(path)
    assert "--mapping" not in str(error.value)


def test_password_protected_refused(tmp_path: Path) -> None:
    document = FPDF()
    document.set_encryption(owner_password="owner", user_password="secret")
    document.add_page()
    document.set_font("Helvetica")
    document.cell(0, 8, "Date Amount")
    path = tmp_path / "locked.pdf"
    document.output(str(path))
    with pytest.raises(InputFileError, match="password-protected"):
        read_file(path)


def test_truncated_pdf_refused(tmp_path: Path) -> None:
    good = statement(tmp_path / "s.pdf", [ROWS], ruled=True)
    path = tmp_path / "cut.pdf"
    path.write_bytes(good.read_bytes()[:300])
    with pytest.raises(InputFileError, match="PDF but cannot be read"):
        read_file(path)


def test_text_without_table_refused(tmp_path: Path) -> None:
    document = FPDF()
    document.add_page()
    document.set_font("Helvetica")
    document.cell(0, 8, "Dear customer, your statement is attached.")
    path = tmp_path / "letter.pdf"
    document.output(str(path))
    with pytest.raises(InputFileError, match="PDF"):
        read_file(path)


def test_missing_extra_names_the_install_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = statement(tmp_path / "s.pdf", [ROWS], ruled=True)
    real_import = builtins.__import__

    def without_pdfplumber(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "pdfplumber" or name.startswith("pdfplumber."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", without_pdfplumber)
    with pytest.raises(InputFileError, match=r"titans-finance\[pdf\]"):
        read_file(path)

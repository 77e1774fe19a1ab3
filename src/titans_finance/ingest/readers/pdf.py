"""Reader for PDF bank statements that have a text layer, with the optional ``pdfplumber``.

``pdfplumber`` (on ``pdfminer.six``) is an optional extra: ``pip install 'titans-finance[pdf]'``
(``uv sync --extra pdf``). The statement's table is extracted page by page, first from its
ruling lines and, where a page has none, from the alignment of its words; the rows of every
page form one grid, whose header (title and address lines above it are skipped) and columns
go through the same recognition and row parsing as CSV (``delimited.read_grid``). Header rows
repeated on later pages are dropped. A scanned PDF (page images, no text) is refused: it has
no text to read, and no column mapping changes that.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from titans_finance.errors import InputFileError
from titans_finance.ingest.mapping import ColumnMapping, coerce_mapping
from titans_finance.ingest.readers.base import ReadResult
from titans_finance.ingest.readers.delimited import grid_header, read_grid

logger = logging.getLogger(__name__)

FORMAT = "pdf"
MAX_PAGES = 500
INSTALL_HINT = "pip install 'titans-finance[pdf]' (or: uv sync --extra pdf)"
_TEXT_STRATEGY = {"vertical_strategy": "text", "horizontal_strategy": "text"}


def _cell(value: object) -> str:
    return " ".join(str(value).split()) if value is not None else ""


def _page_rows(page: Any, settings: Mapping[str, Any] | None) -> list[list[str]]:
    tables = page.extract_tables(dict(settings)) if settings else page.extract_tables()
    rows = [[_cell(c) for c in row] for table in tables for row in table]
    return [row for row in rows if any(row)]


def _grid(
    pages: list[Any], settings: Mapping[str, Any] | None, spec: ColumnMapping
) -> list[tuple[int, list[str]]]:
    """The rows of every page's tables, numbered 1.. in reading order. On a page that repeats
    the statement's header row, the page's title lines above it are dropped with it."""
    rows: list[list[str]] = []
    header: list[str] | None = None
    for page in pages:
        page_rows = _page_rows(page, settings)
        if header is None:
            found = grid_header(list(enumerate(page_rows, start=1)), spec)
            header = page_rows[found] if found is not None else None
        elif header in page_rows:
            page_rows = page_rows[page_rows.index(header) + 1 :]
        rows.extend(page_rows)
    return list(enumerate(rows, start=1))


def _header_columns(pages: list[Any], spec: ColumnMapping) -> dict[str, Any] | None:
    """Table settings whose columns are those of the first header row found by word
    alignment, so that every page is cut into the same columns; None without a header."""
    for page in pages:
        for table in page.find_tables(dict(_TEXT_STRATEGY)):
            texts = [[_cell(c) for c in row] for row in table.extract()]
            header = grid_header(list(enumerate(texts, start=1)), spec)
            if header is None:
                continue
            cells = [c for c in table.rows[header].cells if c is not None]
            bounds = sorted({c[0] for c in cells} | {max(c[2] for c in cells)})
            return {
                "vertical_strategy": "explicit",
                "explicit_vertical_lines": bounds,
                "horizontal_strategy": "text",
            }
    return None


def read_pdf(
    path: Path,
    *,
    account: str | None = None,
    mapping: Mapping[str, Any] | ColumnMapping | None = None,
) -> ReadResult:
    """Read a PDF statement's transaction table (``line`` is the row of the extracted table).

    Raises ``InputFileError`` when ``pdfplumber`` is not installed (naming the extra), the PDF
    is encrypted or damaged, has no text layer (scanned), or holds no table with a date and an
    amount column.
    """
    path = Path(path)
    spec = coerce_mapping(mapping)
    try:
        import pdfplumber
    except ImportError:
        raise InputFileError(
            f"{path}: a PDF statement; reading PDFs needs the optional 'pdf' extra: {INSTALL_HINT}"
        ) from None
    from pdfminer.pdfdocument import PDFPasswordIncorrect
    from pdfminer.psparser import PSException
    from pdfplumber.utils.exceptions import PdfminerException

    try:
        with pdfplumber.open(path) as document:
            pages = document.pages
            if len(pages) > MAX_PAGES:
                raise InputFileError(
                    f"{path}: PDF with {len(pages)} pages; at most {MAX_PAGES} are read"
                )
            if not any(page.chars for page in pages):
                raise InputFileError(
                    f"{path}: a PDF without a text layer (a scanned statement: its pages are "
                    "images); there is no text to read: download the statement as CSV, CAMT, "
                    "OFX or MT940 from online banking, or run OCR on it first"
                )
            grid = _grid(pages, None, spec)
            if grid_header(grid, spec) is None:
                settings = _header_columns(pages, spec)
                grid = _grid(pages, settings or _TEXT_STRATEGY, spec)
    except InputFileError:
        raise
    except (PdfminerException, PDFPasswordIncorrect, PSException) as exc:
        cause = exc.args[0] if exc.args else exc
        if isinstance(cause, PDFPasswordIncorrect) or "password" in str(cause).lower():
            raise InputFileError(
                f"{path}: the PDF is password-protected; save it without a password first"
            ) from None
        raise InputFileError(
            f"{path}: looks like a PDF but cannot be read ({cause or type(exc).__name__}); "
            "the file is damaged or truncated: download it again"
        ) from None
    if not grid:
        raise InputFileError(
            f"{path}: a PDF with text but no table; the statement's transactions must be laid "
            "out in columns (date, description, amount)"
        )
    return read_grid(grid, path=path, account=account, mapping=spec, what="PDF table")


__all__ = ["INSTALL_HINT", "read_pdf"]

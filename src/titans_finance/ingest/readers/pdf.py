"""Reader for PDF bank statements that have a text layer, with the optional ``pdfplumber``.

``pdfplumber`` (on ``pdfminer.six``) is an optional extra: ``pip install 'titans-finance[pdf]'``
(``uv sync --extra pdf``). The statement's table is extracted page by page from its ruling
lines or, when it has none, by cutting every text line into the columns of the header line
(borders halfway between the header's cells, so right-aligned amounts stay put); the rows of every
page form one grid, whose header (title and address lines above it are skipped) and columns
go through the same recognition and row parsing as CSV (``delimited.read_grid``). Header rows
repeated on later pages are dropped. A scanned PDF (page images, no text) is refused: it has
no text to read, and no column mapping changes that.
"""

from __future__ import annotations

import bisect
import itertools
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


def _cell(value: object) -> str:
    return " ".join(str(value).split()) if value is not None else ""


def _page_rows(page: Any, borders: list[float] | None) -> list[list[str]]:
    """The page's table rows: from its ruling lines, or cut at ``borders`` when given."""
    if borders is not None:
        rows = _rows_by_borders(page, borders)
    else:
        rows = [[_cell(c) for c in row] for table in page.extract_tables() for row in table]
    return [row for row in rows if any(row)]


def _grid(
    pages: list[Any], borders: list[float] | None, spec: ColumnMapping
) -> list[tuple[int, list[str]]]:
    """The rows of every page's tables, numbered 1.. in reading order. On a page that repeats
    the statement's header row, the page's title lines above it are dropped with it."""
    rows: list[list[str]] = []
    header: list[str] | None = None
    for page in pages:
        page_rows = _page_rows(page, borders)
        if header is None:
            found = grid_header(list(enumerate(page_rows, start=1)), spec)
            header = page_rows[found] if found is not None else None
        elif header in page_rows:
            page_rows = page_rows[page_rows.index(header) + 1 :]
        rows.extend(page_rows)
    return list(enumerate(rows, start=1))


def _lines(page: Any) -> list[list[dict[str, Any]]]:
    """The page's words grouped into lines (tops within half a font size), left to right."""
    lines: list[list[dict[str, Any]]] = []
    for word in sorted(page.extract_words(), key=lambda w: (w["top"], w["x0"])):
        size = word["bottom"] - word["top"]
        if lines and abs(word["top"] - lines[-1][0]["top"]) <= size / 2:
            lines[-1].append(word)
        else:
            lines.append([word])
    return [sorted(line, key=lambda w: w["x0"]) for line in lines]


def _cells(line: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Words of one line grouped into cells: a gap wider than the font size separates two."""
    cells: list[list[dict[str, Any]]] = []
    for word in line:
        if cells and word["x0"] - cells[-1][-1]["x1"] <= word["bottom"] - word["top"]:
            cells[-1].append(word)
        else:
            cells.append([word])
    return cells


def _header_borders(pages: list[Any], spec: ColumnMapping) -> list[float] | None:
    """Column borders from the statement's header line, for pages without ruling lines.

    The header is the first line whose cells name known fields; borders lie halfway between
    neighbouring header cells, so right-aligned amounts stay in their column. None when no
    page has such a line.
    """
    for page in pages:
        for line in _lines(page):
            cells = _cells(line)
            texts = [" ".join(w["text"] for w in cell) for cell in cells]
            if len(cells) >= 2 and grid_header([(1, texts)], spec) is not None:
                return [
                    (left[-1]["x1"] + right[0]["x0"]) / 2
                    for left, right in itertools.pairwise(cells)
                ]
    return None


def _rows_by_borders(page: Any, borders: list[float]) -> list[list[str]]:
    """Every text line of the page cut into columns at ``borders`` (by each word's centre)."""
    rows: list[list[str]] = []
    for line in _lines(page):
        cells: list[list[str]] = [[] for _ in range(len(borders) + 1)]
        for word in line:
            centre = (word["x0"] + word["x1"]) / 2
            cells[bisect.bisect(borders, centre)].append(word["text"])
        rows.append([" ".join(cell) for cell in cells])
    return rows


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
                borders = _header_borders(pages, spec)
                if borders is not None:
                    grid = _grid(pages, borders, spec)
    except InputFileError:
        raise
    except Exception as exc:  # pdfminer raises many kinds on damaged files; all mean damaged
        cause = exc.args[0] if isinstance(exc, PdfminerException) and exc.args else exc
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

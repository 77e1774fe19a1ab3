"""Reader for spreadsheet exports: Excel ``.xlsx``/``.xlsm``/``.xls`` and OpenDocument ``.ods``.

Read with ``python-calamine`` (Rust's calamine): one library for the current and the legacy
Excel formats and ODS, fast on large sheets, and it returns the cached value of formula cells,
which is all an export needs (openpyxl reads neither ``.xls`` nor ``.ods``). The first visible
sheet that holds a transaction table is read: title rows above the header are skipped, and
the table goes through the same column recognition and row parsing as CSV
(``delimited.read_grid``). Date cells arrive as dates; a number under a date header is an
Excel serial date (days since 1899-12-30).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from titans_finance.errors import InputFileError
from titans_finance.ingest.mapping import ColumnMapping, coerce_mapping
from titans_finance.ingest.readers.base import ReadResult
from titans_finance.ingest.readers.delimited import (
    MAX_CELLS,
    grid_header,
    header_field,
    is_transaction_row,
    read_grid,
)

logger = logging.getLogger(__name__)

FORMAT = "xlsx"
_EXCEL_EPOCH = dt.date(1899, 12, 30)
# Serial numbers of 1954-10-04 .. 2119-01-07: dates a bank export holds, not small counts.
_SERIAL_RANGE = (20_000, 80_000)

Grid = list[tuple[int, list[Any]]]


def looks_like_spreadsheet(text: str) -> bool:
    """Whether a file's first bytes (Latin-1) are an XLSX/ODS zip or an OLE2 (XLS) file."""
    if text.startswith("PK\x03\x04"):
        # An Office Open XML package that is not a Word or PowerPoint one, or an ODS.
        office = "[Content_Types].xml" in text[:256] and not ("word/" in text or "ppt/" in text)
        return office or "xl/" in text or "opendocument.spreadsheet" in text
    return text.startswith("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")


def _text(value: Any) -> str:
    """A cell as the text a CSV export would hold for it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ") if value.time() != dt.time() else value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        text = format(Decimal(repr(value)), "f")
        # "1.234" would read as one thousand two hundred and thirty-four; a number cell has a
        # decimal point, so write it so that it cannot be taken for a thousands separator.
        fraction = text.partition(".")[2]
        return f"{text}0" if len(fraction) == 3 else text
    return str(value).strip()


def _serial_date(value: Any) -> Any:
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    if numeric and _SERIAL_RANGE[0] <= value <= _SERIAL_RANGE[1] and float(value).is_integer():
        return _EXCEL_EPOCH + dt.timedelta(days=int(value))
    return value


def _as_text(rows: Grid) -> list[tuple[int, list[str]]]:
    return [(line, [_text(v) for v in cells]) for line, cells in rows]


def _with_serial_dates(rows: Grid, spec: ColumnMapping) -> Grid | None:
    """The grid with serial numbers under date headers turned into dates; None if the grid
    has neither a header nor a transaction row (not a transaction table)."""
    text = _as_text(rows)
    header = grid_header(text, spec)
    if header is None:
        found = any(is_transaction_row(cells, spec) for _, cells in text[:40])
        return rows if found else None
    names = text[header][1]
    date_columns = [i for i, name in enumerate(names) if header_field(name) == "date"]
    if spec.date:
        date_columns += [i for i, name in enumerate(names) if name == spec.date]
    out: Grid = list(rows[: header + 1])
    for line, cells in rows[header + 1 :]:
        cells = list(cells)
        for i in date_columns:
            if i < len(cells):
                cells[i] = _serial_date(cells[i])
        out.append((line, cells))
    return out


def _damaged(path: Path, exc: BaseException) -> InputFileError:
    return InputFileError(
        f"{path}: cannot be opened as a spreadsheet (XLSX/XLS/ODS): {exc}; the file is "
        "damaged or not a workbook: export it again"
    )


def _sheets(path: Path) -> list[tuple[str, Grid]]:
    """Every visible worksheet as (name, non-empty rows with their 1-based row numbers).

    calamine reports a damaged file as an error or, from its Rust code, as a panic (a
    ``BaseException``): both are a damaged workbook to the user.
    """
    try:
        return _read_sheets(path)
    except InputFileError:
        raise
    except (KeyboardInterrupt, SystemExit, MemoryError):
        raise
    except BaseException as exc:  # pyo3 panics derive from BaseException
        from python_calamine import PasswordError

        if isinstance(exc, PasswordError):
            raise InputFileError(
                f"{path}: the spreadsheet is password-protected (encrypted); save it again "
                "without a password, or export the statement as CSV"
            ) from None
        raise _damaged(path, exc) from None


def _read_sheets(path: Path) -> list[tuple[str, Grid]]:
    from python_calamine import CalamineWorkbook

    workbook = CalamineWorkbook.from_path(str(path))
    sheets: list[tuple[str, Grid]] = []
    for meta in workbook.sheets_metadata:
        if str(meta.visible).rsplit(".", 1)[-1] != "Visible":
            continue
        sheet = workbook.get_sheet_by_name(meta.name)
        if sheet.total_height * max(sheet.total_width, 1) > MAX_CELLS:
            raise InputFileError(
                f"{path}: sheet {meta.name!r} has more than {MAX_CELLS:,} cells; split the export"
            )
        rows = sheet.to_python(skip_empty_area=False)
        grid = [
            (number, list(cells))
            for number, cells in enumerate(rows, start=1)
            if any(v not in (None, "") for v in cells)
        ]
        sheets.append((meta.name, grid))
    return sheets


def read_spreadsheet(
    path: Path,
    *,
    account: str | None = None,
    mapping: Mapping[str, Any] | ColumnMapping | None = None,
) -> ReadResult:
    """Read the first sheet of a workbook that holds a transaction table.

    ``line`` is the sheet's row number. Columns are recognised as in CSV, and ``mapping``
    (column names, ``skip_rows``, ``dayfirst``, ...) applies as it does to CSV. Raises
    ``InputFileError`` for an encrypted or damaged workbook, or when no sheet holds a table
    with a date and an amount.
    """
    path = Path(path)
    spec = coerce_mapping(mapping)
    sheets = _sheets(path)
    for name, grid in sheets:
        rows = _with_serial_dates(grid[spec.skip_rows :], spec)
        if rows is None:
            logger.info("%s: sheet %r holds no transaction table; skipped", path, name)
            continue
        return read_grid(
            _as_text(rows),
            path=path,
            account=account,
            mapping=spec.model_copy(update={"skip_rows": 0}),
            what=f"sheet {name!r}",
        )
    names = ", ".join(repr(name) for name, _ in sheets) or "none"
    raise InputFileError(
        f"{path}: spreadsheet with no sheet holding a transaction table (sheets: {names}); "
        "the table needs a header row naming a date and an amount column "
        "(or map the columns with --mapping FILE)"
    )


__all__ = ["looks_like_spreadsheet", "read_spreadsheet"]

"""Spreadsheet reader: sheet choice, title rows, date and serial cells, the CSV column step."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import xlsxwriter

from titans_finance import domain as d
from titans_finance.errors import InputFileError
from titans_finance.ingest.readers import detect_format, read_file
from titans_finance.ingest.readers.spreadsheet import read_spreadsheet

FORMATS = Path(__file__).resolve().parents[2] / "data" / "formats"


def workbook(path: Path, sheets: dict[str, list[list[Any]]]) -> Path:
    """An XLSX with one sheet per entry; datetimes are written as date cells."""
    book = xlsxwriter.Workbook(path)
    date_format = book.add_format({"num_format": "yyyy-mm-dd"})
    for name, rows in sheets.items():
        sheet = book.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if isinstance(value, dt.datetime):
                    sheet.write_datetime(r, c, value, date_format)
                elif value is not None:
                    sheet.write(r, c, value)
    book.close()
    return path


def test_title_rows_serial_and_datetime_cells() -> None:
    result = read_spreadsheet(FORMATS / "statement_title_rows.xlsx")
    frame = result.frame
    assert result.rejects == []
    assert frame[d.DATE].tolist() == [
        dt.date(2024, 3, 1),
        dt.date(2024, 3, 1),
        dt.date(2024, 3, 4),  # Excel serial 45355 under a date header
        dt.date(2024, 3, 8),  # a date-time cell
    ]
    assert frame[d.AMOUNT].tolist() == [
        Decimal("-54.23"),
        Decimal("2750"),
        Decimal("-950"),
        Decimal("-19.99"),
    ]
    assert frame[d.DESCRIPTION].iloc[0] == "REWE Markt / Kartenzahlung"
    assert frame[d.CURRENCY].iloc[0] == "EUR"  # from "Betrag (EUR)", as in CSV
    assert frame["line"].tolist() == [5, 6, 7, 8]  # the sheet's row numbers


def test_legacy_xls() -> None:
    assert detect_format(FORMATS / "statement_legacy.xls") == "xlsx"
    frame = read_file(FORMATS / "statement_legacy.xls").frame
    assert frame[d.DATE].tolist() == [dt.date(2024, 4, 2), dt.date(2024, 4, 3)]
    assert frame[d.AMOUNT].tolist() == [Decimal("-23.4"), Decimal("2100")]


def test_same_table_as_csv_gives_same_rows(tmp_path: Path) -> None:
    """The spreadsheet path hands its table to the CSV column recognition: same result."""
    rows = [
        ["Buchungstag", "Verwendungszweck", "Betrag", "S/H"],
        ["02.01.2024", "Miete", "800,00", "S"],
        ["03.01.2024", "Gehalt", "2.500,00", "H"],
    ]
    csv = tmp_path / "t.csv"
    csv.write_text("\n".join(";".join(r) for r in rows) + "\n")
    xlsx = workbook(tmp_path / "t.xlsx", {"Sheet1": [list(r) for r in rows]})
    columns = [d.DATE, d.DESCRIPTION, d.AMOUNT]
    from_csv = read_file(csv).frame[columns]
    from_xlsx = read_file(xlsx).frame[columns]
    assert from_xlsx.to_dict("records") == from_csv.to_dict("records")
    assert from_xlsx[d.AMOUNT].tolist() == [Decimal("-800.00"), Decimal("2500.00")]


def test_first_sheet_with_a_table_is_read(tmp_path: Path) -> None:
    path = workbook(
        tmp_path / "two.xlsx",
        {
            "Cover": [["Statement for March"], ["Generated", "2024-04-01"]],
            "Data": [["Date", "Payee", "Amount"], [dt.datetime(2024, 3, 2), "Shop", -5.25]],
        },
    )
    frame = read_spreadsheet(path).frame
    assert frame[d.DESCRIPTION].tolist() == ["Shop"]
    assert frame[d.AMOUNT].tolist() == [Decimal("-5.25")]


def test_three_decimals_are_not_thousands(tmp_path: Path) -> None:
    path = workbook(
        tmp_path / "kwd.xlsx",
        {"S": [["Date", "Description", "Amount"], [dt.datetime(2024, 3, 2), "Fee", 1.234]]},
    )
    assert read_spreadsheet(path).frame[d.AMOUNT].tolist() == [Decimal("1.2340")]


def test_headerless_sheet_maps_by_content(tmp_path: Path) -> None:
    path = workbook(
        tmp_path / "bare.xlsx",
        {"S": [[dt.datetime(2024, 3, 2), "Coffee", -3.5], [dt.datetime(2024, 3, 3), "Tea", -2.5]]},
    )
    frame = read_spreadsheet(path).frame
    assert frame[d.AMOUNT].tolist() == [Decimal("-3.5"), Decimal("-2.5")]
    assert frame[d.DESCRIPTION].tolist() == ["Coffee", "Tea"]


def test_mapping_applies_to_spreadsheets(tmp_path: Path) -> None:
    path = workbook(
        tmp_path / "odd.xlsx",
        {"S": [["When", "What", "How much"], [dt.datetime(2024, 3, 2), "Shop", -5.0]]},
    )
    with pytest.raises(InputFileError, match="--mapping"):
        read_spreadsheet(path)
    mapping = {"date": "When", "description": "What", "amount": "How much"}
    frame = read_spreadsheet(path, mapping=mapping).frame
    assert frame[d.AMOUNT].tolist() == [Decimal("-5")]


def test_bad_cells_rejected_with_sheet_row(tmp_path: Path) -> None:
    path = workbook(
        tmp_path / "bad.xlsx",
        {
            "S": [
                ["Date", "Description", "Amount"],
                [dt.datetime(2024, 3, 2), "Ok", -1.0],
                ["soon", "Bad date", -2.0],
            ]
        },
    )
    result = read_spreadsheet(path)
    assert len(result.frame) == 1
    assert [r.line for r in result.rejects] == [3]
    assert "date 'soon'" in result.rejects[0].reason


def test_damaged_workbook_refused_without_mapping_hint(tmp_path: Path) -> None:
    good = workbook(tmp_path / "g.xlsx", {"S": [["Date", "Amount"], ["2024-01-01", 1]]})
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(good.read_bytes()[:400])
    assert detect_format(broken) == "xlsx"
    with pytest.raises(InputFileError, match="spreadsheet") as error:
        read_file(broken)
    assert "--mapping" not in str(error.value)


def test_no_table_in_any_sheet(tmp_path: Path) -> None:
    path = workbook(tmp_path / "notes.xlsx", {"Notes": [["just"], ["words"]]})
    with pytest.raises(InputFileError, match=r"no sheet holding a transaction table.*'Notes'"):
        read_spreadsheet(path)

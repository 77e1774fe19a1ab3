"""Writes the corpus's spreadsheet and PDF samples (run from the repository root).

    uv run python tests/data/formats/make_binary_samples.py
    uv run --no-project --with xlwt python tests/data/formats/make_binary_samples.py --xls

The XLSX and PDF come from the dev group's xlsxwriter and fpdf2; the legacy XLS needs xlwt, which
is not a dependency, hence the separate flag. The output is committed so the tests and the bench
read the same bytes; the figures in expected.json are those written here.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def xlsx() -> None:
    """A bank's XLSX: title rows, date cells, one Excel serial date, a timestamp, numbers."""
    import xlsxwriter

    book = xlsxwriter.Workbook(HERE / "statement_title_rows.xlsx")
    book.add_worksheet("Info").write(0, 0, "Export created 2024-03-31")
    sheet = book.add_worksheet("Umsätze")
    day = book.add_format({"num_format": "dd.mm.yyyy"})
    stamp = book.add_format({"num_format": "dd.mm.yyyy hh:mm"})
    sheet.write(0, 0, "Kontoumsätze Girokonto")
    sheet.write(1, 0, "IBAN")
    sheet.write(1, 1, "DE02100100109307118603")
    header = ["Buchungstag", "Empfänger/Auftraggeber", "Verwendungszweck", "Betrag (EUR)", "Saldo"]
    for column, name in enumerate(header):
        sheet.write(3, column, name)
    rows = [
        (dt.datetime(2024, 3, 1), "REWE Markt", "Kartenzahlung", -54.23, 945.77),
        (dt.datetime(2024, 3, 1), "ACME GmbH", "Gehalt März", 2750.0, 3695.77),
        (45355, "Hausverwaltung Nord", "Miete März", -950.0, 2745.77),  # serial: 2024-03-04
        (dt.datetime(2024, 3, 8, 14, 5), "Netflix", "", -19.99, 2725.78),
    ]
    for r, (when, payee, memo, amount, balance) in enumerate(rows, start=4):
        if isinstance(when, dt.datetime):
            sheet.write_datetime(r, 0, when, stamp if when.hour else day)
        else:
            sheet.write_number(r, 0, when)
        sheet.write(r, 1, payee)
        sheet.write(r, 2, memo)
        sheet.write_number(r, 3, amount)
        sheet.write_number(r, 4, balance)
    book.close()


def pdf() -> None:
    """A two-page PDF statement with a text layer and no ruling lines."""
    from fpdf import FPDF

    document = FPDF()
    document.set_font("Helvetica", size=9)
    pages = [
        [
            ("02.01.2024", "Kartenzahlung REWE Markt", "-45,50", "954,50"),
            ("03.01.2024", "Gehalt ACME GmbH", "1.500,00", "2.454,50"),
        ],
        [("05.01.2024", "Miete Januar", "-800,00", "1.654,50")],
    ]
    for rows in pages:
        document.add_page()
        document.cell(0, 8, "Musterbank AG - Kontoauszug 1/2024", new_x="LMARGIN", new_y="NEXT")
        document.cell(0, 8, "IBAN DE02 1001 0010 0930 7118 60", new_x="LMARGIN", new_y="NEXT")
        document.ln(4)
        for row in [("Buchungstag", "Verwendungszweck", "Betrag", "Saldo"), *rows]:
            # Amount and balance right-aligned, their headers too, as statements print them.
            for width, value, align in zip((30, 90, 30, 30), row, "LLRR", strict=True):
                document.cell(width, 7, value, align=align)
            document.ln(7)
    document.output(str(HERE / "statement_text_layer.pdf"))


def xls() -> None:
    """A legacy Excel 97 (BIFF8) export: title row, DD/MM/YYYY date cells, numbers."""
    import xlwt

    book = xlwt.Workbook()
    sheet = book.add_sheet("Transactions")
    sheet.write(0, 0, "Account statement 01/04/2024 - 30/04/2024")
    for column, name in enumerate(["Date", "Description", "Amount"]):
        sheet.write(2, column, name)
    day = xlwt.easyxf(num_format_str="DD/MM/YYYY")
    rows = [(dt.date(2024, 4, 2), "Tesco Stores", -23.4), (dt.date(2024, 4, 3), "Salary", 2100.0)]
    for r, (when, text, amount) in enumerate(rows, start=3):
        sheet.write(r, 0, when, day)
        sheet.write(r, 1, text)
        sheet.write(r, 2, amount)
    book.save(str(HERE / "statement_legacy.xls"))


if __name__ == "__main__":
    if "--xls" in sys.argv:
        xls()
    else:
        xlsx()
        pdf()

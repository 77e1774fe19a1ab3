"""Spreadsheet-safe CSV export."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest

from titans_finance.export import escape_cell, escape_formulas, export_csv


@pytest.mark.parametrize(
    ("cell", "escaped"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+cmd", "'+cmd"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("-2+3", "'-2+3"),
        ("-12.50", "-12.50"),
        ("+44", "+44"),
        ("plain", "plain"),
    ],
)
def test_csv_export_escapes_formulas(cell: str, escaped: str) -> None:
    frame = pd.DataFrame({"Description": [cell], "Amount": [1.0]})
    assert escape_formulas(frame)["Description"].iloc[0] == escaped
    exported = next(csv.DictReader(io.StringIO(export_csv(frame))))
    assert exported["Description"] == escaped


def test_escape_cell_leaves_numbers_missing_and_safe_text_alone() -> None:
    assert escape_cell("=1+1") == "'=1+1"
    assert escape_cell("-3.5") == "-3.5"
    assert escape_cell(None) is None
    assert escape_cell(7) == 7
    assert escape_cell("shop") == "shop"

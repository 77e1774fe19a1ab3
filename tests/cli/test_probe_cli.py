"""Regression tests for the probe's CLI findings: formulas in every CSV written (6), Rich markup in
stored text (9) and LIKE wildcards in text filters (14)."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from titans_finance.cli.main import app
from titans_finance.config import Settings

runner = CliRunner()
FORMULA = '=HYPERLINK("http://evil.example","x")'


def _export(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    path.write_text(
        "Date,Description,Amount,Account\n"
        + "".join(
            f'{d},"{text.replace(chr(34), chr(34) * 2)}",{a},Checking\n' for d, text, a in rows
        )
    )
    return path


def test_markup_in_stored_text_is_shown_literally(settings_env: Settings, tmp_path: Path) -> None:
    export = _export(
        tmp_path / "markup.csv",
        [("2024-03-01", "[link=http://evil.example]PAY[/link]", "-10.00")],
    )
    assert runner.invoke(app, ["ingest", str(export)]).exit_code == 0
    listed = runner.invoke(app, ["transactions", "list"], env={"COLUMNS": "200"})
    assert listed.exit_code == 0, listed.output
    assert "[link=http://evil.example]PAY[/link]" in listed.output


def test_like_wildcards_in_text_filters_are_literal(settings_env: Settings, tmp_path: Path) -> None:
    export = _export(
        tmp_path / "wild.csv",
        [
            ("2024-03-01", "100% CASHBACK", "5.00"),
            ("2024-03-02", "GROCERY STORE", "-20.00"),
            ("2024-03-03", "BOOK_SHOP", "-8.00"),
        ],
    )
    assert runner.invoke(app, ["ingest", str(export)]).exit_code == 0
    percent = runner.invoke(app, ["transactions", "list", "--text", "%"], env={"COLUMNS": "200"})
    assert percent.exit_code == 0, percent.output
    assert "CASHBACK" in percent.output and "GROCERY" not in percent.output
    underscore = runner.invoke(
        app, ["transactions", "list", "--text", "K_S"], env={"COLUMNS": "200"}
    )
    assert underscore.exit_code == 0, underscore.output
    assert "BOOK_SHOP" in underscore.output and "GROCERY" not in underscore.output


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_recurring_output_escapes_formulas(settings_env: Settings, tmp_path: Path) -> None:
    start = date(2024, 1, 5)
    rows = [((start + timedelta(days=30 * i)).isoformat(), FORMULA, "-15.99") for i in range(6)]
    export = _export(tmp_path / "recurring.csv", rows)
    out = tmp_path / "streams.csv"
    result = runner.invoke(app, ["recurring", "--data", str(export), "--output", str(out)])
    assert result.exit_code == 0, result.output
    cells = [cell for row in csv.reader(out.open()) for cell in row]
    assert any("HYPERLINK" in cell for cell in cells), cells
    assert all(not cell.startswith("=") for cell in cells)
    assert any(cell.startswith("'=HYPERLINK") for cell in cells)

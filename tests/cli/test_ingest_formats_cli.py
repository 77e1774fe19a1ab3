"""`titans ingest FILE --account x` on the non-CSV formats: stored once, re-import adds nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from titans_finance.cli.main import app
from titans_finance.config import Settings

FORMATS = Path(__file__).resolve().parents[1] / "data" / "formats"
runner = CliRunner()


def _summary(output: str, fmt: str) -> list[str]:
    """The summary table's cells of the file's row: format, read, inserted, duplicates, ..."""
    rows = [
        [cell.strip() for cell in line.strip().strip("│").split("│")]
        for line in output.splitlines()
        if line.startswith("│") and f" {fmt} " in line
    ]
    assert rows, output
    return rows[0][1:6]


@pytest.mark.parametrize(
    ("name", "fmt", "rows"),
    [
        ("mt940_structured.sta", "mt940", "6"),
        ("mt942_interim.942", "mt940", "2"),
        ("statement_title_rows.xlsx", "xlsx", "4"),
        ("statement_legacy.xls", "xlsx", "2"),
    ],
)
def test_ingest_with_account_then_reimport(
    settings_env: Settings, name: str, fmt: str, rows: str
) -> None:
    path = str(FORMATS / name)
    first = runner.invoke(app, ["ingest", path, "--account", "x"])
    assert first.exit_code == 0, first.output
    assert _summary(first.output, fmt) == [fmt, rows, rows, "0", "0"]
    listed = runner.invoke(app, ["transactions", "list", "--account", "x"])
    assert listed.exit_code == 0 and f"{rows} of {rows}" in listed.output, listed.output
    again = runner.invoke(app, ["ingest", path, "--account", "x"])
    assert again.exit_code == 0
    assert _summary(again.output, fmt) == [fmt, rows, "0", rows, "0"]


def test_broken_mt940_refused_naming_the_format(settings_env: Settings, tmp_path: Path) -> None:
    path = tmp_path / "broken.sta"
    path.write_text(":20:X\n:25:DE1\n:60F:C240101EUR1,00\n:61:24XX01D1,00NMSC\n-\n")
    result = runner.invoke(app, ["ingest", str(path), "--account", "x"])
    assert result.exit_code == 65
    assert "MT940" in result.output and "--mapping" not in result.output
    assert "Traceback" not in result.output

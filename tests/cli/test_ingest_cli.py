from __future__ import annotations

import csv
from pathlib import Path

from typer.testing import CliRunner

from titans_finance.cli.main import app
from titans_finance.config import Settings

PIPELINE = Path(__file__).resolve().parents[1] / "data" / "pipeline"
runner = CliRunner()


def test_ingest_reports_summary_and_rejects(settings_env: Settings) -> None:
    result = runner.invoke(app, ["ingest", str(PIPELINE / "repeats_and_bad_rows.csv")])
    assert result.exit_code == 0, result.output
    assert "Import summary" in result.output
    assert "rejected" in result.output and "line 6" in result.output
    again = runner.invoke(app, ["ingest", str(PIPELINE / "repeats_and_bad_rows.csv")])
    assert again.exit_code == 0
    assert "duplicates" in again.output
    numbers = [
        cell.strip()
        for line in again.output.splitlines()
        if line.startswith("│") and "csv" in line
        for cell in line.strip("│").split("│")
    ]
    assert numbers[1:7] == ["csv", "7", "0", "5", "2", "0"]


def test_ingest_refuses_unreadable_file_with_exit_code(
    settings_env: Settings, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("Date,Description\n2024-01-01,no amount\n")
    result = runner.invoke(
        app, ["ingest", str(PIPELINE / "overlap.csv"), str(bad)], catch_exceptions=False
    )
    assert result.exit_code == 65
    assert "refused" in result.output and "nothing written" in result.output
    assert "Traceback" not in result.output


def test_unknown_format_is_a_clear_error(settings_env: Settings) -> None:
    result = runner.invoke(app, ["ingest", "--format", "docx", str(PIPELINE / "overlap.csv")])
    assert result.exit_code != 0
    assert "docx" in result.output


def test_list_and_export_with_filters(settings_env: Settings, tmp_path: Path) -> None:
    assert runner.invoke(app, ["ingest", str(PIPELINE / "overlap.csv")]).exit_code == 0
    listed = runner.invoke(app, ["transactions", "list", "--text", "netflix"])
    assert listed.exit_code == 0 and "NETFLIX" in listed.output and "1 of 1" in listed.output
    out = tmp_path / "export.csv"
    exported = runner.invoke(app, ["transactions", "export", "--output", str(out)])
    assert exported.exit_code == 0, exported.output
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 3
    evil = next(r for r in rows if "HYPERLINK" in r["Description"])
    assert evil["Description"].startswith("'=")
    only_income = runner.invoke(
        app, ["transactions", "export", "--type", "Income", "--output", str(out)]
    )
    assert only_income.exit_code == 0
    assert [r["Description"] for r in csv.DictReader(out.open())] == ["SALARY ACME"]


def test_bad_date_option_is_rejected(settings_env: Settings) -> None:
    result = runner.invoke(app, ["transactions", "list", "--from", "31/31/2024"])
    assert result.exit_code == 2

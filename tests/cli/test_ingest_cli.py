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


FORMATS = Path(__file__).resolve().parents[1] / "data" / "formats"


def _import_counts(output: str) -> list[str]:
    return [
        cell.strip()
        for line in output.splitlines()
        if line.startswith("│") and "csv" in line
        for cell in line.strip("│").split("│")
    ]


def test_dry_run_previews_stores_nothing_and_writes_the_mapping(
    settings_env: Settings, tmp_path: Path
) -> None:
    source = tmp_path / "uk.csv"
    source.write_bytes((FORMATS / "uk_value_column.csv").read_bytes())
    result = runner.invoke(app, ["ingest", str(source), "--dry-run"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Detected layout" in out and "separate debit and credit columns" in out
    assert "DMY" in out and "TESCO" in out and "2024-03-02" in out
    assert "skipped line 2: balance line" in out and "nothing was stored" in out
    written = tmp_path / "uk.csv.mapping.yaml"
    assert "debit: Money Out" in written.read_text()
    # Nothing stored: the real import inserts all four transactions.
    real = runner.invoke(app, ["ingest", str(source)])
    assert real.exit_code == 0, real.output
    assert _import_counts(real.output)[1:8] == ["csv", "6", "4", "0", "0", "2", "0"]


def test_edited_mapping_is_used_then_remembered_for_the_layout(
    settings_env: Settings, tmp_path: Path
) -> None:
    source = tmp_path / "amex.csv"
    source.write_bytes((FORMATS / "amex_card.csv").read_bytes())
    mapping = tmp_path / "amex.yaml"
    preview = runner.invoke(app, ["ingest", str(source), "-n", "--save-mapping", str(mapping)])
    assert preview.exit_code == 0, preview.output
    assert "card statement" in preview.output
    # The user says the signs are right as they are.
    mapping.write_text(mapping.read_text().replace("sign: invert", "sign: as_is"))
    first = runner.invoke(app, ["ingest", str(source), "--mapping", str(mapping), "-a", "Amex"])
    assert first.exit_code == 0, first.output
    # The next export of the same layout is read with the remembered mapping.
    later = tmp_path / "amex_april.csv"
    later.write_text(
        "Date,Description,Card Member,Account #,Amount\n04/02/2024,UBER TRIP,J SMITH,-41005,9.99\n"
    )
    again = runner.invoke(app, ["ingest", str(later), "--dry-run", "-a", "Amex"])
    assert again.exit_code == 0, again.output
    assert "using the mapping remembered for this layout" in again.output
    assert "9.99" in again.output and "-9.99" not in again.output


def test_account_option_overrides_the_file_column_with_a_warning(
    settings_env: Settings, tmp_path: Path
) -> None:
    source = tmp_path / "amex.csv"
    source.write_bytes((FORMATS / "amex_card.csv").read_bytes())
    result = runner.invoke(app, ["ingest", str(source), "--account", "Amex", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "warning" in result.output and "'Amex'" in result.output


def test_save_mapping_takes_one_file(settings_env: Settings, tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "ingest",
            str(FORMATS / "amex_card.csv"),
            str(FORMATS / "chase_card.csv"),
            "--save-mapping",
            str(tmp_path / "m.yaml"),
        ],
    )
    assert result.exit_code == 2 and "one file" in result.output

"""`titans ingest`: import bank export files into the store."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from titans_finance.errors import InputFileError, TitansError

if TYPE_CHECKING:
    from titans_finance.ingest.pipeline import FileSummary

console = Console()


def ingest(
    paths: list[Path] = typer.Argument(
        ..., help="Export files (CSV, OFX/QFX, QIF, CAMT.053, Berka)."
    ),
    account: str | None = typer.Option(None, "--account", "-a", help="Account name for the rows."),
    file_format: str = typer.Option(
        "auto", "--format", "-f", help="auto|csv|ofx|qif|camt|mt940|xlsx|pdf|berka"
    ),
    mapping: Path | None = typer.Option(
        None,
        "--mapping",
        "-m",
        help="TOML/YAML column mapping for layouts auto-detection gets wrong.",
    ),
) -> None:
    """Import export files; re-importing adds nothing, bad rows are rejected with a reason."""
    from titans_finance.config import get_settings
    from titans_finance.ingest.pipeline import ingest_file
    from titans_finance.storage.db import get_engine

    engine = get_engine(get_settings().database_url)
    summaries: list[FileSummary] = []
    failures: list[tuple[Path, TitansError]] = []
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console
    ) as progress:
        for path in paths:
            task = progress.add_task(f"{path.name}: starting", total=None)

            def show(stage: str, task: TaskID = task, name: str = path.name) -> None:
                progress.update(task, description=f"{name}: {stage}")

            try:
                summary = ingest_file(
                    engine,
                    path,
                    file_format=file_format,
                    account=account,
                    mapping=mapping,
                    on_stage=show,
                )
                summaries.append(summary)
                audit_import(engine, summary)
            except TitansError as error:
                failures.append((path, error))
            progress.remove_task(task)
    _print_summary(summaries)
    for path, failure in failures:
        console.print(f"[bold red]refused[/] {path}: {failure.message} (nothing written)")
    if failures:
        raise typer.Exit(InputFileError.exit_code)


def audit_import(engine: Any, summary: FileSummary) -> None:
    """Record a command-line import in the audit log."""
    from titans_finance.auth.store import record_audit
    from titans_finance.cli.access import cli_actor

    record_audit(
        engine,
        actor=cli_actor(),
        action="import",
        target=str(summary.import_id),
        detail={
            "file": summary.file,
            "format": summary.format,
            "read": summary.read,
            "inserted": summary.inserted,
            "duplicates": summary.duplicates,
            "rejected": summary.rejected,
        },
    )


def _print_summary(summaries: list[FileSummary]) -> None:
    table = Table(title="Import summary")
    for column in (
        "file",
        "format",
        "read",
        "inserted",
        "duplicates",
        "rejected",
        "balance breaks",
    ):
        table.add_column(column, justify="left" if column in ("file", "format") else "right")
    for s in summaries:
        table.add_row(
            s.file,
            s.format,
            str(s.read),
            str(s.inserted),
            str(s.duplicates),
            str(s.rejected),
            str(len(s.balance_breaks)),
        )
    if summaries:
        console.print(table)
    for s in summaries:
        for reject in s.rejects[:5]:
            console.print(
                f"  rejected {s.file} line {reject.line}: {reject.reason}", highlight=False
            )
        if len(s.rejects) > 5:
            console.print(f"  … and {len(s.rejects) - 5} more rejected rows in {s.file}")
        for brk in s.balance_breaks[:5]:
            console.print(
                f"  balance break {s.file} line {brk.line}: "
                f"expected {brk.expected}, found {brk.found}",
                highlight=False,
            )


def register(app: typer.Typer) -> None:
    """Add the ingest command."""
    app.command("ingest")(ingest)

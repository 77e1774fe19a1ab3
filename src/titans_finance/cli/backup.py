"""`titans backup FILE` and `titans restore FILE [--force]`: one verified archive of everything."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

console = Console()


def _report(summary: object, verb: str) -> None:
    from titans_finance.backup import BackupSummary

    assert isinstance(summary, BackupSummary)
    rows = sum(summary.tables.values())
    console.print(
        f"{verb} {escape(str(summary.path))}: {summary.dialect} store at schema "
        f"{summary.schema_revision} ({rows:,} rows in {len(summary.tables)} tables), "
        f"{summary.files} files, MLflow {'included' if summary.mlflow else 'not included'}",
        highlight=False,
    )
    for note in summary.notes:
        console.print(f"note: {escape(note)}", highlight=False)


def backup(
    file: Path = typer.Argument(..., help="Archive to write (e.g. titans-2026-12-01.tar.gz)."),
) -> None:
    """Write one archive (manifest + checksums) of the store, the models and the MLflow store."""
    from titans_finance.backup import create_backup
    from titans_finance.config import get_settings

    with console.status("backing up") as status:
        summary = create_backup(get_settings(), file, progress=status.update)
    _report(summary, "wrote")


def restore(
    file: Path = typer.Argument(..., help="Archive written by `titans backup`."),
    force: bool = typer.Option(
        False, "--force", help="Replace a store or models folder that already holds data."
    ),
) -> None:
    """Verify an archive, then restore it; a corrupt, truncated or newer one writes nothing."""
    from titans_finance.backup import restore_archive
    from titans_finance.config import get_settings

    with console.status("restoring") as status:
        summary = restore_archive(get_settings(), file, force=force, progress=status.update)
    _report(summary, "restored")


def register(app: typer.Typer) -> None:
    """Add the backup and restore commands."""
    app.command("backup")(backup)
    app.command("restore")(restore)

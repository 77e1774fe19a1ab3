"""`titans ingest`: import bank export files into the store."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
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
        help="TOML/YAML/JSON column mapping for layouts auto-detection gets wrong "
        "(remembered for the next file of the same layout).",
    ),
    dry_run: bool = typer.Option(
        False,
        "--dry-run",
        "-n",
        help="Preview: show the detected layout and the first rows, store nothing, and write "
        "the mapping used to an editable file.",
    ),
    save_mapping: Path | None = typer.Option(
        None,
        "--save-mapping",
        help="Where to write the mapping used (default with --dry-run: FILE.mapping.yaml).",
    ),
) -> None:
    """Import export files; re-importing adds nothing, bad rows are rejected with a reason."""
    from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

    from titans_finance.config import get_settings
    from titans_finance.ingest.pipeline import ingest_file
    from titans_finance.storage.db import get_engine

    if save_mapping is not None and len(paths) > 1:
        console.print("[bold red]error[/] --save-mapping takes one file; give one FILE")
        raise typer.Exit(2)
    engine = get_engine(get_settings().database_url)
    if dry_run:
        _dry_run(engine, paths, account, file_format, mapping, save_mapping)
        return
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
                if save_mapping is not None:
                    _save(path, account, file_format, mapping, save_mapping, engine)
                audit_import(engine, summary)
            except TitansError as error:
                failures.append((path, error))
            progress.remove_task(task)
    _print_summary(summaries)
    for path, failure in failures:
        console.print(f"[bold red]refused[/] {path}: {failure.message} (nothing written)")
    if failures:
        raise typer.Exit(InputFileError.exit_code)


def _save(
    path: Path,
    account: str | None,
    file_format: str,
    mapping: Path | None,
    target: Path,
    engine: Any,
) -> None:
    from titans_finance.ingest.preview import preview_file

    preview = preview_file(
        path, file_format=file_format, account=account, mapping=mapping, engine=engine
    )
    _write_mapping(preview.mapping, target, preview.format)


def _write_mapping(document: dict[str, Any] | None, target: Path, file_format: str) -> None:
    from titans_finance.ingest.mapping import coerce_mapping, dump_mapping

    if document is None:
        console.print(f"  no mapping written: a {file_format} file has no columns to map")
        return
    written = dump_mapping(coerce_mapping(document), target)
    console.print(
        f"  mapping written to [bold]{written}[/]; edit it and import with --mapping {written}",
        highlight=False,
    )


def _dry_run(
    engine: Any,
    paths: list[Path],
    account: str | None,
    file_format: str,
    mapping: Path | None,
    save_mapping: Path | None,
) -> None:
    """Preview each file: layout, skipped/rejected rows, first rows; write the mapping used."""
    from titans_finance.ingest.preview import preview_file

    failures = 0
    for path in paths:
        try:
            preview = preview_file(
                path, file_format=file_format, account=account, mapping=mapping, engine=engine
            )
        except TitansError as error:
            console.print(f"[bold red]refused[/] {path}: {error.message}")
            failures += 1
            continue
        print_preview(preview)
        target = save_mapping or path.with_name(path.name + ".mapping.yaml")
        try:
            _write_mapping(preview.mapping, target, preview.format)
        except TitansError as error:
            console.print(f"[bold red]error[/] {error.message}")
            failures += 1
        console.print("  dry run: nothing was stored")
    if failures:
        raise typer.Exit(InputFileError.exit_code)


def print_preview(preview: Any) -> None:
    """The detected layout, skipped and rejected rows, and the first rows as rich tables."""
    layout = preview.layout
    console.print(
        f"[bold]{preview.file}[/] ({preview.format}): {preview.rows} transactions, "
        f"{len(preview.skipped)} skipped, {len(preview.rejects)} rejected",
        highlight=False,
    )
    if preview.mapping_source == "remembered":
        console.print("  using the mapping remembered for this layout", highlight=False)
    if layout is not None:
        detected = Table(title="Detected layout", show_header=False)
        detected.add_column("what")
        detected.add_column("value")
        for label, value in (
            ("sign convention", layout["sign"]),
            ("date order", layout["date_order"]),
            ("decimal separator", layout["decimal"]),
            ("encoding", layout["encoding"]),
            ("delimiter", repr(layout["delimiter"])),
            ("header line", layout["header_line"] or "none (headerless)"),
            ("continuation lines joined", layout["continuation_lines"]),
        ):
            detected.add_row(label, str(value))
        console.print(detected)
        columns = Table(title="Columns -> fields")
        columns.add_column("column")
        columns.add_column("field")
        for column, field in layout["columns"].items():
            columns.add_row(column, field or "[dim](not used)[/]")
        console.print(columns)
        for note in layout["notes"]:
            console.print(f"  note: {note}", highlight=False)
    for warning in preview.warnings:
        console.print(f"  [yellow]warning[/] {warning}", highlight=False)
    for row in preview.skipped[:10]:
        console.print(f"  skipped {row.reason}: {row.raw}", highlight=False, markup=False)
    for row in preview.rejects[:10]:
        console.print(f"  rejected {row.reason}", highlight=False, markup=False)
    frame = preview.rows_preview.head(10)
    frame = frame[[c for c in frame.columns if frame[c].notna().any()]]
    rows = Table(title=f"First {len(frame)} rows as they would be stored")
    for column in frame.columns:
        rows.add_column(
            str(column),
            justify="right" if column == "Amount" else "left",
            no_wrap=column in ("Date", "Amount"),
        )
    for record in frame.itertuples(index=False, name=None):
        rows.add_row(*("" if v is None or v != v else str(v) for v in record))
    console.print(rows)


def audit_import(engine: Any, summary: FileSummary) -> None:
    """Record a command-line import in the audit log."""
    from titans_finance.auth.store import record_audit
    from titans_finance.cli.access import cli_actor

    record_audit(
        engine,
        actor=cli_actor(),
        action="import",
        target=str(summary.import_id),
        detail=summary.counts(),
    )


def _print_summary(summaries: list[FileSummary]) -> None:
    table = Table(title="Import summary")
    # The skipped column (summary lines left out) shows only when a file had some.
    with_skipped = any(s.skipped for s in summaries)
    headers = ["file", "format", "read", "inserted", "duplicates", "rejected"]
    headers += ["skipped"] if with_skipped else []
    for column in (*headers, "balance breaks"):
        table.add_column(column, justify="left" if column in ("file", "format") else "right")
    for s in summaries:
        counts = [s.read, s.inserted, s.duplicates, s.rejected]
        counts += [s.skipped] if with_skipped else []
        table.add_row(s.file, s.format, *map(str, counts), str(len(s.balance_breaks)))
    if summaries:
        console.print(table)
    for s in summaries:
        if s.mapping_source == "remembered":
            console.print(f"  {s.file}: read with the mapping remembered for its layout")
        for warning in s.warnings:
            console.print(f"  [yellow]warning[/] {s.file}: {warning}", highlight=False)
        for row in s.skipped_rows[:5]:
            console.print(f"  skipped {s.file} {row.reason}", highlight=False, markup=False)
        if len(s.skipped_rows) > 5:
            console.print(f"  … and {len(s.skipped_rows) - 5} more skipped rows in {s.file}")
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

"""`titans pipeline run | step | runs`: the scheduled loop that keeps the models fresh."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

console = Console()
pipeline_app = typer.Typer(
    help="Ingest the inbox, retrain when enough changed, promote better models.",
    no_args_is_help=True,
)


def _print_run(run: dict[str, Any]) -> None:
    status = run["status"]
    colour = {"succeeded": "green", "failed": "red", "running": "yellow"}.get(status, "white")
    console.print(
        f"run {run['id']} [{colour}]{status}[/]: {run['files_ingested']} file(s) imported, "
        f"{run['files_skipped']} already imported, {run['files_rejected']} rejected, "
        f"{run['rows_inserted']} new rows; "
        + (f"retrained ({run['retrain_reason']})" if run["retrained"] else "no retrain")
        + (f" — {run['retrain_reason']}" if not run["retrained"] and run["retrain_reason"] else ""),
        highlight=False,
    )
    for decision in run["decisions"]:
        console.print(
            f"  {decision['model_type']}: {decision['status']} — {decision['reason']}",
            highlight=False,
        )
    if run["error"]:
        console.print(f"  [red]error:[/] {run['error']}", highlight=False)


@pipeline_app.command("run")
def run(
    force: bool = typer.Option(False, "--force", help="Retrain whatever the thresholds say."),
    as_json: bool = typer.Option(False, "--json", help="Print the run record as JSON."),
) -> None:
    """One run: ingest the inbox, retrain if due, evaluate, promote, check serving can load."""
    from titans_finance.config import get_settings
    from titans_finance.pipeline import run_pipeline

    record = run_pipeline(get_settings(), force=force, trigger="cli")
    if as_json:
        typer.echo(json.dumps(record, default=str))
    else:
        _print_run(record)


@pipeline_app.command("step")
def step(
    name: str = typer.Argument(..., help="ingest | train | evaluate | promote | reload"),
    run_id: str = typer.Option(..., "--run-id", help="The run's external id (Airflow's run id)."),
    force: bool = typer.Option(
        False, "--force", help="train: retrain whatever the thresholds say."
    ),
    trigger: str = typer.Option("airflow", "--trigger", help="Who started the run."),
) -> None:
    """One step of a run, as an orchestrator task (the last step, reload, finishes the run)."""
    from titans_finance.config import get_settings
    from titans_finance.pipeline import run_step

    record = run_step(name, get_settings(), external_id=run_id, force=force, trigger=trigger)
    console.print(f"run {record['id']} ({run_id}): {name} done, status {record['status']}")


@pipeline_app.command("runs")
def runs(
    limit: int = typer.Option(20, "--limit", min=1, max=1000, help="How many runs to show."),
    as_json: bool = typer.Option(False, "--json", help="Print the runs as JSON."),
) -> None:
    """Recent runs, newest first: status, counts, retrain reason, decisions, errors."""
    from titans_finance.config import get_settings
    from titans_finance.storage.db import get_engine
    from titans_finance.storage.pipeline_runs import list_runs

    records = list_runs(get_engine(get_settings().database_url), limit=limit)
    if as_json:
        typer.echo(json.dumps(records, default=str))
        return
    if not records:
        console.print("no pipeline runs yet; start one with `titans pipeline run`")
        return
    table = Table(title="Pipeline runs")
    for column in ("id", "status", "started", "seconds", "files", "rows", "retrain", "promoted"):
        table.add_column(column)
    table.add_column("error / reason", overflow="fold")
    for r in records:
        seconds = sum((r["details"].get("seconds") or {}).values())
        table.add_row(
            str(r["id"]),
            r["status"],
            (r["started_at"] or "")[:19],
            f"{seconds:.1f}",
            f"{r['files_ingested']}+{r['files_skipped']}/{r['files_rejected']}✗",
            str(r["rows_inserted"]),
            "yes" if r["retrained"] else "no",
            ", ".join(d["model_type"] for d in r["decisions"] if d["status"] == "promoted") or "-",
            r["error"] or r["retrain_reason"] or "",
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add the `pipeline` command group."""
    app.add_typer(pipeline_app, name="pipeline")


__all__ = ["register"]

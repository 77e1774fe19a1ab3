"""`titans batch-score`: score large canonical CSV files with Dask."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

console = Console()


def batch_score(
    model: str = typer.Argument(..., help="category|amount|anomaly"),
    inputs: list[str] = typer.Option(..., "--input", "-i", help="CSV file or glob (repeatable)."),
    output_dir: Path = typer.Option(..., "--output-dir", "-o", help="Folder for part-*.csv."),
    models_dir: Path | None = typer.Option(None, "--models-dir", help="Trained models folder."),
    blocksize: str = typer.Option("64MB", "--blocksize", help="Partition size, e.g. 64MB."),
    scheduler: str = typer.Option("threads", "--scheduler", help="threads|processes|synchronous"),
) -> None:
    """Score canonical CSV files partition by partition with Dask (one model call per partition)."""
    from titans_finance.config import get_settings
    from titans_finance.models.catalog import model_class
    from titans_finance.scale.batch import score_files

    directory = models_dir or get_settings().models_dir
    loaded = model_class(model).load(directory)
    with console.status(f"scoring with the {model} model"):
        rows = score_files(loaded, inputs, output_dir, blocksize=blocksize, scheduler=scheduler)
    console.print(f"scored {rows:,} rows into {output_dir}")


def register(app: typer.Typer) -> None:
    """Add the batch-score command."""
    app.command("batch-score")(batch_score)

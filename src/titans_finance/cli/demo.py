"""`titans demo`: ingest the bundled sample, train every model, serve the API and dashboard."""

from __future__ import annotations

import subprocess
import sys
import time
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

if TYPE_CHECKING:
    import pandas as pd

console = Console()
SAMPLE_FILE = "personal_transactions.csv"


def sample_path() -> Path:
    """Path of the bundled sample export."""
    return Path(str(resources.files("titans_finance.sample_data").joinpath(SAMPLE_FILE)))


def demo(
    api_port: int = typer.Option(8000, "--api-port", help="Port of the API."),
    dashboard_port: int = typer.Option(8501, "--dashboard-port", help="Port of the dashboard."),
    serve: bool = typer.Option(True, "--serve/--no-serve", help="Start the API and dashboard."),
) -> None:
    """Ingest the bundled sample data, train the models, then serve the API and dashboard."""
    from titans_finance.config import generate_development_key, get_settings
    from titans_finance.errors import ConfigurationError
    from titans_finance.ingest.pipeline import ingest_file
    from titans_finance.storage.db import get_engine
    from titans_finance.storage.repository import load_transactions

    settings = get_settings()
    engine = get_engine(settings.database_url)
    with console.status("ingesting the bundled sample"):
        summary = ingest_file(engine, sample_path(), display_name=SAMPLE_FILE)
    console.print(
        f"[bold]sample[/]: read {summary.read}, inserted {summary.inserted}, "
        f"duplicates {summary.duplicates}, rejected {summary.rejected}"
    )
    _train_all(load_transactions(engine), settings.models_dir)
    if not serve:
        return
    keys = [key.get_secret_value() for key in settings.api_keys]
    if not keys:
        if settings.is_production:
            raise ConfigurationError("production needs TITANS_API_KEYS; no default key exists")
        keys = [generate_development_key()]
    _serve(keys[0], api_port, dashboard_port)


def _train_all(frame: pd.DataFrame, models_dir: Path) -> None:
    from titans_finance.config import get_settings
    from titans_finance.errors import TitansError
    from titans_finance.models.catalog import available_models
    from titans_finance.training import train_model

    for model_type in available_models():
        with console.status(f"training {model_type}"):
            try:
                result = train_model(model_type, frame, models_dir, settings=get_settings())
            except TitansError as exc:
                console.print(f"[yellow]{model_type}[/]: not trained — {exc.message}")
                continue
        metrics = ", ".join(f"{k} {v:.3g}" for k, v in list(result.metrics.items())[:4])
        console.print(
            f"[green]{model_type}[/]: version {result.version} on {result.training_rows} rows"
            f" ({result.seconds:.1f} s){'; ' + metrics if metrics else ''}",
            highlight=False,
        )


def _serve(key: str, api_port: int, dashboard_port: int) -> None:
    from titans_finance.config import child_environment

    api_url = f"http://127.0.0.1:{api_port}"
    env = child_environment(
        {
            "TITANS_API_KEYS": key,
            "TITANS_DASHBOARD_API_URL": api_url,
            "TITANS_DASHBOARD_API_KEY": key,
        }
    )
    command = [sys.executable, "-m", "titans_finance"]
    processes = [
        subprocess.Popen([*command, "serve", "--port", str(api_port)], env=env),  # noqa: S603
        subprocess.Popen([*command, "dashboard", "--port", str(dashboard_port)], env=env),  # noqa: S603
    ]
    console.print(
        f"\n[bold]API[/]        {api_url}/docs\n"
        f"[bold]Dashboard[/]  http://127.0.0.1:{dashboard_port}\n"
        f"[bold]API key[/]    {key}   (development key: use `Authorization: Bearer <key>`)\n"
        "Press Ctrl-C to stop.",
        highlight=False,
    )
    try:
        while all(p.poll() is None for p in processes):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=10)


def register(app: typer.Typer) -> None:
    """Add the demo command."""
    app.command("demo")(demo)

"""`titans serve`: run the API with uvicorn."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the `serve` command to the `titans` app."""
    app.command("serve")(serve)


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="TCP port."),
    workers: int = typer.Option(
        1, "--workers", min=1, max=64, help="Worker processes (share limits through Redis)."
    ),
    access_log: bool = typer.Option(
        False, "--access-log/--no-access-log", help="Log every request (metrics count them)."
    ),
) -> None:
    """Serve the HTTP API (docs at /docs); needs TITANS_API_KEYS in production."""
    import os
    import shutil
    import tempfile

    import uvicorn
    from pydantic import SecretStr
    from rich.console import Console

    from titans_finance.config import generate_development_key, get_settings

    settings = get_settings()
    err = Console(stderr=True)
    if not settings.api_keys and not settings.is_production:
        # One key for every worker, shown once; each start gets a fresh random key.
        key = generate_development_key()
        err.print(
            f"[bold yellow]development API key:[/] {key}  (set TITANS_API_KEYS to choose your own)",
            highlight=False,
        )
        settings = settings.model_copy(update={"api_keys": [SecretStr(key)]})
        if workers > 1:
            os.environ["TITANS_API_KEYS"] = key  # worker processes read their settings anew
            get_settings.cache_clear()

    _check_database(settings.database_url)
    from titans_finance.api.main import create_app

    if workers == 1:
        application = create_app(settings)  # refuses production without keys
        uvicorn.run(application, host=host, port=port, access_log=access_log, log_config=None)
        return
    create_app(settings)  # validate the configuration before starting workers
    # Workers share their metrics through files (prometheus-client multiprocess mode); the
    # folder must be fresh for every start.
    metrics_dir = tempfile.mkdtemp(prefix="titans-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    try:
        uvicorn.run(
            "titans_finance.api.main:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            access_log=access_log,
            log_config=None,
        )
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)


def _check_database(url: str) -> None:
    """Fail fast, in one line, when the configured database cannot be reached at start."""
    from titans_finance.storage.db import check_connection, create_db_engine

    engine = create_db_engine(url)
    try:
        check_connection(engine)
    finally:
        engine.dispose()


__all__ = ["register", "serve"]

"""The `titans` command line: one Typer app, command groups registered from their modules."""

from __future__ import annotations

import logging
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from titans_finance.errors import TitansError

err_console = Console(stderr=True)


class TitansGroup(TyperGroup):
    """Maps every TitansError to its exit code and a one-line message (no stack trace)."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except TitansError as exc:
            _print_error(exc.message)
            raise typer.Exit(exc.exit_code) from None
        except Exception as exc:
            mapped = _database_error(exc)
            if mapped is None:
                raise
            _print_error(mapped.message)
            raise typer.Exit(mapped.exit_code) from None


def _print_error(message: str) -> None:
    # One line however narrow the terminal (container logs read line by line).
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)


def _database_error(exc: Exception) -> TitansError | None:
    """The TitansError of a database failure that escaped the library (None: not one)."""
    from sqlalchemy.exc import DataError, DisconnectionError, InterfaceError, OperationalError

    from titans_finance.errors import StorageError, ValidationError

    if isinstance(exc, OperationalError | InterfaceError | DisconnectionError):
        logging.getLogger(__name__).warning("database error: %s", exc)
        return StorageError("the database is unavailable; check it runs and retry")
    if isinstance(exc, DataError):
        return ValidationError(
            "the database refused a value: it contains a NUL character or is out of range"
        )
    return None


app = typer.Typer(
    cls=TitansGroup,
    name="titans",
    help="Titans Finance: ingest bank exports, train models, forecast, serve API and dashboard.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _configure(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log debug messages."),
) -> None:
    """Configure logging once for the command line."""
    from titans_finance.config import get_settings

    level = "DEBUG" if verbose else get_settings().log_level.upper()
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("alembic", "mlflow", "urllib3", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _register_all() -> None:
    from titans_finance.cli import ingest, transactions

    ingest.register(app)
    transactions.register(app)
    for module_name in (
        "models",
        "forecast",
        "serve",
        "dashboard",
        "demo",
        "scale",
        "backup",
        "access",
        "pipeline",
        "db",
    ):
        try:
            module = __import__(f"titans_finance.cli.{module_name}", fromlist=["register"])
        except ModuleNotFoundError as exc:
            if exc.name != f"titans_finance.cli.{module_name}":
                raise
            continue
        module.register(app)


_register_all()

__all__ = ["app"]

"""The `titans` command line: one Typer app, command groups registered from their modules."""

from __future__ import annotations

import logging
from typing import Any

import typer
from rich.console import Console
from typer.core import TyperGroup

from titans_finance.errors import TitansError

err_console = Console(stderr=True)


class TitansGroup(TyperGroup):
    """Maps every TitansError to its exit code and a one-line message (no stack trace)."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except TitansError as exc:
            err_console.print(f"[bold red]error:[/] {exc.message}", highlight=False)
            raise typer.Exit(exc.exit_code) from None


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
    for module_name in ("models", "forecast", "serve", "dashboard", "demo", "scale", "access"):
        try:
            module = __import__(f"titans_finance.cli.{module_name}", fromlist=["register"])
        except ModuleNotFoundError as exc:
            if exc.name != f"titans_finance.cli.{module_name}":
                raise
            continue
        module.register(app)


_register_all()

__all__ = ["app"]

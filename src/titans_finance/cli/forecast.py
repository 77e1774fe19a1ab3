"""`titans forecast` and `titans recurring`: cash-flow forecast and recurring streams."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    import pandas as pd

    from titans_finance.config import Settings
    from titans_finance.models.cashflow import CashflowModel
    from titans_finance.models.recurring import RecurringModel

console = Console()


def _load_frame(settings: Settings, data: Path | None, model_type: str) -> pd.DataFrame:
    """Transactions from ``data`` (any supported export) or, without it, from the store: the
    training window ``model_type`` learns from (every account)."""
    from titans_finance.training import load_training_frame

    return load_training_frame(settings, data, model_type)


def _models_dir(settings: Settings, models_dir: Path | None) -> Path:
    return Path(models_dir) if models_dir is not None else Path(settings.models_dir)


def _cashflow(data: Path | None, models_dir: Path | None, days: int) -> CashflowModel:
    from titans_finance.config import get_settings
    from titans_finance.errors import ModelNotTrainedError
    from titans_finance.models.cashflow import CashflowModel

    settings = get_settings()
    if data is None:
        try:
            return CashflowModel.load(_models_dir(settings, models_dir))
        except ModelNotTrainedError:
            pass  # no trained model: fit a fresh one on the stored transactions
    # the store may hold scheduled payments (dated after today): left out with a warning; an
    # export given with --data must not contain any
    return CashflowModel(horizon=days, drop_future_rows=data is None).fit(
        _load_frame(settings, data, CashflowModel.model_type)
    )


def _recurring(data: Path | None, models_dir: Path | None) -> RecurringModel:
    from titans_finance.config import get_settings
    from titans_finance.errors import ModelNotTrainedError
    from titans_finance.models.recurring import RecurringModel

    settings = get_settings()
    if data is None:
        directory = _models_dir(settings, models_dir)
        try:
            return RecurringModel.load(directory)
        except ModelNotTrainedError:
            pass
        try:
            from titans_finance.models.cashflow import CashflowModel

            return CashflowModel.load(directory).recurring_
        except ModelNotTrainedError:
            pass  # nothing trained: detect on the stored transactions
    return RecurringModel().fit(_load_frame(settings, data, RecurringModel.model_type))


def forecast(
    output: Path = typer.Option(..., "--output", "-o", help="CSV file for the daily forecast."),
    data: Path | None = typer.Option(
        None, "--data", help="Fit a fresh model on this export instead of the trained one."
    ),
    days: int = typer.Option(30, "--days", "-d", help="Days to forecast (1..366)."),
    by_account: bool = typer.Option(False, "--by-account", help="One row per day and account."),
    account: str | None = typer.Option(None, "--account", "-a", help="Forecast one account."),
    models_dir: Path | None = typer.Option(
        None, "--models-dir", help="Trained models folder (default: settings.models_dir)."
    ),
) -> None:
    """Forecast daily net flows and balances with intervals; write a CSV, print a summary."""
    from titans_finance.models.cashflow import check_horizon

    check_horizon(days)
    model = _cashflow(data, models_dir, days)
    result = model.forecast(days, by_account=by_account, account=account)
    from titans_finance.export import write_csv

    daily = result.daily.copy()
    daily["date"] = daily["date"].dt.date
    write_csv(daily, output)
    table = Table(title=f"Cash-flow forecast, {days} days ({output})")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for key, value in result.summary.items():
        shown = f"{value:,.2f}" if isinstance(value, float) and key != "coverage" else str(value)
        if key == "probability_below_zero":
            shown = f"{value:.1%}"
            key = "probability_below_zero (any day's closing balance < 0)"
        table.add_row(key, shown)
    console.print(table)


def recurring(
    data: Path | None = typer.Option(None, "--data", help="Detect streams in this export."),
    models_dir: Path | None = typer.Option(
        None, "--models-dir", help="Trained models folder (default: settings.models_dir)."
    ),
    output: Path | None = typer.Option(None, "--output", "-o", help="CSV file for the streams."),
    active_only: bool = typer.Option(False, "--active-only", help="Hide stopped streams."),
) -> None:
    """List recurring streams (salary, rent, subscriptions) with their next expected date."""
    model = _recurring(data, models_dir)
    streams = model.streams(active_only=active_only)
    if output is not None:
        from titans_finance.export import write_csv

        write_csv(streams, output)
    table = Table(title=f"Recurring streams ({len(streams)})")
    for column in ("account", "merchant", "period", "typical", "next expected", "active"):
        table.add_column(column, justify="right" if column == "typical" else "left")
    for row in streams.head(200).itertuples(index=False):
        table.add_row(
            Text(str(row.account)),
            Text(str(row.merchant)),
            str(row.period),
            f"{row.typical_amount:,.2f}",
            str(row.next_expected_date)[:10],
            "yes" if row.active else "stopped",
        )
    console.print(table)
    if len(streams) > 200:
        console.print(f"... {len(streams) - 200} more (use --output to get all)")


def register(app: typer.Typer) -> None:
    """Add the `forecast` and `recurring` commands to the app."""
    app.command("forecast")(forecast)
    app.command("recurring")(recurring)


__all__ = ["register"]

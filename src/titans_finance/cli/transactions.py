"""`titans transactions list|export`: query the store."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from titans_finance.domain import TransactionFilter

console = Console()
transactions_app = typer.Typer(help="List and export stored transactions.", no_args_is_help=True)


def _filter(
    date_from: datetime | None,
    date_to: datetime | None,
    account: list[str] | None,
    category: list[str] | None,
    type_: list[str] | None,
    text: str | None,
    limit: int | None,
) -> TransactionFilter:
    from titans_finance.domain import TransactionFilter

    return TransactionFilter(
        date_from=date_from.date() if date_from else None,
        date_to=date_to.date() if date_to else None,
        accounts=account or (),
        categories=category or (),
        types=type_ or (),
        text=text,
        limit=limit,
        sort="date",
        descending=True,
    )


_FROM = typer.Option(None, "--from", help="First date (YYYY-MM-DD).", formats=["%Y-%m-%d"])
_TO = typer.Option(None, "--to", help="Last date (YYYY-MM-DD).", formats=["%Y-%m-%d"])
_ACCOUNT = typer.Option(None, "--account", help="Account name (repeatable).")
_CATEGORY = typer.Option(None, "--category", help="Category (repeatable).")
_TYPE = typer.Option(None, "--type", help="Income|Expense|Transfer (repeatable).")
_TEXT = typer.Option(None, "--text", help="Text in the description or merchant.")


@transactions_app.command("list")
def list_transactions(
    date_from: datetime | None = _FROM,
    date_to: datetime | None = _TO,
    account: list[str] | None = _ACCOUNT,
    category: list[str] | None = _CATEGORY,
    type_: list[str] | None = _TYPE,
    text: str | None = _TEXT,
    limit: int = typer.Option(50, "--limit", min=1, help="How many rows to show."),
) -> None:
    """Show the newest matching transactions."""
    from titans_finance import domain as d
    from titans_finance.config import get_settings
    from titans_finance.storage.db import get_engine
    from titans_finance.storage.repository import count_transactions, load_transactions

    engine = get_engine(get_settings().database_url)
    flt = _filter(date_from, date_to, account, category, type_, text, limit)
    frame = load_transactions(engine, flt)
    total = count_transactions(engine, flt)
    table = Table(title=f"{len(frame)} of {total} transactions")
    for column in ("id", "Date", "Account", "Description", "Category", "Amount"):
        table.add_column(column, justify="right" if column in ("id", "Amount") else "left")
    dates = frame[d.DATE].dt.strftime("%Y-%m-%d").tolist()
    for row, day in zip(frame.itertuples(index=False), dates, strict=True):
        # Stored text is shown as plain text: "[link=...]" in a description is not markup.
        table.add_row(
            str(row.id),
            day,
            Text(str(row.Account)),
            Text(str(row.Description)[:60]),
            Text(str(row.Category or "")),
            f"{row.Amount:,.2f}",
        )
    console.print(table)


@transactions_app.command("export")
def export_transactions(
    output: Path = typer.Option(..., "--output", "-o", help="CSV file to write."),
    date_from: datetime | None = _FROM,
    date_to: datetime | None = _TO,
    account: list[str] | None = _ACCOUNT,
    category: list[str] | None = _CATEGORY,
    type_: list[str] | None = _TYPE,
    text: str | None = _TEXT,
) -> None:
    """Export matching transactions to CSV, escaped against spreadsheet formula injection."""
    from titans_finance import domain as d
    from titans_finance.config import get_settings
    from titans_finance.export import write_rows
    from titans_finance.storage.db import get_engine
    from titans_finance.storage.repository import iter_transactions

    engine = get_engine(get_settings().database_url)
    columns = ["id", *d.CANONICAL_COLUMNS, d.BALANCE, d.MERCHANT]
    flt = _filter(date_from, date_to, account, category, type_, text, None)
    with output.open("w", encoding="utf-8", newline="") as out:
        count = write_rows(columns, iter_transactions(engine, columns, flt), out)
    console.print(f"wrote {count} transactions to {output}")


def register(app: typer.Typer) -> None:
    """Add the transactions command group."""
    app.add_typer(transactions_app, name="transactions")

"""`titans db upgrade`: bring the database schema to the latest revision (Alembic to head)."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.markup import escape

console = Console()
db_app = typer.Typer(help="Database schema (the compose stack's one-shot `migrate` runs this).")


def register(app: typer.Typer) -> None:
    """Add the `db` command group to the `titans` app."""
    app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def upgrade() -> None:
    """Migrate TITANS_DATABASE_URL to the latest schema; running it again changes nothing.

    With TITANS_OWNER_USERNAME and TITANS_OWNER_PASSWORD both set, it then creates that owner
    when missing (as `titans users bootstrap` does).
    """
    from titans_finance.cli.access import bootstrap_owner
    from titans_finance.config import get_settings
    from titans_finance.storage.db import (
        check_connection,
        create_db_engine,
        current_revision,
        migrate,
    )

    settings = get_settings()
    engine = create_db_engine(settings.database_url)
    owner: tuple[str, bool] | None = None
    try:
        check_connection(engine)
        before = current_revision(engine)
        migrate(engine)
        after = current_revision(engine)
        if settings.owner_username and settings.owner_password is not None:
            owner = bootstrap_owner(engine)
    finally:
        engine.dispose()
    where = engine.url.render_as_string(hide_password=True)
    if before == after:
        console.print(
            f"database {where} is up to date (revision {after})", highlight=False, soft_wrap=True
        )
    else:
        console.print(
            f"database {where} upgraded from revision {before or '(empty)'} to {after}",
            highlight=False,
            soft_wrap=True,
        )
    if owner is not None:
        username, created = owner
        state = "created" if created else "already exists"
        console.print(f"owner {escape(username)} {state}", highlight=False)


__all__ = ["db_app", "register", "upgrade"]

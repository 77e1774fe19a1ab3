"""Alembic environment: runs against the connection handed over by storage.db.migrate."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from titans_finance.storage.tables import metadata

config = context.config
target_metadata = metadata


def run_migrations() -> None:
    """Run migrations online, on the given connection or a URL from the config."""
    connection = config.attributes.get("connection")
    if connection is None:
        engine = create_engine(config.get_main_option("sqlalchemy.url") or "sqlite://")
        with engine.begin() as own_connection:
            context.configure(
                connection=own_connection, target_metadata=target_metadata, render_as_batch=True
            )
            context.run_migrations()
        return
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    context.run_migrations()


run_migrations()

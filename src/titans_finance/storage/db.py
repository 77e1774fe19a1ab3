"""Engine creation and schema migration (Alembic) for SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from titans_finance.errors import ConfigurationError, StorageError

logger = logging.getLogger(__name__)
MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def _normalise_url(url: str) -> str:
    """Use psycopg 3 for plain ``postgresql://`` URLs."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _set_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA cache_size=-262144")  # 256 MiB: bulk loads touch big indexes
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.close()


def create_db_engine(url: str) -> Engine:
    """A new engine for ``url``; SQLite files get their folder created and WAL mode."""
    try:
        parsed = make_url(_normalise_url(url))
    except ArgumentError as exc:
        raise ConfigurationError(f"TITANS_DATABASE_URL {url!r} is not a database URL") from exc
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, connect_args={"timeout": 30})
        event.listen(engine, "connect", _set_sqlite_pragmas)
        return engine
    try:
        return create_engine(parsed, pool_pre_ping=True)
    except ImportError as exc:
        raise ConfigurationError(
            f"TITANS_DATABASE_URL uses {parsed.drivername!r}, whose driver is not installed; "
            "use postgresql:// or sqlite://"
        ) from exc


@lru_cache(maxsize=8)
def get_engine(url: str) -> Engine:
    """The process-wide engine for ``url``, migrated to the latest schema on first use."""
    engine = create_db_engine(url)
    migrate(engine)
    return engine


def check_connection(engine: Engine) -> None:
    """Connect once and run ``SELECT 1``; StorageError (one clear line) when that fails."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except DBAPIError as exc:
        raise StorageError(
            f"cannot reach the database {engine.url.render_as_string(hide_password=True)}: "
            f"{' '.join(str(exc.orig).split())}; check TITANS_DATABASE_URL"
        ) from exc


def current_revision(bind: Engine | Connection) -> str | None:
    """The Alembic revision the database is at (None for an empty, unmigrated database)."""
    from alembic.runtime.migration import MigrationContext

    if isinstance(bind, Connection):
        return MigrationContext.configure(bind).get_current_revision()
    with bind.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def migrate(engine: Engine) -> None:
    """Bring the database schema to the latest Alembic revision."""
    from alembic import command

    config = alembic_config()
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except OperationalError as exc:
        # Host, port, user and database name go to the log only: this message can reach an
        # API client.
        logger.warning(
            "cannot reach the database %s: %s",
            engine.url.render_as_string(hide_password=True),
            exc.orig,
        )
        raise StorageError(
            f"cannot reach the {engine.dialect.name} database "
            f"({type(exc.orig).__name__}); check TITANS_DATABASE_URL and that the server runs"
        ) from exc


def alembic_config() -> Any:
    """The Alembic configuration of the store's migrations."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def known_revisions() -> set[str]:
    """Every schema revision this installation's migrations know."""
    from alembic.script import ScriptDirectory

    return {
        script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()
    }


def head_revision() -> str:
    """The latest schema revision."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def schema_tables(engine: Engine) -> list[str]:
    """Names of the tables present in the database."""
    return sorted(inspect(engine).get_table_names())


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session committed on success, rolled back on error."""
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


__all__ = [
    "alembic_config",
    "check_connection",
    "create_db_engine",
    "current_revision",
    "get_engine",
    "head_revision",
    "known_revisions",
    "migrate",
    "schema_tables",
    "session_scope",
]

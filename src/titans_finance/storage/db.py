"""Engine creation and schema migration (Alembic) for SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError

from titans_finance.errors import ConfigurationError, StorageError

logger = logging.getLogger(__name__)
MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_VERSION_TABLE = "alembic_version"
_MIGRATION_LOCK_KEY = 7_461_746_101  # PostgreSQL advisory lock: one migrate() at a time
_REVISION = re.compile(r"^revision\s*(?::[^=]*)?=\s*[\"']([^\"']+)[\"']", re.MULTILINE)
_DOWN_REVISION = re.compile(r"^down_revision\s*(?::[^=]*)?=\s*(.+)$", re.MULTILINE)


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
    """The process-wide engine for ``url``, migrated to the latest schema on first use.

    A store already at the latest revision costs one query and no Alembic import (a small
    command stays fast); anything else (empty, older, newer, unreachable) goes through
    `migrate`, which upgrades it or raises a clear error.
    """
    engine = create_db_engine(url)
    try:
        revision = current_revision(engine)
    except DBAPIError:
        revision = None  # unreachable or unreadable: `migrate` says so in one line
    else:
        if revision == head_revision():
            return engine
    if revision is not None and revision not in known_revisions():
        raise StorageError(
            f"the database is at schema revision {revision!r}, which this installation does "
            "not know (written by a newer Titans Finance?); upgrade titans-finance"
        )
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
    if isinstance(bind, Engine):
        with bind.connect() as connection:
            return current_revision(connection)
    if not inspect(bind).has_table(_VERSION_TABLE):
        return None
    rows = bind.execute(text(f"SELECT version_num FROM {_VERSION_TABLE}")).scalars().all()
    return str(rows[0]) if len(rows) == 1 else None


def migrate(engine: Engine) -> None:
    """Bring the database schema to the latest Alembic revision."""
    from alembic import command

    config = alembic_config()
    try:
        with engine.connect() as connection:
            sqlite = connection.dialect.name == "sqlite"
            if sqlite:
                # A migration that rebuilds a table drops a parent of foreign keys: SQLite's
                # documented procedure turns enforcement off (outside a transaction only),
                # checks every key before committing, then turns it on again.
                connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
                connection.commit()
            try:
                with connection.begin():
                    if sqlite:
                        # pysqlite opens no transaction before DDL: without this BEGIN a
                        # table rebuild's CREATE TABLE commits on its own (a failed upgrade
                        # left a stray _alembic_tmp_ table behind), and IMMEDIATE makes a
                        # second process starting at once wait, then find the store upgraded.
                        connection.exec_driver_sql("BEGIN IMMEDIATE")
                    elif connection.dialect.name == "postgresql":
                        # likewise: the second of two workers waits here, then reads head
                        # (without it 0008 failed on the constraint the first one dropped)
                        connection.exec_driver_sql(
                            f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK_KEY})"
                        )
                    before = current_revision(connection)
                    config.attributes["connection"] = connection
                    command.upgrade(config, "head")
                    if sqlite and current_revision(connection) != before:
                        _check_foreign_keys(connection)
            except DBAPIError as exc:
                raise _upgrade_failed(engine, exc) from exc
            finally:
                if sqlite:
                    connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                    connection.commit()
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


def _upgrade_failed(engine: Engine, exc: DBAPIError) -> StorageError:
    """The one-line error of a schema upgrade the database refused (reached, but a statement
    failed: the transaction rolled back); the statement and the driver's message go to the log
    only."""
    logger.warning(
        "schema upgrade of %s failed: %s",
        engine.url.render_as_string(hide_password=True),
        exc.orig,
    )
    return StorageError(
        f"the schema upgrade of the {engine.dialect.name} database failed "
        f"({type(exc.orig).__name__}); nothing was changed; the log has the details"
    )


def _check_foreign_keys(connection: Connection) -> None:
    """Raise StorageError (rolling the migration back) if a SQLite foreign key is broken."""
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
    if broken:
        tables = sorted({str(row[0]) for row in broken})
        raise StorageError(
            f"the schema upgrade would break {len(broken)} foreign keys in {', '.join(tables)}; "
            "nothing was changed"
        )


def alembic_config() -> Any:
    """The Alembic configuration of the store's migrations."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


@lru_cache(maxsize=1)
def _revision_graph() -> dict[str, tuple[str, ...]]:
    """Each migration's revision and the revisions it revises, read from the migration files
    as text: the same answer as Alembic's script directory (a test checks it) without
    importing Alembic, which costs a small command most of its time."""
    graph: dict[str, tuple[str, ...]] = {}
    for path in sorted((MIGRATIONS_DIR / "versions").glob("*.py")):
        source = path.read_text(encoding="utf-8")
        revision = _REVISION.search(source)
        down = _DOWN_REVISION.search(source)
        if revision is None or down is None:
            raise ConfigurationError(f"migration {path.name} names no revision")
        graph[revision.group(1)] = tuple(re.findall(r"[\"']([^\"']+)[\"']", down.group(1)))
    return graph


def known_revisions() -> set[str]:
    """Every schema revision this installation's migrations know."""
    return set(_revision_graph())


def head_revision() -> str:
    """The latest schema revision (the one no other migration revises)."""
    graph = _revision_graph()
    revised = {down for downs in graph.values() for down in downs}
    heads = sorted(set(graph) - revised)
    if len(heads) != 1:
        raise ConfigurationError(f"the migrations have {len(heads)} heads: {', '.join(heads)}")
    return heads[0]


def schema_tables(engine: Engine) -> list[str]:
    """Names of the tables present in the database."""
    return sorted(inspect(engine).get_table_names())


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
]

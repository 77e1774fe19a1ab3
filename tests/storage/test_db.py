from __future__ import annotations

import pytest
from sqlalchemy import Engine

from titans_finance.errors import ConfigurationError, StorageError
from titans_finance.storage.db import create_db_engine, get_engine, migrate, schema_tables

EXPECTED_TABLES = {
    "accounts",
    "alembic_version",
    "anomaly_feedback",
    "budgets",
    "category_feedback",
    "imports",
    "rejected_rows",
    "rules",
    "transactions",
}


def test_migration_creates_every_table(engine: Engine) -> None:
    assert set(schema_tables(engine)) >= EXPECTED_TABLES


def test_migration_is_idempotent(engine: Engine) -> None:
    migrate(engine)
    assert set(schema_tables(engine)) >= EXPECTED_TABLES


def test_sqlite_file_and_folder_are_created(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'nested' / 'dir' / 'titans.db'}"
    engine = get_engine(url)
    assert (tmp_path / "nested" / "dir" / "titans.db").is_file()
    assert "transactions" in schema_tables(engine)
    get_engine.cache_clear()


def test_bad_url_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="not a database URL"):
        create_db_engine("not a url at all")


def test_unreachable_database_is_a_storage_error() -> None:
    engine = create_db_engine("postgresql://nobody@127.0.0.1:1/nothing")
    with pytest.raises(StorageError, match="cannot reach the postgresql database"):
        migrate(engine)

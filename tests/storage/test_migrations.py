"""Upgrades: a store built at the first schema revision, holding data, upgrades to the latest
and keeps its data; upgrading again changes nothing; the models match the migrations
(`alembic check`: no drift) — on SQLite and the real PostgreSQL (issue 15 part 5)."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text

from titans_finance import domain as d
from titans_finance.storage import repository as repo
from titans_finance.storage.db import (
    alembic_config,
    create_db_engine,
    current_revision,
    head_revision,
    known_revisions,
    migrate,
)

FIRST_REVISION = "0001"
NOW = "2024-05-01 10:00:00+00:00"


@pytest.fixture
def bare_url(database_url: str) -> str:
    """The parametrised database with no tables at all."""
    engine = create_db_engine(database_url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return database_url


def test_first_revision_with_data_upgrades_to_head(bare_url: str) -> None:
    engine = create_db_engine(bare_url)
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, FIRST_REVISION)
        conn.execute(
            text(
                "INSERT INTO accounts (id, name, currency, created_at) "
                "VALUES (1, 'Checking', 'USD', :t)"
            ),
            {"t": NOW},
        )
        conn.execute(
            text(
                "INSERT INTO transactions (id, account_id, date, type, description, amount, "
                "category, fingerprint, created_at, updated_at) VALUES "
                "(1, 1, '2024-04-30', 'debit', 'STARBUCKS #12', -4.50, 'Coffee', :f1, :t, :t), "
                "(2, 1, '2024-04-30', 'credit', 'SALARY', 2500.00, NULL, :f2, :t, :t)"
            ),
            {"t": NOW, "f1": "a" * 64, "f2": "b" * 64},
        )
        conn.execute(  # a child of transactions: 0008 rebuilds that table on SQLite
            text(
                "INSERT INTO category_feedback (id, transaction_id, category, created_at) "
                "VALUES (1, 2, 'Income', :t)"
            ),
            {"t": NOW},
        )
        conn.execute(
            text(
                "INSERT INTO rules (id, kind, pattern, category, priority, created_at) "
                "VALUES (1, 'contains', 'starbucks', 'Coffee', 0, :t)"
            ),
            {"t": NOW},
        )
    with engine.connect() as conn:
        assert current_revision(conn) == FIRST_REVISION
    migrate(engine)
    migrate(engine)  # idempotent
    with engine.connect() as conn:
        assert current_revision(conn) == head_revision()
    frame = repo.load_transactions(engine)
    assert sorted(frame[d.DESCRIPTION]) == ["SALARY", "STARBUCKS #12"]
    assert set(frame[d.ACCOUNT]) == {"Checking"}
    coffee = frame.loc[frame[d.DESCRIPTION] == "STARBUCKS #12"].iloc[0]
    assert abs(float(coffee[d.AMOUNT])) == 4.5 and coffee[d.CATEGORY] == "Coffee"
    assert [(r.pattern, r.category) for r in repo.list_rules(engine)] == [("starbucks", "Coffee")]
    with engine.connect() as conn:
        feedback = conn.execute(text("SELECT transaction_id FROM category_feedback")).all()
        assert [row.transaction_id for row in feedback] == [2]
        if engine.dialect.name == "sqlite":  # enforcement is back on after the migration
            assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
            assert conn.execute(text("PRAGMA foreign_key_check")).all() == []
    engine.dispose()


def test_a_migration_breaking_foreign_keys_changes_nothing(tmp_path: Path) -> None:
    # SQLite upgrades with enforcement off: the keys are checked before the commit
    from titans_finance.errors import StorageError

    engine = create_db_engine(f"sqlite:///{tmp_path / 'broken.db'}")
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0007")
    with engine.connect() as conn:  # a store already broken: feedback on a missing row
        conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        conn.execute(
            text(
                "INSERT INTO category_feedback (transaction_id, category, created_at) "
                "VALUES (99, 'Income', :t)"
            ),
            {"t": NOW},
        )
        conn.commit()
        conn.exec_driver_sql("PRAGMA foreign_keys=ON")
    with pytest.raises(StorageError, match="break 1 foreign keys in category_feedback"):
        migrate(engine)
    with engine.connect() as conn:
        assert current_revision(conn) == "0007"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
        tables = conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'"))
        assert not [name for name in tables.scalars() if name.startswith("_alembic_tmp")]
        conn.execute(text("DELETE FROM category_feedback"))  # repaired: the upgrade now runs
        conn.commit()
    migrate(engine)
    with engine.connect() as conn:
        assert current_revision(conn) == head_revision()
    engine.dispose()


def test_a_refused_upgrade_statement_is_one_clear_error_and_changes_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # the database is reached, but a statement of the upgrade fails (here: a table left in
    # the way of 0008's rebuild): a schema error, not "cannot reach the database"
    from titans_finance.errors import StorageError

    engine = create_db_engine(f"sqlite:///{tmp_path / 'blocked.db'}")
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0007")
        conn.execute(text("CREATE TABLE _alembic_tmp_transactions (id INTEGER)"))
    with pytest.raises(StorageError) as raised:
        migrate(engine)
    message = str(raised.value)
    assert message.startswith("the schema upgrade of the sqlite database failed")
    assert "nothing was changed" in message and "CREATE" not in message
    assert "_alembic_tmp_transactions" in caplog.text  # the detail is in the log only
    with engine.connect() as conn:
        assert current_revision(conn) == "0007"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
    engine.dispose()


def test_two_processes_upgrading_a_store_at_once_both_succeed(
    bare_url: str, tmp_path: Path
) -> None:
    # API workers starting together: the second waits for the first, then finds head
    import subprocess
    import sys
    import time

    url = bare_url
    engine = create_db_engine(url)
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0007")
    script = (  # imported and connected first, then both upgrade at the same moment
        "import sys, time, pathlib; from titans_finance.storage.db import create_db_engine, "
        "migrate; engine = create_db_engine(sys.argv[1]); engine.connect().close(); "
        "go = pathlib.Path(sys.argv[2]); pathlib.Path(sys.argv[3]).touch()\n"
        "while not go.exists(): time.sleep(0.005)\n"
        "migrate(engine)"
    )
    go = tmp_path / "go"
    ready = [tmp_path / f"ready{i}" for i in range(2)]
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", script, url, str(go), str(flag)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for flag in ready
    ]
    deadline = time.monotonic() + 60
    while not all(flag.exists() for flag in ready) and time.monotonic() < deadline:
        time.sleep(0.01)
    go.touch()
    errors = [worker.communicate(timeout=120)[1] for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0], errors
    with engine.connect() as conn:
        assert current_revision(conn) == head_revision()
    from sqlalchemy import inspect

    assert not [name for name in inspect(engine).get_table_names() if "_alembic_tmp" in name]
    engine.dispose()


def test_no_drift_between_tables_and_migrations(bare_url: str) -> None:
    engine = create_db_engine(bare_url)
    migrate(engine)
    config = alembic_config()
    with engine.connect() as conn:
        config.attributes["connection"] = conn
        command.check(config)  # raises AutogenerateDiffsDetected on drift
    engine.dispose()


def test_fingerprints_compare_bytewise(bare_url: str) -> None:
    # migration 0008: "C" on PostgreSQL, where the drift check does not compare collations
    from titans_finance.storage.tables import Transaction

    engine = create_db_engine(bare_url)
    migrate(engine)
    fingerprint = Transaction.c.fingerprint.type.compile(dialect=engine.dialect)
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            assert fingerprint == 'VARCHAR(64) COLLATE "C"'
            collation = conn.execute(
                text(
                    "SELECT collation_name FROM information_schema.columns "
                    "WHERE table_name = 'transactions' AND column_name = 'fingerprint'"
                )
            ).scalar_one()
            assert collation == "C"
        else:
            assert fingerprint == "VARCHAR(64)"  # SQLite compares text bytewise (BINARY)
            assert conn.execute(text("SELECT 'A' < 'a' AND 'b' > 'B'")).scalar_one() == 1
    engine.dispose()


def test_the_chain_has_one_head_from_the_first_revision() -> None:
    assert FIRST_REVISION in known_revisions()
    assert head_revision() in known_revisions()


def test_revisions_read_as_text_agree_with_alembic() -> None:
    # get_engine checks the store's revision without importing Alembic: same answer
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(alembic_config())
    assert head_revision() == scripts.get_current_head()
    assert known_revisions() == {script.revision for script in scripts.walk_revisions()}


def test_get_engine_upgrades_an_older_store_and_refuses_a_newer_one(bare_url: str) -> None:
    from titans_finance.errors import StorageError
    from titans_finance.storage.db import get_engine

    engine = create_db_engine(bare_url)
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, FIRST_REVISION)
    get_engine.cache_clear()
    assert current_revision(get_engine(bare_url)) == head_revision()
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
    get_engine.cache_clear()
    with pytest.raises(StorageError, match=r"9999_from_the_future.*newer Titans"):
        get_engine(bare_url)
    get_engine.cache_clear()
    engine.dispose()

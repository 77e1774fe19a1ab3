"""`titans users | keys | audit` through the runner, on SQLite and the real PostgreSQL."""

from __future__ import annotations

import json

import pytest
import typer
from sqlalchemy import Engine
from typer.testing import CliRunner

from titans_finance.auth import Role, store
from titans_finance.auth.keys import key_digest
from titans_finance.cli.access import parse_expiry, register
from titans_finance.config import Settings, get_settings
from titans_finance.storage.db import get_engine

PASSWORD = "correct horse battery staple"


@pytest.fixture
def app() -> typer.Typer:
    application = typer.Typer()
    register(application)
    return application


@pytest.fixture
def db(settings_env: Settings) -> Engine:
    return get_engine(settings_env.database_url)


def test_users_and_keys_round_trip(app: typer.Typer, db: Engine) -> None:
    runner = CliRunner()
    added = runner.invoke(
        app, ["users", "add", "vera", "--role", "viewer", "--password-stdin"], input=PASSWORD + "\n"
    )
    assert added.exit_code == 0, added.output
    user = store.get_user(db, "vera")
    assert user.role is Role.VIEWER and user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    created = runner.invoke(
        app,
        [
            "keys",
            "create",
            "--name",
            "ci",
            "--scope",
            "read",
            "--accounts",
            "A,B",
            "--expires",
            "30d",
        ],
    )
    assert created.exit_code == 0, created.output
    key = created.stdout.strip().splitlines()[-1]
    record = store.list_keys(db)[0]
    assert record.digest == key_digest(key) and record.accounts == frozenset({"A", "B"})
    listed = json.loads(runner.invoke(app, ["keys", "list", "--json"]).stdout)
    assert listed[0]["key_id"] == record.key_id and key not in json.dumps(listed)
    assert runner.invoke(app, ["keys", "revoke", record.key_id]).exit_code == 0
    assert store.get_key(db, record.key_id).revoked_at is not None
    events = json.loads(runner.invoke(app, ["audit", "--json"]).stdout)
    assert [e["action"] for e in events] == ["key.revoke", "key.create", "user.create"]
    assert all(e["actor"].startswith("cli:") for e in events)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["users", "add", "x", "--role", "king", "--password-stdin"], "owner, member, viewer"),
        (["keys", "create", "--name", "x", "--scope", "root"], "read, write, admin"),
        (["keys", "create", "--name", "x", "--scope", "read", "--expires", "soon"], "duration"),
        (["keys", "revoke", "nope"], "does not exist"),
    ],
)
def test_bad_input_is_a_clear_error(
    app: typer.Typer, db: Engine, args: list[str], needle: str
) -> None:
    from titans_finance.cli.main import TitansGroup

    wrapped = typer.Typer(cls=TitansGroup)
    register(wrapped)
    result = CliRunner().invoke(wrapped, args, input="short\n")
    assert result.exit_code in (65, 66), result.output
    assert needle in result.output


def test_short_passwords_are_refused(app: typer.Typer, db: Engine) -> None:
    from titans_finance.cli.main import TitansGroup

    wrapped = typer.Typer(cls=TitansGroup)
    register(wrapped)
    result = CliRunner().invoke(
        wrapped, ["users", "add", "x", "--role", "member", "--password-stdin"], input="short\n"
    )
    assert result.exit_code == 65 and "12 characters" in result.output


def test_bootstrap_creates_the_owner_once(
    app: typer.Typer, db: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from titans_finance.cli.main import TitansGroup

    wrapped = typer.Typer(cls=TitansGroup)
    register(wrapped)
    runner = CliRunner()
    missing = runner.invoke(wrapped, ["users", "bootstrap"])
    assert missing.exit_code == 78 and "TITANS_OWNER_USERNAME" in missing.output
    monkeypatch.setenv("TITANS_OWNER_USERNAME", "owner")
    monkeypatch.setenv("TITANS_OWNER_PASSWORD", PASSWORD)
    get_settings.cache_clear()
    first = runner.invoke(wrapped, ["users", "bootstrap"])
    assert first.exit_code == 0 and "created" in first.output
    again = runner.invoke(wrapped, ["users", "bootstrap"])
    assert again.exit_code == 0 and "already exists" in again.output
    assert [u.role for u in store.list_users(db)] == [Role.OWNER]


def test_ensure_owner_is_idempotent(engine: Engine) -> None:
    first, created = store.ensure_owner(engine, "root", PASSWORD)
    second, again = store.ensure_owner(engine, "root", "another password!")
    assert created and not again and first.id == second.id
    assert second.password_hash == first.password_hash  # an existing owner is not reset


def test_expiry_forms() -> None:
    from datetime import UTC, datetime, timedelta

    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_expiry("12h", now) == now + timedelta(hours=12)
    assert parse_expiry("2w", now) == now + timedelta(days=14)
    assert parse_expiry("2026-02-01", now).date().isoformat() == "2026-02-01"

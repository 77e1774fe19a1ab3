"""`titans db upgrade`: Alembic to head, idempotent, one clear line when the database is wrong."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from titans_finance.cli.main import app
from titans_finance.config import get_settings
from titans_finance.storage.db import create_db_engine, current_revision, schema_tables


def _upgrade(monkeypatch: pytest.MonkeyPatch, url: str) -> tuple[int, str]:
    monkeypatch.setenv("TITANS_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["db", "upgrade"])
    finally:
        get_settings.cache_clear()
    return result.exit_code, result.output


def test_upgrade_migrates_an_empty_database_then_changes_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    code, output = _upgrade(monkeypatch, url)
    assert code == 0, output
    assert "upgraded from revision (empty) to" in output
    engine = create_db_engine(url)
    revision = current_revision(engine)
    assert revision is not None
    assert "transactions" in schema_tables(engine)
    code, output = _upgrade(monkeypatch, url)
    assert code == 0, output
    assert f"is up to date (revision {revision})" in output
    assert current_revision(engine) == revision
    engine.dispose()


@pytest.mark.postgres
def test_upgrade_on_postgresql_is_idempotent(
    monkeypatch: pytest.MonkeyPatch, postgres_url: str
) -> None:
    for _ in range(2):
        code, output = _upgrade(monkeypatch, postgres_url)
        assert code == 0, output
        assert "is up to date" in output  # the fixture already migrated it


@pytest.mark.parametrize(
    ("url", "code", "message"),
    [
        ("postgresql://titans:hunter2-pw@127.0.0.1:1/titans", 74, "cannot reach the database"),
        ("mysql://titans@localhost/titans", 78, "is not supported"),
        ("not a url", 78, "not a URL"),
    ],
)
def test_a_wrong_database_url_is_one_line_and_a_documented_exit_code(
    tmp_path: Path, url: str, code: int, message: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "titans_finance", "db", "upgrade"],
        env={"TITANS_DATABASE_URL": url, "PATH": "/usr/bin:/bin", "COLUMNS": "40"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    output = (result.stdout + result.stderr).strip()
    assert result.returncode == code, output
    assert len(output.splitlines()) == 1, output
    assert message in output and "Traceback" not in output
    assert "hunter2-pw" not in output


def test_upgrade_bootstraps_the_owner_when_both_owner_settings_are_set(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from titans_finance.auth.passwords import verify_password
    from titans_finance.auth.store import find_user

    url = f"sqlite:///{tmp_path / 'owner.db'}"
    monkeypatch.setenv("TITANS_OWNER_USERNAME", "alice")
    monkeypatch.setenv("TITANS_OWNER_PASSWORD", "correct horse battery")
    code, output = _upgrade(monkeypatch, url)
    assert code == 0, output
    assert "owner alice created" in output
    engine = create_db_engine(url)
    user = find_user(engine, "alice")
    assert user is not None and user.role.value == "owner"
    assert verify_password(user.password_hash, "correct horse battery")
    code, output = _upgrade(monkeypatch, url)
    assert code == 0 and "owner alice already exists" in output
    engine.dispose()


def test_upgrade_without_both_owner_settings_creates_no_user(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from titans_finance.auth.store import users_exist

    url = f"sqlite:///{tmp_path / 'plain.db'}"
    monkeypatch.setenv("TITANS_OWNER_USERNAME", "alice")
    monkeypatch.delenv("TITANS_OWNER_PASSWORD", raising=False)
    code, output = _upgrade(monkeypatch, url)
    assert code == 0, output
    assert "owner" not in output
    engine = create_db_engine(url)
    assert not users_exist(engine)
    engine.dispose()

"""Shared fixtures: real SQLite files and, where configured, the real PostgreSQL and Redis."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from titans_finance.config import Settings, get_settings
from titans_finance.storage.db import create_db_engine, get_engine, migrate

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
TEST_DATA = Path(__file__).resolve().parent / "data"
IN_CI = os.environ.get("CI", "").lower() == "true"
POSTGRES_URL = os.environ.get("TITANS_TEST_POSTGRES_URL", "")
# tests/stack builds images and starts the compose stack: only `make test-stack` runs it.
collect_ignore = [] if os.environ.get("STACK_ENV_FILE") else ["stack"]
REDIS_URL = os.environ.get("TITANS_TEST_REDIS_URL", "")
# A test process holds far more objects than a server: the full collection before each app's
# `gc.freeze` (TITANS_GC_FREEZE) would cost about 1.5 s per app here (measured: 301 apps,
# 446 s).  Tests of the freeze itself turn it on.
os.environ.setdefault("TITANS_GC_FREEZE", "false")


def _unavailable(what: str, why: str) -> None:
    """Skip locally; in CI a missing service is a failure, never a skip."""
    if IN_CI:
        pytest.fail(f"{what} is required in CI but {why}")
    pytest.skip(f"{what}: {why}")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real public datasets beside the repository (../shared/data)."""
    if not SHARED_DATA.is_dir():
        _unavailable("../shared/data", f"{SHARED_DATA} does not exist")
    return SHARED_DATA


@pytest.fixture(scope="session")
def test_data() -> Path:
    """Tiny golden files committed under tests/data."""
    return TEST_DATA


def reset_postgres(url: str) -> Engine:
    """A migrated engine on an emptied PostgreSQL database."""
    engine = create_db_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    migrate(engine)
    get_engine.cache_clear()
    return engine


@pytest.fixture
def postgres_url() -> str:
    """URL of the real test PostgreSQL, emptied and migrated for this test."""
    if not POSTGRES_URL:
        _unavailable("PostgreSQL", "TITANS_TEST_POSTGRES_URL is not set")
    try:
        reset_postgres(POSTGRES_URL).dispose()
    except Exception as exc:
        _unavailable("PostgreSQL", f"cannot connect to {POSTGRES_URL}: {exc}")
    return POSTGRES_URL


@pytest.fixture
def redis_url() -> str:
    """URL of the real test Redis, flushed for this test."""
    if not REDIS_URL:
        _unavailable("Redis", "TITANS_TEST_REDIS_URL is not set")
    import redis

    try:
        client = redis.Redis.from_url(REDIS_URL)
        client.flushdb()
        client.close()
    except Exception as exc:
        _unavailable("Redis", f"cannot connect to {REDIS_URL}: {exc}")
    return REDIS_URL


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test using it runs on a fresh SQLite file and on the real PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'titans.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A migrated engine on the parametrised database."""
    eng = create_db_engine(database_url)
    migrate(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def settings_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str
) -> Iterator[Settings]:
    """TITANS_* variables pointing at temporary stores; get_settings() sees them."""
    values = {
        "TITANS_ENVIRONMENT": "development",
        "TITANS_DATABASE_URL": database_url,
        "TITANS_MODELS_DIR": str(tmp_path / "models"),
        "TITANS_MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
        "TITANS_API_KEYS": "test-key-1,test-key-2",
        "TITANS_GC_FREEZE": "false",
    }
    for key in [
        k for k in os.environ if k.startswith("TITANS_") and not k.startswith("TITANS_TEST")
    ]:
        monkeypatch.delenv(key)
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    get_engine.cache_clear()
    yield get_settings()
    get_settings.cache_clear()
    get_engine.cache_clear()

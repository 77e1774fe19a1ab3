"""API test fixtures: real models trained once, apps built per settings, real HTTP clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from tests.api._models import copy_models, trained_models

from titans_finance.api.main import create_app
from titans_finance.config import Settings

KEY = "test-key-1"
AUTH = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture(scope="session")
def trained(
    shared_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, pd.DataFrame]:
    """(folder of the five models fitted on the real personal-transactions data, that frame)."""
    return trained_models(shared_data, tmp_path_factory.mktemp("api-models"))


@pytest.fixture
def models_dir(trained: tuple[Path, pd.DataFrame], tmp_path: Path) -> Path:
    """A private copy of the trained models for one test."""
    return copy_models(trained[0], tmp_path / "models")


@pytest.fixture
def make_settings(tmp_path: Path, models_dir: Path) -> Callable[..., Settings]:
    """Settings on a temporary SQLite store and the copied models; keyword overrides."""

    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "environment": "development",
            "database_url": f"sqlite:///{tmp_path / 'api.db'}",
            "models_dir": models_dir,
            "api_keys": [SecretStr(KEY), SecretStr("test-key-2")],
            "redis_url": None,
            "rate_limit": 100_000,
            "rate_limit_burst": 10_000,
            "cors_origins": [],
            "metrics_public": False,
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    return build


@pytest.fixture
def make_client(make_settings: Callable[..., Settings]) -> Iterator[Callable[..., TestClient]]:
    """Start apps (lifespan included) for settings overrides; all closed after the test."""
    opened: list[TestClient] = []

    def start(settings: Settings | None = None, **overrides: Any) -> TestClient:
        app = create_app(settings or make_settings(**overrides))
        client = TestClient(app, raise_server_exceptions=False)
        client.__enter__()
        opened.append(client)
        return client

    yield start
    for client in reversed(opened):
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    """An app on SQLite with every model loaded, authenticated with a valid key."""
    c = make_client()
    c.headers.update(AUTH)
    return c


@pytest.fixture
def store_client(
    settings_env: Settings, models_dir: Path, make_client: Callable[..., TestClient]
) -> TestClient:
    """An authenticated app on the parametrised store (SQLite and PostgreSQL)."""
    settings = settings_env.model_copy(
        update={"models_dir": models_dir, "rate_limit": 100_000, "rate_limit_burst": 10_000}
    )
    c = make_client(settings)
    c.headers.update(AUTH)
    return c

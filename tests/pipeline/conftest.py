"""Pipeline fixtures: settings pointing at a temporary inbox, store, model folder and MLflow."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.pipeline.helpers import pipeline_values, use_values

from titans_finance.config import Settings, get_settings
from titans_finance.storage.db import get_engine


@pytest.fixture
def pipeline_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str
) -> Iterator[Settings]:
    """Settings of a pipeline managing the category model only (the fastest to retrain)."""
    monkeypatch.chdir(tmp_path)
    yield use_values(monkeypatch, pipeline_values(tmp_path, database_url, "category"))
    get_settings.cache_clear()
    get_engine.cache_clear()

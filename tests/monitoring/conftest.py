"""Monitoring fixtures: models fitted before the last 90 days, a store holding everything."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from tests.monitoring._setup import full_store, load_models, models_before_cut


@pytest.fixture(scope="session")
def cut_models_dir(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Models fitted on the personal data up to 90 days before its end."""
    return models_before_cut(shared_data, tmp_path_factory.mktemp("monitoring-models"))


@pytest.fixture
def models(cut_models_dir: Path) -> dict[str, Any]:
    """Those models, freshly loaded for one test."""
    return load_models(cut_models_dir)


@pytest.fixture
def store(shared_data: Path, tmp_path: Path) -> Engine:
    """A SQLite store with the whole personal export."""
    engine = full_store(shared_data, tmp_path / "store.db")
    yield engine
    engine.dispose()

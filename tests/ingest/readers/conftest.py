"""Fixtures for the reader tests: golden files and the real Berka table beside the repository."""

from __future__ import annotations

from pathlib import Path

import pytest

TEST_DATA = Path(__file__).resolve().parents[2] / "data"
SHARED_DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "data"


@pytest.fixture(scope="session")
def golden() -> Path:
    """tests/data: the tiny golden export files."""
    return TEST_DATA


@pytest.fixture(scope="session")
def berka_trans() -> Path:
    """The real Berka trans.asc in ../shared/data (skipped when the datasets are absent)."""
    path = SHARED_DATA / "berka" / "trans.asc"
    if not path.is_file():
        pytest.skip(f"{path} is not available")
    return path

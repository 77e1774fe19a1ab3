"""Fixtures for the ingest tests: golden CSV files and the real shared datasets."""

from __future__ import annotations

from pathlib import Path

import pytest

CSV_DIR = Path(__file__).resolve().parents[1] / "data" / "csv"
SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


@pytest.fixture(scope="session")
def csv_dir() -> Path:
    """Tiny hand-written exports, one layout per file (tests/data/csv)."""
    return CSV_DIR


@pytest.fixture(scope="session")
def real_data() -> Path:
    """The real public datasets beside the repository (../shared/data)."""
    if not SHARED.is_dir():
        pytest.skip(f"shared datasets not found at {SHARED}")
    return SHARED.resolve()

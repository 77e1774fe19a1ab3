"""A monitored store: real models fitted on the personal data up to 90 days before its end,
and a SQLite store holding all of it, so the last 90 days are new to the models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine
from tests.api._models import PERSONAL_CSV
from threadpoolctl import threadpool_limits

from titans_finance import domain as d
from titans_finance.ingest.pipeline import ingest_file, load_frame
from titans_finance.models.catalog import model_class
from titans_finance.storage.db import create_db_engine, migrate

MODEL_NAMES = ("category", "amount", "anomaly", "recurring", "cashflow")
HELD_BACK_DAYS = 90
# small but real hyper-parameters: these tests check monitoring, not model quality
_PARAMS: dict[str, dict[str, object]] = {
    "category": {"calibration_folds": 2},
    "amount": {"max_iter": 15},
}
_CACHE: dict[str, Path] = {}


def models_before_cut(shared_data: Path, root: Path) -> Path:
    """A models folder fitted on the rows up to 90 days before the data's end (once a session)."""
    if "dir" not in _CACHE:
        frame = load_frame(shared_data / PERSONAL_CSV)
        cut = frame[d.DATE].max() - pd.Timedelta(days=HELD_BACK_DAYS)
        train = frame[frame[d.DATE] <= cut]
        target = root / "models-before-cut"
        with threadpool_limits(limits=1):
            for name in MODEL_NAMES:
                model_class(name)(**_PARAMS.get(name, {})).fit(train).save(target)
        _CACHE["dir"] = target
    return _CACHE["dir"]


def load_models(directory: Path) -> dict[str, Any]:
    """Each model loaded (checksum verified) from ``directory``."""
    return {name: model_class(name).load(directory) for name in MODEL_NAMES}


def full_store(shared_data: Path, path: Path) -> Engine:
    """A migrated SQLite store with the whole personal export imported."""
    engine = create_db_engine(f"sqlite:///{path}")
    migrate(engine)
    ingest_file(engine, shared_data / PERSONAL_CSV)
    return engine

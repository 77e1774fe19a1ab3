"""Train small real models once per test session (shared by the API and serving tests)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
from threadpoolctl import threadpool_limits

from titans_finance.ingest.pipeline import load_frame
from titans_finance.models.catalog import model_class

PERSONAL_CSV = Path("personal-transactions") / "personal_transactions.csv"
# Small but real hyper-parameters: the tests check serving, not model quality.
_PARAMS: dict[str, dict[str, object]] = {
    "category": {"calibration_folds": 2},
    "amount": {"max_iter": 15},
}
_TRAINED: dict[str, tuple[Path, pd.DataFrame]] = {}
FIT_ERRORS: dict[str, str] = {}


def personal_frame(shared_data: Path) -> pd.DataFrame:
    """The real personal-transactions export as a canonical frame."""
    return load_frame(shared_data / PERSONAL_CSV)


def trained_models(shared_data: Path, root: Path) -> tuple[Path, pd.DataFrame]:
    """A folder with all five models fitted on the real data (trained once per session)."""
    if "dir" not in _TRAINED:
        frame = personal_frame(shared_data)
        target = root / "trained-models"
        target.mkdir(parents=True, exist_ok=True)
        with threadpool_limits(limits=1):  # OpenMP on a busy 2-core box is slower threaded
            for name in ("category", "amount", "anomaly", "recurring", "cashflow"):
                try:
                    model_class(name)(**_PARAMS.get(name, {})).fit(frame).save(target)
                except Exception as exc:  # that model's tests then fail with a 503 naming it
                    FIT_ERRORS[name] = f"{type(exc).__name__}: {exc}"
        _TRAINED["dir"] = (target, frame)
    return _TRAINED["dir"]


def copy_models(source: Path, target: Path) -> Path:
    """A private copy of trained models (tests may corrupt or replace files)."""
    shutil.copytree(source, target, dirs_exist_ok=True)
    return target

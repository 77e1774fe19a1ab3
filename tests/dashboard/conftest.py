"""Dashboard fixtures: one store with the real personal-transactions export and trained models,
copied per test so writes never leak between tests."""

from __future__ import annotations

import os
import shutil
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from titans_finance.config import Settings, get_settings
from titans_finance.dashboard import APP_PATH
from titans_finance.storage.db import get_engine

SHARED_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
PERSONAL_CSV = SHARED_DATA / "personal-transactions" / "personal_transactions.csv"
IN_CI = os.environ.get("CI", "").lower() == "true"
PAGES = {
    "overview": "app_pages/overview.py",
    "transactions": "app_pages/transactions.py",
    "predictions": "app_pages/predictions.py",
    "anomalies": "app_pages/anomalies.py",
    "insights": "app_pages/insights.py",
    "imports": "app_pages/imports.py",
}


@dataclass(frozen=True)
class SeededStore:
    """A SQLite store with the real export ingested, and a folder of trained models."""

    database: Path
    models_dir: Path
    rows: int
    untrained: dict[str, str]

    def require(self, model: str) -> None:
        """xfail (visibly) a test that needs ``model`` when the model itself cannot be trained."""
        if model in self.untrained:
            pytest.xfail(f"the {model} model cannot be trained: {self.untrained[model]}")


@pytest.fixture(scope="session")
def personal_csv() -> Path:
    """The real personal-transactions export (../shared/data)."""
    if not PERSONAL_CSV.is_file():
        if IN_CI:
            pytest.fail(f"{PERSONAL_CSV} is required in CI")
        pytest.skip(f"{PERSONAL_CSV} is not available")
    return PERSONAL_CSV


def build_store(folder: Path, csv: Path, *, train: bool = True) -> SeededStore:
    """Ingest ``csv`` into ``folder/seed.db`` and train every model into ``folder/models``."""
    from threadpoolctl import threadpool_limits

    from titans_finance.ingest.pipeline import ingest_file
    from titans_finance.models.catalog import MODEL_NAMES, model_class
    from titans_finance.storage.db import create_db_engine, migrate
    from titans_finance.storage.repository import load_transactions
    from titans_finance.training import train_model

    database = folder / "seed.db"
    models_dir = folder / "models"
    url = f"sqlite:///{database}"
    engine = create_db_engine(url)
    migrate(engine)
    summary = ingest_file(engine, csv)
    untrained: dict[str, str] = {}
    if train:
        frame = load_transactions(engine)
        settings = Settings(
            database_url=url,
            models_dir=models_dir,
            mlflow_tracking_uri=f"sqlite:///{folder / 'mlflow.db'}",
        )
        # one BLAS/OpenMP thread: gradient boosting oversubscribes a busy 2-core machine badly
        with threadpool_limits(1):
            for kind in MODEL_NAMES:
                try:
                    train_model(kind, frame, models_dir, settings=settings, log_to_registry=False)
                except Exception as exc:  # a hold-out failure must not hide the pages' own bugs
                    warnings.warn(
                        f"train_model({kind!r}) failed ({exc!r}); fitting without hold-out",
                        stacklevel=1,
                    )
                    try:
                        model_class(kind)().fit(frame).save(models_dir)
                    except Exception as again:
                        warnings.warn(f"{kind} model cannot be trained: {again!r}", stacklevel=1)
                        untrained[kind] = repr(again)
    with engine.connect() as conn:  # checkpoint the WAL so a file copy holds every row
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return SeededStore(database, models_dir, summary.inserted, untrained)


@pytest.fixture(scope="session")
def seeded_store(tmp_path_factory: pytest.TempPathFactory, personal_csv: Path) -> SeededStore:
    """Built once per session (ingest + training take a few seconds)."""
    return build_store(tmp_path_factory.mktemp("dashboard-seed"), personal_csv)


def _point_settings_at(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database: Path, models_dir: Path
) -> Settings:
    for key in [
        k for k in os.environ if k.startswith("TITANS_") and not k.startswith("TITANS_TEST")
    ]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("TITANS_DATABASE_URL", f"sqlite:///{database}")
    monkeypatch.setenv("TITANS_MODELS_DIR", str(models_dir))
    monkeypatch.setenv("TITANS_MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    get_engine.cache_clear()
    return get_settings()


@pytest.fixture
def dashboard_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, seeded_store: SeededStore
) -> Iterator[Settings]:
    """Settings on a private copy of the seeded store (models shared read-only)."""
    database = tmp_path / "titans.db"
    shutil.copyfile(seeded_store.database, database)
    models_dir = tmp_path / "models"
    shutil.copytree(seeded_store.models_dir, models_dir)
    yield _point_settings_at(monkeypatch, tmp_path, database, models_dir)
    get_settings.cache_clear()
    get_engine.cache_clear()


@pytest.fixture
def empty_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Settings]:
    """Settings on an empty store with no trained model."""
    yield _point_settings_at(monkeypatch, tmp_path, tmp_path / "empty.db", tmp_path / "models")
    get_settings.cache_clear()
    get_engine.cache_clear()


def open_page(page: str, *, timeout: float = 60.0) -> AppTest:
    """Run the app, switch to ``page`` (a key of PAGES) and run it."""
    app = AppTest.from_file(str(APP_PATH), default_timeout=timeout)
    if page != "overview":
        app.switch_page(PAGES[page])
    return app.run()


def no_exceptions(app: AppTest) -> None:
    """Fail with the page's own stack traces when it raised."""
    assert not app.exception, "\n".join(
        "\n".join(str(line) for line in e.stack_trace) + f"\n{e.value}" for e in app.exception
    )

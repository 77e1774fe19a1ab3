"""An API on a monitored store: models fitted before the last 90 days, the whole export stored,
a few reviews and "this is normal" marks made through the API after the first refresh."""

from __future__ import annotations

import shutil
from pathlib import Path

from fastapi.testclient import TestClient
from pydantic import SecretStr
from tests.monitoring._setup import full_store, models_before_cut

from titans_finance.api.main import create_app
from titans_finance.config import Settings
from titans_finance.storage import predictions as log_store
from titans_finance.storage.db import get_engine

KEY = "monitor-key"
AUTH = {"Authorization": f"Bearer {KEY}"}


def monitored_settings(shared_data: Path, root: Path) -> Settings:
    """Settings on a fresh copy of the store and the models, refreshing on every scrape."""
    models = root / "models"
    shutil.copytree(models_before_cut(shared_data, root.parent), models, dirs_exist_ok=True)
    db = root / "monitored.db"
    full_store(shared_data, db).dispose()
    get_engine.cache_clear()
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        environment="development",
        database_url=f"sqlite:///{db}",
        models_dir=models,
        api_keys=[SecretStr(KEY)],
        redis_url=None,
        rate_limit=100_000,
        rate_limit_burst=10_000,
        monitor_interval_seconds=0,
    )


def review_through_the_api(client: TestClient, settings: Settings) -> dict[str, int]:
    """After a first scrape logged predictions: confirm 6 categories, correct 2, mark 1 flag
    normal, all through the API. Returns the counts made."""
    assert client.get("/metrics").status_code == 200
    engine = get_engine(settings.database_url)
    category = log_store.load_predictions(engine, "category").sort_values("transaction_id")
    for row in category.iloc[:6].itertuples():
        r = client.patch(
            f"/transactions/{row.transaction_id}", json={"category": row.predicted_label}
        )
        assert r.status_code == 200, r.text
    for row in category.iloc[6:8].itertuples():
        other = "Travel" if row.predicted_label != "Travel" else "Groceries"
        r = client.patch(f"/transactions/{row.transaction_id}", json={"category": other})
        assert r.status_code == 200, r.text
    flagged = log_store.load_predictions(engine, "anomaly").query("flagged == True")
    assert len(flagged) > 0, "the anomaly model flagged nothing in the window"
    r = client.post(f"/transactions/{int(flagged['transaction_id'].iloc[0])}/normal")
    assert r.status_code == 201, r.text
    return {"confirmed": 6, "corrected": 2, "marked_normal": 1}


def start(settings: Settings) -> TestClient:
    """A started app (lifespan run) with the key set."""
    client = TestClient(create_app(settings), raise_server_exceptions=False)
    client.__enter__()
    client.headers.update(AUTH)
    return client

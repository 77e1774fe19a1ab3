"""Pipeline history over HTTP, its gauges on /metrics, and serving following a new champion."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from tests.api.conftest import AUTH

from titans_finance.storage import pipeline_runs as store
from titans_finance.storage.db import get_engine


def _seed(database_url: str) -> tuple[int, int]:
    engine = get_engine(database_url)
    good = store.start_run(engine, trigger="test")
    store.add_decision(
        engine,
        good,
        model_type="category",
        candidate_version="abc",
        champion_version=None,
        metric="accuracy",
        higher_is_better=True,
        candidate_value=0.9,
        champion_value=None,
        margin=0.01,
        holdout_rows=10,
        decision="promote",
        status="promoted",
        reason="there is no champion yet",
    )
    store.finish_run(engine, good)
    bad = store.start_run(engine, trigger="test")
    store.finish_run(engine, bad, error="MLflow refused the candidates")
    return good, bad


def test_runs_are_listed_newest_first_with_decisions(store_client: TestClient) -> None:
    url = store_client.app.state.titans.settings.database_url  # type: ignore[attr-defined]
    good, bad = _seed(url)
    body = store_client.get("/pipeline/runs").json()
    assert body["total"] == 2 and [r["id"] for r in body["items"]] == [bad, good]
    assert body["items"][0]["status"] == "failed" and "MLflow" in body["items"][0]["error"]
    assert body["items"][1]["decisions"][0]["status"] == "promoted"
    one = store_client.get(f"/pipeline/runs/{good}").json()["run"]
    assert one["decisions"][0]["reason"] == "there is no champion yet"
    assert store_client.get("/pipeline/runs/999").status_code == 404
    assert store_client.get("/pipeline/runs?limit=0").status_code == 422
    assert store_client.get("/pipeline/runs", headers={"Authorization": ""}).status_code == 401

    metrics = store_client.get("/metrics").text
    assert "titans_pipeline_last_run_success 0.0" in metrics
    assert "titans_pipeline_last_run_end_timestamp_seconds " in metrics
    assert "titans_last_import_timestamp_seconds" in metrics


def _swap_in(models_dir: Path, name: str, version: str, *, corrupt: bool = False) -> None:
    """Replace a model folder by rename, as the pipeline does, under a new version."""
    incoming = models_dir / f".{name}.incoming"
    shutil.copytree(models_dir / name, incoming)
    meta = json.loads((incoming / "metadata.json").read_text())
    meta["version"] = version
    (incoming / "metadata.json").write_text(json.dumps(meta))
    if corrupt:
        (incoming / "model.joblib").write_bytes(b"truncated")
    old = models_dir / f".{name}.old"
    (models_dir / name).rename(old)
    incoming.rename(models_dir / name)
    shutil.rmtree(old)


def _version(client: TestClient, name: str) -> str | None:
    return client.get("/models/status").json()["models"][name].get("version")


def _wait_for(check: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


def test_serving_picks_up_a_new_champion_and_keeps_the_old_on_a_bad_one(
    make_client: Callable[..., TestClient], models_dir: Path
) -> None:
    client = make_client(model_reload_seconds=0.3)
    client.headers.update(AUTH)
    before = _version(client, "category")
    _swap_in(models_dir, "category", "newchampion1")
    assert _wait_for(lambda: _version(client, "category") == "newchampion1", 30)

    _swap_in(models_dir, "category", "broken000001", corrupt=True)
    assert _wait_for(lambda: not client.get("/models/status").json()["last_reload"]["success"], 30)
    assert _version(client, "category") == "newchampion1" != before
    predicted = client.post(
        "/predict/category",
        json={"description": "Biweekly Paycheck", "amount": 2000, "transaction_type": "credit"},
    )
    assert predicted.status_code == 200, predicted.text

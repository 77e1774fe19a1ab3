"""Model management: status, performance, atomic reload, cache clearing."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient
from tests.factories import SEED_CATEGORY

MODEL_NAMES = {"category", "amount", "anomaly", "recurring", "cashflow"}


def test_status_lists_every_model(client: TestClient) -> None:
    body = client.get("/models/status").json()
    assert set(body["models"]) == MODEL_NAMES
    category = body["models"]["category"]
    assert category["loaded"] is True
    assert category["training_rows"] == 808  # the real personal-transactions export
    assert body["last_reload"]["success"] is True


def test_performance_counts_predictions(client: TestClient) -> None:
    for _ in range(3):
        assert client.post("/predict/category", json=SEED_CATEGORY).status_code == 200
    perf = client.get("/models/performance").json()["models"]["category"]
    assert perf["loaded"] is True and perf["version"]
    assert perf["predictions_served"] == 3
    assert perf["model_calls"] == 1 and perf["cache_hits"] == 2
    assert 0 < perf["mean_confidence"] <= 1
    assert perf["latency_ms"]["p50"] > 0
    assert isinstance(perf["metrics"], dict)


def test_reload_swaps_in_new_models(client: TestClient, models_dir: Path) -> None:
    before = client.get("/models/status").json()["models"]["category"]["version"]
    meta_path = models_dir / "category" / "metadata.json"
    meta = json.loads(meta_path.read_text())
    meta["version"] = "retrained0001"
    meta_path.write_text(json.dumps(meta))
    response = client.post("/models/reload-all")
    assert response.status_code == 200, response.text
    assert response.json()["success"] is True
    after = client.post("/predict/category", json=SEED_CATEGORY).json()["model_version"]
    assert before != after == "retrained0001"


def test_failed_reload_keeps_serving_the_old_models(client: TestClient, models_dir: Path) -> None:
    before = client.post("/predict/category", json=SEED_CATEGORY).json()
    status_before = client.get("/models/status").json()["models"]
    artefact = models_dir / "category" / "model.joblib"
    artefact.write_bytes(artefact.read_bytes()[:-100] + b"corrupted")
    response = client.post("/models/reload-all")
    assert response.status_code == 409
    body = response.json()
    assert body["success"] is False
    assert "category" in body["errors"] and "checksum" in body["errors"]["category"]
    assert "still serving the previous models" in body["detail"]
    # Every model of the old set still serves, with the same versions.
    assert client.get("/models/status").json()["models"] == status_before
    again = client.post("/predict/category", json={**SEED_CATEGORY, "amount": -3.0})
    assert again.status_code == 200
    assert again.json()["model_version"] == before["model_version"]


def test_reload_refuses_when_a_serving_model_disappears(
    client: TestClient, models_dir: Path
) -> None:
    (models_dir / "amount" / "metadata.json").unlink()
    response = client.post("/models/reload-all")
    assert response.status_code == 409
    assert "amount" in response.json()["errors"]
    assert client.get("/models/status").json()["models"]["amount"]["loaded"] is True


def test_clear_cache(client: TestClient) -> None:
    client.post("/predict/category", json=SEED_CATEGORY)
    response = client.post("/models/clear-cache")
    assert response.status_code == 200
    assert response.json()["cleared_local"] == 1
    assert client.post("/models/clear-cache").json()["cleared_local"] == 0

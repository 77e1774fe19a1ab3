"""GET /models/health and the monitoring series on /metrics, on a store the models have not
seen the last 90 days of, with reviews and marks made through the API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.monitoring._app import monitored_settings, review_through_the_api, start
from tests.monitoring._scrape import samples, series

from titans_finance.config import Settings

MAX_SERIES = 500


@pytest.fixture
def monitored(shared_data: Path, tmp_path: Path) -> Iterator[tuple[TestClient, Settings]]:
    settings = monitored_settings(shared_data, tmp_path)
    client = start(settings)
    yield client, settings
    client.__exit__(None, None, None)


def test_models_health_reports_every_model(monitored: tuple[TestClient, Settings]) -> None:
    client, settings = monitored
    made = review_through_the_api(client, settings)
    r = client.get("/models/health")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["success"] is True and body["refresh"]["ok"] is True
    assert body["window_days"] == settings.monitor_window_days and body["window_rows"] > 50
    status = client.get("/models/status").json()["models"]
    assert set(body["models"]) == {"category", "amount", "anomaly", "recurring", "cashflow"}
    for name, entry in body["models"].items():
        assert entry["version"] == status[name]["version"], name
        assert entry["age_seconds"] >= 0
        assert entry["drift"]["available"] is True
        assert set(entry["drift"]["features"]) == {"amount", "category", "account"}
    category = body["models"]["category"]["quality"]
    assert category["labels"] == made["confirmed"] + made["corrected"]
    assert category["confirmed"] == made["confirmed"]
    assert category["labelled_accuracy"] == pytest.approx(6 / 8)
    assert 0 < category["labelled_accuracy_lower_bound"] < category["labelled_accuracy"]
    assert body["models"]["anomaly"]["quality"]["marked_normal"] == made["marked_normal"]
    assert body["models"]["amount"]["quality"]["mae"] > 0
    assert body["models"]["cashflow"]["quality"]["days"] == settings.monitor_forecast_days


def test_models_health_needs_a_key(monitored: tuple[TestClient, Settings]) -> None:
    client, _ = monitored
    assert (
        client.get("/models/health", headers={"Authorization": "Bearer wrong"}).status_code == 401
    )


def test_metrics_export_monitoring_with_bounded_labels(
    monitored: tuple[TestClient, Settings],
) -> None:
    client, settings = monitored
    review_through_the_api(client, settings)
    text = client.get("/metrics").text
    accuracy = series(text, "titans_model_labelled_accuracy")
    assert list(accuracy.values()) == [pytest.approx(0.75)]
    assert list(series(text, "titans_model_labels").values()) == [8.0]
    psi = series(text, "titans_model_drift_psi")
    assert len(psi) == 5 * 3  # five models, three features, the serving version only
    assert all(0 <= value < 0.2 for value in psi.values())
    assert len(series(text, "titans_model_info")) == 5
    assert list(series(text, "titans_monitor_refresh_success").values()) == [1.0]
    exported = samples(text)
    assert len(exported) <= MAX_SERIES
    label_names = {key for _name, labels, _value in exported for key in labels}
    assert label_names <= {"method", "route", "status", "le", "model", "version", "feature"}

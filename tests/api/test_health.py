"""Liveness, health, Prometheus metrics, docs, CORS and compression."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from tests.api.conftest import AUTH
from tests.factories import SEED_CATEGORY


def test_health_reports_every_part(client: TestClient) -> None:
    body = client.get("/health").json()
    assert body["success"] is True
    assert body["database"]["ok"] is True and body["database"]["backend"] == "sqlite"
    assert body["redis"] == {"configured": False, "ok": None}
    assert body["models"]["category"] is True
    assert body["memory"]["rss_mb"] > 0
    assert body["uptime_seconds"] >= 0


def test_redis_outage_is_degraded_not_fatal(make_client: Callable[..., TestClient]) -> None:
    c = make_client(redis_url="redis://127.0.0.1:1/0")
    c.headers.update(AUTH)
    assert c.post("/predict/category", json=SEED_CATEGORY).status_code == 200
    body = c.get("/health").json()
    assert body["status"] == "degraded"
    assert body["redis"]["configured"] is True and body["redis"]["ok"] is False
    assert body["redis"]["error"]


def test_unreachable_database_is_503_and_recovers_without_restart(
    make_client: Callable[..., TestClient], tmp_path: Path
) -> None:
    # A SQLite file in a folder that is a file: unreachable until the folder appears.
    blocker = tmp_path / "db-folder"
    blocker.write_text("not a folder")
    c = make_client(database_url=f"sqlite:///{blocker / 'titans.db'}")
    c.headers.update(AUTH)
    down = c.get("/health")
    assert down.status_code == 503
    body = down.json()
    assert body["success"] is False and body["status"] == "degraded"
    assert body["database"]["ok"] is False and body["database"]["error"]
    assert c.get("/livez").status_code == 200  # alive: no restart wanted
    blocker.unlink()
    blocker.mkdir()
    up = c.get("/health")
    assert up.status_code == 200, up.text
    assert up.json()["database"]["ok"] is True


@pytest.mark.redis
def test_prediction_cache_is_shared_through_redis(
    make_client: Callable[..., TestClient], redis_url: str
) -> None:
    first = make_client(redis_url=redis_url)
    second = make_client(redis_url=redis_url)
    for c in (first, second):
        c.headers.update(AUTH)
    one = first.post("/predict/category", json=SEED_CATEGORY).json()
    two = second.post("/predict/category", json=SEED_CATEGORY).json()
    assert one == two
    perf = second.get("/models/performance").json()["models"]["category"]
    assert perf["model_calls"] == 0 and perf["cache_hits"] == 1
    assert second.get("/health").json()["redis"]["ok"] is True
    cleared = second.post("/models/clear-cache").json()
    assert cleared["cleared_shared"] == 1


def test_metrics_use_route_templates(client: TestClient) -> None:
    client.post("/predict/category", json=SEED_CATEGORY)
    client.get("/transactions/12345")
    client.get("/no/such/route")
    text = client.get("/metrics").text
    assert 'titans_http_requests_total{method="POST",route="/predict/category",status="200"}' in (
        text
    )
    assert 'route="/transactions/{transaction_id}",status="404"' in text
    assert 'route="unmatched",status="404"' in text
    assert "/transactions/12345" not in text
    assert 'titans_predictions_total{model="category"} 1.0' in text
    assert 'titans_model_loaded{model="category"} 1.0' in text
    assert "titans_http_request_duration_seconds_bucket" in text


def test_each_app_has_its_own_registry(make_client: Callable[..., TestClient]) -> None:
    first, second = make_client(metrics_public=True), make_client(metrics_public=True)
    first.get("/livez")
    assert 'route="/livez"' in first.get("/metrics").text
    assert 'route="/livez"' not in second.get("/metrics").text


def test_openapi_has_examples_and_security(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert {"/predict/category", "/predict/batch", "/transactions/import", "/rules"} <= set(
        schema["paths"]
    )
    category = schema["components"]["schemas"]["CategoryRequest"]
    assert category["examples"][0]["description"] == "Coffee shop purchase"
    assert "APIKey" in schema["components"]["securitySchemes"]
    assert client.get("/docs").status_code == 200


def test_docs_need_a_key_in_production(make_client: Callable[..., TestClient]) -> None:
    long_key = "k" * 32  # production refuses keys under 32 characters
    c = make_client(environment="production", api_keys=[SecretStr(long_key)])
    assert c.get("/openapi.json").status_code == 401
    assert (
        c.get("/openapi.json", headers={"Authorization": f"Bearer {long_key}"}).status_code == 200
    )
    assert c.get("/livez").status_code == 200


def test_cors_only_for_configured_origins(make_client: Callable[..., TestClient]) -> None:
    c = make_client(cors_origins=["https://app.example.com"])
    preflight = {"Access-Control-Request-Method": "POST"}
    ok = c.options("/predict/category", headers={"Origin": "https://app.example.com", **preflight})
    assert ok.headers["access-control-allow-origin"] == "https://app.example.com"
    evil = c.options("/predict/category", headers={"Origin": "https://evil.example", **preflight})
    assert "access-control-allow-origin" not in evil.headers
    closed = make_client()
    response = closed.get("/livez", headers={"Origin": "https://app.example.com"})
    assert "access-control-allow-origin" not in response.headers


def test_large_responses_are_compressed(client: TestClient) -> None:
    response = client.post(
        "/predict/cashflow", json={"forecast_days": 60}, headers={"Accept-Encoding": "gzip"}
    )
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"

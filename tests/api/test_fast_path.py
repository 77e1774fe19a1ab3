"""The replay of repeated single predictions (`PredictionFastPath`): same bytes, same refusals."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.factories import SEED_ANOMALY, SEED_CATEGORY

from titans_finance.api.fast_path import MAX_BODY_BYTES, MAX_CONTENT_TYPE_BYTES

JSON = {"Content-Type": "application/json"}
BODY = json.dumps({**SEED_CATEGORY, "account": "Alpha"}).encode()


def _post(c: TestClient, body: bytes = BODY, path: str = "/predict/category", **headers: str):
    return c.post(path, content=body, headers={**JSON, **headers})


def _category_stats(c: TestClient) -> dict[str, Any]:
    stats: dict[str, Any] = c.get("/models/performance").json()["models"]["category"]
    return stats


def _replays(c: TestClient) -> int:
    replays = c.app.state.titans.replays  # type: ignore[attr-defined]
    return len(replays)


def _key(c: TestClient, name: str, accounts: list[str] | None, scope: str = "read") -> str:
    created = c.post("/keys", json={"name": name, "scope": scope, "accounts": accounts})
    assert created.status_code == 201, created.text
    key: str = created.json()["key"]
    return key


def test_a_repeated_body_gets_the_routes_answer_byte_for_byte_without_the_route(
    client: TestClient,
) -> None:
    first = _post(client)
    assert first.status_code == 200, first.text
    assert _replays(client) == 1
    before = _category_stats(client)
    # Emptied behind the route's back: only a route call could score the body again.
    client.app.state.titans.models.cache.clear()  # type: ignore[attr-defined]
    second = _post(client)
    assert second.status_code == 200
    assert second.content == first.content
    assert second.headers.multi_items() == first.headers.multi_items()
    after = _category_stats(client)
    assert after["model_calls"] == before["model_calls"]  # the model did not run
    assert after["cache_hits"] == before["cache_hits"] + 1  # ... and the replay is counted
    assert after["predictions_served"] == before["predictions_served"] + 1
    metrics = client.get("/metrics").text
    assert (
        'titans_http_requests_total{method="POST",route="/predict/category",status="200"} 2.0'
        in metrics
    )
    assert 'titans_predictions_total{model="category"} 2.0' in metrics


def test_every_single_prediction_route_replays(client: TestClient) -> None:
    for path, seed in (("/predict/anomaly", SEED_ANOMALY), ("/predict/amount", SEED_CATEGORY)):
        body = json.dumps(seed).encode()
        first, second = _post(client, body, path), _post(client, body, path)
        assert first.status_code == second.status_code == 200, first.text
        assert second.content == first.content
    assert _replays(client) == 2


def test_a_kept_body_still_needs_a_credential_and_the_account(client: TestClient) -> None:
    assert _post(client).status_code == 200  # kept, under the admin key
    # The route's refusal of a body not kept, for comparison with the kept one.
    other = BODY.replace(b"Alpha", b" Alpha")  # other bytes, the same validated account
    beta = _key(client, "beta-only", ["Beta"])
    refused_by_route = _post(client, other, Authorization=f"Bearer {beta}")
    assert refused_by_route.status_code == 403
    refused = _post(client, Authorization=f"Bearer {beta}")
    assert refused.status_code == 403
    assert refused.content == refused_by_route.content
    for credential in ("", "Bearer not-a-key"):
        anonymous = _post(client, Authorization=credential)
        assert anonymous.status_code == 401
        assert anonymous.headers["WWW-Authenticate"] == "Bearer"
    alpha = _key(client, "alpha-only", ["Alpha"])
    allowed = _post(client, Authorization=f"Bearer {alpha}")
    assert allowed.status_code == 200
    assert allowed.content == _post(client).content


def test_a_restricted_callers_answer_is_not_kept_for_another(client: TestClient) -> None:
    alpha = _key(client, "alpha-only", ["Alpha"])
    assert _post(client, Authorization=f"Bearer {alpha}").status_code == 200
    gamma = _key(client, "gamma-only", ["Gamma"])
    assert _post(client, Authorization=f"Bearer {gamma}").status_code == 403


def test_replays_count_against_the_rate_limit(make_client: Callable[..., TestClient]) -> None:
    c = make_client(rate_limit=1, rate_limit_burst=3)
    c.headers.update({"Authorization": "Bearer test-key-1"})
    assert [_post(c).status_code for _ in range(4)] == [200, 200, 200, 429]


def test_reload_clear_and_rules_invalidate_kept_answers(
    client: TestClient, models_dir: Path
) -> None:
    assert _post(client).json()["model_version"] != "retrained0002"
    meta_path = models_dir / "category" / "metadata.json"
    meta = json.loads(meta_path.read_text())
    meta_path.write_text(json.dumps({**meta, "version": "retrained0002"}))
    assert client.post("/models/reload-all").status_code == 200
    assert _post(client).json()["model_version"] == "retrained0002"
    # An explicit clear also drops the kept answers.
    assert client.post("/models/clear-cache").status_code == 200
    before = _category_stats(client)["model_calls"]
    _post(client)
    assert _category_stats(client)["model_calls"] == before + 1
    # A new rule decides at once, for the very same bytes.
    rule = {"kind": "contains", "pattern": "coffee", "category": "Caffeine"}
    assert client.post("/rules", json=rule).status_code == 201
    answer = _post(client).json()
    assert (answer["prediction"], answer["source"]) == ("Caffeine", "rule")


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (BODY + b" " * MAX_BODY_BYTES, JSON),  # too long to keep
        (BODY, {"Content-Type": "text/plain"}),  # not JSON: the route decides
        # a content type padded to kilobytes would make each kept key that large
        (BODY, {"Content-Type": "application/json; x=" + "a" * MAX_CONTENT_TYPE_BYTES}),
    ],
)
def test_bodies_not_kept(client: TestClient, body: bytes, headers: dict[str, str]) -> None:
    first = client.post("/predict/category", content=body, headers=headers)
    second = client.post("/predict/category", content=body, headers=headers)
    assert first.content == second.content
    assert _replays(client) == 0


def test_errors_are_not_kept(client: TestClient) -> None:
    bad = json.dumps({**SEED_CATEGORY, "amount": "lots"}).encode()
    assert [_post(client, bad).status_code for _ in range(2)] == [422, 422]
    assert _replays(client) == 0


def test_loaded_models_are_frozen_and_a_replaced_set_is_collected(
    make_client: Callable[..., TestClient], models_dir: Path
) -> None:
    import gc
    import weakref

    try:
        c = make_client(gc_freeze=True)
        c.headers.update({"Authorization": "Bearer test-key-1"})
        service = c.app.state.titans.models  # type: ignore[attr-defined]
        assert gc.get_freeze_count() > 0
        old = weakref.ref(service.models.models["category"])
        assert c.post("/models/reload-all").status_code == 200
        assert old() is None  # the previous set was unfrozen and collected
        assert gc.get_freeze_count() > 0
        assert _post(c).status_code == 200
    finally:
        gc.unfreeze()  # leave the test process as it was, even when an assertion failed

"""Authentication and rate limiting (in memory and in the real Redis)."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from titans_finance.api.main import create_app
from titans_finance.api.security import key_matches
from titans_finance.auth import store
from titans_finance.config import Settings
from titans_finance.errors import ConfigurationError
from titans_finance.storage.db import get_engine

PROTECTED = [
    ("GET", "/health"),
    ("GET", "/models/status"),
    ("GET", "/models/performance"),
    ("POST", "/models/clear-cache"),
    ("GET", "/transactions"),
    ("GET", "/rules"),
    ("GET", "/budgets"),
    ("GET", "/recurring"),
    ("GET", "/insights/summary"),
    ("GET", "/metrics"),
    ("POST", "/predict/category"),
]


@pytest.fixture
def anonymous(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_protected_endpoints_need_a_key(anonymous: TestClient, method: str, path: str) -> None:
    response = anonymous.request(method, path, json={"description": "x"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json() == {
        "detail": "missing API key: send `Authorization: Bearer <key>`",
        "success": False,
    }


@pytest.mark.parametrize(
    "header",
    ["Bearer wrong-key", "Basic dGVzdC1rZXktMTo=", "Bearer ", "test-key-1", "Bearer test-key-1x"],
    ids=["wrong", "basic", "empty", "no-scheme", "prefix-of-key"],
)
def test_bad_credentials_are_refused(anonymous: TestClient, header: str) -> None:
    response = anonymous.get("/models/status", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.json()["success"] is False


def test_nothing_leaks_before_authentication(anonymous: TestClient) -> None:
    # Invalid JSON and unknown routes still answer 401: callers without a key learn nothing.
    bad_json = anonymous.post(
        "/predict/category", content=b"{oops", headers={"Content-Type": "application/json"}
    )
    assert bad_json.status_code == 401
    assert anonymous.get("/no/such/route").status_code == 401


def test_every_configured_key_works(make_client: Callable[..., TestClient]) -> None:
    c = make_client()
    for key in ("test-key-1", "test-key-2"):
        assert (
            c.get("/models/status", headers={"Authorization": f"Bearer {key}"}).status_code == 200
        )


def test_livez_needs_no_key(make_client: Callable[..., TestClient]) -> None:
    response = make_client().get("/livez")
    assert response.status_code == 200
    assert response.text == "ok"


def test_metrics_public_when_configured(make_client: Callable[..., TestClient]) -> None:
    c = make_client(metrics_public=True)
    assert c.get("/metrics").status_code == 200
    assert c.get("/health").status_code == 401


def test_key_comparison_checks_every_key() -> None:
    keys = (b"alpha", b"beta")
    assert key_matches(b"beta", keys)
    assert not key_matches(b"gamma", keys)
    assert not key_matches(b"", keys)


def test_wrong_keys_are_never_logged(
    make_client: Callable[..., TestClient], caplog: pytest.LogCaptureFixture
) -> None:
    c = make_client()
    with caplog.at_level(logging.DEBUG):
        c.get("/health", headers={"Authorization": "Bearer secret-guess-123"})
        c.get("/health", headers={"Authorization": "Bearer test-key-1"})
    assert "secret-guess-123" not in caplog.text
    assert "test-key-1" not in caplog.text


def test_production_without_keys_refuses_to_start(make_settings: Callable[..., Settings]) -> None:
    with pytest.raises(ConfigurationError, match="TITANS_API_KEYS"):
        create_app(make_settings(environment="production", api_keys=[]))


def test_development_without_keys_generates_one(
    make_settings: Callable[..., Settings], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="titans_finance.api.security"):
        app = create_app(make_settings(api_keys=[]))
    generated = app.state.titans.api_keys[0].decode()
    assert generated.startswith("dev-") and len(generated) > 20
    assert generated in caplog.text  # shown once so the developer can use it
    other = create_app(make_settings(api_keys=[])).state.titans.api_keys[0].decode()
    assert other != generated  # never a fixed, guessable key
    with TestClient(app) as c:
        ok = c.get("/models/status", headers={"Authorization": f"Bearer {generated}"})
        assert ok.status_code == 200
        assert c.get("/models/status").status_code == 401


def _exhaust(c: TestClient, key: str, times: int) -> list[int]:
    return [
        c.get("/models/status", headers={"Authorization": f"Bearer {key}"}).status_code
        for _ in range(times)
    ]


def test_rate_limit_in_memory(make_client: Callable[..., TestClient]) -> None:
    c = make_client(rate_limit=1, rate_limit_burst=3)
    codes = _exhaust(c, "test-key-1", 4)
    assert codes == [200, 200, 200, 429]
    limited = c.get("/models/status", headers={"Authorization": "Bearer test-key-1"})
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    assert "rate limit" in limited.json()["detail"]
    # Limits are per key: the other key still has its burst.
    assert _exhaust(c, "test-key-2", 1) == [200]
    # Unauthenticated requests never spend a key's tokens and get 401, not 429.
    assert c.get("/models/status").status_code == 401


@pytest.mark.redis
def test_rate_limit_in_redis_is_shared_by_workers(
    make_client: Callable[..., TestClient], redis_url: str
) -> None:
    # Two apps = two workers sharing one Redis bucket per key.
    first = make_client(redis_url=redis_url, rate_limit=1, rate_limit_burst=3)
    second = make_client(redis_url=redis_url, rate_limit=1, rate_limit_burst=3)
    assert _exhaust(first, "test-key-1", 2) == [200, 200]
    assert _exhaust(second, "test-key-1", 2) == [200, 429]
    assert _exhaust(first, "test-key-1", 1) == [429]
    response = second.get("/models/status", headers={"Authorization": "Bearer test-key-1"})
    assert int(response.headers["retry-after"]) >= 1
    import redis

    keys = redis.Redis.from_url(redis_url).keys("titans:rl:*")
    assert len(keys) == 1
    assert b"test-key-1" not in keys[0]  # keys are stored as digests, never in clear


def test_rate_limit_survives_redis_outage(make_client: Callable[..., TestClient]) -> None:
    # Nothing listens on port 1: the limiter falls back to memory and the service keeps serving.
    c = make_client(redis_url="redis://127.0.0.1:1/0", rate_limit=1, rate_limit_burst=2)
    assert _exhaust(c, "test-key-1", 3) == [200, 200, 429]


# --- stored keys and their record cache (titans_finance.auth.key_cache) -----------------
def _stored_key(admin: TestClient) -> tuple[str, str]:
    created = admin.post("/keys", json={"name": "reader", "scope": "read"})
    assert created.status_code == 201, created.text
    return created.json()["key"], created.json()["record"]["key_id"]


def test_a_cached_key_still_needs_its_secret(client: TestClient) -> None:
    key, _ = _stored_key(client)
    assert client.get("/models/status", headers={"Authorization": f"Bearer {key}"}).is_success
    wrong = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    response = client.get("/models/status", headers={"Authorization": f"Bearer {wrong}"})
    assert response.status_code == 401
    assert response.json()["detail"] == "invalid API key"


def test_revoking_through_the_api_stops_the_key_at_once(client: TestClient) -> None:
    key, key_id = _stored_key(client)
    bearer = {"Authorization": f"Bearer {key}"}
    assert client.get("/models/status", headers=bearer).is_success  # now cached
    assert client.delete(f"/keys/{key_id}").is_success
    response = client.get("/models/status", headers=bearer)
    assert response.status_code == 401
    assert response.json()["detail"] == "API key revoked"


def test_a_revocation_elsewhere_is_seen_when_the_record_is_not_cached(
    make_client: Callable[..., TestClient], make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(key_cache_seconds=0)
    client = make_client(settings)
    client.headers.update({"Authorization": "Bearer test-key-1"})
    key, key_id = _stored_key(client)
    bearer = {"Authorization": f"Bearer {key}"}
    assert client.get("/models/status", headers=bearer).is_success
    store.revoke_key(get_engine(settings.database_url), key_id)  # as the CLI would
    assert client.get("/models/status", headers=bearer).status_code == 401

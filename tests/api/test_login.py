"""Token login, refresh, stored keys' life cycle, the brute-force throttle and findings 7, 12."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from tests.api.conftest import AUTH

from titans_finance.api.main import create_app
from titans_finance.auth import Role, Scope, store
from titans_finance.auth.tokens import ACCESS, issue_token, password_stamp
from titans_finance.config import Settings
from titans_finance.errors import ConfigurationError

PASSWORD = "correct horse battery staple"
SECRET = "j" * 40


@pytest.fixture
def c(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client(jwt_secret=SecretStr(SECRET), auth_failure_burst=3)


def _engine(c: TestClient) -> object:
    return c.app.state.titans.engine()  # type: ignore[attr-defined]


def test_password_login_gives_a_token_that_carries_the_role(c: TestClient) -> None:
    store.add_user(_engine(c), "vera", PASSWORD, Role.VIEWER)  # type: ignore[arg-type]
    body = c.post("/auth/token", json={"username": "vera", "password": PASSWORD}).json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 900
    bearer = {"Authorization": f"Bearer {body['access_token']}"}
    me = c.get("/auth/me", headers=bearer).json()
    assert me["kind"] == "user" and me["name"] == "vera" and me["scope"] == "read"
    assert c.get("/transactions", headers=bearer).status_code == 200
    refused = c.put("/budgets", headers=bearer, json={"category": "Food", "amount": 1})
    assert refused.status_code == 403 and "write" in refused.json()["detail"]
    renewed = c.post("/auth/refresh", json={"refresh_token": body["refresh_token"]})
    assert renewed.status_code == 200
    assert (
        c.get(
            "/auth/me", headers={"Authorization": f"Bearer {renewed.json()['access_token']}"}
        ).status_code
        == 200
    )
    # A refresh token is not an access token, nor the reverse.
    assert (
        c.get("/auth/me", headers={"Authorization": f"Bearer {body['refresh_token']}"}).status_code
        == 401
    )
    assert c.post("/auth/refresh", json={"refresh_token": body["access_token"]}).status_code == 401


def test_tokens_die_with_a_password_change_or_the_user(c: TestClient) -> None:
    engine = _engine(c)
    store.add_user(engine, "otto", PASSWORD, Role.MEMBER)  # type: ignore[arg-type]
    token = c.post("/auth/token", json={"username": "otto", "password": PASSWORD}).json()
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    assert c.get("/auth/me", headers=bearer).status_code == 200
    store.set_password(engine, "otto", PASSWORD + "!")  # type: ignore[arg-type]
    assert c.get("/auth/me", headers=bearer).status_code == 401
    assert (
        c.post("/auth/refresh", json={"refresh_token": token["refresh_token"]}).status_code == 401
    )


def test_expired_and_forged_tokens_are_refused(c: TestClient) -> None:
    user = store.add_user(_engine(c), "vera", PASSWORD, Role.OWNER)  # type: ignore[arg-type]
    claims = {"user_id": user.id, "username": "vera", "stamp": password_stamp(user.password_hash)}
    expired, _ = issue_token(SECRET, kind=ACCESS, ttl_seconds=-5, **claims)  # type: ignore[arg-type]
    forged, _ = issue_token("f" * 40, kind=ACCESS, ttl_seconds=60, **claims)  # type: ignore[arg-type]
    good, _ = issue_token(SECRET, kind=ACCESS, ttl_seconds=60, **claims)  # type: ignore[arg-type]
    assert c.get("/auth/me", headers={"Authorization": f"Bearer {good}"}).status_code == 200
    for token in (expired, forged):
        response = c.get("/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401


def test_failed_logins_are_throttled_per_address(c: TestClient) -> None:
    store.add_user(_engine(c), "vera", PASSWORD, Role.VIEWER)  # type: ignore[arg-type]
    codes = [
        c.post("/auth/token", json={"username": "vera", "password": "wrong password!"}).status_code
        for _ in range(4)
    ]
    assert codes == [401, 401, 401, 429]
    blocked = c.post("/auth/token", json={"username": "vera", "password": PASSWORD})
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) >= 1
    # The same address is blocked for keys too, even with a right key: nothing to learn.
    assert c.get("/health", headers=AUTH).status_code == 429


def test_wrong_keys_are_throttled(c: TestClient) -> None:
    """Finding 7: wrong keys were never throttled."""
    codes = [
        c.get("/health", headers={"Authorization": f"Bearer guess-{i}"}).status_code
        for i in range(4)
    ]
    assert codes == [401, 401, 401, 429]
    response = c.get("/health", headers={"Authorization": "Bearer guess-9"})
    assert response.status_code == 429 and "retry-after" in response.headers


def test_short_environment_keys_are_refused_in_production(
    make_settings: Callable[..., Settings],
) -> None:
    """Finding 7: a 1-character key was accepted in production."""
    with pytest.raises(ConfigurationError, match="32 characters"):
        create_app(make_settings(environment="production", api_keys=[SecretStr("k")]))
    with pytest.raises(ConfigurationError, match="TITANS_JWT_SECRET"):
        create_app(
            make_settings(
                environment="production",
                api_keys=[SecretStr("k" * 32)],
                jwt_secret=SecretStr("short"),
            )
        )
    create_app(make_settings(environment="production", api_keys=[SecretStr("k" * 32)]))


def test_options_does_not_tell_existing_routes_apart(c: TestClient) -> None:
    """Finding 12: OPTIONS answered 404 or 405 depending on whether the route exists."""
    existing = c.options("/transactions")
    missing = c.options("/no/such/route")
    assert existing.status_code == missing.status_code == 401
    assert existing.json() == missing.json()


def test_stored_key_life_cycle(c: TestClient) -> None:
    engine = _engine(c)
    created = c.post("/keys", headers=AUTH, json={"name": "ci", "scope": "write"}).json()
    key, key_id = created["key"], created["record"]["key_id"]
    assert key.startswith(f"tfk_{key_id}_") and len(key) > 40
    record = store.get_key(engine, key_id)  # type: ignore[arg-type]
    assert record.digest != key and key not in str(record.public())
    bearer = {"Authorization": f"Bearer {key}"}
    assert c.get("/transactions", headers=bearer).status_code == 200
    assert store.get_key(engine, key_id).last_used_at is not None  # type: ignore[arg-type]
    assert c.get("/keys", headers=bearer).status_code == 403  # write is not admin
    listed = c.get("/keys", headers=AUTH).json()["keys"]
    assert [k["key_id"] for k in listed] == [key_id] and "key" not in listed[0]
    assert c.delete(f"/keys/{key_id}", headers=AUTH).status_code == 200
    assert c.get("/transactions", headers=bearer).status_code == 401
    # A key with the right id but a wrong secret is refused like an unknown one.
    assert (
        c.get("/transactions", headers={"Authorization": f"Bearer tfk_{key_id}_x"}).status_code
        == 401
    )


def test_expired_keys_are_refused(c: TestClient) -> None:
    engine = _engine(c)
    record, key = store.create_key(
        engine,  # type: ignore[arg-type]
        name="soon",
        scope=Scope.READ,
        created_by="test",
        expires_at=datetime.now(UTC) + timedelta(seconds=1),
    )
    from sqlalchemy import update

    from titans_finance.storage.tables import ApiKey

    with engine.begin() as conn:  # type: ignore[attr-defined]
        conn.execute(
            update(ApiKey)
            .where(ApiKey.c.id == record.id)
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    response = c.get("/health", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 401 and "expired" in response.json()["detail"]


def test_per_key_rate_limit(c: TestClient) -> None:
    created = c.post(
        "/keys", headers=AUTH, json={"name": "slow", "scope": "read", "rate_limit": 2}
    ).json()
    bearer = {"Authorization": f"Bearer {created['key']}"}
    codes = [c.get("/models/status", headers=bearer).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    assert c.get("/models/status", headers=AUTH).status_code == 200  # others unaffected


def test_admin_keys_and_owners_cannot_be_limited_to_accounts(c: TestClient) -> None:
    key = c.post("/keys", headers=AUTH, json={"name": "a", "scope": "admin", "accounts": ["X"]})
    assert key.status_code == 422 and "admin" in key.json()["detail"]
    user = c.post(
        "/users",
        headers=AUTH,
        json={"username": "o", "password": PASSWORD, "role": "owner", "accounts": ["X"]},
    )
    assert user.status_code == 422


def test_writes_are_audited_with_who_and_what(c: TestClient) -> None:
    created = c.post("/keys", headers=AUTH, json={"name": "bot", "scope": "write"}).json()
    bearer = {"Authorization": f"Bearer {created['key']}"}
    rule = {"kind": "contains", "pattern": "SPOTIFY", "category": "Music"}
    assert c.post("/rules", headers=bearer, json=rule).status_code == 201
    assert (
        c.put("/budgets", headers=bearer, json={"category": "Music", "amount": 10}).status_code
        == 200
    )
    assert c.post("/models/clear-cache", headers=AUTH).status_code == 200
    events = c.get("/audit", headers=AUTH).json()["items"]
    actions = [(e["actor"], e["action"]) for e in events]
    assert ("key:bot", "rule.create") in actions
    assert ("key:bot", "budget.set") in actions
    assert any(a == "key.create" for _, a in actions)
    assert any(a == "cache.clear" for _, a in actions)
    rule_event = next(e for e in events if e["action"] == "rule.create")
    assert rule_event["detail"]["pattern"] == "SPOTIFY" and rule_event["at"]
    assert c.get("/audit", headers=bearer).status_code == 403
    only = c.get("/audit", headers=AUTH, params={"action": "budget.set"}).json()
    assert only["total"] == 1

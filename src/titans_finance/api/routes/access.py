"""Administration of stored API keys and users (admin scope); every change is audited."""

from __future__ import annotations

from datetime import UTC
from typing import Annotated, Any

from fastapi import APIRouter, Path, status

from titans_finance.api import access_schemas as a
from titans_finance.api.deps import AdminDep, EngineDep, StateDep
from titans_finance.auth import store
from titans_finance.auth.scopes import parse_accounts

keys_router = APIRouter(prefix="/keys", tags=["access"])
users_router = APIRouter(prefix="/users", tags=["access"])

KeyIdent = Annotated[str, Path(min_length=1, max_length=100, description="key_id or name")]
Username = Annotated[str, Path(min_length=1, max_length=100)]


@keys_router.get("", response_model=a.KeyList, summary="List API keys")
def list_keys(engine: EngineDep, _admin: AdminDep) -> Any:
    """Every stored key with scope, accounts, expiry and last use (never the key)."""
    return {"success": True, "keys": [k.public() for k in store.list_keys(engine)]}


@keys_router.post(
    "",
    response_model=a.KeyCreated,
    status_code=status.HTTP_201_CREATED,
    summary="Create an API key",
)
def create_key(body: a.KeyCreate, engine: EngineDep, admin: AdminDep) -> Any:
    """A new key, shown in this answer only; the store keeps its SHA-256 digest."""
    expires = body.expires_at
    if expires is not None and expires.tzinfo is None:
        expires = expires.replace(tzinfo=UTC)
    record, key = store.create_key(
        engine,
        name=body.name,
        scope=body.scope,
        created_by=admin.actor,
        accounts=parse_accounts(body.accounts),
        expires_at=expires,
        rate_limit=body.rate_limit,
    )
    store.record_audit(
        engine, actor=admin.actor, action="key.create", target=record.key_id, detail=record.public()
    )
    return {"success": True, "key": key, "record": record.public()}


@keys_router.delete("/{key}", response_model=a.KeyRevoked, summary="Revoke an API key")
def revoke_key(key: KeyIdent, engine: EngineDep, admin: AdminDep, state: StateDep) -> Any:
    """Revoke a key by key_id or name (404 when unknown): it stops working at once in this
    worker, and within ``TITANS_KEY_CACHE_SECONDS`` in others."""
    record = store.revoke_key(engine, key)
    state.authenticator.key_records.forget(record.key_id)
    store.record_audit(engine, actor=admin.actor, action="key.revoke", target=record.key_id)
    return {"success": True, "record": record.public()}


@users_router.get("", response_model=a.UserList, summary="List users")
def list_users(engine: EngineDep, _admin: AdminDep) -> Any:
    """Every user with role and accounts (never the password hash)."""
    return {"success": True, "users": [u.public() for u in store.list_users(engine)]}


@users_router.post(
    "",
    response_model=a.UserOne,
    status_code=status.HTTP_201_CREATED,
    summary="Add a user",
)
def add_user(body: a.UserCreate, engine: EngineDep, admin: AdminDep) -> Any:
    """A new user with an argon2id-hashed password."""
    user = store.add_user(
        engine, body.username, body.password, body.role, parse_accounts(body.accounts)
    )
    detail = {k: v for k, v in user.public().items() if k != "created_at"}
    store.record_audit(
        engine, actor=admin.actor, action="user.create", target=user.username, detail=detail
    )
    return {"success": True, "user": user.public()}


@users_router.delete("/{username}", response_model=a.UserOne, summary="Remove a user")
def delete_user(username: Username, engine: EngineDep, admin: AdminDep) -> Any:
    """Remove a user; their tokens stop working at once (404 when unknown)."""
    user = store.delete_user(engine, username)
    store.record_audit(engine, actor=admin.actor, action="user.delete", target=user.username)
    return {"success": True, "user": user.public()}


__all__ = ["keys_router", "users_router"]

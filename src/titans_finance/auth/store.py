"""Users, stored API keys and the audit log in the store."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from titans_finance.auth.keys import generate_key, key_digest
from titans_finance.auth.passwords import hash_password
from titans_finance.auth.scopes import Role, Scope
from titans_finance.errors import NotFoundError, ValidationError
from titans_finance.storage.tables import Account, ApiKey, AuditEvent, Transaction, User

logger = logging.getLogger(__name__)

MAX_NAME_LENGTH = 100


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes; every stored timestamp is UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _dump_accounts(accounts: Iterable[str] | None) -> str | None:
    return None if accounts is None else json.dumps(sorted(accounts))


def _load_accounts(raw: str | None) -> frozenset[str] | None:
    return None if raw is None else frozenset(json.loads(raw))


def _check_name(name: str, what: str) -> str:
    name = name.strip()
    if not name or len(name) > MAX_NAME_LENGTH or any(ord(c) < 32 for c in name):
        raise ValidationError(
            f"{what}: give 1 to {MAX_NAME_LENGTH} printable characters (got {name[:40]!r})"
        )
    return name


@dataclass(frozen=True)
class UserRecord:
    """A stored user (the password hash stays inside this module's callers)."""

    id: int
    username: str
    role: Role
    accounts: frozenset[str] | None
    password_hash: str
    created_at: datetime

    def public(self) -> dict[str, Any]:
        """What may be shown: never the hash."""
        return {
            "id": self.id,
            "username": self.username,
            "role": self.role.value,
            "accounts": sorted(self.accounts) if self.accounts is not None else None,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True)
class KeyRecord:
    """A stored key (its digest, never the key)."""

    id: int
    key_id: str
    name: str
    digest: str
    scope: Scope
    accounts: frozenset[str] | None
    rate_limit: int | None
    created_by: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        """Not revoked and not expired."""
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > _now())

    def public(self) -> dict[str, Any]:
        """What may be shown: id, name, scope, accounts, limits and times (no digest)."""

        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value is not None else None

        return {
            "id": self.id,
            "key_id": self.key_id,
            "name": self.name,
            "scope": self.scope.value,
            "accounts": sorted(self.accounts) if self.accounts is not None else None,
            "rate_limit": self.rate_limit,
            "created_by": self.created_by,
            "created_at": iso(self.created_at),
            "expires_at": iso(self.expires_at),
            "last_used_at": iso(self.last_used_at),
            "revoked_at": iso(self.revoked_at),
            "active": self.active,
        }


def _user(row: Any) -> UserRecord:
    return UserRecord(
        id=row.id,
        username=row.username,
        role=Role(row.role),
        accounts=_load_accounts(row.accounts),
        password_hash=row.password_hash,
        created_at=_aware(row.created_at) or _now(),
    )


def _key(row: Any) -> KeyRecord:
    return KeyRecord(
        id=row.id,
        key_id=row.key_id,
        name=row.name,
        digest=row.digest,
        scope=Scope(row.scope),
        accounts=_load_accounts(row.accounts),
        rate_limit=row.rate_limit,
        created_by=row.created_by,
        created_at=_aware(row.created_at) or _now(),
        expires_at=_aware(row.expires_at),
        last_used_at=_aware(row.last_used_at),
        revoked_at=_aware(row.revoked_at),
    )


# --- users -------------------------------------------------------------------------------


def add_user(
    engine: Engine,
    username: str,
    password: str,
    role: Role,
    accounts: frozenset[str] | None = None,
) -> UserRecord:
    """Store a new user with an argon2id password hash (ValidationError if the name is taken)."""
    username = _check_name(username, "username")
    if role is Role.OWNER and accounts is not None:
        raise ValidationError("accounts: an owner administers every account; give no accounts")
    password_hash = hash_password(password)
    try:
        with engine.begin() as conn:
            conn.execute(
                insert(User).values(
                    username=username,
                    password_hash=password_hash,
                    role=role.value,
                    accounts=_dump_accounts(accounts),
                    created_at=_now(),
                )
            )
    except IntegrityError:
        raise ValidationError(f"username: {username!r} already exists") from None
    return get_user(engine, username)


def get_user(engine: Engine, username: str) -> UserRecord:
    """The user named ``username`` (NotFoundError when absent)."""
    found = find_user(engine, username)
    if found is None:
        raise NotFoundError(f"user {username!r} does not exist")
    return found


def find_user(engine: Engine, username: str) -> UserRecord | None:
    """The user named ``username`` or None."""
    with engine.connect() as conn:
        row = conn.execute(select(User).where(User.c.username == username)).one_or_none()
    return _user(row) if row is not None else None


def find_user_by_id(engine: Engine, user_id: int) -> UserRecord | None:
    """The user with ``user_id`` or None."""
    with engine.connect() as conn:
        row = conn.execute(select(User).where(User.c.id == user_id)).one_or_none()
    return _user(row) if row is not None else None


def list_users(engine: Engine) -> list[UserRecord]:
    """Every user, by name."""
    with engine.connect() as conn:
        rows = conn.execute(select(User).order_by(User.c.username)).all()
    return [_user(row) for row in rows]


def users_exist(engine: Engine) -> bool:
    """True when at least one user is stored."""
    with engine.connect() as conn:
        return bool(conn.execute(select(func.count(User.c.id))).scalar_one())


def set_password(engine: Engine, username: str, password: str) -> UserRecord:
    """Replace a user's password (their existing tokens stop working)."""
    user = get_user(engine, username)
    with engine.begin() as conn:
        conn.execute(
            update(User).where(User.c.id == user.id).values(password_hash=hash_password(password))
        )
    return get_user(engine, username)


def delete_user(engine: Engine, username: str) -> UserRecord:
    """Remove a user (their tokens stop working at once)."""
    from sqlalchemy import delete

    user = get_user(engine, username)
    with engine.begin() as conn:
        conn.execute(delete(User).where(User.c.id == user.id))
    return user


def ensure_owner(engine: Engine, username: str, password: str) -> tuple[UserRecord, bool]:
    """The owner ``username``, created when missing: (user, created).  Idempotent.

    An existing user of that name is left as it is (its password is not reset).
    """
    existing = find_user(engine, username)
    if existing is not None:
        return existing, False
    try:
        return add_user(engine, username, password, Role.OWNER), True
    except ValidationError:
        # Created concurrently by another process between the lookup and the insert.
        again = find_user(engine, username)
        if again is None:
            raise
        return again, False


# --- keys --------------------------------------------------------------------------------


def create_key(
    engine: Engine,
    *,
    name: str,
    scope: Scope,
    created_by: str,
    accounts: frozenset[str] | None = None,
    expires_at: datetime | None = None,
    rate_limit: int | None = None,
) -> tuple[KeyRecord, str]:
    """Store a new key's digest; returns (record, the key) — the only time the key exists."""
    name = _check_name(name, "name")
    if scope is Scope.ADMIN and accounts is not None:
        raise ValidationError("accounts: an admin key acts on every account; give no accounts")
    if expires_at is not None and expires_at <= _now():
        raise ValidationError("expires: the expiry must be in the future")
    if rate_limit is not None and rate_limit < 1:
        raise ValidationError("rate_limit: give at least 1 request per hour")
    key_id, key = generate_key()
    with engine.begin() as conn:
        conn.execute(
            insert(ApiKey).values(
                key_id=key_id,
                name=name,
                digest=key_digest(key),
                scope=scope.value,
                accounts=_dump_accounts(accounts),
                rate_limit=rate_limit,
                created_by=created_by,
                created_at=_now(),
                expires_at=expires_at,
            )
        )
    return get_key(engine, key_id), key


def find_key(engine: Engine, key_id: str) -> KeyRecord | None:
    """The key with public id ``key_id`` or None."""
    with engine.connect() as conn:
        row = conn.execute(select(ApiKey).where(ApiKey.c.key_id == key_id)).one_or_none()
    return _key(row) if row is not None else None


def get_key(engine: Engine, ident: str) -> KeyRecord:
    """A key by public id, numeric id or unique name (NotFoundError / ValidationError)."""
    found = find_key(engine, ident)
    if found is not None:
        return found
    with engine.connect() as conn:
        if ident.isdigit():
            rows = conn.execute(select(ApiKey).where(ApiKey.c.id == int(ident))).all()
        else:
            rows = conn.execute(select(ApiKey).where(ApiKey.c.name == ident)).all()
    if not rows:
        raise NotFoundError(f"key {ident!r} does not exist; `titans keys list` shows them")
    if len(rows) > 1:
        raise ValidationError(f"key: {len(rows)} keys are named {ident!r}; give its key_id")
    return _key(rows[0])


def list_keys(engine: Engine) -> list[KeyRecord]:
    """Every key, newest first."""
    with engine.connect() as conn:
        rows = conn.execute(select(ApiKey).order_by(ApiKey.c.id.desc())).all()
    return [_key(row) for row in rows]


def revoke_key(engine: Engine, ident: str) -> KeyRecord:
    """Revoke a key at once (NotFoundError when unknown); revoking twice keeps the first time."""
    key = get_key(engine, ident)
    if key.revoked_at is None:
        with engine.begin() as conn:
            conn.execute(update(ApiKey).where(ApiKey.c.id == key.id).values(revoked_at=_now()))
    return get_key(engine, key.key_id)


def touch_key(engine: Engine, key_pk: int, when: datetime | None = None) -> None:
    """Record that a key was used."""
    with engine.begin() as conn:
        conn.execute(
            update(ApiKey).where(ApiKey.c.id == key_pk).values(last_used_at=when or _now())
        )


# --- account scoping of imports ---------------------------------------------------------


def imports_within(engine: Engine, accounts: frozenset[str]) -> set[int]:
    """Ids of the imports whose stored transactions all belong to ``accounts``.

    An import that stored nothing (all duplicates or rejected) names no account, so it is
    not shown to callers limited to some accounts.
    """
    outside = (
        select(Transaction.c.import_id)
        .join(Account, Account.c.id == Transaction.c.account_id)
        .where(Account.c.name.not_in(sorted(accounts)), Transaction.c.import_id.is_not(None))
        .distinct()
    )
    inside = (
        select(Transaction.c.import_id)
        .join(Account, Account.c.id == Transaction.c.account_id)
        .where(Account.c.name.in_(sorted(accounts)), Transaction.c.import_id.is_not(None))
        .distinct()
    )
    with engine.connect() as conn:
        allowed = {int(i) for i in conn.execute(inside).scalars() if i is not None}
        if allowed:
            allowed -= {int(i) for i in conn.execute(outside).scalars() if i is not None}
    return allowed


# --- audit -------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditRecord:
    """One audited write."""

    id: int
    at: datetime
    actor: str
    action: str
    target: str | None
    detail: dict[str, Any]

    def public(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "id": self.id,
            "at": self.at.isoformat(),
            "actor": self.actor,
            "action": self.action,
            "target": self.target,
            "detail": self.detail,
        }


def record_audit(
    engine: Engine,
    *,
    actor: str,
    action: str,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one event to the audit log."""
    with engine.begin() as conn:
        conn.execute(
            insert(AuditEvent).values(
                at=_now(),
                actor=actor[:200],
                action=action[:50],
                target=target[:500] if target is not None else None,
                detail=json.dumps(detail or {}, default=str, sort_keys=True),
            )
        )


def list_audit(
    engine: Engine,
    *,
    limit: int = 100,
    offset: int = 0,
    action: str | None = None,
    actor: str | None = None,
) -> tuple[int, list[AuditRecord]]:
    """(total, events newest first) optionally of one action or actor."""
    stmt = select(AuditEvent)
    count = select(func.count(AuditEvent.c.id))
    if action is not None:
        stmt = stmt.where(AuditEvent.c.action == action)
        count = count.where(AuditEvent.c.action == action)
    if actor is not None:
        stmt = stmt.where(AuditEvent.c.actor == actor)
        count = count.where(AuditEvent.c.actor == actor)
    with engine.connect() as conn:
        total = int(conn.execute(count).scalar_one())
        rows = conn.execute(stmt.order_by(AuditEvent.c.id.desc()).limit(limit).offset(offset)).all()
    return total, [
        AuditRecord(
            id=row.id,
            at=_aware(row.at) or _now(),
            actor=row.actor,
            action=row.action,
            target=row.target,
            detail=json.loads(row.detail) if row.detail else {},
        )
        for row in rows
    ]


__all__ = [
    "AuditRecord",
    "KeyRecord",
    "UserRecord",
    "add_user",
    "create_key",
    "delete_user",
    "ensure_owner",
    "find_key",
    "find_user",
    "find_user_by_id",
    "get_key",
    "get_user",
    "imports_within",
    "list_audit",
    "list_keys",
    "list_users",
    "record_audit",
    "revoke_key",
    "set_password",
    "touch_key",
    "users_exist",
]

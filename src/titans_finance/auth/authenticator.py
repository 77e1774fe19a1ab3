"""One place that turns a bearer credential into a Principal: environment keys, stored keys
and users' JWTs; and the password login and refresh that issue those tokens."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from titans_finance.auth import store
from titans_finance.auth.key_cache import KeyRecordCache
from titans_finance.auth.keys import digest_matches, parse_key_id
from titans_finance.auth.passwords import verify_password
from titans_finance.auth.scopes import Principal, Scope
from titans_finance.auth.tokens import (
    ACCESS,
    MIN_SECRET_LENGTH,
    REFRESH,
    decode_token,
    issue_token,
    looks_like_token,
    password_stamp,
)
from titans_finance.config import Settings
from titans_finance.errors import (
    AuthenticationError,
    ConfigurationError,
    ServiceUnavailableError,
)

logger = logging.getLogger(__name__)

# last_used_at is written at most this often per key and worker (not on every request).
TOUCH_INTERVAL_SECONDS = 60.0
_INVALID_KEY = "invalid API key"


def key_identity(token: bytes) -> str:
    """A stable, non-reversible identity of an environment key (for limits and logs)."""
    return hashlib.sha256(token).hexdigest()[:16]


def key_matches(token: bytes, keys: tuple[bytes, ...]) -> bool:
    """Compare against every key in constant time (no early exit on the first match)."""
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(token, key)
    return matched


def resolve_jwt_secret(settings: Settings) -> str | None:
    """The token signing secret: TITANS_JWT_SECRET; in development a per-process random one.

    Production without it returns None (token login answers 503); a short one is refused.
    """
    if settings.jwt_secret is not None:
        secret = settings.jwt_secret.get_secret_value()
        if settings.is_production and len(secret) < MIN_SECRET_LENGTH:
            raise ConfigurationError(
                f"TITANS_JWT_SECRET is {len(secret)} characters; production needs at least "
                f"{MIN_SECRET_LENGTH} random characters"
            )
        return secret
    if settings.is_production:
        return None
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class TokenPair:
    """What a login or refresh returns."""

    access_token: str
    access_expires_at: datetime
    refresh_token: str
    refresh_expires_at: datetime

    def to_dict(self, ttl: int) -> dict[str, Any]:
        """The OAuth2-style response body."""
        return {
            "access_token": self.access_token,
            "token_type": "bearer",
            "expires_in": ttl,
            "expires_at": self.access_expires_at.isoformat(),
            "refresh_token": self.refresh_token,
            "refresh_expires_at": self.refresh_expires_at.isoformat(),
        }


class Authenticator:
    """Checks credentials; the API middleware and the token routes both go through it."""

    def __init__(
        self, settings: Settings, env_keys: tuple[bytes, ...], engine: Callable[[], Engine]
    ) -> None:
        self.settings = settings
        self.env_keys = env_keys
        self.engine = engine
        self.jwt_secret = resolve_jwt_secret(settings)
        self._touched: dict[int, float] = {}
        self._lock = threading.Lock()
        self.key_records = KeyRecordCache(settings.key_cache_seconds)

    # Environment keys need no store: checked inline, without a thread hop.
    def env_principal(self, token: bytes) -> Principal | None:
        """The admin principal of an environment key, or None."""
        if not key_matches(token, self.env_keys):
            return None
        identity = key_identity(token)
        return Principal(kind="env-key", name=identity[:8], scope=Scope.ADMIN, identity=identity)

    def needs_store(self, token: bytes) -> bool:
        """True when ``token`` can only be checked against the store (key or JWT)."""
        return parse_key_id(token) is not None or looks_like_token(token)

    def authenticate(self, token: bytes) -> Principal:
        """The principal of ``token`` (AuthenticationError when it is not valid)."""
        principal = self.env_principal(token)
        if principal is not None:
            return principal
        key_id = parse_key_id(token)
        if key_id is not None:
            return self._stored_key(key_id, token)
        if looks_like_token(token):
            return self._access_token(token)
        raise AuthenticationError(_INVALID_KEY)

    def _stored_key(self, key_id: str, token: bytes) -> Principal:
        engine = self.engine()
        record = self.key_records.get(key_id, lambda ident: store.find_key(engine, ident))
        # The digest is compared even for an unknown id, so a wrong secret and an unknown id
        # fail alike.  A key id is not a secret (it is the key's public part, listed by
        # `titans keys list`): that a cached id answers sooner than one read from the store
        # tells nothing about any secret.
        matches = digest_matches(token, record.digest if record is not None else "0" * 64)
        if record is None or not matches:
            raise AuthenticationError(_INVALID_KEY)
        if record.revoked_at is not None:
            raise AuthenticationError("API key revoked")
        if record.expires_at is not None and record.expires_at <= datetime.now(UTC):
            raise AuthenticationError("API key expired")
        self._touch(engine, record.id)
        return Principal(
            kind="key",
            name=record.name,
            scope=record.scope,
            identity=f"key-{record.key_id}",
            accounts=record.accounts,
            rate_limit=record.rate_limit,
            key_id=record.id,
        )

    def _touch(self, engine: Engine, key_pk: int) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._touched.get(key_pk, -TOUCH_INTERVAL_SECONDS) < TOUCH_INTERVAL_SECONDS:
                return
            self._touched[key_pk] = now
        try:
            store.touch_key(engine, key_pk)
        except Exception as exc:  # a busy store must not fail the request being served
            logger.warning("cannot record key use: %s", type(exc).__name__)

    def _secret(self) -> str:
        if self.jwt_secret is None:
            raise ServiceUnavailableError(
                "token login is disabled: set TITANS_JWT_SECRET (at least 32 random characters)"
            )
        return self.jwt_secret

    def _access_token(self, token: bytes) -> Principal:
        if self.jwt_secret is None:
            raise AuthenticationError("invalid token: token login is disabled on this server")
        claims = decode_token(self.jwt_secret, token, ACCESS)
        user = store.find_user_by_id(self.engine(), claims.user_id)
        if user is None or not hmac.compare_digest(
            claims.stamp, password_stamp(user.password_hash)
        ):
            raise AuthenticationError("invalid token: log in again")
        return Principal(
            kind="user",
            name=user.username,
            scope=user.role.scope,
            identity=f"user-{user.id}",
            accounts=user.accounts,
            user_id=user.id,
        )

    def _pair(self, user: store.UserRecord) -> TokenPair:
        secret = self._secret()
        stamp = password_stamp(user.password_hash)
        access, access_exp = issue_token(
            secret,
            user_id=user.id,
            username=user.username,
            stamp=stamp,
            kind=ACCESS,
            ttl_seconds=self.settings.token_ttl_seconds,
        )
        refresh, refresh_exp = issue_token(
            secret,
            user_id=user.id,
            username=user.username,
            stamp=stamp,
            kind=REFRESH,
            ttl_seconds=self.settings.refresh_ttl_seconds,
        )
        return TokenPair(access, access_exp, refresh, refresh_exp)

    def login(self, username: str, password: str) -> TokenPair:
        """Tokens for a user's name and password (AuthenticationError otherwise)."""
        self._secret()
        user = store.find_user(self.engine(), username)
        if not verify_password(user.password_hash if user else None, password) or user is None:
            raise AuthenticationError("wrong username or password")
        return self._pair(user)

    def refresh(self, refresh_token: str) -> TokenPair:
        """A new token pair for a valid refresh token of an existing user."""
        claims = decode_token(self._secret(), refresh_token, REFRESH)
        user = store.find_user_by_id(self.engine(), claims.user_id)
        if user is None or not hmac.compare_digest(
            claims.stamp, password_stamp(user.password_hash)
        ):
            raise AuthenticationError("invalid token: log in again")
        return self._pair(user)


__all__ = [
    "TOUCH_INTERVAL_SECONDS",
    "Authenticator",
    "TokenPair",
    "key_identity",
    "key_matches",
    "resolve_jwt_secret",
]

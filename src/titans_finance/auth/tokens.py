"""Short-lived JWT access tokens and longer refresh tokens (PyJWT, HS256)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from titans_finance.errors import AuthenticationError

ALGORITHM = "HS256"
ISSUER = "titans-finance"
ACCESS = "access"
REFRESH = "refresh"
MIN_SECRET_LENGTH = 32


def password_stamp(password_hash: str) -> str:
    """A short digest of the stored password hash: tokens die when the password changes."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class TokenClaims:
    """What a verified token says."""

    user_id: int
    username: str
    kind: str
    stamp: str
    expires_at: datetime


def issue_token(
    secret: str, *, user_id: int, username: str, stamp: str, kind: str, ttl_seconds: int
) -> tuple[str, datetime]:
    """A signed token of ``kind`` (access or refresh) and when it expires."""
    now = datetime.now(UTC)
    expires = now + timedelta(seconds=ttl_seconds)
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": str(user_id),
        "usr": username,
        "typ": kind,
        "stp": stamp,
        "iat": now,
        "exp": expires,
        "jti": secrets.token_hex(8),
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM), expires


def looks_like_token(token: bytes) -> bool:
    """True when ``token`` has a JWT's three dot-separated parts."""
    return token.count(b".") == 2 and token.startswith(b"eyJ")


def decode_token(secret: str, token: str | bytes, kind: str) -> TokenClaims:
    """Verify signature, expiry, issuer and kind; AuthenticationError otherwise."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "typ", "iss"]},
        )
    except jwt.ExpiredSignatureError:
        raise AuthenticationError("token expired: get a new one from /auth/refresh") from None
    except jwt.InvalidTokenError:
        raise AuthenticationError("invalid token") from None
    if claims.get("typ") != kind:
        raise AuthenticationError(f"invalid token: a {kind} token is needed")
    try:
        user_id = int(claims["sub"])
    except (TypeError, ValueError):
        raise AuthenticationError("invalid token") from None
    return TokenClaims(
        user_id=user_id,
        username=str(claims.get("usr", "")),
        kind=kind,
        stamp=str(claims.get("stp", "")),
        expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
    )


__all__ = [
    "ACCESS",
    "MIN_SECRET_LENGTH",
    "REFRESH",
    "TokenClaims",
    "decode_token",
    "issue_token",
    "looks_like_token",
    "password_stamp",
]

"""Stored API keys: generated once, shown once, kept only as a SHA-256 digest.

A key reads ``tfk_<id>_<secret>``: the id finds the stored row, the digest of the whole key
is compared in constant time.  The secret is 256 random bits, so a fast hash is enough (a
password hash would cost every request tens of milliseconds for nothing).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

KEY_PREFIX = "tfk_"
_ID_HEX = 12
MIN_ENV_KEY_LENGTH = 32


def generate_key() -> tuple[str, str]:
    """(public key id, full key) of a fresh random key."""
    key_id = secrets.token_hex(_ID_HEX // 2)
    return key_id, f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"


def key_digest(key: str | bytes) -> str:
    """Hex SHA-256 of a key: what the store keeps."""
    raw = key.encode() if isinstance(key, str) else key
    return hashlib.sha256(raw).hexdigest()


def parse_key_id(token: bytes) -> str | None:
    """The id part of a stored-key token, or None when ``token`` is not shaped like one."""
    if not token.startswith(KEY_PREFIX.encode()):
        return None
    key_id, sep, secret = token[len(KEY_PREFIX) :].partition(b"_")
    if not sep or len(key_id) != _ID_HEX or not secret:
        return None
    try:
        text = key_id.decode("ascii")
    except UnicodeDecodeError:
        return None
    return text if all(c in "0123456789abcdef" for c in text) else None


def digest_matches(token: bytes, stored_digest: str) -> bool:
    """Constant-time comparison of ``token``'s digest with the stored one."""
    return hmac.compare_digest(key_digest(token).encode(), stored_digest.encode())


__all__ = [
    "KEY_PREFIX",
    "MIN_ENV_KEY_LENGTH",
    "digest_matches",
    "generate_key",
    "key_digest",
    "parse_key_id",
]

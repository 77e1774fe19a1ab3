"""Password hashing with argon2id (argon2-cffi), verified in constant time."""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from titans_finance.errors import ValidationError

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024


@lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    return PasswordHasher()  # argon2id, RFC 9106 low-memory profile


def check_password_strength(password: str) -> None:
    """ValidationError for a password too short or too long to accept."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            f"password: at least {MIN_PASSWORD_LENGTH} characters are needed (got {len(password)})"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValidationError(f"password: at most {MAX_PASSWORD_LENGTH} characters")


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` (salted; includes its parameters)."""
    check_password_strength(password)
    return _hasher().hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when ``password`` matches ``stored_hash``.

    With no stored hash (unknown user) a dummy hash is verified anyway, so an unknown name
    takes as long as a wrong password.
    """
    if len(password) > MAX_PASSWORD_LENGTH:
        return False
    target = stored_hash or _dummy_hash()
    try:
        ok = _hasher().verify(target, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    return ok and stored_hash is not None


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher().hash("not-a-password-of-anyone")


__all__ = [
    "MIN_PASSWORD_LENGTH",
    "check_password_strength",
    "hash_password",
    "verify_password",
]

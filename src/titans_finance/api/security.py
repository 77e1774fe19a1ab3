"""API-key authentication (constant-time, over every key) and the per-key rate limit."""

from __future__ import annotations

import hmac
import logging
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from titans_finance.api.limits import RateLimiter, key_identity
from titans_finance.api.state import AppState
from titans_finance.config import Settings, generate_development_key
from titans_finance.errors import ConfigurationError

logger = logging.getLogger(__name__)

bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="APIKey",
    description="`Authorization: Bearer <key>` with a key from TITANS_API_KEYS",
)


def resolve_api_keys(settings: Settings) -> tuple[bytes, ...]:
    """The accepted keys: configured ones; in development without keys, one generated key.

    Production without keys is refused (ConfigurationError): there is no default key.
    """
    keys = tuple(
        k.get_secret_value().strip().encode()
        for k in settings.api_keys
        if k.get_secret_value().strip()
    )
    if keys:
        return keys
    if settings.is_production:
        raise ConfigurationError(
            "TITANS_API_KEYS is empty: production refuses to start without explicit API keys; "
            "set TITANS_API_KEYS to a comma-separated list of long random keys"
        )
    generated = generate_development_key()
    # Shown once so a developer can call the API; a fresh key every start, never a fixed one.
    logger.warning(
        "no TITANS_API_KEYS set; development API key for this run: %s "
        "(set TITANS_API_KEYS to choose your own)",
        generated,
    )
    return (generated.encode(),)


def key_matches(token: bytes, keys: tuple[bytes, ...]) -> bool:
    """Compare against every key in constant time (no early exit on the first match)."""
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(token, key)
    return matched


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail=message,
        headers={"WWW-Authenticate": "Bearer"},
    )


async def require_api_key(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> str:
    """Authenticate the caller and take one rate-limit token; returns the key's identity."""
    state: AppState = request.app.state.titans
    if credentials is None or not credentials.credentials:
        raise _unauthorized("missing API key: send `Authorization: Bearer <key>`")
    token = credentials.credentials.encode()
    if not key_matches(token, state.api_keys):
        raise _unauthorized("invalid API key")
    identity = key_identity(token)
    limiter: RateLimiter | None = state.limiter
    if limiter is not None:
        decision = await limiter.hit(identity)
        if not decision.allowed:
            raise HTTPException(
                status_code=status.HTTP_429_TOO_MANY_REQUESTS,
                detail=f"rate limit exceeded ({limiter.per_hour} requests per hour, burst "
                f"{limiter.burst}); retry after {RateLimiter.retry_after_header(decision)} s",
                headers={"Retry-After": RateLimiter.retry_after_header(decision)},
            )
    return identity


async def require_key_unless_public_metrics(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> None:
    """/metrics: open when TITANS_METRICS_PUBLIC is true, otherwise like every endpoint."""
    state: AppState = request.app.state.titans
    if not state.settings.metrics_public:
        await require_api_key(request, credentials)


async def require_key_in_production(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> None:
    """/docs and /openapi.json: open in development, behind the API key in production."""
    state: AppState = request.app.state.titans
    if state.settings.is_production:
        await require_api_key(request, credentials)


__all__ = [
    "bearer_scheme",
    "key_matches",
    "require_api_key",
    "require_key_in_production",
    "require_key_unless_public_metrics",
    "resolve_api_keys",
]

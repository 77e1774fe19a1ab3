"""API-key authentication (constant-time, over every key) and the per-key rate limit."""

from __future__ import annotations

import hmac
import logging

from fastapi import status
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from titans_finance.api.limits import RateLimiter, key_identity
from titans_finance.api.state import AppState
from titans_finance.config import Settings, generate_development_key
from titans_finance.errors import ConfigurationError

logger = logging.getLogger(__name__)


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


def _error(status_code: int, message: str, headers: dict[str, str]) -> JSONResponse:
    return JSONResponse(
        {"detail": message, "success": False}, status_code=status_code, headers=headers
    )


def _bearer_token(scope: Scope) -> bytes | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.partition(b" ")
            token = token.strip()
            if scheme.lower() == b"bearer" and token:
                return token
            return None
    return None


class AuthMiddleware:
    """Checks `Authorization: Bearer <key>` and the key's rate limit before anything else runs.

    Pure ASGI, so an unauthenticated request learns nothing (no validation errors, no 404s)
    and costs next to nothing.  Open paths: /livez; /metrics when TITANS_METRICS_PUBLIC;
    /docs and /openapi.json outside production.  CORS preflights pass (CORS answers them).
    """

    def __init__(self, app: ASGIApp, state: AppState) -> None:
        self.app = app
        self.state = state
        settings = state.settings
        public = {"/livez"}
        if settings.metrics_public:
            public.add("/metrics")
        if not settings.is_production:
            public.update({"/docs", "/openapi.json"})
        self.public = frozenset(public)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.public or scope["method"] == "OPTIONS":
            await self.app(scope, receive, send)
            return
        token = _bearer_token(scope)
        if token is None:
            response = _error(
                status.HTTP_401_UNAUTHORIZED,
                "missing API key: send `Authorization: Bearer <key>`",
                {"WWW-Authenticate": "Bearer"},
            )
            await response(scope, receive, send)
            return
        if not key_matches(token, self.state.api_keys):
            response = _error(
                status.HTTP_401_UNAUTHORIZED, "invalid API key", {"WWW-Authenticate": "Bearer"}
            )
            await response(scope, receive, send)
            return
        identity = key_identity(token)
        limiter: RateLimiter | None = self.state.limiter
        if limiter is not None:
            decision = await limiter.hit(identity)
            if not decision.allowed:
                retry = RateLimiter.retry_after_header(decision)
                response = _error(
                    status.HTTP_429_TOO_MANY_REQUESTS,
                    f"rate limit exceeded ({limiter.per_hour} requests per hour, burst "
                    f"{limiter.burst}); retry after {retry} s",
                    {"Retry-After": retry},
                )
                await response(scope, receive, send)
                return
        scope.setdefault("state", {})["key_identity"] = identity
        await self.app(scope, receive, send)


__all__ = [
    "AuthMiddleware",
    "key_matches",
    "resolve_api_keys",
]

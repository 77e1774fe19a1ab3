"""Authentication before anything else runs: environment keys, stored keys and users' JWTs
(all through one Authenticator), the per-key rate limit and the per-address throttle on
failed authentications."""

from __future__ import annotations

import logging

from fastapi import status
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from titans_finance.api.limits import RateDecision, RateLimiter
from titans_finance.api.state import AppState
from titans_finance.auth.authenticator import key_matches
from titans_finance.auth.keys import MIN_ENV_KEY_LENGTH
from titans_finance.auth.scopes import Principal
from titans_finance.config import Settings, generate_development_key
from titans_finance.errors import AuthenticationError, ConfigurationError, TitansError

logger = logging.getLogger(__name__)

# Open without a credential: the token routes check a password or a refresh token themselves.
TOKEN_PATHS = frozenset({"/auth/token", "/auth/refresh"})


def resolve_api_keys(settings: Settings) -> tuple[bytes, ...]:
    """The accepted environment (admin) keys: configured ones; in development without keys,
    one generated key.

    Production refuses to start without keys, or with a key shorter than 32 characters
    (ConfigurationError): there is no default key and no guessable one.
    """
    keys = tuple(
        k.get_secret_value().strip().encode()
        for k in settings.api_keys
        if k.get_secret_value().strip()
    )
    if keys:
        short = [i + 1 for i, key in enumerate(keys) if len(key) < MIN_ENV_KEY_LENGTH]
        if settings.is_production and short:
            raise ConfigurationError(
                f"TITANS_API_KEYS: key number {', '.join(map(str, short))} is shorter than "
                f"{MIN_ENV_KEY_LENGTH} characters; production needs long random keys "
                "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
            )
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


def _error(status_code: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        {"detail": message, "success": False}, status_code=status_code, headers=headers
    )


def _bearer_token(scope: Scope) -> bytes | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            header: bytes = value
            scheme, _, token = header.partition(b" ")
            token = token.strip()
            if scheme.lower() == b"bearer" and token:
                return token
            return None
    return None


def client_address(scope: Scope) -> str:
    """The peer address of a request (what failed authentications are counted by)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def too_many_failures(decision: RateDecision) -> JSONResponse:
    """The 429 answer to an address that failed to authenticate too often."""
    retry = RateLimiter.retry_after_header(decision)
    return _error(
        status.HTTP_429_TOO_MANY_REQUESTS,
        f"too many failed authentications from this address; retry after {retry} s",
        {"Retry-After": retry},
    )


async def failures_blocked(state: AppState, address: str) -> RateDecision | None:
    """The decision when ``address`` is blocked for failed authentications, else None."""
    limiter = state.auth_failures
    if limiter is None:
        return None
    decision = await limiter.peek(address)
    return None if decision.allowed else decision


async def count_failure(state: AppState, address: str) -> None:
    """Count one failed authentication from ``address``."""
    if state.auth_failures is not None:
        await state.auth_failures.hit(address)


class AuthMiddleware:
    """Checks `Authorization: Bearer <key>` and the caller's rate limit first.

    Pure ASGI, so an unauthenticated request learns nothing (no validation errors, no 404s,
    no 405s — OPTIONS included) and costs next to nothing.  Open paths: /livez, /auth/token,
    /auth/refresh; /metrics when TITANS_METRICS_PUBLIC; /docs and /openapi.json outside
    production.  CORS preflights are answered by the CORS middleware before this one.
    The principal is left in ``scope["state"]["principal"]`` for the routes' scope checks.
    """

    def __init__(self, app: ASGIApp, state: AppState) -> None:
        self.app = app
        self.state = state
        settings = state.settings
        public = {"/livez", *TOKEN_PATHS}
        if settings.metrics_public:
            public.add("/metrics")
        if not settings.is_production:
            public.update({"/docs", "/openapi.json"})
        self.public = frozenset(public)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.public:
            await self.app(scope, receive, send)
            return
        address = client_address(scope)
        blocked = await failures_blocked(self.state, address)
        if blocked is not None:
            await too_many_failures(blocked)(scope, receive, send)
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
        try:
            principal = await self._authenticate(token)
        except AuthenticationError as exc:
            await count_failure(self.state, address)
            response = _error(
                status.HTTP_401_UNAUTHORIZED, exc.message, {"WWW-Authenticate": "Bearer"}
            )
            await response(scope, receive, send)
            return
        except TitansError as exc:  # the store is down: keys and tokens cannot be checked
            await _error(exc.http_status, exc.message)(scope, receive, send)
            return
        limiter: RateLimiter | None = self.state.limiter
        if limiter is not None:
            decision = await limiter.hit(principal.identity, principal.rate_limit)
            if not decision.allowed:
                retry = RateLimiter.retry_after_header(decision)
                per_hour = principal.rate_limit or limiter.per_hour
                response = _error(
                    status.HTTP_429_TOO_MANY_REQUESTS,
                    f"rate limit exceeded ({per_hour} requests per hour, burst "
                    f"{limiter.limits(principal.rate_limit)[1]}); retry after {retry} s",
                    {"Retry-After": retry},
                )
                await response(scope, receive, send)
                return
        request_state = scope.setdefault("state", {})
        request_state["principal"] = principal
        request_state["key_identity"] = principal.identity
        await self.app(scope, receive, send)

    async def _authenticate(self, token: bytes) -> Principal:
        authenticator = self.state.authenticator
        principal = authenticator.env_principal(token)
        if principal is not None:
            return principal
        if not authenticator.needs_store(token):
            raise AuthenticationError("invalid API key")
        return await run_in_threadpool(authenticator.authenticate, token)


__all__ = [
    "TOKEN_PATHS",
    "AuthMiddleware",
    "client_address",
    "count_failure",
    "failures_blocked",
    "key_matches",
    "resolve_api_keys",
    "too_many_failures",
]

"""Repeated single predictions answered before routing, with the bytes the route sent before.

A POST to /predict/category (amount, anomaly) with the same JSON body, under the same models,
rules and anomaly feedback, gets the same answer: the route answers it from the prediction
cache, but FastAPI still parses and validates the body, resolves the route's dependencies and
validates and serialises the response, most of a cached prediction's cost.  `PredictionFastPath`
keeps the exact status-200 response the route sent for a body (headers and bytes, so a replay
is byte-identical by construction) and sends it again for the next identical body.

What still runs for a replay, exactly as for every request: `AuthMiddleware` (credential, failed
authentication throttle, rate limit) and `RequestGuard` (body limit, NUL characters) before it,
`MetricsMiddleware` and compression around it.  The route's own checks run here: the scope it
declares and, for a caller limited to some accounts, the body's account (as the route validated
it).  A caller the route would refuse is handed to the route, which answers its 403; a replay is
only ever a 200 the route itself sent to an authorised caller.

Entries are keyed by (route, content type, raw body, the model service's generation, the
model's cache token: model version and rules or feedback version), so a new model set, a
cleared cache or changed rules are never answered from an old entry; a new generation drops
every entry at once.  Bodies over `MAX_BODY_BYTES` are not kept, nor bodies sent with a
content type over `MAX_CONTENT_TYPE_BYTES` (a header the server lets grow to kilobytes would
make every key that large), and at most `MAX_ENTRIES` are (least recently used first out):
about 20 MB per worker at worst.  Every replay counts as a cache hit of its model and a
prediction in the metrics, as the route's own cache hits do.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from titans_finance.api.deps import api_routes, declared_scope
from titans_finance.api.limits import replaying
from titans_finance.auth.scopes import Principal
from titans_finance.auth.scopes import Scope as AccessScope
from titans_finance.errors import ConfigurationError, PermissionDeniedError
from titans_finance.serving import LRUCache

if TYPE_CHECKING:
    from titans_finance.api.state import AppState

# Single-prediction routes -> the model whose cached predictions they serve.
REPLAYED_ROUTES: dict[str, str] = {
    "/predict/category": "category",
    "/predict/amount": "amount",
    "/predict/anomaly": "anomaly",
}
MAX_BODY_BYTES = 2048
# "application/json; charset=utf-8" is 31 bytes; a longer content type is routed, not kept.
MAX_CONTENT_TYPE_BYTES = 64
MAX_ENTRIES = 8192
# Where a route leaves, in the request's state, what a replay of its answer must check.
_NOTE = "titans_replay"


@dataclass(frozen=True, slots=True)
class _Replay:
    """One kept answer and what serving it again must check and count."""

    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes
    account: str | None
    statistic: Any


@dataclass(frozen=True, slots=True)
class _Target:
    kind: str
    route: APIRoute
    scope: AccessScope


def offer_replay(request: Request, account: str | None, statistic: Any) -> None:
    """Let `PredictionFastPath` keep this request's answer (when it is a 200): ``account`` is
    the validated account of the body, ``statistic`` the prediction's `hit_statistic`."""
    request.scope.setdefault("state", {})[_NOTE] = (account, statistic)


def _content_type(scope: Scope) -> bytes | None:
    for name, value in scope["headers"]:
        if name == b"content-type":
            found: bytes = value
            return found
    return None


def _allowed(principal: Principal, needed: AccessScope, account: str | None) -> bool:
    """What the route's scope dependency and its account check accept, without raising."""
    try:
        principal.require(needed)
        principal.require_account(account, required=False)
    except PermissionDeniedError:
        return False
    return True


class PredictionFastPath:
    """Pure-ASGI replay of single-prediction answers; see the module's docstring."""

    def __init__(self, app: ASGIApp, state: AppState, api: FastAPI) -> None:
        self.app = app
        self.state = state
        self.targets = _targets(api)
        self.cache = LRUCache(MAX_ENTRIES)
        self.generation = state.models.generation
        state.replays = self.cache

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        target = self.targets.get(scope["path"]) if scope["type"] == "http" else None
        principal = scope.get("state", {}).get("principal") if target is not None else None
        content_type = _content_type(scope) if principal is not None else None
        if (
            target is None
            or scope["method"] != "POST"
            or scope["query_string"]
            or not isinstance(principal, Principal)
            or content_type is None
            or len(content_type) > MAX_CONTENT_TYPE_BYTES
            or not content_type.startswith(b"application/json")
            or self.state.store_stale()  # the route re-reads rules and feedback first
        ):
            await self.app(scope, receive, send)
            return
        message = await receive()
        receive = replaying(message, receive)
        body = message.get("body", b"")
        if (
            message["type"] != "http.request"
            or message.get("more_body")
            or (len(body) > MAX_BODY_BYTES)
        ):
            await self.app(scope, receive, send)
            return
        service = self.state.models
        if service.generation != self.generation:
            self.cache.clear()
            self.generation = service.generation
        key = (target.kind, content_type, body, self.generation, service.cache_token(target.kind))
        hit: _Replay | None = self.cache.get(key)
        if hit is not None and _allowed(principal, target.scope, hit.account):
            scope["route"] = target.route  # metrics label it by its route, as the route's own
            service.record_hit(target.kind, hit.statistic)
            self.state.metrics.predicted(target.kind)
            # Fresh header lists: middleware outside (compression) may change them in place.
            await send({"type": "http.response.start", "status": 200, "headers": list(hit.headers)})
            await send({"type": "http.response.body", "body": hit.body, "more_body": False})
            return
        await self._route_and_keep(scope, receive, send, key)

    async def _route_and_keep(
        self, scope: Scope, receive: Receive, send: Send, key: tuple[Any, ...]
    ) -> None:
        """The normal path; its answer is kept when it is a whole 200 the route offered."""
        generation = self.generation
        start: Message | None = None
        headers: tuple[tuple[bytes, bytes], ...] = ()
        parts: list[bytes] = []
        complete = False

        async def keep(message: Message) -> None:
            nonlocal start, headers, complete
            if message["type"] == "http.response.start":
                start = message
                headers = tuple((bytes(k), bytes(v)) for k, v in message.get("headers", ()))
            elif message["type"] == "http.response.body":
                parts.append(message.get("body", b""))
                complete = not message.get("more_body", False)
            await send(message)

        await self.app(scope, receive, keep)
        note = scope.get("state", {}).pop(_NOTE, None)
        if (
            note is not None
            and start is not None
            and start["status"] == 200
            and complete
            and generation == self.state.models.generation
        ):
            account, statistic = note
            self.cache.put(key, _Replay(headers, b"".join(parts), account, statistic))


def _targets(api: FastAPI) -> Mapping[str, _Target]:
    """The replayed routes of ``api`` with the scope each declares."""
    found: dict[str, _Target] = {}
    for context in api_routes(api):
        kind = REPLAYED_ROUTES.get(context.path or "")
        route = context.original_route
        if kind is not None and isinstance(route, APIRoute) and "POST" in (context.methods or ()):
            scope = declared_scope(context)
            if scope is None or scope is AccessScope.ADMIN:
                # An admin route also refuses restricted callers; this check does not.
                raise ConfigurationError(f"{context.path}: only read or write routes are replayed")
            found[context.path or ""] = _Target(kind, route, scope)
    missing = set(REPLAYED_ROUTES) - set(found)
    if missing:
        raise ConfigurationError(f"replayed routes not found: {sorted(missing)}")
    return found


__all__ = [
    "MAX_BODY_BYTES",
    "MAX_CONTENT_TYPE_BYTES",
    "MAX_ENTRIES",
    "REPLAYED_ROUTES",
    "PredictionFastPath",
    "offer_replay",
]

"""Dependencies of the routes, as `Annotated` aliases."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from titans_finance.api.state import AppState
from titans_finance.auth.scopes import Principal, Scope
from titans_finance.config import Settings
from titans_finance.errors import AuthenticationError
from titans_finance.serving import ModelService


# Dependencies are `async def` on purpose: FastAPI runs plain `def` dependencies in the thread
# pool, which costs a thread hop per dependency per request.
def app_state(request: Request) -> AppState:
    """The app's state, read straight off the request (no dependency resolution: the
    single-prediction routes, the hottest ones, take ``request: Request`` and call this)."""
    state: AppState = request.app.state.titans
    return state


async def get_state(request: Request) -> AppState:
    """The app's state."""
    return app_state(request)


async def get_settings_dep(request: Request) -> Settings:
    """The settings this app was built with."""
    return app_state(request).settings


async def get_engine_dep(request: Request) -> Engine:
    """The store's engine (503 when the database is unreachable)."""
    return await run_in_threadpool(app_state(request).engine)


async def get_models(request: Request) -> ModelService:
    """The model service, with rules and anomaly feedback fresh from the store."""
    state = app_state(request)
    if state.store_stale():
        await run_in_threadpool(state.sync_store)
    return state.models


StateDep = Annotated[AppState, Depends(get_state)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
EngineDep = Annotated[Engine, Depends(get_engine_dep)]
ModelsDep = Annotated[ModelService, Depends(get_models)]


async def get_key_identity(request: Request) -> str:
    """The caller's key identity (a digest), set by `AuthMiddleware`."""
    return str(request.scope.get("state", {}).get("key_identity", ""))


AuthDep = Annotated[str, Depends(get_key_identity)]


def request_principal(request: Request) -> Principal:
    """The principal `AuthMiddleware` authenticated (AuthenticationError when none)."""
    principal = request.scope.get("state", {}).get("principal")
    if not isinstance(principal, Principal):
        raise AuthenticationError("missing API key: send `Authorization: Bearer <key>`")
    return principal


# Every route declares what it needs through exactly one of these dependencies; create_app
# refuses a route without one, and the tests walk this table.
ROUTE_SCOPES: dict[Callable[..., Awaitable[Any]], Scope | None] = {}


def _needs(scope: Scope) -> Callable[[Request], Awaitable[Principal]]:
    async def dependency(request: Request) -> Principal:
        principal = request_principal(request)
        principal.require(scope)
        if scope is Scope.ADMIN:
            principal.require_unrestricted("administration")
        return principal

    dependency.__name__ = f"require_{scope.value}"
    dependency.__doc__ = f"The caller, when its scope covers {scope.value!r} (else 403)."
    ROUTE_SCOPES[dependency] = scope
    return dependency


require_read = _needs(Scope.READ)
require_write = _needs(Scope.WRITE)
require_admin = _needs(Scope.ADMIN)


async def require_nothing() -> None:
    """Open route: no credential (liveness, and the token routes that check a password)."""


ROUTE_SCOPES[require_nothing] = None


async def read_unless_public(request: Request) -> Principal | None:
    """/metrics, /docs, /openapi.json: open when configured so, else any authenticated caller."""
    if "principal" not in request.scope.get("state", {}):
        # AuthMiddleware only lets requests without a principal through on open paths.
        return None
    return await require_read(request)


ROUTE_SCOPES[read_unless_public] = Scope.READ

ReadDep = Annotated[Principal, Depends(require_read)]
WriteDep = Annotated[Principal, Depends(require_write)]
AdminDep = Annotated[Principal, Depends(require_admin)]
PUBLIC = [Depends(require_nothing)]
READ = [Depends(require_read)]
ADMIN = [Depends(require_admin)]


class MissingScope(Exception):
    """A route declares no scope dependency."""


def api_routes(app: FastAPI) -> list[RouteContext]:
    """Every API route of ``app`` with what its routers add (prefix, dependencies)."""
    return [
        context
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute)
    ]


def declared_scope(route: APIRoute | RouteContext) -> Scope | None:
    """The scope ``route`` declares (None for open routes); MissingScope when it declares none."""
    pending = list(route.dependant.dependencies)
    found: list[Scope | None] = []
    while pending:
        dependant = pending.pop()
        if dependant.call in ROUTE_SCOPES:
            found.append(ROUTE_SCOPES[dependant.call])
        pending.extend(dependant.dependencies)
    if not found:
        raise MissingScope(f"{sorted(route.methods or ())} {route.path} declares no scope")
    if None in found and len(set(found)) > 1:
        raise MissingScope(f"{route.path} is both open and scoped")
    return max((s for s in found if s is not None), key=lambda s: s.rank, default=None)


__all__ = [
    "ADMIN",
    "PUBLIC",
    "READ",
    "ROUTE_SCOPES",
    "AdminDep",
    "AuthDep",
    "EngineDep",
    "MissingScope",
    "ModelsDep",
    "ReadDep",
    "SettingsDep",
    "StateDep",
    "WriteDep",
    "api_routes",
    "app_state",
    "declared_scope",
    "get_engine_dep",
    "get_key_identity",
    "get_models",
    "get_settings_dep",
    "get_state",
    "read_unless_public",
    "request_principal",
    "require_admin",
    "require_nothing",
    "require_read",
    "require_write",
]

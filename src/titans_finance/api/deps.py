"""Dependencies of the routes, as `Annotated` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from titans_finance.api.state import AppState
from titans_finance.config import Settings
from titans_finance.serving import ModelService


# Dependencies are `async def` on purpose: FastAPI runs plain `def` dependencies in the thread
# pool, which costs a thread hop per dependency per request.
def _state(request: Request) -> AppState:
    state: AppState = request.app.state.titans
    return state


async def get_state(request: Request) -> AppState:
    """The app's state."""
    return _state(request)


async def get_settings_dep(request: Request) -> Settings:
    """The settings this app was built with."""
    return _state(request).settings


async def get_engine_dep(request: Request) -> Engine:
    """The store's engine (503 when the database is unreachable)."""
    return await run_in_threadpool(_state(request).engine)


async def get_models(request: Request) -> ModelService:
    """The model service, with rules and anomaly feedback fresh from the store."""
    state = _state(request)
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

__all__ = [
    "AuthDep",
    "EngineDep",
    "ModelsDep",
    "SettingsDep",
    "StateDep",
    "get_engine_dep",
    "get_key_identity",
    "get_models",
    "get_settings_dep",
    "get_state",
]

"""Token login: a user's password for a short-lived JWT, a refresh token for a new one."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from titans_finance.api import access_schemas as a
from titans_finance.api import schemas as s
from titans_finance.api.deps import PUBLIC, ReadDep, StateDep
from titans_finance.api.security import (
    client_address,
    count_failure,
    failures_blocked,
    too_many_failures,
)
from titans_finance.errors import AuthenticationError

router = APIRouter(prefix="/auth", tags=["auth"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": s.ErrorResponse, "description": "Wrong credentials"},
    429: {"model": s.ErrorResponse, "description": "Too many failures from this address"},
    503: {"model": s.ErrorResponse, "description": "Token login disabled (TITANS_JWT_SECRET)"},
}


@router.post(
    "/token",
    response_model=a.TokenResponse,
    summary="Log in: password for tokens",
    dependencies=PUBLIC,
    responses=_ERRORS,
)
async def token(body: a.TokenRequest, request: Request, state: StateDep) -> Any:
    """A short-lived access token and a refresh token for a user's name and password."""
    address = client_address(request.scope)
    blocked = await failures_blocked(state, address)
    if blocked is not None:
        return too_many_failures(blocked)
    try:
        pair = await run_in_threadpool(state.authenticator.login, body.username, body.password)
    except AuthenticationError:
        await count_failure(state, address)
        raise
    return {"success": True, **pair.to_dict(state.settings.token_ttl_seconds)}


@router.post(
    "/refresh",
    response_model=a.TokenResponse,
    summary="Renew tokens",
    dependencies=PUBLIC,
    responses=_ERRORS,
)
async def refresh(body: a.RefreshRequest, request: Request, state: StateDep) -> Any:
    """A new token pair for a valid refresh token (the user must still exist)."""
    address = client_address(request.scope)
    blocked = await failures_blocked(state, address)
    if blocked is not None:
        return too_many_failures(blocked)
    try:
        pair = await run_in_threadpool(state.authenticator.refresh, body.refresh_token)
    except AuthenticationError:
        await count_failure(state, address)
        raise
    return {"success": True, **pair.to_dict(state.settings.token_ttl_seconds)}


@router.get("/me", response_model=a.Me, summary="Who am I")
async def me(principal: ReadDep) -> Any:
    """The caller's kind, name, scope and accounts (None = every account)."""
    return {
        "success": True,
        "kind": principal.kind,
        "name": principal.name,
        "scope": principal.scope,
        "accounts": sorted(principal.accounts) if principal.accounts is not None else None,
    }


__all__ = ["router"]

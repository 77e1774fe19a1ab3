"""The audit log of every write (admin scope)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from titans_finance.api import access_schemas as a
from titans_finance.api.deps import AdminDep, EngineDep
from titans_finance.auth import store

router = APIRouter(prefix="/audit", tags=["access"])


@router.get("", response_model=a.AuditPage, summary="Audit log")
def list_audit(
    engine: EngineDep,
    _admin: AdminDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    action: Annotated[str | None, Query(max_length=50, pattern=r"^[a-z.]+$")] = None,
    actor: Annotated[str | None, Query(max_length=200, pattern=r"^[^\x00-\x1f]+$")] = None,
) -> Any:
    """Who changed what and when, newest first; filter by action or actor."""
    total, events = store.list_audit(engine, limit=limit, offset=offset, action=action, actor=actor)
    return {
        "success": True,
        "items": [e.public() for e in events],
        "total": total,
        "limit": limit,
        "offset": offset,
    }


__all__ = ["router"]

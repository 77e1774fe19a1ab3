"""The store's change token, for clients that cache what they read."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from titans_finance.api import schemas as s
from titans_finance.api.deps import EngineDep
from titans_finance.storage import repository

router = APIRouter(prefix="/store", tags=["store"])


@router.get("/version", response_model=s.StoreVersion, summary="Store change token")
def store_version(engine: EngineDep) -> Any:
    """A token that changes whenever transactions, feedback, rules, budgets or imports change."""
    return {"success": True, "version": repository.store_version(engine)}

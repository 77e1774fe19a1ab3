"""The store's change token, for clients that cache what they read."""

from __future__ import annotations

import hashlib
from typing import Any

from fastapi import APIRouter

from titans_finance.api import schemas as s
from titans_finance.api.deps import EngineDep, ReadDep
from titans_finance.storage import repository

router = APIRouter(prefix="/store", tags=["store"])


@router.get("/version", response_model=s.StoreVersion, summary="Store change token")
def store_version(engine: EngineDep, principal: ReadDep) -> Any:
    """A token that changes whenever transactions, feedback, rules, budgets or imports change."""
    version = repository.store_version(engine)
    if principal.restricted:
        # The plain token holds row counts of every account: only a digest for restricted callers.
        version = hashlib.sha256(version.encode()).hexdigest()[:32]
    return {"success": True, "version": version}

"""Past imports: what each uploaded file added, skipped and rejected."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from titans_finance.api import schemas as s
from titans_finance.api.deps import EngineDep
from titans_finance.storage import repository
from titans_finance.storage.tables import MAX_ID

router = APIRouter(prefix="/imports", tags=["imports"])

# Rejected rows shown with each listed import, and how much of their raw text.
REJECT_PREVIEW = 5
PREVIEW_RAW_CHARS = 200

ImportId = Annotated[int, Path(ge=1, le=MAX_ID, description="Import id")]
Limit = Annotated[int, Query(ge=1, le=500, description="Page size (1..500)")]
Offset = Annotated[int, Query(ge=0, le=10_000_000, description="Rows to skip")]


@router.get(
    "",
    response_model=s.ImportPage,
    summary="List past imports",
)
def list_imports(engine: EngineDep, limit: Limit = 50, offset: Offset = 0) -> Any:
    """Imports newest first with their counts and first rejected rows (raw text cut short)."""
    records = repository.list_imports(
        engine,
        with_rejects=REJECT_PREVIEW,
        limit=limit,
        offset=offset,
        raw_chars=PREVIEW_RAW_CHARS,
    )
    return {
        "success": True,
        "items": [asdict(record) for record in records],
        "total": repository.count_imports(engine),
        "limit": limit,
        "offset": offset,
    }


@router.get(
    "/{import_id}/rejects",
    response_model=s.RejectPage,
    summary="Rejected rows of one import",
    responses={404: {"model": s.ErrorResponse, "description": "No such import"}},
)
def list_rejects(
    import_id: ImportId, engine: EngineDep, limit: Limit = 100, offset: Offset = 0
) -> Any:
    """Every rejected row of an import by line, with its reason and raw text (404 if unknown)."""
    total, rows = repository.list_rejects(engine, import_id, limit=limit, offset=offset)
    return {
        "success": True,
        "import_id": import_id,
        "items": rows,
        "total": total,
        "limit": limit,
        "offset": offset,
    }


__all__ = ["router"]

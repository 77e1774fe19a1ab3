"""Pipeline run history: what each run imported, retrained, decided and why."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from starlette.concurrency import run_in_threadpool

from titans_finance.api import schemas as s
from titans_finance.api.deps import READ, EngineDep
from titans_finance.storage import pipeline_runs

router = APIRouter(prefix="/pipeline", tags=["pipeline"])

RunId = Annotated[int, Path(ge=1, le=2**62, description="Pipeline run id")]
Limit = Annotated[int, Query(ge=1, le=500, description="Page size (1..500)")]
Offset = Annotated[int, Query(ge=0, le=10_000_000, description="Runs to skip")]


@router.get(
    "/runs",
    response_model=s.PipelineRunPage,
    summary="List pipeline runs",
    dependencies=READ,
)
async def list_runs(engine: EngineDep, limit: Limit = 20, offset: Offset = 0) -> Any:
    """Runs newest first: status, counts, retrain reason, model decisions, error."""
    items = await run_in_threadpool(pipeline_runs.list_runs, engine, limit=limit, offset=offset)
    total = await run_in_threadpool(pipeline_runs.count_runs, engine)
    return {"success": True, "items": items, "total": total, "limit": limit, "offset": offset}


@router.get(
    "/runs/{run_id}",
    response_model=s.PipelineRunResponse,
    summary="One pipeline run",
    dependencies=READ,
    responses={404: {"model": s.ErrorResponse, "description": "No such run"}},
)
async def get_run(run_id: RunId, engine: EngineDep) -> Any:
    """One run with its decisions (404 if unknown)."""
    return {"success": True, "run": await run_in_threadpool(pipeline_runs.get_run, engine, run_id)}


__all__ = ["router"]

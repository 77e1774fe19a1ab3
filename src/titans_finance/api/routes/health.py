"""Liveness, health and Prometheus metrics."""

from __future__ import annotations

import logging
import time
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import psutil
from fastapi import APIRouter, Depends
from fastapi.responses import PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from titans_finance.api import schemas as s
from titans_finance.api.deps import PUBLIC, READ, StateDep, read_unless_public
from titans_finance.api.state import AppState

logger = logging.getLogger(__name__)

live_router = APIRouter(tags=["health"])
router = APIRouter(tags=["health"])
metrics_router = APIRouter(tags=["health"])


def _package_version() -> str:
    try:
        return version("titans-finance")
    except PackageNotFoundError:
        return "unknown"


@live_router.get(
    "/livez",
    response_class=PlainTextResponse,
    summary="Liveness probe (no auth)",
    dependencies=PUBLIC,
)
async def livez() -> str:
    """The process answers; nothing else is checked."""
    return "ok"


def _check_database(state: AppState) -> dict[str, Any]:
    start = time.perf_counter()
    try:
        engine = state.engine()
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # the details (host, user, port) go to the log, not the answer
        logger.warning("health: database check failed: %s", exc)
        return {"ok": False, "error": f"the database is unavailable ({type(exc).__name__})"}
    return {
        "ok": True,
        "backend": engine.dialect.name,
        "latency_ms": round((time.perf_counter() - start) * 1000, 2),
    }


@router.get(
    "/health",
    response_model=s.HealthResponse,
    summary="Service health",
    dependencies=READ,
    responses={503: {"model": s.HealthResponse, "description": "The database is unreachable"}},
)
async def health(state: StateDep, response: Response) -> Any:
    """Models, database, Redis, memory and uptime; `degraded` when a part fails, 503 without
    the database (it recovers by itself once the database answers again)."""
    database = await run_in_threadpool(_check_database, state)
    redis: dict[str, Any] = {"configured": False, "ok": None}
    if state.redis is not None and state.redis.configured:
        ok, error = await state.redis.ping()
        redis = {"configured": True, "ok": ok, "error": error}
        state.metrics.redis_up.set(1.0 if ok else 0.0)
    status = state.models.status()
    models = {name: bool(entry["loaded"]) for name, entry in status.items()}
    # A model that exists but fails its signature or checksum is an alarm, not a missing model.
    current, last = state.models.models, state.models.last_reload
    broken = bool(current.errors.keys() - current.not_trained) or (
        last is not None and not last.success
    )
    process = psutil.Process()
    memory = {
        "rss_mb": round(process.memory_info().rss / 2**20, 1),
        "system_available_mb": round(psutil.virtual_memory().available / 2**20, 1),
    }
    degraded = not database["ok"] or redis.get("ok") is False or not any(models.values()) or broken
    if not database["ok"]:
        response.status_code = 503
    return {
        "success": bool(database["ok"]),
        "status": "degraded" if degraded else "ok",
        "models": models,
        "database": database,
        "redis": redis,
        "memory": memory,
        "uptime_seconds": round(time.monotonic() - state.started_at, 1),
        "version": _package_version(),
    }


@metrics_router.get(
    "/metrics",
    response_class=PlainTextResponse,
    summary="Prometheus metrics",
    dependencies=[Depends(read_unless_public)],
)
def metrics(state: StateDep) -> Response:
    """Request counts and latency per route, predictions per model, model load state."""
    state.metrics.set_models({k: v["loaded"] for k, v in state.models.status().items()})
    return Response(state.metrics.render(), media_type=CONTENT_TYPE_LATEST)


__all__ = ["live_router", "metrics_router", "router"]

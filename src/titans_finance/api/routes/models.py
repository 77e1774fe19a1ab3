"""Model management: status, performance, atomic reload, cache clearing."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from titans_finance.api import schemas as s
from titans_finance.api.deps import StateDep
from titans_finance.errors import StorageError

router = APIRouter(prefix="/models", tags=["models"])


@router.get("/status", response_model=s.ModelsStatus, summary="Which models are serving")
def models_status(state: StateDep) -> Any:
    """Per model: loaded, version, training date and rows, or why it is not loaded."""
    last = state.models.last_reload
    return {
        "success": True,
        "models": state.models.status(),
        "last_reload": last.to_dict() if last is not None else None,
    }


@router.get("/performance", summary="Training metrics and serving statistics per model")
def models_performance(state: StateDep) -> dict[str, Any]:
    """Per model: loaded, version, training metrics, predictions served, confidence, latency."""
    return {"success": True, "models": state.models.performance()}


@router.get(
    "/health",
    summary="Model monitoring: quality from feedback, drift, age, per serving model",
    responses={503: {"model": s.ErrorResponse, "description": "Monitoring not available yet"}},
)
def models_health(state: StateDep) -> dict[str, Any]:
    """Per serving model and version: drift against its training reference (PSI, KS), age,
    and its own figures (labelled and estimated accuracy, MAE, error, flag precision)."""
    report = state.model_health()
    monitor = state.monitor
    if report is None:
        raise StorageError(
            f"model monitoring has no report yet: {monitor.last_error or 'no refresh ran'}"
        )
    return {
        "success": True,
        **{key: value for key, value in report.items() if key != "models"},
        "refresh": {
            "ok": monitor.last_success,
            "error": monitor.last_error,
            "seconds": round(monitor.last_seconds, 3),
        },
        "models": report["models"],
    }


@router.post(
    "/reload-all",
    response_model=s.ReloadResponse,
    summary="Reload every model atomically",
    responses={409: {"model": s.ReloadResponse, "description": "Reload refused; old models serve"}},
)
async def reload_all(state: StateDep) -> Any:
    """Load all models into a new set, then swap; on failure the previous models keep serving."""
    result = await run_in_threadpool(state.models.reload)
    state.metrics.set_models({k: v["loaded"] for k, v in state.models.status().items()})
    if state.cache is not None:
        await state.cache.clear()
    body = result.to_dict()
    if not result.success:
        body["detail"] = result.message
        return JSONResponse(body, status_code=status.HTTP_409_CONFLICT)
    return body


@router.post("/clear-cache", response_model=s.ClearCacheResponse, summary="Drop cached predictions")
async def clear_cache(state: StateDep) -> Any:
    """Empty this worker's prediction cache and the shared Redis cache."""
    local = state.models.clear_cache()
    shared = await state.cache.clear() if state.cache is not None else 0
    return {"success": True, "cleared_local": local, "cleared_shared": shared}


__all__ = ["router"]

"""The FastAPI application: `create_app(settings)` builds one app; models load in its lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy.exc import DataError, DisconnectionError, InterfaceError, OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from titans_finance.api.deps import MissingScope, api_routes, declared_scope, read_unless_public
from titans_finance.api.fast_path import PredictionFastPath
from titans_finance.api.limits import (
    PredictionCache,
    RateLimiter,
    RedisConnection,
    RequestGuard,
)
from titans_finance.api.metrics import Metrics, MetricsMiddleware
from titans_finance.api.openapi import document_errors
from titans_finance.api.pipeline_metrics import PipelineCollector
from titans_finance.api.reloader import ModelWatcher
from titans_finance.api.routes import (
    access,
    audit,
    auth,
    budgets,
    health,
    imports,
    insights,
    models,
    pipeline,
    predict,
    recurring,
    rules,
    store,
    transactions,
)
from titans_finance.api.security import TOKEN_PATHS, AuthMiddleware, resolve_api_keys
from titans_finance.api.state import AppState
from titans_finance.config import Settings, get_settings
from titans_finance.errors import ConfigurationError, StorageError, TitansError
from titans_finance.models.catalog import MODEL_NAMES
from titans_finance.models.signing import SigningPolicy
from titans_finance.monitoring.collector import MonitoringCollector
from titans_finance.serving import ModelService

logger = logging.getLogger(__name__)

DESCRIPTION = """
Transaction intelligence for your own bank exports: categorise, predict amounts, flag
anomalies, forecast cash flow, find recurring payments.

Every endpoint except `/livez` and the token routes needs `Authorization: Bearer <credential>`:
an environment key (`TITANS_API_KEYS`, admin), a stored key (`titans keys create`, scope
read, write or admin, optionally limited to some accounts) or a user's access token from
`POST /auth/token`. Each route's scope is in its description. Errors are JSON:
`{"detail": "...", "success": false}`.
"""

# Seconds a client should wait before retrying when the database is unreachable.
DATABASE_RETRY_AFTER = 5
# Uploads may exceed the JSON body limit; multipart framing adds a little on top of the file.
_MULTIPART_OVERHEAD = 64 * 1024


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Connect Redis, load the models and the stored rules; close Redis on shutdown."""
    state: AppState = app.state.titans
    settings = state.settings
    state.redis = RedisConnection(settings.redis_url)
    state.limiter = RateLimiter(settings.rate_limit, settings.rate_limit_burst, state.redis)
    state.auth_failures = RateLimiter(
        settings.auth_failures_per_hour, settings.auth_failure_burst, state.redis, "authfail"
    )
    state.cache = PredictionCache(state.redis, settings.cache_ttl_seconds)
    result = await run_in_threadpool(state.models.load)
    logger.info("models: %s", result.message)
    state.metrics.set_models({k: v["loaded"] for k, v in state.models.status().items()})
    await run_in_threadpool(state.sync_store, force=True)
    state.watcher = ModelWatcher(
        settings.models_dir,
        MODEL_NAMES,
        lambda: _reload_models(state),
        period=settings.model_reload_seconds,
    )
    state.watcher.start()
    if state.redis.configured:
        ok, error = await state.redis.ping()
        state.metrics.redis_up.set(1.0 if ok else 0.0)
        if not ok:
            logger.warning("Redis at startup: %s (continuing without it)", error)
    try:
        yield
    finally:
        state.watcher.stop()
        await state.redis.close()


def _reload_models(state: AppState) -> bool:
    """Reload after the model folder changed (a new champion); True when swapped in."""
    result = state.models.reload()
    state.metrics.set_models({k: v["loaded"] for k, v in state.models.status().items()})
    logger.info("models: %s", result.message)
    return result.success


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "form", "header")]
    return ".".join(parts) or (str(loc[0]) if loc else "request")


async def _titans_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, TitansError)
    headers = {"Retry-After": str(DATABASE_RETRY_AFTER)} if isinstance(exc, StorageError) else None
    return JSONResponse(
        {"detail": exc.message, "success": False}, status_code=exc.http_status, headers=headers
    )


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "field": _field(err.get("loc", ())),
            "location": str(err.get("loc", ("body",))[0]),
            "message": str(err.get("msg", "invalid value")),
            "type": str(err.get("type", "value_error")),
        }
        for err in exc.errors()
    ]
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:10])
    if len(errors) > 10:
        detail += f"; and {len(errors) - 10} more errors"
    return JSONResponse(
        {"detail": detail or "invalid request", "errors": errors[:100], "success": False},
        status_code=422,
    )


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail
    if exc.status_code == 404 and detail == "Not Found":
        detail = "not found: no such endpoint; see /docs for the API"
    elif exc.status_code == 405:
        detail = "method not allowed on this endpoint; see /docs"
    elif exc.status_code == 413 and detail == "Content Too Large":
        detail = "request body too large (TITANS_MAX_BODY_BYTES)"
    return JSONResponse(
        {"detail": str(detail), "success": False},
        status_code=exc.status_code,
        headers=dict(exc.headers) if exc.headers else None,
    )


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """A lost or refused database connection: 503 with Retry-After, no connection details."""
    logger.warning(
        "database unavailable on %s %s: %s", request.method, request.url.path, exc, exc_info=exc
    )
    return JSONResponse(
        {"detail": "the database is unavailable; retry shortly", "success": False},
        status_code=503,
        headers={"Retry-After": str(DATABASE_RETRY_AFTER)},
    )


async def _database_refused_value(request: Request, exc: Exception) -> JSONResponse:
    """A value the database cannot store (NUL character, number out of range): 422."""
    logger.info("database refused a value on %s %s: %s", request.method, request.url.path, exc)
    return JSONResponse(
        {
            "detail": "a value cannot be stored: it contains a NUL character or is out of range",
            "success": False,
        },
        status_code=422,
    )


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse(
        {"detail": "internal server error; it was logged", "success": False}, status_code=500
    )


def _openapi_with_security(app: FastAPI, settings: Settings) -> dict[str, Any]:
    """The OpenAPI schema, declaring the bearer key that `AuthMiddleware` enforces.

    Declared here rather than as a route dependency: a dependency would cost every request
    two more dependency resolutions for documentation only.
    """
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        schema.setdefault("components", {})["securitySchemes"] = {
            "APIKey": {
                "type": "http",
                "scheme": "bearer",
                "description": "`Authorization: Bearer <credential>`: an API key or an access "
                "token from POST /auth/token",
            }
        }
        schema["security"] = [{"APIKey": []}]
        open_paths = {"/livez", *TOKEN_PATHS} | ({"/metrics"} if settings.metrics_public else set())
        for path in open_paths:
            for operation in schema["paths"].get(path, {}).values():
                operation["security"] = []
        for route in api_routes(app):
            if route.include_in_schema:
                scope = declared_scope(route)
                for method in route.methods or ():
                    operation = schema["paths"].get(route.path_format, {}).get(method.lower())
                    if operation is not None:
                        operation["x-scope"] = scope.value if scope is not None else "none"
                        if scope is not None:
                            operation["description"] = (
                                f"{operation.get('description', '')}\n\nScope: `{scope.value}`."
                            ).strip()
                            operation.setdefault("responses", {}).setdefault(
                                "403",
                                {"description": "The caller's scope or accounts do not allow it"},
                            )
        app.openapi_schema = document_errors(schema, open_paths)
    return app.openapi_schema


def check_route_scopes(app: FastAPI) -> None:
    """ConfigurationError naming any route that declares no scope (read, write, admin, open)."""
    missing = []
    for route in api_routes(app):
        try:
            declared_scope(route)
        except MissingScope as exc:
            missing.append(str(exc))
    if missing:
        raise ConfigurationError("routes without a declared scope: " + "; ".join(missing))


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the API for ``settings`` (default: the environment's).

    Raises ConfigurationError in production without API keys.  Nothing is loaded here: models,
    Redis and the store are opened in the lifespan.
    """
    settings = settings or get_settings()
    api_keys = resolve_api_keys(settings)
    state = AppState(
        settings=settings,
        api_keys=api_keys,
        models=ModelService(
            settings.models_dir,
            signing=SigningPolicy.from_settings(settings),
            freeze_heap=settings.gc_freeze,
        ),
        metrics=Metrics(settings.prometheus_multiproc_dir),
    )
    app = FastAPI(
        title="Titans Finance API",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        debug=False,
    )
    app.state.titans = state
    state.metrics.registry.register(MonitoringCollector(state.monitor, refresh=state.model_health))

    app.add_exception_handler(TitansError, _titans_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    for lost in (OperationalError, InterfaceError, DisconnectionError):
        app.add_exception_handler(lost, _database_unavailable)
    app.add_exception_handler(DataError, _database_refused_value)
    app.add_exception_handler(Exception, _unexpected_error)

    # Routers are matched in order: the single predictions, the busiest routes, come first.
    app.include_router(predict.router)
    app.include_router(health.live_router)
    app.include_router(health.router)
    app.include_router(health.metrics_router)
    state.metrics.registry.register(PipelineCollector(state.engine))
    for module in (models, recurring, insights, rules, budgets, imports, store, pipeline):
        app.include_router(module.router)
    app.include_router(auth.router)
    app.include_router(access.keys_router)
    app.include_router(access.users_router)
    app.include_router(audit.router)
    upload_limit = settings.max_upload_bytes + _MULTIPART_OVERHEAD
    app.include_router(transactions.import_router)
    app.include_router(transactions.router)
    app.openapi = lambda: _openapi_with_security(app, settings)  # type: ignore[method-assign]

    # Docs are open in development; in production AuthMiddleware puts them behind the key.
    docs_access = [Depends(read_unless_public)]

    @app.get("/openapi.json", include_in_schema=False, dependencies=docs_access)
    async def openapi_schema() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False, dependencies=docs_access)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title=f"{app.title} - docs")

    check_route_scopes(app)

    # Added innermost first: Metrics -> CORS -> GZip -> Auth -> RequestGuard -> PredictionFastPath
    # -> routes.
    app.add_middleware(PredictionFastPath, state=state, api=app)
    app.add_middleware(
        RequestGuard,
        default_limit=settings.max_body_bytes,
        path_limits={"/transactions/import": upload_limit},
    )
    app.add_middleware(AuthMiddleware, state=state)
    app.add_middleware(GZipMiddleware, minimum_size=1024, compresslevel=4)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.add_middleware(MetricsMiddleware, metrics=state.metrics)
    return app


__all__ = ["check_route_scopes", "create_app", "lifespan"]

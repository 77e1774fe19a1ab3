"""Prometheus metrics in a per-app registry, and the pure-ASGI middleware that records them.

Under `titans serve --workers N` every worker writes its samples to PROMETHEUS_MULTIPROC_DIR
(prometheus-client multiprocess mode) and `/metrics` sums all workers, whichever answers.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """The service's metrics: requests and latency per route template, predictions, model state."""

    def __init__(self, multiprocess_dir: Path | None = None) -> None:
        self.multiprocess_dir = multiprocess_dir
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "titans_http_requests",
            "HTTP requests by method, route template and status code",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "titans_http_request_duration_seconds",
            "HTTP request latency by method and route template",
            ["method", "route"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.predictions = Counter(
            "titans_predictions",
            "Rows scored, by model",
            ["model"],
            registry=self.registry,
        )
        self.model_loaded = Gauge(
            "titans_model_loaded",
            "1 when the model is loaded and serving, else 0",
            ["model"],
            registry=self.registry,
            multiprocess_mode="livemin",  # loaded only when every live worker has it
        )
        self.redis_up = Gauge(
            "titans_redis_up",
            "1 when Redis answered its last call",
            registry=self.registry,
            multiprocess_mode="livemin",
        )

        # Labelled children by label values: `labels()` takes a lock and checks its arguments
        # on every call, a few percent of a cached prediction.
        self._observed: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self._predicted: dict[str, Any] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one finished request."""
        key = (method, route, status)
        children = self._observed.get(key)
        if children is None:
            children = self._observed[key] = (
                self.requests.labels(method, route, str(status)),
                self.latency.labels(method, route),
            )
        children[0].inc()
        children[1].observe(seconds)

    def predicted(self, model: str, rows: int = 1) -> None:
        """Count ``rows`` rows scored by ``model``."""
        child = self._predicted.get(model)
        if child is None:
            child = self._predicted[model] = self.predictions.labels(model)
        child.inc(rows)

    def set_models(self, loaded: Mapping[str, bool]) -> None:
        """Publish which models are loaded."""
        for name, is_loaded in loaded.items():
            self.model_loaded.labels(name).set(1.0 if is_loaded else 0.0)

    def render(self) -> bytes:
        """The registry in Prometheus text format (all workers' samples in multiprocess mode)."""
        if self.multiprocess_dir is None:
            return generate_latest(self.registry)
        merged = CollectorRegistry()
        MultiProcessCollector(merged, path=str(self.multiprocess_dir))
        return generate_latest(merged)


class MetricsMiddleware:
    """Records every HTTP request under its route template (``/transactions/{id}``), not its URL."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            route: Any = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.metrics.observe(scope["method"], template, status, time.perf_counter() - start)


__all__ = ["Metrics", "MetricsMiddleware"]

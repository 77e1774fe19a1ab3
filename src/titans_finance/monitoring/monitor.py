"""The monitor: log predictions, compute model health, keep the last report for /metrics."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from titans_finance.config import Settings
from titans_finance.monitoring.health import model_health
from titans_finance.monitoring.log import log_predictions, window_frame

logger = logging.getLogger(__name__)


def build_report(
    engine: Engine, models: Mapping[str, Any], settings: Settings, *, log: bool = True
) -> dict[str, Any]:
    """One monitoring pass: log what the serving models have not scored yet, then measure."""
    started = time.perf_counter()
    window = window_frame(engine, settings.monitor_window_days)
    logged = log_predictions(engine, models, settings, window) if log else {}
    report = model_health(engine, models, window=window, window_days=settings.monitor_window_days)
    return {
        "generated_at": datetime.now(UTC).isoformat(),
        "window_days": settings.monitor_window_days,
        "window_rows": len(window),
        "logged": logged,
        "seconds": round(time.perf_counter() - started, 3),
        "models": report,
    }


class ModelMonitor:
    """Thread-safe holder of the latest health report, refreshed at most every
    ``monitor_interval_seconds``; a failed refresh keeps the previous report and says so."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self.report: dict[str, Any] | None = None
        self.refreshed_at: float | None = None  # unix time of the last successful refresh
        self._refreshed_monotonic: float | None = None
        self.last_error: str | None = None
        self.last_success = True
        self.last_seconds = 0.0

    def _stale(self) -> bool:
        last = self._refreshed_monotonic
        return last is None or time.monotonic() - last >= self.settings.monitor_interval_seconds

    def current(self, engine: Engine, models: Mapping[str, Any]) -> dict[str, Any] | None:
        """The latest report, refreshed first when older than the interval."""
        if self._stale():
            with self._lock:
                if self._stale():
                    self._refresh(engine, models)
        return self.report

    def _refresh(self, engine: Engine, models: Mapping[str, Any]) -> None:
        started = time.perf_counter()
        try:
            self.report = build_report(engine, models, self.settings)
        except Exception as exc:  # the store may be down; /metrics must still answer
            logger.warning("model monitoring refresh failed: %s: %s", type(exc).__name__, exc)
            self.last_error = f"{type(exc).__name__}: monitoring refresh failed; see the logs"
            self.last_success = False
        else:
            self.last_error = None
            self.last_success = True
            self.refreshed_at = time.time()
        finally:
            # a failing store is retried at the next interval, not on every scrape
            self._refreshed_monotonic = time.monotonic()
            self.last_seconds = time.perf_counter() - started


__all__ = ["ModelMonitor", "build_report"]

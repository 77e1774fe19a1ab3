"""Everything one app instance holds: settings, keys, models, limiter, cache, metrics."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from titans_finance.api.batcher import MicroBatcher
from titans_finance.api.limits import PredictionCache, RateLimiter, RedisConnection
from titans_finance.api.metrics import Metrics
from titans_finance.api.reloader import ModelWatcher
from titans_finance.auth.authenticator import Authenticator
from titans_finance.config import Settings
from titans_finance.errors import StorageError, TitansError
from titans_finance.monitoring.monitor import ModelMonitor
from titans_finance.serving import LRUCache, ModelService

logger = logging.getLogger(__name__)

# How long stored rules and "normal" marks may be served before re-reading them (other
# workers may have changed them; this worker refreshes at once after its own changes).
STORE_REFRESH_SECONDS = 5.0


@dataclass
class AppState:
    """Per-app state, built by `create_app` and completed in the lifespan."""

    settings: Settings
    api_keys: tuple[bytes, ...]
    models: ModelService
    metrics: Metrics = field(default_factory=Metrics)
    redis: RedisConnection | None = None
    limiter: RateLimiter | None = None
    auth_failures: RateLimiter | None = None
    authenticator: Authenticator = field(init=False)
    cache: PredictionCache | None = None
    # Answers `PredictionFastPath` replays (set when the middleware is built).
    replays: LRUCache | None = None
    started_at: float = field(default_factory=time.monotonic)
    store_synced_at: float = 0.0
    batchers: dict[str, MicroBatcher] = field(default_factory=dict)
    watcher: ModelWatcher | None = None
    monitor: ModelMonitor = field(init=False)

    def __post_init__(self) -> None:
        self.monitor = ModelMonitor(self.settings)
        self.authenticator = Authenticator(self.settings, self.api_keys, self.engine)

    def batcher(self, kind: str) -> MicroBatcher:
        """The micro-batcher of single ``kind`` predictions."""
        found = self.batchers.get(kind)
        if found is None:
            found = self.batchers[kind] = MicroBatcher(self.models, kind)
        return found

    def engine(self) -> Engine:
        """The migrated engine of the configured database (StorageError when unreachable)."""
        from titans_finance.storage.db import get_engine

        try:
            return get_engine(self.settings.database_url)
        except TitansError:
            raise
        except Exception as exc:  # connection details go to the log, never to the client
            logger.warning("database not available: %s", exc)
            raise StorageError(
                f"the database is not available ({type(exc).__name__}); retry shortly"
            ) from exc

    def model_health(self) -> dict[str, Any] | None:
        """The monitor's latest report of the serving models, refreshed when older than
        ``monitor_interval_seconds`` (None when no refresh has succeeded yet)."""
        monitor = self.monitor
        try:
            engine = self.engine()
        except TitansError as exc:
            monitor.last_success, monitor.last_error = False, exc.message
            return monitor.report
        return monitor.current(engine, self.models.models.models)

    def store_stale(self) -> bool:
        """True when rules and feedback should be re-read from the store."""
        return time.monotonic() - self.store_synced_at >= STORE_REFRESH_SECONDS

    def sync_store(self, *, force: bool = False) -> None:
        """Refresh rules and anomaly feedback from the store when stale (or forced)."""
        now = time.monotonic()
        if not force and now - self.store_synced_at < STORE_REFRESH_SECONDS:
            return
        from titans_finance.storage import repository

        try:
            engine = self.engine()
            self.models.set_rules(repository.list_rules(engine))
            self.models.set_anomaly_feedback(repository.list_anomaly_feedback(engine))
        except TitansError as exc:
            logger.warning("cannot refresh rules and feedback: %s", exc.message)
        except Exception:
            logger.exception("cannot refresh rules and feedback")
        self.store_synced_at = now


__all__ = ["STORE_REFRESH_SECONDS", "AppState"]

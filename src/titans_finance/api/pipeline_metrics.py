"""Pipeline gauges read from the store at scrape time (the pipeline runs in other processes)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine

logger = logging.getLogger(__name__)


class PipelineCollector(Collector):
    """``titans_pipeline_last_run_success``, ``titans_pipeline_last_run_end_timestamp_seconds``
    and ``titans_last_import_timestamp_seconds``; a gauge without data yet is left out, and an
    unreachable store leaves all three out (the scrape itself still succeeds)."""

    def __init__(self, engine: Callable[[], Engine]) -> None:
        self._engine = engine

    def describe(self) -> Iterator[GaugeMetricFamily]:
        """The metric families, without touching the store (for registration)."""
        yield from self._families({})

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Read the store now and yield the gauges."""
        from titans_finance.storage.pipeline_runs import health

        try:
            values = health(self._engine())
        except Exception as exc:  # a scrape must not fail because the store is down
            logger.warning("pipeline metrics unavailable: %s", type(exc).__name__)
            return
        yield from self._families(values)

    @staticmethod
    def _families(values: dict[str, float | None]) -> Iterator[GaugeMetricFamily]:
        specs = (
            (
                "titans_pipeline_last_run_success",
                "1 if the latest finished pipeline run succeeded, else 0",
                "last_run_success",
            ),
            (
                "titans_pipeline_last_run_end_timestamp_seconds",
                "Unix time the latest finished pipeline run ended",
                "last_run_end",
            ),
            (
                "titans_last_import_timestamp_seconds",
                "Unix time of the newest import in the store",
                "last_import",
            ),
        )
        for name, documentation, key in specs:
            family = GaugeMetricFamily(name, documentation)
            value = values.get(key)
            if value is not None:
                family.add_metric([], value)
            yield family


__all__ = ["PipelineCollector"]

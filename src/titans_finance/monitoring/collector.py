"""Prometheus collector of the monitor's latest report.

Labels are bounded: ``model`` (5 names), ``version`` (the serving version only: an old version's
series disappear at the swap), ``feature`` (3 drift features).  No merchant, account or
transaction is ever a label, so a replica exports under 100 monitoring series.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from titans_finance.monitoring.monitor import ModelMonitor

#: (metric name, help, model, key in the model's "quality" block)
QUALITY_GAUGES: tuple[tuple[str, str, str, str], ...] = (
    (
        "titans_model_labelled_accuracy",
        "Category accuracy on reviewed predictions (confirmed or corrected) in the window",
        "category",
        "labelled_accuracy",
    ),
    (
        "titans_model_labelled_accuracy_lower_bound",
        "Wilson 95% lower bound of the labelled category accuracy",
        "category",
        "labelled_accuracy_lower_bound",
    ),
    ("titans_model_labels", "Reviewed predictions (labels) in the window", "category", "labels"),
    (
        "titans_model_estimated_accuracy",
        "Label-free category accuracy estimate: mean calibrated confidence",
        "category",
        "estimated_accuracy",
    ),
    (
        "titans_model_low_confidence_share",
        "Share of category predictions below MEDIUM confidence",
        "category",
        "low_confidence_share",
    ),
    (
        "titans_model_unseen_merchant_rate",
        "Share of category predictions for merchants absent from training",
        "category",
        "unseen_merchant_rate",
    ),
    (
        "titans_model_amount_mae",
        "Amount MAE on transactions dated after the model's training data",
        "amount",
        "mae",
    ),
    (
        "titans_model_amount_mae_rows",
        "Transactions the amount MAE rests on",
        "amount",
        "rows",
    ),
    (
        "titans_model_cashflow_mae",
        "Cash-flow daily net MAE over forecast days that have passed",
        "cashflow",
        "mae",
    ),
    (
        "titans_model_cashflow_error_days",
        "Forecast days the cash-flow error rests on",
        "cashflow",
        "days",
    ),
    (
        "titans_model_anomaly_flagged_share",
        "Share of scored transactions flagged as anomalies",
        "anomaly",
        "flagged_share",
    ),
    (
        "titans_model_anomaly_precision",
        'Share of flags not marked "this is normal" (an upper bound)',
        "anomaly",
        "precision",
    ),
    (
        "titans_model_anomaly_marked_normal",
        'Flags the user marked "this is normal" in the window',
        "anomaly",
        "marked_normal",
    ),
)
MONITOR_METRICS: tuple[str, ...] = (
    "titans_monitor_last_refresh_timestamp_seconds",
    "titans_monitor_refresh_duration_seconds",
    "titans_monitor_refresh_success",
)


def _gauge(name: str, documentation: str, labels: list[str]) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, labels=labels)


class MonitoringCollector(Collector):
    """Exports the latest report of ``monitor`` (refreshing it through ``refresh`` first)."""

    def __init__(self, monitor: ModelMonitor, refresh: Callable[[], Any] | None = None) -> None:
        self.monitor = monitor
        self.refresh = refresh

    def describe(self) -> list[Any]:
        """Nothing up front: the series depend on which models serve."""
        return []

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """One family per monitoring figure; figures not measurable yet are left out."""
        if self.refresh is not None:
            self.refresh()
        monitor = self.monitor
        status = {
            "titans_monitor_refresh_success": (
                "1 when the last monitoring refresh succeeded",
                1.0 if monitor.last_success else 0.0,
            ),
            "titans_monitor_refresh_duration_seconds": (
                "Seconds the last monitoring refresh took",
                monitor.last_seconds,
            ),
        }
        if monitor.refreshed_at is not None:
            status["titans_monitor_last_refresh_timestamp_seconds"] = (
                "Unix time of the last successful monitoring refresh",
                monitor.refreshed_at,
            )
        for name, (documentation, value) in status.items():
            family = _gauge(name, documentation, [])
            family.add_metric([], value)
            yield family
        report = monitor.report
        if report is None:
            return
        yield from self._model_families(report["models"])

    def _model_families(self, models: dict[str, Any]) -> Iterator[GaugeMetricFamily]:
        info = _gauge("titans_model_info", "1 per serving model version", ["model", "version"])
        age = _gauge(
            "titans_model_age_seconds", "Seconds since the model was trained", ["model", "version"]
        )
        psi = _gauge(
            "titans_model_drift_psi",
            "Population stability index of an input feature against the training reference",
            ["model", "version", "feature"],
        )
        ks = _gauge(
            "titans_model_drift_ks",
            "Kolmogorov-Smirnov statistic of an input feature against the training reference",
            ["model", "version", "feature"],
        )
        rows = _gauge(
            "titans_model_drift_rows",
            "Transactions in the drift window",
            ["model", "version"],
        )
        quality = {
            name: _gauge(name, documentation, ["model", "version"])
            for name, documentation, _model, _key in QUALITY_GAUGES
        }
        for model, entry in models.items():
            labels = [model, entry["version"]]
            info.add_metric(labels, 1.0)
            if entry.get("age_seconds") is not None:
                age.add_metric(labels, entry["age_seconds"])
            drift = entry.get("drift", {})
            if drift.get("available"):
                rows.add_metric(labels, drift["rows"])
                for feature, figures in drift["features"].items():
                    psi.add_metric([*labels, feature], figures["psi"])
                    ks.add_metric([*labels, feature], figures["ks"])
            versions = {entry["version"]: entry.get("quality", {})}
            versions.update(entry.get("earlier_versions", {}))
            for version, figures in versions.items():
                for name, _doc, owner, key in QUALITY_GAUGES:
                    if owner == model and figures.get(key) is not None:
                        quality[name].add_metric([model, version], float(figures[key]))
        yield from (info, age, psi, ks, rows, *quality.values())


__all__ = ["MonitoringCollector"]

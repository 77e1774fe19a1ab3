"""Model monitoring: drift against training references, quality from user feedback, metrics."""

from titans_finance.models.drift import build_reference, drift, psi
from titans_finance.monitoring.health import model_health, wilson_lower_bound
from titans_finance.monitoring.monitor import ModelMonitor, build_report

__all__ = [
    "ModelMonitor",
    "build_reference",
    "build_report",
    "drift",
    "model_health",
    "psi",
    "wilson_lower_bound",
]

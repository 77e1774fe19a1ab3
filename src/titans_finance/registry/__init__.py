"""Model registry: MLflow runs, registered versions, champion/challenger aliases, rollback.

The only package that imports mlflow (lazily, inside functions).
"""

from titans_finance.registry.mlflow_registry import (
    CHALLENGER,
    CHAMPION,
    RegistryRecord,
    champion_version,
    list_versions,
    log_training_run,
    prepare,
    promote,
    registered_name,
    rollback,
)

__all__ = [
    "CHALLENGER",
    "CHAMPION",
    "RegistryRecord",
    "champion_version",
    "list_versions",
    "log_training_run",
    "prepare",
    "promote",
    "registered_name",
    "rollback",
]

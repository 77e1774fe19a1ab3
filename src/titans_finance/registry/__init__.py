"""Model registry: MLflow runs, registered versions, champion/challenger aliases, rollback.

The only package that imports mlflow (lazily, inside functions).
"""

from titans_finance.registry.mlflow_registry import (
    CHALLENGER,
    CHAMPION,
    RegistryRecord,
    alias_version,
    champion_version,
    list_versions,
    log_training_run,
    prepare,
    promote,
    register_candidate,
    registered_name,
    rollback,
    set_alias,
)

__all__ = [
    "CHALLENGER",
    "CHAMPION",
    "RegistryRecord",
    "alias_version",
    "champion_version",
    "list_versions",
    "log_training_run",
    "prepare",
    "promote",
    "register_candidate",
    "registered_name",
    "rollback",
    "set_alias",
]

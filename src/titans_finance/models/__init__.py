"""Models sharing one contract (:class:`TitansModel`); concrete classes load lazily via the
catalog, and the contract itself on first use, so importing this package (or its catalog of
model names) stays cheap."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from titans_finance.models.catalog import MODEL_CLASSES, MODEL_NAMES, available_models, model_class

if TYPE_CHECKING:
    from titans_finance.models.base import ModelMetadata, TitansModel, read_metadata, sha256_file

_FROM_BASE = ("ModelMetadata", "TitansModel", "read_metadata", "sha256_file")


def __getattr__(name: str) -> Any:
    """The contract names from `titans_finance.models.base`, imported on first use."""
    if name in _FROM_BASE:
        from titans_finance.models import base

        return getattr(base, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "MODEL_CLASSES",
    "MODEL_NAMES",
    "ModelMetadata",
    "TitansModel",
    "available_models",
    "model_class",
    "read_metadata",
    "sha256_file",
]

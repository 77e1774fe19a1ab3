"""Models sharing one contract (:class:`TitansModel`); concrete classes load lazily via the
catalog so importing this package stays cheap."""

from titans_finance.models.base import ModelMetadata, TitansModel, read_metadata, sha256_file
from titans_finance.models.catalog import MODEL_CLASSES, available_models, model_class

__all__ = [
    "MODEL_CLASSES",
    "ModelMetadata",
    "TitansModel",
    "available_models",
    "model_class",
    "read_metadata",
    "sha256_file",
]

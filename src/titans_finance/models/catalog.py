"""Which class implements each model type, imported lazily by dotted path.

This is the one list of model names: training, serving, the CLI and the dashboard read it here.
Importing it is cheap (no scikit-learn): the classes load only in `model_class`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from titans_finance.errors import TitansError

if TYPE_CHECKING:
    from titans_finance.models.base import TitansModel

MODEL_CLASSES: dict[str, str] = {
    "category": "titans_finance.models.category.CategoryModel",
    "amount": "titans_finance.models.amount.AmountModel",
    "anomaly": "titans_finance.models.anomaly.AnomalyModel",
    "recurring": "titans_finance.models.recurring.RecurringModel",
    "cashflow": "titans_finance.models.cashflow.CashflowModel",
}
#: every model name, in catalog order
MODEL_NAMES: tuple[str, ...] = tuple(MODEL_CLASSES)
#: the models that score individual transactions (one output row per input row)
PREDICTABLE: tuple[str, ...] = ("category", "amount", "anomaly")


class UnknownModelError(TitansError):
    """A model name that is not in the catalog, or whose module is not available."""

    exit_code = 64
    http_status = 404


def model_class(name: str) -> type[TitansModel]:
    """The TitansModel subclass for ``name``; UnknownModelError for an unknown name or a module
    that is not available in this installation."""
    from titans_finance.models.base import TitansModel

    try:
        dotted = MODEL_CLASSES[name]
    except KeyError:
        raise UnknownModelError(
            f"unknown model {name!r}; choose one of {', '.join(MODEL_CLASSES)}"
        ) from None
    module_name, _, class_name = dotted.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        raise UnknownModelError(
            f"the {name} model is not available in this installation ({module_name} is missing)"
        ) from exc
    cls = getattr(module, class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, TitansModel)):
        raise UnknownModelError(f"{dotted} is not a TitansModel subclass")
    return cls


def available_models() -> list[str]:
    """Model names whose implementation can be imported, in catalog order."""
    names = []
    for name in MODEL_CLASSES:
        try:
            model_class(name)
        except UnknownModelError:
            continue
        names.append(name)
    return names


__all__ = [
    "MODEL_CLASSES",
    "MODEL_NAMES",
    "PREDICTABLE",
    "UnknownModelError",
    "available_models",
    "model_class",
]

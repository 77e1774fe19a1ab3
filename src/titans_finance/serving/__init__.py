"""Model serving: load every trained model, score requests, reload atomically, keep statistics.

No web framework here: the API and the dashboard's direct mode both drive a `ModelService`.

* Models are loaded from ``settings.models_dir`` through each class's ``load`` (sha256 checked).
* ``reload`` builds a complete new `ModelSet` first and swaps it in with one reference
  assignment; if any model that should load fails, the old set keeps serving and the reasons
  are returned.
* Requests become ONE canonical DataFrame per call (`records_to_frame`); a batch is one model
  call per model.  Single predictions go through an in-process LRU cache keyed by the
  normalised request and the versions of the model, the rules and the anomaly feedback.
* Stored user rules override the category model; stored "this is normal" marks are handed to
  the anomaly model.
"""

from titans_finance.models.catalog import MODEL_NAMES
from titans_finance.serving.cache import LRUCache, ModelStats
from titans_finance.serving.records import (
    RECORD_FIELDS,
    columns_to_frame,
    frame_records,
    record_key,
    records_to_frame,
    to_jsonable,
)
from titans_finance.serving.service import (
    ModelService,
    ModelSet,
    ReloadResult,
    hit_statistic,
    limit_native_threads,
    load_model_set,
    model_classes,
)

__all__ = [
    "MODEL_NAMES",
    "RECORD_FIELDS",
    "LRUCache",
    "ModelService",
    "ModelSet",
    "ModelStats",
    "ReloadResult",
    "columns_to_frame",
    "frame_records",
    "hit_statistic",
    "limit_native_threads",
    "load_model_set",
    "model_classes",
    "record_key",
    "records_to_frame",
    "to_jsonable",
]

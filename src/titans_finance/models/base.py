"""The contract every model shares: estimator rules, DataFrame in/out, verified artefacts."""

from __future__ import annotations

import gc
import hashlib
import importlib.metadata
import json
import logging
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Self

import joblib
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from titans_finance.errors import ModelIntegrityError, ModelNotTrainedError
from titans_finance.models.drift import build_reference
from titans_finance.models.signing import SigningPolicy

logger = logging.getLogger(__name__)

ARTEFACT_NAME = "model.joblib"
METADATA_NAME = "metadata.json"
_TRACKED_LIBRARIES = ("scikit-learn", "pandas", "numpy", "titans-finance")


def _library_versions() -> dict[str, str]:
    versions: dict[str, str] = {}
    for name in _TRACKED_LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class ModelMetadata:
    """What is known about a trained model; written beside its artefact as metadata.json."""

    model_type: str
    version: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    trained_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    training_rows: int = 0
    features: list[str] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    library_versions: dict[str, str] = field(default_factory=_library_versions)
    artefacts: dict[str, str] = field(default_factory=dict)
    signature: str | None = None
    #: profile of the training data (monitoring.drift.build_reference), the drift baseline
    reference: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelMetadata:
        """Build from a metadata.json dict, ignoring unknown keys."""
        known = {key: value for key, value in data.items() if key in cls.__dataclass_fields__}
        return cls(**known)


_gc_lock = threading.Lock()
_gc_pauses = 0  # batches in flight inside gc_paused (any thread)
_gc_was_enabled = False


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while a batch is scored or answered.

    A batch makes objects per row (reasons, alternatives, response rows) that live until the
    batch is done; they would trigger full collections over the whole heap (the loaded models
    included), which cost more than the scoring.  Nothing made per row forms cycles, so
    reference counting frees it all the same.  Thread-safe: collection is switched off by the
    first batch in flight (when it was on) and back on when the last one ends, whatever the
    order in which concurrent batches finish."""
    global _gc_pauses, _gc_was_enabled
    with _gc_lock:
        if _gc_pauses == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_was_enabled:
                gc.enable()


class TitansModel(BaseEstimator):
    """Base of every Titans model.

    Subclasses set ``model_type``, keep only hyperparameters in ``__init__``, implement
    ``_fit(frame)`` (fitted attributes end in ``_``) and ``_predict(frame)`` returning one row
    per input row on the input's index.  ``fit`` records ``metadata_``, including the drift
    reference of the training frame (models.drift); ``predict`` adds ``model_version`` to every
    output row.
    """

    model_type: ClassVar[str] = "base"

    def fit(self, frame: pd.DataFrame, y: object = None) -> Self:
        """Fit on a canonical transaction frame and record metadata; returns self."""
        self._fit(frame)
        self.metadata_ = ModelMetadata(
            model_type=self.model_type,
            training_rows=len(frame),
            features=self.feature_names(),
            params={key: _jsonable(value) for key, value in self.get_params().items()},
            reference=build_reference(frame),
        )
        return self

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Score a batch in one call: one output row per input row, input index kept."""
        check_is_fitted(self, "metadata_")
        with gc_paused():
            result = self._predict(frame)
        if len(result) != len(frame):
            raise AssertionError(
                f"{type(self).__name__} returned {len(result)} rows for {len(frame)}"
            )
        result.index = frame.index
        result["model_version"] = self.metadata_.version
        return result

    def feature_names(self) -> list[str]:
        """Names of the features the fitted model uses (for metadata)."""
        return []

    def _fit(self, frame: pd.DataFrame) -> None:
        raise NotImplementedError

    def _predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        raise NotImplementedError

    # -- persistence ------------------------------------------------------------------------------
    def save(self, directory: Path, signing: SigningPolicy | None = None) -> Path:
        """Write ``<directory>/<model_type>/{model.joblib, metadata.json}``; returns that folder.

        The metadata (artefact checksums included) is HMAC-signed under ``signing`` (default:
        the process settings' ``TITANS_MODEL_SIGNING_KEY``); see ``models.signing``.
        """
        check_is_fitted(self, "metadata_")
        signing = signing or SigningPolicy.current()
        signing.check_can_sign()  # before writing anything
        target = Path(directory) / self.model_type
        target.mkdir(parents=True, exist_ok=True)
        artefact = target / ARTEFACT_NAME
        tmp = artefact.with_suffix(".tmp")
        joblib.dump(self, tmp, compress=3)
        tmp.replace(artefact)
        self.metadata_.artefacts = {ARTEFACT_NAME: sha256_file(artefact)}
        self.metadata_.signature = None
        self.metadata_.signature = signing.sign(self.metadata_.to_dict())
        meta_tmp = target / (METADATA_NAME + ".tmp")
        meta_tmp.write_text(json.dumps(self.metadata_.to_dict(), indent=2))
        meta_tmp.replace(target / METADATA_NAME)
        return target

    @classmethod
    def load(cls, directory: Path, signing: SigningPolicy | None = None) -> Self:
        """Load from ``<directory>/<model_type>``: the metadata's signature is checked, then
        every artefact's sha256, and only then is anything unpickled."""
        target = Path(directory) / cls.model_type
        metadata = read_metadata(target, cls.model_type, signing or SigningPolicy.current())
        for name, expected in metadata.artefacts.items():
            path = target / name
            if not path.is_file():
                raise ModelIntegrityError(
                    f"{cls.model_type} model file {name} is missing; retrain it"
                )
            actual = sha256_file(path)
            if actual != expected:
                raise ModelIntegrityError(
                    f"{cls.model_type} model file {name} fails its checksum (expected "
                    f"{expected[:12]}…, found {actual[:12]}…): it was modified or truncated; "
                    f"retrain with `titans train {cls.model_type}`"
                )
        try:
            model = joblib.load(target / ARTEFACT_NAME)
        except Exception as exc:  # a checksum-valid but unreadable file (library mismatch)
            logger.warning("cannot unpickle the %s model at %s: %s", cls.model_type, target, exc)
            raise ModelIntegrityError(
                f"cannot load the {cls.model_type} model ({type(exc).__name__}); retrain it "
                f"with `titans train {cls.model_type}`"
            ) from exc
        if not isinstance(model, cls):
            raise ModelIntegrityError(
                f"the {cls.model_type} artefact does not hold a {cls.__name__}"
            )
        model.metadata_ = metadata
        return model


def read_metadata(
    target: Path, model_type: str, signing: SigningPolicy | None = None
) -> ModelMetadata:
    """Read and validate ``metadata.json`` of a saved model folder.

    With ``signing`` the metadata's HMAC signature is verified too (ModelIntegrityError).
    Messages name the model, never the folder (paths stay out of API answers).
    """
    meta_path = target / METADATA_NAME
    if not meta_path.is_file():
        raise ModelNotTrainedError(
            f"no trained {model_type} model; train one with `titans train {model_type}`"
        )
    try:
        raw = json.loads(meta_path.read_text())
        if not isinstance(raw, dict):
            raise TypeError("not a JSON object")
        metadata = ModelMetadata.from_dict(raw)
    except (ValueError, TypeError) as exc:
        raise ModelIntegrityError(
            f"the {model_type} model's {METADATA_NAME} is not valid model metadata: {exc}"
        ) from exc
    if metadata.model_type != model_type or not metadata.artefacts:
        raise ModelIntegrityError(
            f"the {model_type} model's {METADATA_NAME} does not describe a {model_type} model"
        )
    if signing is not None:
        signing.verify(raw, model_type)
    return metadata


def _jsonable(value: object) -> object:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return repr(value)


__all__ = ["ModelMetadata", "TitansModel", "gc_paused", "read_metadata", "sha256_file"]

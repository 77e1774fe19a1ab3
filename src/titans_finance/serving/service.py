"""The loaded model set, atomic reloads and `ModelService`, the serving core."""

from __future__ import annotations

import gc
import importlib
import logging
import threading
import time
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pandas as pd

from titans_finance import domain as d
from titans_finance.errors import (
    ModelIntegrityError,
    ModelNotTrainedError,
    TitansError,
    ValidationError,
)
from titans_finance.models.catalog import MODEL_NAMES, UnknownModelError, model_class
from titans_finance.models.signing import SigningPolicy
from titans_finance.serving.cache import LRUCache, ModelStats
from titans_finance.serving.records import frame_records, record_key, records_to_frame

if TYPE_CHECKING:
    from titans_finance.models.cashflow import CashflowModel, ForecastResult

logger = logging.getLogger(__name__)
_Result = TypeVar("_Result")


def model_classes() -> dict[str, type[Any]]:
    """Model name -> class, for every model whose implementation is importable."""
    classes: dict[str, type[Any]] = {}
    for name in MODEL_NAMES:
        try:
            classes[name] = model_class(name)
        except UnknownModelError as exc:
            logger.debug("model %s not available: %s", name, exc.message)
    return classes


def limit_native_threads(threads: int | None) -> None:
    """Cap the OpenMP/BLAS thread pools of this process (None: leave them alone)."""
    if threads is None:
        return
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    threadpool_limits(limits=threads)


def settle_heap() -> None:
    """Collect garbage, then put every object alive now out of the cyclic collector's reach.

    The loaded models are a few hundred thousand long-lived objects; a full collection walks
    them all, ~150-200 ms with the GIL held (measured on the trained personal-transactions
    models), which a server feels as a stall of every request in flight.  Frozen
    (`gc.freeze`), they are skipped and full collections walk only what serving made since.
    Called after every model (re)load: the previous freeze is undone first, so a replaced
    model set is collected like any other garbage.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()


# -- the loaded models --------------------------------------------------------------------------
@dataclass(frozen=True)
class ModelSet:
    """One consistent set of loaded models and, per missing model, why it is missing."""

    models: Mapping[str, Any]
    errors: Mapping[str, str]
    directory: Path
    not_trained: frozenset[str] = frozenset()
    loaded_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    def get(self, name: str) -> Any:
        """The loaded model ``name``; ModelNotTrainedError (503) saying why when unavailable."""
        model = self.models.get(name)
        if model is None:
            why = self.errors.get(name, f"no {name} model is available")
            raise ModelNotTrainedError(why)
        return model

    def version(self, name: str) -> str | None:
        """Version of a loaded model, None when absent."""
        model = self.models.get(name)
        return None if model is None else str(model.metadata_.version)


@dataclass
class ReloadResult:
    """What a (re)load did."""

    success: bool
    loaded: list[str]
    errors: dict[str, str]
    message: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "success": self.success,
            "loaded": self.loaded,
            "errors": self.errors,
            "message": self.message,
        }


def load_model_set(
    directory: Path, names: Sequence[str] = MODEL_NAMES, signing: SigningPolicy | None = None
) -> ModelSet:
    """Load every model found under ``directory``, checking signatures and checksums; never
    raises per model."""
    classes = model_classes()
    models: dict[str, Any] = {}
    errors: dict[str, str] = {}
    not_trained: set[str] = set()
    for name in names:
        cls = classes.get(name)
        if cls is None:
            errors[name] = f"the {name} model is not part of this installation"
            not_trained.add(name)
            continue
        try:
            models[name] = cls.load(directory, signing)
        except ModelNotTrainedError as exc:
            errors[name] = exc.message
            not_trained.add(name)
        except ModelIntegrityError as exc:
            errors[name] = exc.message
        except TitansError as exc:
            errors[name] = exc.message
        except Exception as exc:  # an unreadable artefact must not stop the other models
            logger.exception("loading the %s model failed", name)
            errors[name] = f"cannot load the {name} model: {exc}"
    return ModelSet(
        models=models,
        errors=errors,
        directory=Path(directory),
        not_trained=frozenset(not_trained),
    )


def hit_statistic(kind: str, prediction: Mapping[str, Any]) -> Any:
    """What a cached ``kind`` prediction adds to its model's serving statistics: the category's
    confidence, the anomaly score, nothing for amounts."""
    if kind == "category":
        return prediction.get("confidence")
    return prediction.get("anomaly_score")


class ModelService:
    """The serving core shared by the API and the dashboard (thread-safe for predictions)."""

    def __init__(
        self,
        models_dir: Path,
        *,
        cache_size: int = 10_000,
        native_threads: int | None = 1,
        signing: SigningPolicy | None = None,
        freeze_heap: bool = False,
    ) -> None:
        self.models_dir = Path(models_dir)
        self.freeze_heap = freeze_heap
        self.signing = signing
        self.native_threads = native_threads
        self._set = ModelSet(models={}, errors={}, directory=self.models_dir)
        self._reload_lock = threading.Lock()
        self.stats: dict[str, ModelStats] = {name: ModelStats() for name in MODEL_NAMES}
        self.cache = LRUCache(cache_size)
        # Bumped whenever the cache is emptied (a new model set, an explicit clear): caches
        # kept elsewhere of what these models answered (the API's replayed responses) drop
        # their entries when it moves.
        self.generation = 0
        self._rules: tuple[d.CategoryRule, ...] = ()
        self._rules_version = 0
        self._feedback: tuple[Mapping[str, Any], ...] = ()
        self._feedback_version = 0
        self.last_reload: ReloadResult | None = None

    # -- loading ---------------------------------------------------------------------------------
    @property
    def models(self) -> ModelSet:
        """The set currently serving."""
        return self._set

    def load(self) -> ReloadResult:
        """Initial load: serve whatever loads (missing models answer 503 with the reason).

        Also limits OpenMP/BLAS pools to ``native_threads`` per process: serving scales with
        worker processes, and oversubscribed OpenMP turns a 1-row prediction into seconds.
        """
        limit_native_threads(self.native_threads)
        with self._reload_lock:
            new = load_model_set(self.models_dir, signing=self.signing)
            result = self._install(new, f"loaded {len(new.models)} of {len(MODEL_NAMES)} models")
            for name, why in new.errors.items():
                logger.warning("%s model not loaded: %s", name, why)
            return result

    def _install(self, new: ModelSet, message: str) -> ReloadResult:
        """Swap ``new`` in as the serving set (caller holds the reload lock)."""
        self._apply_feedback(new)
        self._set = new
        self.cache.clear()
        self.generation += 1
        if self.freeze_heap:
            settle_heap()
        self.last_reload = ReloadResult(
            success=True, loaded=sorted(new.models), errors=dict(new.errors), message=message
        )
        return self.last_reload

    def reload(self) -> ReloadResult:
        """Load every model into a new set, then swap it in atomically.

        The swap is refused (the old set keeps serving) when a model fails its integrity check
        or when a model that is serving now would disappear; the result says why.
        """
        with self._reload_lock:
            new = load_model_set(self.models_dir, signing=self.signing)
            current = self._set
            broken = {
                name: why
                for name, why in new.errors.items()
                if name in current.models or name not in new.not_trained
            }
            if broken:
                result = ReloadResult(
                    success=False,
                    loaded=sorted(current.models),
                    errors=broken,
                    message="reload refused: "
                    + "; ".join(f"{n}: {w}" for n, w in sorted(broken.items()))
                    + " — still serving the previous models",
                )
                logger.error(result.message)
                self.last_reload = result
                return result
            # Not kept alive through `_install`: a heap frozen while this frame still held the
            # replaced set would keep its reference cycles until the next reload.
            del current
            return self._install(new, f"reloaded {len(new.models)} models")

    def clear_cache(self) -> int:
        """Empty the single-prediction cache; returns the number of dropped entries."""
        self.generation += 1
        return self.cache.clear()

    # -- rules and feedback -------------------------------------------------------------------
    def set_rules(self, rules: Sequence[d.CategoryRule]) -> None:
        """Rules that override the category model (highest priority first)."""
        rules = tuple(rules)
        if rules != self._rules:
            self._rules = rules
            self._rules_version += 1

    def set_anomaly_feedback(self, patterns: Sequence[Mapping[str, Any]]) -> None:
        """ "This is normal" marks ({account, merchant, reason_code}) for the anomaly model."""
        patterns = tuple(dict(p) for p in patterns)
        if patterns != self._feedback:
            self._feedback = patterns
            # The model first, then the version: a prediction keyed by the new version (in
            # the LRU, the shared cache or a kept replay) is never one made without the marks.
            self._apply_feedback(self._set)
            self._feedback_version += 1

    def _apply_feedback(self, model_set: ModelSet) -> None:
        model = model_set.models.get("anomaly")
        setter = getattr(model, "set_feedback", None)
        if setter is None:
            return
        codes = getattr(importlib.import_module(type(model).__module__), "REASON_CODES", None)
        patterns = [
            {k: v for k, v in p.items() if v is not None}
            for p in self._feedback
            if codes is None or p.get("reason_code") is None or p.get("reason_code") in codes
        ]
        try:
            setter([p for p in patterns if p])
        except Exception:  # feedback must never take the model down
            logger.exception("could not apply anomaly feedback")

    # -- scoring (one call per model per batch) ---------------------------------------------
    def _timed(
        self,
        name: str,
        call: Callable[[Any], _Result],
        rows: int,
        confidence_column: str | None = None,
    ) -> _Result:
        model = self._set.get(name)
        start = time.perf_counter()
        try:
            result = call(model)
        except TitansError:
            raise
        except Exception as exc:  # e.g. an artefact pickled by an incompatible code version
            logger.exception("the %s model failed while scoring", name)
            raise ModelIntegrityError(
                f"the {name} model failed while scoring ({type(exc).__name__}: {exc}); "
                f"retrain it with `titans train {name}`"
            ) from exc
        elapsed = time.perf_counter() - start
        confidences = (
            pd.to_numeric(result[confidence_column], errors="coerce").to_numpy(dtype=float)
            if confidence_column
            and isinstance(result, pd.DataFrame)
            and confidence_column in result
            else None
        )
        self.stats[name].record(rows, elapsed, confidences)
        return result

    def predict_category(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Category predictions; stored rules override the model (source = "rule")."""
        rules = self._rules
        result: pd.DataFrame = self._timed(
            "category",
            lambda m: m.predict_with_rules(frame, rules) if rules else m.predict(frame),
            len(frame),
            "confidence",
        )
        return result

    def predict_amount(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Amount predictions with their interval (predicted_amount, lower, upper)."""
        result: pd.DataFrame = self._timed("amount", lambda m: m.predict(frame), len(frame))
        return result

    def predict_anomaly(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Anomaly scores, flags, risk levels and reasons."""
        result: pd.DataFrame = self._timed(
            "anomaly", lambda m: m.predict(frame), len(frame), "anomaly_score"
        )
        return result

    def forecast(self, days: int, *, account: str | None = None) -> ForecastResult:
        """The cash-flow model's forecast: its daily frame and summary."""
        if days < 1:
            raise ValidationError(f"forecast_days must be at least 1, got {days}")

        def call(model: CashflowModel) -> ForecastResult:
            if account is not None:
                return model.forecast(days, account=account)
            return model.forecast(days)

        return self._timed("cashflow", call, days)

    def recurring_streams(self, *, active_only: bool = False) -> pd.DataFrame:
        """The recurring streams the recurring model found."""
        result: pd.DataFrame = self._timed(
            "recurring", lambda m: m.streams(active_only=active_only), 1
        )
        return result

    def predict(self, kind: str, frame: pd.DataFrame) -> pd.DataFrame:
        """Dispatch: ``kind`` is category, amount or anomaly."""
        if kind == "category":
            return self.predict_category(frame)
        if kind == "amount":
            return self.predict_amount(frame)
        if kind == "anomaly":
            return self.predict_anomaly(frame)
        raise ValidationError(f"unknown prediction kind {kind!r}")

    def cache_token(self, kind: str) -> tuple[Hashable, ...]:
        """What a cached prediction of ``kind`` depends on besides the request."""
        version = self._set.version(kind)
        if kind == "category":
            return (kind, version, self._rules_version)
        if kind == "anomaly":
            return (kind, version, self._feedback_version)
        return (kind, version)

    def lookup(self, kind: str, key: Hashable) -> dict[str, Any] | None:
        """A cached single prediction (counted as served), or None."""
        hit = self.cache.get(key)
        if hit is None:
            return None
        self.record_hit(kind, hit_statistic(kind, hit))
        return dict(hit)

    def record_hit(self, kind: str, statistic: float | None) -> None:
        """Count one ``kind`` prediction answered from a cache (``statistic``: its
        `hit_statistic`)."""
        self.stats[kind].record_hit(statistic)

    def remember(self, key: Hashable, value: Mapping[str, Any]) -> None:
        """Put a prediction (e.g. found in a shared cache) into the local cache."""
        self.cache.put(key, dict(value))

    def single_key(self, kind: str, record: Mapping[str, Any]) -> tuple[Hashable, ...]:
        """Cache key of one request: what the prediction depends on, normalised."""
        return (self.cache_token(kind), record_key(record))

    def predict_one(
        self, kind: str, record: Mapping[str, Any], *, key: Hashable | None = None
    ) -> dict[str, Any]:
        """One prediction as a JSON-ready dict, answered from the LRU cache when seen before."""
        key = key if key is not None else self.single_key(kind, record)
        hit = self.lookup(kind, key)
        if hit is not None:
            return hit
        frame = records_to_frame([record])
        result = frame_records(self.predict(kind, frame))[0]
        self.cache.put(key, result)
        return dict(result)

    def predict_records(
        self,
        kind: str,
        records: Sequence[Mapping[str, Any]],
        keys: Sequence[Hashable] | None = None,
    ) -> list[dict[str, Any]]:
        """Single predictions for many concurrent requests in ONE model call (micro-batching).

        Identical requests are scored once; every result goes into the LRU cache under its key.
        """
        keys = list(keys) if keys is not None else [self.single_key(kind, r) for r in records]
        position: dict[Hashable, int] = {}
        unique: list[Mapping[str, Any]] = []
        for key, record in zip(keys, records, strict=True):
            if key not in position:
                position[key] = len(unique)
                unique.append(record)
        scored = frame_records(self.predict(kind, records_to_frame(unique)))
        for key, index in position.items():
            self.cache.put(key, scored[index])
        return [dict(scored[position[key]]) for key in keys]

    # -- reporting ------------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """Per model: loaded, version, trained_at, training rows, or why it is not loaded."""
        current = self._set
        out: dict[str, Any] = {}
        for name in MODEL_NAMES:
            model = current.models.get(name)
            if model is None:
                out[name] = {"loaded": False, "error": current.errors.get(name)}
                continue
            meta = model.metadata_
            out[name] = {
                "loaded": True,
                "version": meta.version,
                "trained_at": meta.trained_at,
                "training_rows": meta.training_rows,
            }
        return out

    def performance(self) -> dict[str, Any]:
        """Per model: status, training metrics and serving statistics."""
        status = self.status()
        current = self._set
        for name, entry in status.items():
            model = current.models.get(name)
            entry["metrics"] = dict(model.metadata_.metrics) if model is not None else {}
            entry.update(self.stats[name].snapshot())
        return status


__all__ = [
    "ModelService",
    "ModelSet",
    "ReloadResult",
    "hit_statistic",
    "limit_native_threads",
    "load_model_set",
    "model_classes",
    "settle_heap",
]

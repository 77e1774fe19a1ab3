"""Serving statistics per model and the in-process LRU cache of single predictions."""

from __future__ import annotations

import math
import threading
from collections import OrderedDict, deque
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class ModelStats:
    """Counters of one model since start (thread-safe)."""

    predictions: int = 0
    model_calls: int = 0
    cache_hits: int = 0
    confidence_sum: float = 0.0
    confidence_count: int = 0
    latencies_ms: deque[float] = field(default_factory=lambda: deque(maxlen=2000))
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, rows: int, seconds: float, confidences: np.ndarray | None = None) -> None:
        """Count one model call that scored ``rows`` rows."""
        with self.lock:
            self.predictions += rows
            self.model_calls += 1
            self.latencies_ms.append(seconds * 1000.0)
            if confidences is not None and len(confidences):
                finite = confidences[np.isfinite(confidences)]
                self.confidence_sum += float(finite.sum())
                self.confidence_count += len(finite)

    def record_hit(self, confidence: float | None = None) -> None:
        """Count one prediction answered from the cache."""
        with self.lock:
            self.predictions += 1
            self.cache_hits += 1
            if confidence is not None and math.isfinite(confidence):
                self.confidence_sum += confidence
                self.confidence_count += 1

    def snapshot(self) -> dict[str, Any]:
        """JSON-ready figures: counts, mean confidence, latency mean/p50/p95 of model calls."""
        with self.lock:
            lat = np.array(self.latencies_ms, dtype=float)
            return {
                "predictions_served": self.predictions,
                "model_calls": self.model_calls,
                "cache_hits": self.cache_hits,
                "mean_confidence": (
                    round(self.confidence_sum / self.confidence_count, 4)
                    if self.confidence_count
                    else None
                ),
                "latency_ms": {
                    "mean": round(float(lat.mean()), 3) if len(lat) else None,
                    "p50": round(float(np.percentile(lat, 50)), 3) if len(lat) else None,
                    "p95": round(float(np.percentile(lat, 95)), 3) if len(lat) else None,
                },
            }


class LRUCache:
    """A small thread-safe LRU mapping (single predictions keyed by normalised request)."""

    def __init__(self, maxsize: int = 10_000) -> None:
        self.maxsize = maxsize
        self._data: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any:
        """The cached value or None."""
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: Hashable, value: Any) -> None:
        """Store a value, evicting the least recently used beyond ``maxsize``."""
        if self.maxsize <= 0:
            return
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def clear(self) -> int:
        """Drop everything; returns how many entries there were."""
        with self._lock:
            n = len(self._data)
            self._data.clear()
            return n

    def __len__(self) -> int:
        return len(self._data)


__all__ = ["LRUCache", "ModelStats"]

"""Input drift against a training-time reference: PSI and KS in numpy/scipy.

A *reference* is a small JSON-ready profile of the frame a model was trained on, recorded by
``TitansModel.fit`` in the model's metadata.json (``ModelMetadata.reference``).  It never holds
a transaction: amounts are kept as quantiles, the category and account mixes as shares of at
most ``TOP_LEVELS`` levels (the rest pooled as ``OTHER``).
``drift`` compares a current frame with it:

* ``amount``: PSI on the reference's decile bins, KS against the reference quantile grid.
  The window's bin counts get a pseudo-count of 0.5 each, so an empty bin of a small window
  is not read as a shift.
* ``category`` and ``account`` (per-account volume, the share of rows each account holds):
  PSI on the shares; KS as the largest gap of the two cumulative shares in the reference's
  level order, the same statistic KS gives for an ordinal variable.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from titans_finance import domain as d

#: PSI above this is the usual "significant shift"; the DataDrift alert uses the same figure
PSI_ALERT = 0.2
PSI_BINS = 10
KS_QUANTILES = 201
TOP_LEVELS = 10
OTHER = "(other)"
MISSING = "(none)"
#: floor of a bin's share, so an empty bin contributes a large but finite term
_EPSILON = 1e-4
#: pseudo-count added to every bin of a current window (Jeffreys), so a level that a small
#: window happens to miss does not read as a shift
_PSEUDO_COUNT = 0.5
FEATURES: tuple[str, ...] = ("amount", "category", "account")
REFERENCE_VERSION = 1


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """Population stability index of two share vectors over the same bins.

    ``sum((a - e) * ln(a / e))`` with shares floored at 1e-4 and renormalised.
    """
    e = np.clip(np.asarray(expected, dtype=np.float64), _EPSILON, None)
    a = np.clip(np.asarray(actual, dtype=np.float64), _EPSILON, None)
    e, a = e / e.sum(), a / a.sum()
    return float(np.sum((a - e) * np.log(a / e)))


def _window_shares(counts: np.ndarray) -> np.ndarray:
    counts = np.asarray(counts, dtype=np.float64) + _PSEUDO_COUNT
    return np.asarray(counts / counts.sum(), dtype=np.float64)


def _amounts(frame: pd.DataFrame) -> np.ndarray:
    if d.AMOUNT not in frame:
        return np.empty(0)
    values = pd.to_numeric(frame[d.AMOUNT], errors="coerce").to_numpy(dtype=np.float64)
    finite: np.ndarray = values[np.isfinite(values)]
    return finite


def _levels(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame:
        return pd.Series(MISSING, index=frame.index, dtype=object)
    return frame[column].astype(object).where(frame[column].notna(), MISSING).astype(str)


def _numeric_reference(values: np.ndarray) -> dict[str, Any]:
    if len(values) == 0:
        return {"edges": [], "shares": [], "quantiles": []}
    inner = np.unique(np.quantile(values, np.linspace(0, 1, PSI_BINS + 1)[1:-1]))
    counts = np.bincount(np.searchsorted(inner, values, side="right"), minlength=len(inner) + 1)
    return {
        "edges": inner.tolist(),
        "shares": (counts / counts.sum()).tolist(),
        "quantiles": np.quantile(values, np.linspace(0, 1, KS_QUANTILES)).tolist(),
    }


def _categorical_reference(levels: pd.Series) -> dict[str, Any]:
    shares = levels.value_counts(normalize=True, sort=True)
    top = shares.iloc[:TOP_LEVELS]
    result = {str(k): float(v) for k, v in top.items()}
    rest = float(shares.iloc[TOP_LEVELS:].sum())
    if rest > 0 or OTHER not in result:
        result[OTHER] = result.get(OTHER, 0.0) + rest
    return {"shares": result}


def build_reference(frame: pd.DataFrame) -> dict[str, Any]:
    """The drift reference of a training frame (JSON-ready, no transaction in it)."""
    dates = pd.to_datetime(frame[d.DATE], errors="coerce") if d.DATE in frame else None
    valid = dates.dropna() if dates is not None else pd.Series(dtype="datetime64[ns]")
    return {
        "version": REFERENCE_VERSION,
        "rows": len(frame),
        "date_min": valid.min().date().isoformat() if len(valid) else None,
        "date_max": valid.max().date().isoformat() if len(valid) else None,
        "features": {
            "amount": _numeric_reference(_amounts(frame)),
            "category": _categorical_reference(_levels(frame, d.CATEGORY)),
            "account": _categorical_reference(_levels(frame, d.ACCOUNT)),
        },
    }


def _numeric_drift(reference: Mapping[str, Any], values: np.ndarray) -> dict[str, float] | None:
    if len(values) == 0 or not reference.get("quantiles"):
        return None
    edges = np.asarray(reference["edges"], dtype=np.float64)
    counts = np.bincount(np.searchsorted(edges, values, side="right"), minlength=len(edges) + 1)
    from scipy import stats  # imported when measured: importing every model must stay fast

    grid = np.asarray(reference["quantiles"], dtype=np.float64)
    return {
        "psi": psi(np.asarray(reference["shares"]), _window_shares(counts)),
        "ks": float(stats.ks_2samp(grid, values).statistic),
    }


def _categorical_drift(reference: Mapping[str, Any], levels: pd.Series) -> dict[str, float] | None:
    if len(levels) == 0 or not reference.get("shares"):
        return None
    known: dict[str, float] = dict(reference["shares"])
    mapped = levels.where(levels.isin(list(known)), OTHER)
    current = mapped.value_counts()
    order = list(known)
    expected = np.array([known[k] for k in order])
    counts = np.array([float(current.get(k, 0.0)) for k in order])
    ks = float(np.max(np.abs(np.cumsum(expected) - np.cumsum(counts / counts.sum()))))
    return {"psi": psi(expected, _window_shares(counts)), "ks": ks}


def drift(reference: Mapping[str, Any], frame: pd.DataFrame) -> dict[str, dict[str, float]]:
    """PSI and KS per feature of ``frame`` against ``reference``; features without data are left
    out (an empty window has no drift figure rather than a made-up one)."""
    features = reference.get("features", {})
    report: dict[str, dict[str, float]] = {}
    if len(frame) == 0:
        return report
    checks: dict[str, Callable[[Mapping[str, Any]], dict[str, float] | None]] = {
        "amount": lambda ref: _numeric_drift(ref, _amounts(frame)),
        "category": lambda ref: _categorical_drift(ref, _levels(frame, d.CATEGORY)),
        "account": lambda ref: _categorical_drift(ref, _levels(frame, d.ACCOUNT)),
    }
    for name, check in checks.items():
        if name in features:
            result = check(features[name])
            if result is not None:
                report[name] = result
    return report


__all__ = ["FEATURES", "OTHER", "PSI_ALERT", "build_reference", "drift", "psi"]

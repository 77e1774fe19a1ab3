"""Model health figures, per serving model and version, from the prediction log and the store.

Every figure says how many rows it rests on, and is ``None`` (not 0) when there is nothing to
measure yet.  Windows: reviews, marks and logged predictions made in the last
``monitor_window_days`` days (wall clock); drift on transactions dated in the last
``monitor_window_days`` days of the store (data time).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from titans_finance import domain as d
from titans_finance.domain import TransactionFilter
from titans_finance.models import drift as drift_stats
from titans_finance.storage import predictions as log_store
from titans_finance.storage.repository import load_transactions

#: confidence at or below which a category prediction is LOW (below MEDIUM)
LOW_CONFIDENCE = 0.60
WILSON_Z = NormalDist().inv_cdf(0.975)
#: models whose predictions are logged and measured
QUALITY_MODELS = ("category", "anomaly", "amount", "cashflow")
#: earlier versions (by latest prediction in the window) reported beside the serving one
EARLIER_VERSIONS = 3


def wilson_lower_bound(successes: int, trials: int, z: float = WILSON_Z) -> float | None:
    """Lower end of the Wilson score interval of a proportion (95% by default)."""
    if trials <= 0:
        return None
    p = successes / trials
    centre = p + z * z / (2 * trials)
    spread = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials))
    return max(0.0, (centre - spread) / (1 + z * z / trials))


def _ratio(part: float, whole: float) -> float | None:
    return None if whole <= 0 else float(part) / float(whole)


def _category(preds: pd.DataFrame, reviews: pd.DataFrame) -> dict[str, Any]:
    result: dict[str, Any] = {"predictions": len(preds)}
    confidence = preds["confidence"].to_numpy(dtype=np.float64)
    result["estimated_accuracy"] = float(confidence.mean()) if len(confidence) else None
    result["low_confidence_share"] = (
        float(np.mean(confidence <= LOW_CONFIDENCE)) if len(confidence) else None
    )
    unseen = preds["unseen"].dropna().astype(bool)
    result["unseen_merchant_rate"] = float(unseen.mean()) if len(unseen) else None
    # a label is the latest review made after the prediction; an untouched row is no label
    joined = reviews.merge(
        preds[["transaction_id", "predicted_label", "created_at"]],
        on="transaction_id",
        suffixes=("", "_predicted"),
    )
    joined = joined[joined["created_at"] >= joined["created_at_predicted"]]
    latest = joined.sort_values("created_at").drop_duplicates("transaction_id", keep="last")
    correct = int((latest["category"] == latest["predicted_label"]).sum())
    labels = len(latest)
    result.update(
        labels=labels,
        confirmed=correct,
        corrected=labels - correct,
        labelled_accuracy=_ratio(correct, labels),
        labelled_accuracy_lower_bound=wilson_lower_bound(correct, labels),
    )
    return result


def _anomaly(preds: pd.DataFrame, marks: pd.DataFrame) -> dict[str, Any]:
    flagged = preds[preds["flagged"].fillna(False).astype(bool)]
    false_alarms = 0
    if len(flagged) and len(marks):
        by_id = marks.dropna(subset=["transaction_id"])
        hit = flagged.merge(by_id, on="transaction_id", suffixes=("", "_mark"))
        ids = set(hit.loc[hit["created_at_mark"] >= hit["created_at"], "transaction_id"])
        by_pattern = marks[marks["transaction_id"].isna() & marks["merchant"].notna()]
        for mark in by_pattern.itertuples(index=False):
            match = (flagged[d.MERCHANT] == mark.merchant) & (
                flagged["created_at"] <= mark.created_at
            )
            if isinstance(mark.account, str):
                match &= flagged[d.ACCOUNT] == mark.account
            ids.update(flagged.loc[match, "transaction_id"])
        false_alarms = len(ids)
    return {
        "predictions": len(preds),
        "flagged": len(flagged),
        "flagged_share": _ratio(len(flagged), len(preds)),
        "marked_normal": false_alarms,
        # unmarked flags count as right: an upper bound until every flag is reviewed
        "precision": _ratio(len(flagged) - false_alarms, len(flagged)),
    }


def _amount(preds: pd.DataFrame) -> dict[str, Any]:
    pairs = preds.dropna(subset=["predicted_value", d.AMOUNT])
    errors = np.abs(pairs["predicted_value"].to_numpy() - pairs[d.AMOUNT].to_numpy())
    return {"rows": len(pairs), "mae": float(errors.mean()) if len(errors) else None}


def _cashflow(engine: Engine, preds: pd.DataFrame, newest: pd.Timestamp | None) -> dict[str, Any]:
    forecast = preds.dropna(subset=["target_date"])
    result: dict[str, Any] = {"forecast_days": len(forecast), "days": 0, "mae": None}
    if forecast.empty or newest is None:
        return result
    targets = pd.to_datetime(forecast["target_date"])
    passed = forecast[(targets <= newest).to_numpy()]
    if passed.empty:
        return result
    days = pd.to_datetime(passed["target_date"])
    posted = load_transactions(
        engine, TransactionFilter(date_from=days.min().date(), date_to=days.max().date())
    )
    # a day with nothing posted had a net of 0, which the forecast is measured against too
    actual = posted.groupby(posted[d.DATE].dt.normalize())[d.AMOUNT].sum()
    truth = actual.reindex(days).fillna(0.0).to_numpy()
    errors = np.abs(passed["predicted_value"].to_numpy() - truth)
    result.update(days=len(errors), mae=float(errors.mean()))
    return result


def _drift(model: Any, window: pd.DataFrame) -> dict[str, Any]:
    reference = getattr(model.metadata_, "reference", None) or {}
    if not reference:
        return {"available": False, "reason": "trained before drift references; retrain it"}
    features = drift_stats.drift(reference, window)
    return {
        "available": bool(features),
        "rows": len(window),
        "reference_rows": int(reference.get("rows", 0)),
        "features": features,
        "alert": any(f["psi"] > drift_stats.PSI_ALERT for f in features.values()),
    }


def _age_seconds(model: Any, now: datetime) -> float | None:
    try:
        trained = datetime.fromisoformat(str(model.metadata_.trained_at))
    except ValueError:
        return None
    if trained.tzinfo is None:
        trained = trained.replace(tzinfo=UTC)
    return max(0.0, (now - trained).total_seconds())


def _quality(
    engine: Engine,
    name: str,
    preds: pd.DataFrame,
    since: datetime,
    newest: pd.Timestamp | None,
) -> dict[str, Any]:
    """The quality figures of one model version from its logged predictions."""
    if name == "category":
        return _category(preds, log_store.load_category_reviews(engine, since=since))
    if name == "anomaly":
        return _anomaly(preds, log_store.load_normal_marks(engine, since=since))
    if name == "amount":
        return _amount(preds)
    return _cashflow(engine, preds, newest)


def model_health(
    engine: Engine,
    models: Mapping[str, Any],
    *,
    window: pd.DataFrame,
    window_days: int,
    now: datetime | None = None,
) -> dict[str, dict[str, Any]]:
    """Health of each serving model: version, age, drift and its own quality figures, plus the
    quality figures of up to ``EARLIER_VERSIONS`` versions that served before in the window."""
    now = now or datetime.now(UTC)
    since = now - timedelta(days=window_days)
    newest = pd.Timestamp(window[d.DATE].max()) if len(window) else None
    report: dict[str, dict[str, Any]] = {}
    for name, model in sorted(models.items()):
        version = str(model.metadata_.version)
        entry: dict[str, Any] = {
            "version": version,
            "trained_at": str(model.metadata_.trained_at),
            "age_seconds": _age_seconds(model, now),
            "drift": _drift(model, window),
        }
        if name in QUALITY_MODELS:
            logged = log_store.load_predictions(
                engine, name, since=None if name == "cashflow" else since
            )
            entry["quality"] = _quality(
                engine, name, logged[logged["model_version"] == version], since, newest
            )
            # versions that served before in the window keep their figures (bounded)
            earlier = (
                logged.loc[logged["model_version"] != version]
                .groupby("model_version")["created_at"]
                .max()
                .sort_values(ascending=False)
                .head(EARLIER_VERSIONS)
            )
            entry["earlier_versions"] = {
                str(old): _quality(
                    engine, name, logged[logged["model_version"] == old], since, newest
                )
                for old in earlier.index
            }
        report[name] = entry
    return report


__all__ = ["LOW_CONFIDENCE", "model_health", "wilson_lower_bound"]

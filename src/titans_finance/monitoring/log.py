"""Keep the serving models' predictions on the store, so they can be measured later.

Each refresh scores, with every serving model, the store's transactions it has not scored yet
(newest first, at most ``monitor_max_rows`` per model, one model call per model):

* category: predicted category, calibrated confidence, whether the merchant was unseen in
  training. A later review of the transaction (confirmed or corrected) is its label.
* anomaly: whether it was flagged. A later "this is normal" mark makes a flag a false alarm.
* amount: the predicted amount of transactions dated after the model's training data ended,
  the amounts that posted after the model was made; the stored amount is the truth.
* cash flow: one forecast of ``monitor_forecast_days`` days per version (total daily net),
  compared with the stored daily net once the store holds those days.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from titans_finance import domain as d
from titans_finance.config import Settings
from titans_finance.domain import TransactionFilter
from titans_finance.storage import predictions as log_store
from titans_finance.storage.repository import load_transactions

logger = logging.getLogger(__name__)


def latest_date(engine: Engine) -> pd.Timestamp | None:
    """Date of the newest stored transaction (None for an empty store)."""
    newest = load_transactions(engine, TransactionFilter(sort="date", descending=True, limit=1))
    return None if newest.empty else pd.Timestamp(newest[d.DATE].iloc[0])


def window_frame(engine: Engine, window_days: int) -> pd.DataFrame:
    """Stored transactions dated in the last ``window_days`` days of the store."""
    newest = latest_date(engine)
    if newest is None:
        return load_transactions(engine, TransactionFilter(limit=0))
    start = (newest - pd.Timedelta(days=window_days - 1)).date()
    return load_transactions(engine, TransactionFilter(date_from=start))


def _unscored(
    engine: Engine, model: str, version: str, frame: pd.DataFrame, limit: int
) -> pd.DataFrame:
    done = log_store.logged_transaction_ids(engine, model, version)
    fresh = frame[~frame["id"].isin(list(done))] if done else frame
    return fresh.sort_values([d.DATE, "id"], ascending=False).head(limit)


def _category_rows(model: Any, frame: pd.DataFrame) -> list[dict[str, Any]]:
    inputs = frame.drop(columns=[d.CATEGORY])
    predicted = model.predict(inputs)
    unseen = model.unseen_merchants(inputs)
    return [
        {
            "transaction_id": int(i),
            "predicted_label": str(c),
            "confidence": float(p),
            "unseen": bool(u),
        }
        for i, c, p, u in zip(
            frame["id"],
            predicted["predicted_category"],
            predicted["confidence"],
            unseen,
            strict=True,
        )
    ]


def _anomaly_rows(model: Any, frame: pd.DataFrame) -> list[dict[str, Any]]:
    predicted = model.predict(frame)
    return [
        {"transaction_id": int(i), "flagged": bool(f), "confidence": float(s)}
        for i, f, s in zip(
            frame["id"], predicted["is_anomaly"], predicted["anomaly_score"], strict=True
        )
    ]


def _amount_rows(model: Any, frame: pd.DataFrame) -> list[dict[str, Any]]:
    end = model.metadata_.reference.get("date_max")
    if end is None:
        return []
    after = frame[frame[d.DATE] > pd.Timestamp(end)]
    if after.empty:
        return []
    predicted = model.predict(after.drop(columns=[d.AMOUNT]))
    return [
        {"transaction_id": int(i), "predicted_value": float(v)}
        for i, v in zip(after["id"], predicted["predicted_amount"], strict=True)
    ]


_BUILDERS = {"category": _category_rows, "anomaly": _anomaly_rows, "amount": _amount_rows}


def _forecast_rows(model: Any, days: int) -> list[dict[str, Any]]:
    daily = model.forecast(days).daily
    net = daily.groupby(pd.to_datetime(daily["date"]).dt.date)["predicted_net"].sum()
    return [
        {"target_date": day, "predicted_value": float(value)}
        for day, value in zip(net.index, np.asarray(net, dtype=np.float64), strict=True)
    ]


def log_predictions(
    engine: Engine, models: Mapping[str, Any], settings: Settings, frame: pd.DataFrame
) -> dict[str, int]:
    """Score ``frame`` (the monitoring window) with each serving model where not yet logged;
    returns rows logged per model. A model that fails to score is logged and skipped."""
    written: dict[str, int] = {}
    for name, build in _BUILDERS.items():
        model = models.get(name)
        if model is None or frame.empty:
            continue
        version = str(model.metadata_.version)
        todo = _unscored(engine, name, version, frame, settings.monitor_max_rows)
        if todo.empty:
            continue
        try:
            rows = build(model, todo)
        except Exception:  # monitoring must never take serving down with it
            logger.exception("monitoring: scoring the store with the %s model failed", name)
            continue
        written[name] = log_store.record_predictions(engine, name, version, rows)
    cashflow = models.get("cashflow")
    if cashflow is not None:
        version = str(cashflow.metadata_.version)
        if not log_store.has_forecast(engine, "cashflow", version):
            try:
                rows = _forecast_rows(cashflow, settings.monitor_forecast_days)
            except Exception:
                logger.exception("monitoring: the cash-flow forecast failed")
            else:
                written["cashflow"] = log_store.record_predictions(
                    engine, "cashflow", version, rows
                )
    return written


__all__ = ["latest_date", "log_predictions", "window_frame"]

"""The prediction log (``model_predictions``) and the user feedback it is measured against."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from titans_finance import domain as d
from titans_finance.storage.tables import (
    Account,
    AnomalyFeedback,
    CategoryFeedback,
    ModelPrediction,
    Transaction,
    utcnow,
)

logger = logging.getLogger(__name__)

#: columns a caller may fill in a logged prediction
PREDICTION_FIELDS: tuple[str, ...] = (
    "transaction_id",
    "target_date",
    "predicted_label",
    "predicted_value",
    "confidence",
    "flagged",
    "unseen",
)
_CHUNK = 5_000


def logged_transaction_ids(engine: Engine, model: str, version: str) -> set[int]:
    """Ids of the transactions ``model`` at ``version`` already has a logged prediction for."""
    stmt = select(ModelPrediction.c.transaction_id).where(
        ModelPrediction.c.model == model,
        ModelPrediction.c.model_version == version,
        ModelPrediction.c.transaction_id.is_not(None),
    )
    with engine.connect() as conn:
        return {int(row[0]) for row in conn.execute(stmt) if row[0] is not None}


def has_forecast(engine: Engine, model: str, version: str) -> bool:
    """True when a forecast (rows with a target date) of ``model`` at ``version`` is logged."""
    stmt = (
        select(ModelPrediction.c.id)
        .where(
            ModelPrediction.c.model == model,
            ModelPrediction.c.model_version == version,
            ModelPrediction.c.target_date.is_not(None),
        )
        .limit(1)
    )
    with engine.connect() as conn:
        return conn.execute(stmt).first() is not None


def record_predictions(
    engine: Engine, model: str, version: str, rows: Iterable[dict[str, Any]]
) -> int:
    """Log predictions of ``model`` at ``version``; returns how many were written.

    A prediction already logged (same transaction or target date) is kept, not duplicated: when
    another process logged some of the rows first, the chunk is re-inserted without them.
    """
    now = utcnow()
    values = [
        {"model": model, "model_version": version, "created_at": now}
        | {key: row.get(key) for key in PREDICTION_FIELDS}
        for row in rows
    ]
    written = 0
    for start in range(0, len(values), _CHUNK):
        chunk = values[start : start + _CHUNK]
        try:
            with engine.begin() as conn:
                conn.execute(insert(ModelPrediction), chunk)
            written += len(chunk)
        except IntegrityError:
            logger.info("%s %s: some predictions were logged concurrently", model, version)
            done_ids = logged_transaction_ids(engine, model, version)
            fresh = [row for row in chunk if row["transaction_id"] not in done_ids]
            if fresh and all(row["transaction_id"] is not None for row in fresh):
                with engine.begin() as conn:
                    conn.execute(insert(ModelPrediction), fresh)
                written += len(fresh)
    return written


def load_predictions(engine: Engine, model: str, *, since: datetime | None = None) -> pd.DataFrame:
    """Logged predictions of ``model`` (every version) with the predicted transaction's date,
    amount, account and merchant (NULL for forecast rows)."""
    stmt = (
        select(
            ModelPrediction.c.model_version,
            ModelPrediction.c.transaction_id,
            ModelPrediction.c.target_date,
            ModelPrediction.c.predicted_label,
            ModelPrediction.c.predicted_value,
            ModelPrediction.c.confidence,
            ModelPrediction.c.flagged,
            ModelPrediction.c.unseen,
            ModelPrediction.c.created_at,
            Transaction.c.date.label(d.DATE),
            Transaction.c.amount.label(d.AMOUNT),
            Account.c.name.label(d.ACCOUNT),
            Transaction.c.merchant.label(d.MERCHANT),
        )
        .outerjoin(Transaction, Transaction.c.id == ModelPrediction.c.transaction_id)
        .outerjoin(Account, Account.c.id == Transaction.c.account_id)
        .where(ModelPrediction.c.model == model)
    )
    if since is not None:
        stmt = stmt.where(ModelPrediction.c.created_at >= since)
    with engine.connect() as conn:
        result = conn.execute(stmt)
        frame = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    frame[d.AMOUNT] = pd.to_numeric(frame[d.AMOUNT], errors="coerce").astype(float)
    for column in ("predicted_value", "confidence"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    return frame


def load_category_reviews(engine: Engine, *, since: datetime | None = None) -> pd.DataFrame:
    """Category reviews (a user setting a category: the same one confirms, another corrects):
    transaction_id, category, created_at."""
    stmt = select(
        CategoryFeedback.c.transaction_id,
        CategoryFeedback.c.category,
        CategoryFeedback.c.created_at,
    )
    if since is not None:
        stmt = stmt.where(CategoryFeedback.c.created_at >= since)
    with engine.connect() as conn:
        result = conn.execute(stmt)
        frame = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    return frame


def load_normal_marks(engine: Engine, *, since: datetime | None = None) -> pd.DataFrame:
    """ "This is normal" marks: transaction_id, account, merchant, created_at."""
    stmt = select(
        AnomalyFeedback.c.transaction_id,
        AnomalyFeedback.c.account,
        AnomalyFeedback.c.merchant,
        AnomalyFeedback.c.created_at,
    )
    if since is not None:
        stmt = stmt.where(AnomalyFeedback.c.created_at >= since)
    with engine.connect() as conn:
        result = conn.execute(stmt)
        frame = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    return frame


__all__ = [
    "PREDICTION_FIELDS",
    "has_forecast",
    "load_category_reviews",
    "load_normal_marks",
    "load_predictions",
    "logged_transaction_ids",
    "record_predictions",
]

"""Predictions: category, amount, anomaly, cash-flow forecast and batch scoring."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd
import pydantic_core
from fastapi import APIRouter, Request, status
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from titans_finance import domain as d
from titans_finance.api import schemas as s
from titans_finance.api.deps import ModelsDep, ReadDep, StateDep, app_state
from titans_finance.api.fast_path import offer_replay
from titans_finance.api.json_body import OnePassJSONRoute
from titans_finance.api.limits import PredictionCache
from titans_finance.api.state import AppState
from titans_finance.errors import StorageError, TitansError, ValidationError
from titans_finance.models.base import gc_paused
from titans_finance.serving import (
    RECORD_FIELDS,
    columns_to_frame,
    frame_records,
    hit_statistic,
    to_jsonable,
)

router = APIRouter(prefix="/predict", tags=["predictions"])

# Response field -> column of the cash-flow model's daily frame (`ForecastResult.daily`).
_DAILY_FIELDS: dict[str, str] = {
    "date": "date",
    "predicted_amount": "predicted_net",
    "lower": "lower",
    "upper": "upper",
    "balance": "predicted_balance",
    "balance_lower": "balance_lower",
    "balance_upper": "balance_upper",
    "account": d.ACCOUNT,
}
# Response field -> key of `ForecastResult.summary`.
_SUMMARY_FIELDS: dict[str, str] = {
    "total_inflow": "total_inflow",
    "total_outflow": "total_outflow",
    "net_cashflow": "net",
    "lowest_balance": "lowest_balance",
    "lowest_balance_date": "lowest_balance_date",
    "probability_below_zero": "probability_below_zero",
}


async def predict_single(state: AppState, kind: str, record: dict[str, Any]) -> dict[str, Any]:
    """One prediction: local LRU, then the shared Redis cache, then the model."""
    if state.store_stale():  # rules and "normal" marks may have changed in another worker
        await run_in_threadpool(state.sync_store)
    service = state.models
    key = service.single_key(kind, record)
    result = service.lookup(kind, key)
    if result is None:
        cache = state.cache
        shared_key = PredictionCache.key(*key) if cache is not None and cache.enabled else None
        if shared_key is not None and cache is not None:
            shared = await cache.get(shared_key)
            if shared is not None:
                service.remember(key, shared)
                service.record_hit(kind, hit_statistic(kind, shared))
                result = shared
        if result is None:
            result = await state.batcher(kind).submit(key, record)
            if shared_key is not None and cache is not None:
                await cache.set(shared_key, result)
    state.metrics.predicted(kind)
    return result


def _alternatives(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        return []
    out = []
    for item in value:
        if isinstance(item, dict) and "category" in item:
            probability = item.get("probability", item.get("confidence"))
            out.append({"category": str(item["category"]), "probability": probability or 0.0})
    return out


def explain_anomaly(is_anomaly: bool, risk_level: str, reasons: list[str]) -> str:
    """One sentence for people: what the anomaly model concluded and why."""
    if not is_anomaly:
        return "Nothing unusual: this transaction fits the account's normal activity."
    why = "; ".join(reasons) if reasons else "its pattern differs from the account's history"
    return f"Unusual transaction ({risk_level} risk): {why}."


@router.post(
    "/category",
    response_model=s.CategoryResponse,
    summary="Predict a transaction's category",
)
async def predict_category(body: s.CategoryRequest, request: Request, principal: ReadDep) -> Any:
    """Category with calibrated confidence and alternatives; user rules take precedence."""
    principal.require_account(body.account, required=False)
    r = await predict_single(app_state(request), "category", body.record())
    offer_replay(request, body.account, hit_statistic("category", r))
    return {
        "success": True,
        "prediction": r.get("predicted_category"),
        "confidence": r.get("confidence") or 0.0,
        "confidence_level": r.get("confidence_level") or "LOW",
        "alternatives": _alternatives(r.get("alternatives")),
        "source": r.get("source") or "model",
        "explanation": r.get("explanation"),
        "model_used": "category",
        "model_version": r.get("model_version"),
    }


@router.post("/amount", response_model=s.AmountResponse, summary="Predict a transaction's amount")
async def predict_amount(body: s.AmountRequest, request: Request, principal: ReadDep) -> Any:
    """Expected amount with its 90% interval."""
    principal.require_account(body.account, required=False)
    record = body.record()
    record["amount"] = None  # the amount is what is predicted
    r = await predict_single(app_state(request), "amount", record)
    offer_replay(request, body.account, hit_statistic("amount", r))
    return {
        "success": True,
        "predicted_amount": r.get("predicted_amount"),
        "confidence_interval": [r.get("lower"), r.get("upper")],
        "model_used": "amount",
        "model_version": r.get("model_version"),
    }


@router.post("/anomaly", response_model=s.AnomalyResponse, summary="Check a transaction")
async def predict_anomaly(body: s.AnomalyRequest, request: Request, principal: ReadDep) -> Any:
    """Anomaly score (0..1), flag, risk level and plain-word reasons."""
    principal.require_account(body.account, required=False)
    r = await predict_single(app_state(request), "anomaly", body.record())
    offer_replay(request, body.account, hit_statistic("anomaly", r))
    reasons = [str(x) for x in (r.get("reasons") or [])]
    is_anomaly = bool(r.get("is_anomaly"))
    risk = str(r.get("risk_level") or d.RiskLevel.LOW.value)
    return {
        "success": True,
        "is_anomaly": is_anomaly,
        "anomaly_score": min(1.0, max(0.0, float(r.get("anomaly_score") or 0.0))),
        "risk_level": risk,
        "explanation": explain_anomaly(is_anomaly, risk, reasons),
        "reasons": reasons,
        "model_used": "anomaly",
        "model_version": r.get("model_version"),
    }


def _forecast_rows(daily: pd.DataFrame) -> list[dict[str, Any]]:
    """The daily frame as response rows (fields the frame does not hold are left out)."""
    table = pd.DataFrame(
        {
            field: daily[column].to_numpy()
            for field, column in _DAILY_FIELDS.items()
            if column in daily
        }
    )
    return frame_records(table)


def _summary(summary: Mapping[str, Any]) -> dict[str, Any]:
    """The forecast summary under the response's field names."""
    return {
        field: to_jsonable(summary[key]) for field, key in _SUMMARY_FIELDS.items() if key in summary
    }


def _history(state: AppState, account: str | None, days: int = 90) -> list[dict[str, Any]]:
    from titans_finance.storage.repository import load_transactions

    try:
        engine = state.engine()
        frame = load_transactions(
            engine, d.TransactionFilter(accounts=[account] if account else [])
        )
    except (TitansError, StorageError):
        return []
    if frame.empty:
        return []
    frame = frame.loc[frame[d.DATE] > frame[d.DATE].max() - timedelta(days=days)]
    daily = frame.groupby(frame[d.DATE].dt.date)[d.AMOUNT].sum()
    return [{"date": day.isoformat(), "amount": round(float(v), 2)} for day, v in daily.items()]


@router.post("/cashflow", response_model=s.CashflowResponse, summary="Forecast cash flow")
def predict_cashflow(body: s.CashflowRequest, state: StateDep, principal: ReadDep) -> Any:
    """Daily net flow and balance with intervals, and the chance of going below zero."""
    principal.require_account(body.account)
    try:
        result = state.models.forecast(body.forecast_days, account=body.account)
    except TitansError as exc:
        if not principal.restricted:
            raise
        # The model's message lists the accounts it knows: not for a caller limited to some.
        raise type(exc)(
            f"account {body.account!r}: no cash-flow forecast is available for this account"
        ) from None
    state.metrics.predicted("cashflow", body.forecast_days)
    return {
        "success": True,
        "forecast": _forecast_rows(result.daily),
        "summary": _summary(result.summary),
        "historical": _history(state, body.account) if body.include_historical else None,
        "model_used": "cashflow",
        "model_version": state.models.models.version("cashflow"),
    }


def _batch_frame(transactions: list[s.BatchTransaction]) -> pd.DataFrame:
    """The batch as ONE canonical frame, built column by column."""
    rows: list[dict[str, Any]] = transactions  # type: ignore[assignment]
    columns: dict[str, list[Any]] = {
        name: [row.get(name) for row in rows] for name in RECORD_FIELDS if name != "type"
    }
    columns["type"] = [row.get("type") or row.get("transaction_type") for row in rows]
    frame = columns_to_frame(columns)
    dates = frame[d.DATE]
    bad = (dates < pd.Timestamp(d.MIN_DATE)) | (dates > pd.Timestamp(d.MAX_DATE))
    if bad.any():
        first = int(np.flatnonzero(bad.to_numpy())[0])
        raise ValidationError(
            f"transactions.{first}.date: must be between {d.MIN_DATE} and {d.MAX_DATE}"
        )
    return frame


def _score_anomalies(state: AppState, frame: pd.DataFrame, out: pd.DataFrame) -> None:
    """Anomaly columns of ``out`` for the rows that carry an amount (the check compares the
    amount with the history); rows without one keep empty anomaly fields."""
    has_amount = frame[d.AMOUNT].notna().to_numpy()
    rows = np.flatnonzero(has_amount)
    if len(rows) == 0:
        for column in ("is_anomaly", "anomaly_score", "risk_level", "reasons"):
            out[column] = None
        return
    scored = frame if len(rows) == len(frame) else frame.iloc[rows].reset_index(drop=True)
    ano = state.models.predict_anomaly(scored)
    columns = {
        "is_anomaly": ano["is_anomaly"].astype(bool).to_numpy(),
        "anomaly_score": pd.to_numeric(ano["anomaly_score"]).to_numpy(),
        "risk_level": ano["risk_level"].astype(str).to_numpy(),
    }
    if "reasons" in ano:
        columns["reasons"] = ano["reasons"].to_numpy(dtype=object)  # a list per row
    for column, values in columns.items():
        if len(rows) == len(frame):
            out[column] = values
        else:
            full = np.full(len(frame), None, dtype=object)
            full[rows] = values
            out[column] = full
    state.metrics.predicted("anomaly", len(rows))


def _score_batch(state: AppState, body: s.BatchRequest) -> bytes:
    with gc_paused():  # rows of objects per model and for the response
        return _batch_payload(state, body)


def _batch_payload(state: AppState, body: s.BatchRequest) -> bytes:
    """The response body of a batch: every requested model over the whole frame, one call each."""
    start = time.perf_counter()
    service = state.models
    frame = _batch_frame(body.transactions)
    n = len(frame)
    out = pd.DataFrame({"index": np.arange(n)})
    versions: dict[str, str | None] = {}
    if body.predict_categories:
        cat = service.predict_category(frame)
        out["category"] = cat["predicted_category"].to_numpy()
        out["confidence"] = pd.to_numeric(cat["confidence"], errors="coerce").to_numpy()
        if "confidence_level" in cat:
            out["confidence_level"] = cat["confidence_level"].astype(str).to_numpy()
        out["category_source"] = cat["source"].astype(str).to_numpy()
        versions["category"] = service.models.version("category")
        state.metrics.predicted("category", n)
    if body.predict_amounts:
        amount_frame = frame.assign(**{d.AMOUNT: np.nan})
        amt = service.predict_amount(amount_frame)
        out["predicted_amount"] = pd.to_numeric(amt["predicted_amount"]).to_numpy()
        for src, dst in (("lower", "amount_lower"), ("upper", "amount_upper")):
            if src in amt:
                out[dst] = pd.to_numeric(amt[src]).to_numpy()
        versions["amount"] = service.models.version("amount")
        state.metrics.predicted("amount", n)
    if body.detect_anomalies:
        _score_anomalies(state, frame, out)
        versions["anomaly"] = service.models.version("anomaly")
    float_columns = out.select_dtypes(include="float").columns
    out[float_columns] = out[float_columns].round(6)
    envelope = pydantic_core.to_json(
        {
            "success": True,
            "count": n,
            "model_versions": versions,
            "processing_time_ms": round((time.perf_counter() - start) * 1000, 2),
        }
    )
    # pandas writes the rows in C (NaN -> null); splice them into the envelope.
    rows = out.to_json(orient="records", double_precision=6).encode()
    return envelope[:-1] + b',"results":' + rows + b"}"


async def predict_batch(
    body: s.BatchRequest, state: StateDep, _m: ModelsDep, principal: ReadDep
) -> Any:
    """One vectorised call per requested model over the whole batch, results in input order."""
    if principal.restricted:
        for i, row in enumerate(body.transactions):
            principal.require_account(
                row.get("account"), f"transactions.{i}.account", required=False
            )
    limit = state.settings.max_batch_size
    if len(body.transactions) > limit:
        return Response(
            content=pydantic_core.to_json(
                {
                    "detail": f"transactions: {len(body.transactions)} rows exceed the maximum "
                    f"batch size of {limit} (TITANS_MAX_BATCH_SIZE); split the batch",
                    "success": False,
                }
            ),
            status_code=status.HTTP_413_CONTENT_TOO_LARGE,
            media_type="application/json",
        )
    payload = await run_in_threadpool(_score_batch, state, body)
    return Response(content=payload, media_type="application/json")


# Added, not decorated: only `add_api_route` takes a route class (the body validated in one pass).
router.add_api_route(
    "/batch",
    predict_batch,
    methods=["POST"],
    response_model=s.BatchResponse,
    summary="Score many transactions at once",
    responses={413: {"model": s.ErrorResponse, "description": "Batch larger than allowed"}},
    route_class_override=OnePassJSONRoute,
)


__all__ = ["explain_anomaly", "predict_single", "router"]

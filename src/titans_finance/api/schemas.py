"""Request and response bodies of the API (pydantic), kept apart from storage tables.

Field names follow the original Titans Finance API so its documented examples work unchanged
(``prediction``, ``confidence_interval``, ``model_used``, ``success`` ...).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
)
from typing_extensions import TypedDict

from titans_finance import domain as d

MAX_AMOUNT = float(d.MAX_ABS_AMOUNT)

Text100 = Annotated[str, Field(max_length=100)]


def _parse_type(value: object) -> object:
    if isinstance(value, str):
        found = d.parse_type(value)
        if found is None:
            raise ValueError("must be Income, Expense or Transfer (or credit/debit)")
        return found
    return value


def _parse_date(value: object) -> object:
    if isinstance(value, str) and len(value) > 10 and value[10] in "T ":
        try:
            return dt.datetime.fromisoformat(value).date()
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a valid date") from exc
    return value


def _check_date_range(value: dt.date | None) -> dt.date | None:
    if value is not None and not d.MIN_DATE <= value <= d.MAX_DATE:
        raise ValueError(f"must be between {d.MIN_DATE} and {d.MAX_DATE}")
    return value


# A budget month, YYYY-MM, in the years dates are accepted (1900-2999).
MONTH_PATTERN = r"^(19|2\d)\d{2}-(0[1-9]|1[0-2])$"


class Response(BaseModel):
    """Every JSON answer says whether it succeeded."""

    success: bool = True


# -- transactions as prediction input ------------------------------------------------------------
class TransactionBase(BaseModel):
    """A transaction as sent for scoring; every field optional except where an endpoint needs it."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, populate_by_name=True)

    description: str = Field(
        "", max_length=d.MAX_DESCRIPTION, description="Bank description of the transaction"
    )
    amount: float | None = Field(
        None,
        ge=-MAX_AMOUNT,
        le=MAX_AMOUNT,
        allow_inf_nan=False,
        description="Signed amount (negative = money out); a positive amount with type "
        "Expense is treated as money out",
    )
    date: dt.date | None = Field(None, description="Transaction date (default: today)")
    type: d.TransactionType | None = Field(
        None,
        validation_alias=AliasChoices("type", "transaction_type"),
        description="Income, Expense or Transfer (also accepts credit/debit); "
        "`transaction_type` is accepted as an alias",
    )
    payment_method: str | None = Field(None, max_length=50)
    account: str | None = Field(None, max_length=100)
    currency: str | None = Field(None, max_length=3, min_length=3)
    category: str | None = Field(None, max_length=100)
    mcc: str | None = Field(
        None, pattern=r"^\d{4}$", description="Merchant category code (ISO 18245), 4 digits"
    )

    @field_validator("type", mode="before")
    @classmethod
    def _type_alias(cls, value: object) -> object:
        return _parse_type(value)

    @field_validator("date", mode="before")
    @classmethod
    def _date_in(cls, value: object) -> object:
        return _parse_date(value)

    @field_validator("date")
    @classmethod
    def _date_range(cls, value: dt.date | None) -> dt.date | None:
        return _check_date_range(value)

    def record(self) -> dict[str, Any]:
        """The request as a record for `titans_finance.serving.records_to_frame`."""
        return {
            "description": self.description,
            "amount": self.amount,
            "date": self.date,
            "type": self.type.value if self.type is not None else None,
            "payment_method": self.payment_method,
            "account": self.account,
            "currency": self.currency,
            "category": self.category,
        }


class CategoryRequest(TransactionBase):
    """A transaction to categorise."""

    description: str = Field(..., min_length=1, max_length=d.MAX_DESCRIPTION)

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "amount": -25.50,
                    "type": "Expense",
                    "description": "Coffee shop purchase",
                    "payment_method": "credit_card",
                }
            ]
        }
    )


class AmountRequest(TransactionBase):
    """A transaction whose amount to predict."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "Expense",
                    "description": "Restaurant dinner",
                    "category": "Food & Dining",
                }
            ]
        }
    )


class AnomalyRequest(TransactionBase):
    """A transaction to check for anomalies."""

    amount: float = Field(..., ge=-MAX_AMOUNT, le=MAX_AMOUNT, allow_inf_nan=False)

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "amount": -5000.00,
                    "type": "Expense",
                    "description": "Large unusual purchase",
                    "payment_method": "credit_card",
                }
            ]
        }
    )


# -- prediction answers ----------------------------------------------------------------------
class Alternative(BaseModel):
    """A runner-up category."""

    category: str
    probability: float


class CategoryResponse(Response):
    """The predicted category with its calibrated confidence."""

    prediction: str
    confidence: float = Field(..., ge=0, le=1)
    confidence_level: str
    alternatives: list[Alternative] = Field(default_factory=list)
    source: str = Field("model", description="`rule` when a user rule decided, else `model`")
    explanation: str | None = Field(
        None,
        description="why: the merchant's history, a brand-database match, the evidence words, "
        "or the user rule that decided",
    )
    model_used: str = "category"
    model_version: str | None = None

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "success": True,
                    "prediction": "Coffee Shops",
                    "confidence": 0.93,
                    "confidence_level": "HIGH",
                    "alternatives": [{"category": "Restaurants", "probability": 0.04}],
                    "source": "model",
                    "explanation": "merchant seen 31 times as Coffee Shops; brand database: "
                    "Starbucks (amenity=cafe); evidence: 'starbucks'",
                    "model_used": "category",
                    "model_version": "3f2a9c1b7d10",
                }
            ]
        }
    )


class AmountResponse(Response):
    """The predicted amount and its interval."""

    predicted_amount: float
    confidence_interval: list[float | None] = Field(
        ..., min_length=2, max_length=2, description="[lower, upper] of the 90% interval"
    )
    model_used: str = "amount"
    model_version: str | None = None


class AnomalyResponse(Response):
    """Whether a transaction is unusual, how much, and why in plain words."""

    is_anomaly: bool
    anomaly_score: float = Field(..., ge=0, le=1)
    risk_level: str
    explanation: str
    reasons: list[str] = Field(default_factory=list)
    model_used: str = "anomaly"
    model_version: str | None = None


class CashflowRequest(BaseModel):
    """How far to forecast, and for which account."""

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={"examples": [{"forecast_days": 30, "include_historical": False}]},
    )

    forecast_days: int = Field(
        30, ge=1, le=d.MAX_HORIZON_DAYS, description=f"Days ahead (1..{d.MAX_HORIZON_DAYS})"
    )
    include_historical: bool = Field(False, description="Also return the last 90 days observed")
    account: str | None = Field(None, max_length=100)


class ForecastDay(BaseModel):
    """One forecast day: net flow with its interval and the projected balance."""

    date: dt.date
    predicted_amount: float
    lower: float | None = None
    upper: float | None = None
    balance: float | None = None
    balance_lower: float | None = None
    balance_upper: float | None = None
    account: str | None = None


class ForecastSummary(BaseModel):
    """Totals over the horizon and the risk of going below zero."""

    total_inflow: float | None = None
    total_outflow: float | None = None
    net_cashflow: float | None = None
    lowest_balance: float | None = None
    lowest_balance_date: dt.date | None = None
    probability_below_zero: float | None = Field(
        None,
        description="Chance that an end-of-day balance goes below zero within the horizon "
        "(calibrated on the history's earlier months where it held such events)",
    )


class HistoricalDay(BaseModel):
    """One observed day: net flow."""

    date: dt.date
    amount: float


class CashflowResponse(Response):
    """The forecast and its summary."""

    forecast: list[ForecastDay]
    summary: ForecastSummary
    historical: list[HistoricalDay] | None = None
    model_used: str = "cashflow"
    model_version: str | None = None


TypeSpelling = Literal[
    "Income",
    "Expense",
    "Transfer",
    "income",
    "expense",
    "transfer",
    "INCOME",
    "EXPENSE",
    "TRANSFER",
    "credit",
    "debit",
    "Credit",
    "Debit",
    "CREDIT",
    "DEBIT",
]


class BatchTransaction(TypedDict, total=False):
    """One batch row: the fields of a single request, validated without Python callbacks.

    A plain dict per row (not a model instance) keeps validating 100k rows fast; dates may
    also be datetimes; their range is checked vectorised once the batch is a frame.
    """

    description: Annotated[str, Field(max_length=d.MAX_DESCRIPTION)]
    amount: Annotated[float | None, Field(ge=-MAX_AMOUNT, le=MAX_AMOUNT, allow_inf_nan=False)]
    # Left to right: a midnight datetime string is a date whether the body is validated from
    # its JSON bytes (OnePassJSONRoute) or from parsed objects.
    date: Annotated[dt.date | dt.datetime | None, Field(union_mode="left_to_right")]
    type: TypeSpelling | None
    transaction_type: TypeSpelling | None
    payment_method: Annotated[str | None, Field(max_length=50)]
    account: Annotated[str | None, Field(max_length=100)]
    currency: Annotated[str | None, Field(min_length=3, max_length=3)]
    category: Annotated[str | None, Field(max_length=100)]


class BatchRequest(BaseModel):
    """Many transactions scored in one call per model."""

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [
                {
                    "transactions": [
                        {"description": "STARBUCKS #1234", "amount": -4.5, "date": "2024-03-01"},
                        {"description": "ACME CORP PAYROLL", "amount": 3200, "type": "Income"},
                    ],
                    "predict_categories": True,
                    "detect_anomalies": True,
                    "predict_amounts": False,
                }
            ]
        },
    )

    transactions: list[BatchTransaction] = Field(..., min_length=1)
    predict_categories: bool = True
    detect_anomalies: bool = True
    predict_amounts: bool = False


class BatchItem(BaseModel):
    """Results for one transaction of a batch (only the requested parts are present)."""

    index: int
    category: str | None = None
    confidence: float | None = None
    confidence_level: str | None = None
    category_source: str | None = None
    predicted_amount: float | None = None
    amount_lower: float | None = None
    amount_upper: float | None = None
    is_anomaly: bool | None = None
    anomaly_score: float | None = None
    risk_level: str | None = None
    reasons: list[str] | None = None


class BatchResponse(Response):
    """Per-transaction results in input order."""

    count: int
    results: list[BatchItem]
    model_versions: dict[str, str | None]
    processing_time_ms: float


# -- models ------------------------------------------------------------------------------------
class ModelsStatus(Response):
    """Per model: loaded, version, or why not."""

    models: dict[str, dict[str, Any]]
    last_reload: dict[str, Any] | None = None


class ReloadResponse(Response):
    """What a reload did; on failure the previous models keep serving."""

    loaded: list[str]
    errors: dict[str, str]
    message: str
    detail: str | None = None


class ClearCacheResponse(Response):
    """How many cached predictions were dropped."""

    cleared_local: int
    cleared_shared: int


class HealthResponse(Response):
    """Service health: ok, or degraded with the failing parts."""

    status: Literal["ok", "degraded"]
    models: dict[str, bool]
    database: dict[str, Any]
    redis: dict[str, Any]
    memory: dict[str, float]
    uptime_seconds: float
    version: str


# -- transactions ------------------------------------------------------------------------------
class TransactionPublic(BaseModel):
    """A stored transaction."""

    id: int
    date: dt.date | None
    type: str | None = None
    description: str | None = None
    amount: float | None = None
    category: str | None = None
    payment_method: str | None = None
    status: str | None = None
    account: str | None = None
    currency: str | None = None
    balance: float | None = None
    merchant: str | None = None
    mcc: str | None = Field(None, description="Merchant category code, when the file carried one")


class TransactionPage(Response):
    """A page of transactions and the total matching the filters."""

    items: list[TransactionPublic]
    total: int
    limit: int
    offset: int


class CategoryUpdate(BaseModel):
    """A category correction (stored as training feedback)."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={"examples": [{"category": "Groceries"}]},
    )

    category: str = Field(..., min_length=1, max_length=100)


class NormalMark(BaseModel):
    """An optional reason code for a "this is normal" mark."""

    model_config = ConfigDict(extra="forbid")

    reason_code: str | None = Field(None, max_length=50)


class FeedbackResponse(Response):
    """The stored feedback's id."""

    id: int
    transaction_id: int


class RejectPublic(BaseModel):
    """A rejected source row."""

    line: int
    raw: str
    reason: str


class ImportResponse(Response):
    """What an upload's import did."""

    file: str
    format: str
    read: int
    inserted: int
    duplicates: int
    rejected: int
    skipped: int = Field(0, description="Summary lines (balances, totals) left out on purpose")
    import_id: int | None = None
    rejects: list[RejectPublic] = Field(default_factory=list)
    skipped_rows: list[RejectPublic] = Field(
        default_factory=list, description="The first skipped rows, each with its reason"
    )
    balance_breaks: list[dict[str, Any]] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    mapping_source: Literal["given", "remembered"] | None = Field(
        None, description="Whether a mapping was given, remembered for the layout, or none used"
    )


class ImportPreviewResponse(Response):
    """What importing an upload would store (nothing is stored): detected layout, the mapping
    that reproduces it, the first rows as they would be stored, skipped and rejected rows."""

    file: str
    format: str
    rows: int
    rejected: int
    skipped: int
    layout: dict[str, Any] | None = None
    mapping: dict[str, Any] | None = Field(
        None, description="Send back (edited) as the `mapping` form field of the import"
    )
    mapping_source: Literal["given", "remembered"] | None = None
    warnings: list[str] = Field(default_factory=list)
    preview: list[dict[str, Any]] = Field(default_factory=list)
    rejects: list[RejectPublic] = Field(default_factory=list)
    skipped_rows: list[RejectPublic] = Field(default_factory=list)


class ImportPublic(BaseModel):
    """A past import: its counts and its first rejected rows (raw text cut short)."""

    id: int
    file_name: str
    format: str
    rows_read: int
    rows_inserted: int
    rows_duplicate: int
    rows_rejected: int
    rows_skipped: int = 0
    balance_breaks: int
    created_at: dt.datetime
    rejects: list[RejectPublic] = Field(
        default_factory=list,
        description="The first rejected rows by line; `GET /imports/{id}/rejects` lists all",
    )


class ImportPage(Response):
    """A page of past imports, newest first, and how many there are."""

    items: list[ImportPublic]
    total: int
    limit: int
    offset: int


class StoreVersion(Response):
    """The store's change token: equal tokens mean nothing was written in between."""

    version: str


class RejectPage(Response):
    """A page of one import's rejected rows by line, and how many it rejected."""

    import_id: int
    items: list[RejectPublic]
    total: int
    limit: int
    offset: int


# -- rules and budgets ---------------------------------------------------------------------------
class RuleBase(BaseModel):
    """A categorisation rule (rules always win over the model)."""

    model_config = ConfigDict(str_strip_whitespace=True)

    kind: d.RuleKind
    category: str = Field(..., min_length=1, max_length=100)
    pattern: str = Field("", max_length=200)
    min_amount: Decimal | None = Field(None, ge=-MAX_AMOUNT, le=MAX_AMOUNT)
    max_amount: Decimal | None = Field(None, ge=-MAX_AMOUNT, le=MAX_AMOUNT)
    account: str | None = Field(None, max_length=100)
    priority: int = Field(0, ge=-1000, le=1000)


class RuleCreate(RuleBase):
    """A new rule."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"kind": "contains", "pattern": "netflix", "category": "Subscriptions"}]
        },
    )


class RulePublic(RuleBase):
    """A stored rule."""

    id: int


class RuleList(Response):
    """Every rule, highest priority first."""

    rules: list[RulePublic]


class BudgetBase(BaseModel):
    """A monthly budget for a category (``month`` None = every month)."""

    model_config = ConfigDict(str_strip_whitespace=True)

    category: str = Field(..., min_length=1, max_length=100)
    amount: Decimal = Field(..., ge=0, le=MAX_AMOUNT)
    month: str | None = Field(None, pattern=MONTH_PATTERN, examples=["2024-03"])


class BudgetSet(BudgetBase):
    """A budget to create or replace."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"category": "Groceries", "amount": 400}]},
    )


class BudgetPublic(BaseModel):
    """A budget, with spending when a month is asked for."""

    category: str
    month: str | None = None
    amount: float
    spent: float | None = None
    remaining: float | None = None
    used: float | None = None


class BudgetList(Response):
    """Budgets (and, for a month, spending against them)."""

    month: str | None = None
    budgets: list[BudgetPublic]


class DeletedResponse(Response):
    """What was deleted."""

    id: int


class ErrorResponse(BaseModel):
    """Every error: a message naming the field or the problem."""

    detail: str
    success: bool = False
    errors: list[dict[str, Any]] | None = None


# -- pipeline runs --------------------------------------------------------------------------------
class ModelDecisionPublic(BaseModel):
    """A candidate judged against the champion on one hold-out, and what became of it."""

    id: int
    run_id: int
    model_type: str
    candidate_version: str
    champion_version: str | None
    metric: str | None
    higher_is_better: bool
    candidate_value: float | None
    champion_value: float | None
    margin: float
    holdout_rows: int
    decision: Literal["promote", "keep"]
    status: str = Field(description="decided, promoting, promoted, challenger, failed, abandoned")
    reason: str
    registry_version: str | None
    created_at: str | None
    updated_at: str | None


class PipelineRunPublic(BaseModel):
    """One pipeline run: when, what it imported, whether it retrained, what it decided."""

    id: int
    external_id: str | None
    trigger: str
    status: str = Field(description="running, succeeded, failed or skipped (lock held)")
    stage: str | None
    started_at: str | None
    finished_at: str | None
    files_ingested: int
    files_rejected: int
    files_skipped: int
    rows_inserted: int
    retrained: bool
    retrain_reason: str | None
    promoted: int
    last_transaction_id: int | None
    last_feedback_id: int | None
    error: str | None
    details: dict[str, Any]
    decisions: list[ModelDecisionPublic]


class PipelineRunPage(Response):
    """A page of pipeline runs, newest first, and how many there are."""

    items: list[PipelineRunPublic]
    total: int
    limit: int
    offset: int


class PipelineRunResponse(Response):
    """One pipeline run."""

    run: PipelineRunPublic


__all__ = [
    "AmountRequest",
    "AmountResponse",
    "AnomalyRequest",
    "AnomalyResponse",
    "BatchRequest",
    "BatchResponse",
    "BudgetList",
    "BudgetSet",
    "CashflowRequest",
    "CashflowResponse",
    "CategoryRequest",
    "CategoryResponse",
    "CategoryUpdate",
    "ErrorResponse",
    "HealthResponse",
    "ImportPage",
    "ImportPublic",
    "ImportResponse",
    "ModelDecisionPublic",
    "ModelsStatus",
    "PipelineRunPage",
    "PipelineRunPublic",
    "PipelineRunResponse",
    "RejectPage",
    "RejectPublic",
    "ReloadResponse",
    "RuleCreate",
    "RuleList",
    "RulePublic",
    "TransactionBase",
    "TransactionPage",
    "TransactionPublic",
]

"""SQLAlchemy 2 table definitions (the schema Alembic migrations create)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

MONEY = Numeric(18, 2)
# Largest id an Integer primary key holds (int4 on PostgreSQL); the API refuses larger ones.
MAX_ID = 2**31 - 1


def utcnow() -> datetime:
    """Timezone-aware now, for timestamps."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base of every table."""


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    currency: Mapped[str | None] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Import(Base):
    __tablename__ = "imports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    file_name: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    format: Mapped[str] = mapped_column(String(20))
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    rows_inserted: Mapped[int] = mapped_column(Integer, default=0)
    rows_duplicate: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)
    balance_breaks: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    rows_skipped: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Summary lines (opening/closing balance, totals) left out on purpose."""


class ImportMapping(Base):
    """A column mapping a user confirmed, remembered for the next file of the same layout."""

    __tablename__ = "import_mappings"
    __table_args__ = (UniqueConstraint("signature", "account"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    signature: Mapped[str] = mapped_column(String(64), index=True)
    account: Mapped[str] = mapped_column(String(200), default="")
    """The ``--account`` it was confirmed for; empty for any account."""
    mapping: Mapped[str] = mapped_column(Text)
    """The mapping as JSON (``ColumnMapping`` keys)."""
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class Transaction(Base):
    __tablename__ = "transactions"
    __table_args__ = (
        Index("ix_transactions_account_date", "account_id", "date"),
        # covering indexes in the order of storage.aggregates' GROUP BYs: the Overview's
        # aggregates scan them in order instead of sorting every row; their leading columns
        # serve lookups by date and by category
        Index("ix_transactions_day_groups", "date", "category", "currency", "type", "amount"),
        Index("ix_transactions_merchant_groups", "category", "merchant", "type", "amount"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    date: Mapped[date] = mapped_column(Date)
    type: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(String(500))
    merchant: Mapped[str | None] = mapped_column(String(200))
    amount: Mapped[Decimal] = mapped_column(MONEY)
    category: Mapped[str | None] = mapped_column(String(100))
    payment_method: Mapped[str | None] = mapped_column(String(50))
    status: Mapped[str | None] = mapped_column(String(50))
    reference: Mapped[str | None] = mapped_column(String(200))
    receipt_url: Mapped[str | None] = mapped_column(String(1000))
    currency: Mapped[str | None] = mapped_column(String(3))
    balance: Mapped[Decimal | None] = mapped_column(MONEY)
    mcc: Mapped[str | None] = mapped_column(String(4))
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    import_id: Mapped[int | None] = mapped_column(ForeignKey("imports.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class RejectedRow(Base):
    __tablename__ = "rejected_rows"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("imports.id"), index=True)
    line: Mapped[int] = mapped_column(Integer)
    raw: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)


class CategoryFeedback(Base):
    """A user's correction of a transaction's category; applied at the next training."""

    __tablename__ = "category_feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    transaction_id: Mapped[int] = mapped_column(ForeignKey("transactions.id"), index=True)
    previous_category: Mapped[str | None] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AnomalyFeedback(Base):
    """A user marking a flagged pattern as normal; suppresses it next time."""

    __tablename__ = "anomaly_feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    transaction_id: Mapped[int | None] = mapped_column(ForeignKey("transactions.id"))
    account: Mapped[str | None] = mapped_column(String(200))
    merchant: Mapped[str | None] = mapped_column(String(200))
    reason_code: Mapped[str | None] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Rule(Base):
    """A user categorisation rule (see domain.CategoryRule)."""

    __tablename__ = "rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    pattern: Mapped[str] = mapped_column(String(500), default="")
    min_amount: Mapped[Decimal | None] = mapped_column(MONEY)
    max_amount: Mapped[Decimal | None] = mapped_column(MONEY)
    account: Mapped[str | None] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(100))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Budget(Base):
    """A monthly budget per category (month NULL = every month)."""

    __tablename__ = "budgets"
    __table_args__ = (UniqueConstraint("category", "month", name="uq_budgets_category_month"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category: Mapped[str] = mapped_column(String(100))
    month: Mapped[str | None] = mapped_column(String(7))
    amount: Mapped[Decimal] = mapped_column(MONEY)


class User(Base):
    """A person who logs in (argon2id password hash; role owner, member or viewer)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(10))
    accounts: Mapped[str | None] = mapped_column(Text)  # JSON list; NULL = every account
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ApiKey(Base):
    """A stored API key: only the SHA-256 digest of the key is kept."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_id: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    digest: Mapped[str] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(String(10))
    accounts: Mapped[str | None] = mapped_column(Text)  # JSON list; NULL = every account
    rate_limit: Mapped[int | None] = mapped_column(Integer)  # requests per hour
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AuditEvent(Base):
    """One write: who did it, when, what and to what."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(50), index=True)
    target: Mapped[str | None] = mapped_column(String(500))
    detail: Mapped[str | None] = mapped_column(Text)  # JSON object


class ModelPrediction(Base):
    """A prediction a serving model made on the store, kept to measure the model later: against
    user reviews (category), "this is normal" marks (anomaly), amounts that posted (amount) and
    days that passed (cash flow, one row per forecast day, ``transaction_id`` NULL)."""

    __tablename__ = "model_predictions"
    __table_args__ = (
        UniqueConstraint(
            "model", "model_version", "transaction_id", name="uq_model_predictions_transaction"
        ),
        UniqueConstraint(
            "model", "model_version", "target_date", name="uq_model_predictions_target_date"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model: Mapped[str] = mapped_column(String(20))
    model_version: Mapped[str] = mapped_column(String(64))
    transaction_id: Mapped[int | None] = mapped_column(ForeignKey("transactions.id"), index=True)
    target_date: Mapped[date | None] = mapped_column(Date)
    predicted_label: Mapped[str | None] = mapped_column(String(100))
    predicted_value: Mapped[float | None] = mapped_column(Float)
    confidence: Mapped[float | None] = mapped_column(Float)
    flagged: Mapped[bool | None] = mapped_column(Boolean)
    unseen: Mapped[bool | None] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PipelineRun(Base):
    """One run of the pipeline (ingest, train, evaluate, promote, reload) and what it did."""

    __tablename__ = "pipeline_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(250), unique=True)
    trigger: Mapped[str] = mapped_column(String(50), default="cli")
    status: Mapped[str] = mapped_column(String(20), default="running", index=True)
    stage: Mapped[str | None] = mapped_column(String(50))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    files_ingested: Mapped[int] = mapped_column(Integer, default=0)
    files_rejected: Mapped[int] = mapped_column(Integer, default=0)
    files_skipped: Mapped[int] = mapped_column(Integer, default=0)
    rows_inserted: Mapped[int] = mapped_column(Integer, default=0)
    retrained: Mapped[int] = mapped_column(Integer, default=0)
    retrain_reason: Mapped[str | None] = mapped_column(Text)
    promoted: Mapped[int] = mapped_column(Integer, default=0)
    last_transaction_id: Mapped[int | None] = mapped_column(Integer)
    last_feedback_id: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)


class ModelDecision(Base):
    """A candidate model judged against the champion on one hold-out, and the outcome."""

    __tablename__ = "model_decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("pipeline_runs.id"), index=True)
    model_type: Mapped[str] = mapped_column(String(50))
    candidate_version: Mapped[str] = mapped_column(String(50))
    champion_version: Mapped[str | None] = mapped_column(String(50))
    metric: Mapped[str | None] = mapped_column(String(100))
    higher_is_better: Mapped[bool] = mapped_column(default=True)
    candidate_value: Mapped[float | None] = mapped_column(Float)
    champion_value: Mapped[float | None] = mapped_column(Float)
    margin: Mapped[float] = mapped_column(Float, default=0.0)
    holdout_rows: Mapped[int] = mapped_column(Integer, default=0)
    decision: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    reason: Mapped[str] = mapped_column(Text, default="")
    registry_version: Mapped[str | None] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class PipelineLock(Base):
    """A named lease held by one pipeline run; an expired lease may be taken over."""

    __tablename__ = "pipeline_locks"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    holder: Mapped[str] = mapped_column(String(250))
    run_id: Mapped[int | None] = mapped_column(Integer)
    acquired_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


__all__ = [
    "MAX_ID",
    "Account",
    "AnomalyFeedback",
    "ApiKey",
    "AuditEvent",
    "Base",
    "Budget",
    "CategoryFeedback",
    "Import",
    "ModelDecision",
    "ModelPrediction",
    "PipelineLock",
    "PipelineRun",
    "RejectedRow",
    "Rule",
    "Transaction",
    "User",
]

"""The store's schema as SQLAlchemy Core tables (the schema Alembic migrations create).

Core, not the ORM: the code reads and writes rows with Core statements only, and importing
``sqlalchemy.orm``, building declarative classes and configuring their mappers cost every process
(a small CLI command: a quarter of its CPU time).  Each table is named after the row it holds
(``Transaction.c.amount``).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)

MONEY = Numeric(18, 2)
# Largest id an Integer primary key holds (int4 on PostgreSQL); the API refuses larger ones.
MAX_ID = 2**31 - 1
metadata = MetaData()


def utcnow() -> datetime:
    """Timezone-aware now, for timestamps."""
    return datetime.now(UTC)


Account = Table(
    "accounts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), unique=True, nullable=False),
    Column("currency", String(3), nullable=True),
    Column("created_at", DateTime(timezone=True), default=utcnow, nullable=False),
)


Import = Table(
    "imports",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("file_name", String(500), nullable=False),
    Column("sha256", String(64), index=True, nullable=False),
    Column("format", String(20), nullable=False),
    Column("rows_read", Integer, default=0, nullable=False),
    Column("rows_inserted", Integer, default=0, nullable=False),
    Column("rows_duplicate", Integer, default=0, nullable=False),
    Column("rows_rejected", Integer, default=0, nullable=False),
    Column("balance_breaks", Integer, default=0, nullable=False),
    Column("created_at", DateTime(timezone=True), default=utcnow, nullable=False),
    # summary lines (opening/closing balance, totals) left out on purpose
    Column("rows_skipped", Integer, default=0, server_default="0", nullable=False),
)


# A column mapping a user confirmed, remembered for the next file of the same layout.
ImportMapping = Table(
    "import_mappings",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("signature", String(64), index=True, nullable=False),
    # the ``--account`` it was confirmed for; empty for any account
    Column("account", String(200), default="", nullable=False),
    # the mapping as JSON (``ColumnMapping`` keys)
    Column("mapping", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), default=utcnow, onupdate=utcnow, nullable=False),
    UniqueConstraint("signature", "account"),
)


Transaction = Table(
    "transactions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("date", Date, nullable=False),
    Column("type", String(20), nullable=False),
    Column("description", String(500), nullable=False),
    Column("merchant", String(200), nullable=True),
    Column("amount", MONEY, nullable=False),
    Column("category", String(100), nullable=True),
    Column("payment_method", String(50), nullable=True),
    Column("status", String(50), nullable=True),
    Column("reference", String(200), nullable=True),
    Column("receipt_url", String(1000), nullable=True),
    Column("currency", String(3), nullable=True),
    Column("balance", MONEY, nullable=True),
    Column("mcc", String(4), nullable=True),
    # a hex digest, compared byte by byte on PostgreSQL too; unique by a named index, which a
    # bulk load can set aside (migration 0008)
    Column(
        "fingerprint",
        String(64).with_variant(String(64, collation="C"), "postgresql"),
        nullable=False,
    ),
    Column("import_id", Integer, ForeignKey("imports.id"), nullable=True),
    Column("created_at", DateTime(timezone=True), default=utcnow, nullable=False),
    Column("updated_at", DateTime(timezone=True), default=utcnow, onupdate=utcnow, nullable=False),
    Index("uq_transactions_fingerprint", "fingerprint", unique=True),
    Index("ix_transactions_account_date", "account_id", "date"),
    # covering indexes in the order of storage.aggregates' GROUP BYs: the Overview's
    # aggregates scan them in order instead of sorting every row; their leading columns
    # serve lookups by date and by category
    Index("ix_transactions_day_groups", "date", "category", "currency", "type", "amount"),
    Index("ix_transactions_merchant_groups", "category", "merchant", "type", "amount"),
)


RejectedRow = Table(
    "rejected_rows",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("import_id", Integer, ForeignKey("imports.id"), index=True, nullable=False),
    Column("line", Integer, nullable=False),
    Column("raw", Text, nullable=False),
    Column("reason", Text, nullable=False),
)


# A user's correction of a transaction's category; applied at the next training.
CategoryFeedback = Table(
    "category_feedback",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("transaction_id", Integer, ForeignKey("transactions.id"), index=True, nullable=False),
    Column("previous_category", String(100), nullable=True),
    Column("category", String(100), nullable=False),
    Column("created_at", DateTime(timezone=True), default=utcnow, nullable=False),
)


# A user marking a flagged pattern as normal; suppresses it next time.
AnomalyFeedback = Table(
    "anomaly_feedback",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("transaction_id", Integer, ForeignKey("transactions.id"), nullable=True),
    Column("account", String(200), nullable=True),
    Column("merchant", String(200), nullable=True),
    Column("reason_code", String(50), nullable=True),
    Column("created_at", DateTime(timezone=True), default=utcnow, nullable=False),
)


# A user categorisation rule (see domain.CategoryRule).
Rule = Table(
    "rules",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("pattern", String(500), default="", nullable=False),
    Column("min_amount", MONEY, nullable=True),
    Column("max_amount", MONEY, nullable=True),
    Column("account", String(200), nullable=True),
    Column("category", String(100), nullable=False),
    Column("priority", Integer, default=0, nullable=False),
    Column("created_at", DateTime(timezone=True), default=utcnow, nullable=False),
)


# A monthly budget per category (month NULL = every month).
Budget = Table(
    "budgets",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("category", String(100), nullable=False),
    Column("month", String(7), nullable=True),
    Column("amount", MONEY, nullable=False),
    UniqueConstraint("category", "month", name="uq_budgets_category_month"),
)


# A person who logs in (argon2id password hash; role owner, member or viewer).
User = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(100), unique=True, nullable=False),
    Column("password_hash", String(255), nullable=False),
    Column("role", String(10), nullable=False),
    Column("accounts", Text, nullable=True),  # JSON list; NULL = every account
    Column("created_at", DateTime(timezone=True), default=utcnow, nullable=False),
)


# A stored API key: only the SHA-256 digest of the key is kept.
ApiKey = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("key_id", String(32), unique=True, nullable=False),
    Column("name", String(100), nullable=False),
    Column("digest", String(64), nullable=False),
    Column("scope", String(10), nullable=False),
    Column("accounts", Text, nullable=True),  # JSON list; NULL = every account
    Column("rate_limit", Integer, nullable=True),  # requests per hour
    Column("created_by", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), default=utcnow, nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=True),
    Column("last_used_at", DateTime(timezone=True), nullable=True),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
)


# One write: who did it, when, what and to what.
AuditEvent = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", DateTime(timezone=True), default=utcnow, index=True, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(50), index=True, nullable=False),
    Column("target", String(500), nullable=True),
    Column("detail", Text, nullable=True),  # JSON object
)


# A prediction a serving model made on the store, kept to measure the model later: against user
# reviews (category), "this is normal" marks (anomaly), amounts that posted (amount) and days that
# passed (cash flow, one row per forecast day, ``transaction_id`` NULL).
ModelPrediction = Table(
    "model_predictions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("model", String(20), nullable=False),
    Column("model_version", String(64), nullable=False),
    Column("transaction_id", Integer, ForeignKey("transactions.id"), index=True, nullable=True),
    Column("target_date", Date, nullable=True),
    Column("predicted_label", String(100), nullable=True),
    Column("predicted_value", Float, nullable=True),
    Column("confidence", Float, nullable=True),
    Column("flagged", Boolean, nullable=True),
    Column("unseen", Boolean, nullable=True),
    Column("created_at", DateTime(timezone=True), default=utcnow, nullable=False),
    UniqueConstraint(
        "model", "model_version", "transaction_id", name="uq_model_predictions_transaction"
    ),
    UniqueConstraint(
        "model", "model_version", "target_date", name="uq_model_predictions_target_date"
    ),
)


# One run of the pipeline (ingest, train, evaluate, promote, reload) and what it did.
PipelineRun = Table(
    "pipeline_runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("external_id", String(250), unique=True, nullable=True),
    Column("trigger", String(50), default="cli", nullable=False),
    Column("status", String(20), default="running", index=True, nullable=False),
    Column("stage", String(50), nullable=True),
    Column("started_at", DateTime(timezone=True), default=utcnow, nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Column("files_ingested", Integer, default=0, nullable=False),
    Column("files_rejected", Integer, default=0, nullable=False),
    Column("files_skipped", Integer, default=0, nullable=False),
    Column("rows_inserted", Integer, default=0, nullable=False),
    Column("retrained", Integer, default=0, nullable=False),
    Column("retrain_reason", Text, nullable=True),
    Column("promoted", Integer, default=0, nullable=False),
    Column("last_transaction_id", Integer, nullable=True),
    Column("last_feedback_id", Integer, nullable=True),
    Column("error", Text, nullable=True),
    Column("details", JSON, default=dict, nullable=False),
)


# A candidate model judged against the champion on one hold-out, and the outcome.
ModelDecision = Table(
    "model_decisions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", Integer, ForeignKey("pipeline_runs.id"), index=True, nullable=False),
    Column("model_type", String(50), nullable=False),
    Column("candidate_version", String(50), nullable=False),
    Column("champion_version", String(50), nullable=True),
    Column("metric", String(100), nullable=True),
    Column("higher_is_better", Boolean, default=True, nullable=False),
    Column("candidate_value", Float, nullable=True),
    Column("champion_value", Float, nullable=True),
    Column("margin", Float, default=0.0, nullable=False),
    Column("holdout_rows", Integer, default=0, nullable=False),
    Column("decision", String(20), nullable=False),
    Column("status", String(20), default="pending", nullable=False),
    Column("reason", Text, default="", nullable=False),
    Column("registry_version", String(50), nullable=True),
    Column("created_at", DateTime(timezone=True), default=utcnow, nullable=False),
    Column("updated_at", DateTime(timezone=True), default=utcnow, onupdate=utcnow, nullable=False),
)


# A named lease held by one pipeline run; an expired lease may be taken over.
PipelineLock = Table(
    "pipeline_locks",
    metadata,
    Column("name", String(50), primary_key=True),
    Column("holder", String(250), nullable=False),
    Column("run_id", Integer, nullable=True),
    Column("acquired_at", DateTime(timezone=True), default=utcnow, nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)


__all__ = [
    "MAX_ID",
    "Account",
    "AnomalyFeedback",
    "ApiKey",
    "AuditEvent",
    "Budget",
    "CategoryFeedback",
    "Import",
    "ImportMapping",
    "ModelDecision",
    "ModelPrediction",
    "PipelineLock",
    "PipelineRun",
    "RejectedRow",
    "Rule",
    "Transaction",
    "User",
    "metadata",
    "utcnow",
]

"""monitoring: predictions kept to measure the serving models later

Revision ID: 0004
Revises: 0002_pipeline_runs
Create Date: 2026-12-01 21:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0002_pipeline_runs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "model_predictions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=20), nullable=False),
        sa.Column("model_version", sa.String(length=64), nullable=False),
        sa.Column("transaction_id", sa.Integer(), nullable=True),
        sa.Column("target_date", sa.Date(), nullable=True),
        sa.Column("predicted_label", sa.String(length=100), nullable=True),
        sa.Column("predicted_value", sa.Float(), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("flagged", sa.Boolean(), nullable=True),
        sa.Column("unseen", sa.Boolean(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["transaction_id"], ["transactions.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "model", "model_version", "transaction_id", name="uq_model_predictions_transaction"
        ),
        sa.UniqueConstraint(
            "model", "model_version", "target_date", name="uq_model_predictions_target_date"
        ),
    )
    with op.batch_alter_table("model_predictions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_model_predictions_transaction_id"), ["transaction_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("model_predictions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_model_predictions_transaction_id"))
    op.drop_table("model_predictions")

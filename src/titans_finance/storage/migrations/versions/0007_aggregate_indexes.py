"""transactions: covering indexes for the Overview's GROUP BY reads (storage.aggregates),
which replace the single-column date and category indexes (their leading columns serve the same
lookups, so a bulk load rebuilds three secondary indexes, as before)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 13:50:00
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_transactions_date", table_name="transactions")
    op.drop_index("ix_transactions_category", table_name="transactions")
    op.create_index(
        "ix_transactions_day_groups",
        "transactions",
        ["date", "category", "currency", "type", "amount"],
    )
    op.create_index(
        "ix_transactions_merchant_groups",
        "transactions",
        ["category", "merchant", "type", "amount"],
    )


def downgrade() -> None:
    op.drop_index("ix_transactions_merchant_groups", table_name="transactions")
    op.drop_index("ix_transactions_day_groups", table_name="transactions")
    op.create_index("ix_transactions_category", "transactions", ["category"])
    op.create_index("ix_transactions_date", "transactions", ["date"])

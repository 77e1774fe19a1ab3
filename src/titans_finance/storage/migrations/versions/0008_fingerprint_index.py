"""transactions.fingerprint: unique through a named index instead of an inline constraint, and
compared byte by byte (COLLATE "C") on PostgreSQL

A bulk load sets a named unique index aside and builds it again in one sort, like the
secondary indexes; SQLite cannot drop the automatic index of an inline UNIQUE, so there the
table is rebuilt once (storage.db.migrate turns foreign-key enforcement off around migrations
for that, and checks the keys before committing). A fingerprint is a hex digest, so its order
never matters: under a locale collation (even C.UTF-8) PostgreSQL sorts and looks it up with
strcoll and without abbreviated keys, about 3x slower than "C". SQLite compares text
bytewise already (BINARY).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 21:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.schema import SchemaItem

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_INDEX = "uq_transactions_fingerprint"
_CONSTRAINT = "transactions_fingerprint_key"  # PostgreSQL's default name, for downgrades


def _transactions(unique_index: bool) -> sa.Table:
    """The transactions table as of 0007, with its fingerprint unique by index or inline."""
    columns: list[SchemaItem] = [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("merchant", sa.String(length=200), nullable=True),
        sa.Column("amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("category", sa.String(length=100), nullable=True),
        sa.Column("payment_method", sa.String(length=50), nullable=True),
        sa.Column("status", sa.String(length=50), nullable=True),
        sa.Column("reference", sa.String(length=200), nullable=True),
        sa.Column("receipt_url", sa.String(length=1000), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("balance", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("mcc", sa.String(length=4), nullable=True),
    ]
    unique: list[SchemaItem] = (
        [sa.Index(_INDEX, "fingerprint", unique=True)]
        if unique_index
        else [sa.UniqueConstraint("fingerprint")]
    )
    return sa.Table(
        "transactions",
        sa.MetaData(),
        *columns,
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"]),
        sa.ForeignKeyConstraint(["import_id"], ["imports.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.Index("ix_transactions_account_date", "account_id", "date"),
        sa.Index("ix_transactions_day_groups", "date", "category", "currency", "type", "amount"),
        sa.Index("ix_transactions_merchant_groups", "category", "merchant", "type", "amount"),
        *unique,
    )


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for (name,) in bind.execute(  # 0001's UNIQUE, whatever it was named
            sa.text(
                "SELECT conname FROM pg_constraint WHERE conrelid = 'transactions'::regclass "
                "AND contype = 'u' AND conkey = ARRAY[(SELECT attnum FROM pg_attribute "
                "WHERE attrelid = 'transactions'::regclass AND attname = 'fingerprint')]"
            )
        ).all():
            op.drop_constraint(name, "transactions", type_="unique")
        op.alter_column(
            "transactions",
            "fingerprint",
            type_=sa.String(length=64, collation="C"),
            existing_nullable=False,
        )
        op.create_index(_INDEX, "transactions", ["fingerprint"], unique=True)
        return
    with op.batch_alter_table(
        "transactions", copy_from=_transactions(unique_index=True), recreate="always"
    ):
        pass


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index(_INDEX, table_name="transactions")
        op.alter_column(
            "transactions",
            "fingerprint",
            type_=sa.String(length=64),
            existing_nullable=False,
        )
        op.create_unique_constraint(_CONSTRAINT, "transactions", ["fingerprint"])
        return
    with op.batch_alter_table(
        "transactions", copy_from=_transactions(unique_index=False), recreate="always"
    ):
        pass

"""transactions.fingerprint compared byte by byte (COLLATE "C") on PostgreSQL: a fingerprint
is a hex digest, so its order never matters, and under a locale collation (even C.UTF-8) the
unique index sorts and looks it up with strcoll and without abbreviated keys; a bulk load's
rebuild of the unique constraint is about 3x faster with "C". SQLite compares text bytewise
already (BINARY): nothing to do there.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 21:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column(
            "transactions",
            "fingerprint",
            type_=sa.String(length=64, collation="C"),
            existing_nullable=False,
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column(
            "transactions",
            "fingerprint",
            type_=sa.String(length=64),
            existing_nullable=False,
        )

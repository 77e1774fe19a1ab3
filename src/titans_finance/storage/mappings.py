"""Remembered column mappings: the mapping a user confirmed for a file layout (its header
signature), applied again to the next file of that layout."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from titans_finance.storage.tables import ImportMapping, utcnow


def remembered_mapping(
    engine: Engine, signature: str, account: str | None = None
) -> dict[str, Any] | None:
    """The mapping remembered for ``signature``: the one saved for ``account`` if any, else the
    one saved for any account; None when there is none."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(ImportMapping.c.account, ImportMapping.c.mapping).where(
                ImportMapping.c.signature == signature,
                ImportMapping.c.account.in_([account or "", ""]),
            )
        ).all()
    by_account = {row.account: row.mapping for row in rows}
    text = by_account.get(account or "") or by_account.get("")
    return json.loads(text) if text else None


def remember_mapping(
    engine: Engine, signature: str, mapping: dict[str, Any], account: str | None = None
) -> None:
    """Save ``mapping`` for ``signature`` (and ``account``), replacing an earlier one."""
    values = {
        "signature": signature,
        "account": (account or "")[:200],
        "mapping": json.dumps(mapping, ensure_ascii=False, sort_keys=True),
        "updated_at": utcnow(),
    }
    with engine.begin() as conn:
        insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
        statement = insert(ImportMapping).values(**values)
        conn.execute(
            statement.on_conflict_do_update(
                index_elements=["signature", "account"],
                set_={"mapping": values["mapping"], "updated_at": values["updated_at"]},
            )
        )


__all__ = ["remember_mapping", "remembered_mapping"]

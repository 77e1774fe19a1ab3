"""Bulk transaction loads: one file's rows and rejects stored in one database transaction.

Per-dialect fast paths: PostgreSQL COPY (Arrow-written CSV, streamed in chunks) under a table
lock; SQLite ``INSERT OR IGNORE`` via executemany.  Large loads set the secondary indexes (and
PostgreSQL's foreign keys) aside and build them again in one sort each; a first import does the
same with the fingerprint's unique index.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.engine import Connection

from titans_finance import domain as d
from titans_finance.domain import RejectedRow as RejectedRowRecord
from titans_finance.frame import per_distinct
from titans_finance.storage.tables import (
    Account,
    Import,
    RejectedRow,
    Transaction,
    utcnow,
)

logger = logging.getLogger(__name__)

# Canonical frame column -> transactions table column.
_COLUMN_MAP: dict[str, str] = {
    d.DATE: "date",
    d.TYPE: "type",
    d.DESCRIPTION: "description",
    d.MERCHANT: "merchant",
    d.AMOUNT: "amount",
    d.CATEGORY: "category",
    d.PAYMENT_METHOD: "payment_method",
    d.STATUS: "status",
    d.REFERENCE: "reference",
    d.RECEIPT_URL: "receipt_url",
    d.CURRENCY: "currency",
    d.BALANCE: "balance",
    d.MCC: "mcc",
    "fingerprint": "fingerprint",
}
_INSERT_COLUMNS: tuple[str, ...] = ("account_id", "import_id", *_COLUMN_MAP.values())
_FINGERPRINT = _INSERT_COLUMNS.index("fingerprint")
# Secondary indexes rebuilt once after a large load instead of being updated row by row.
_SECONDARY_INDEXES: dict[str, str] = {
    "ix_transactions_account_date": "transactions (account_id, date)",
    "ix_transactions_day_groups": "transactions (date, category, currency, type, amount)",
    "ix_transactions_merchant_groups": "transactions (category, merchant, type, amount)",
}
# The fingerprint's unique index, set aside too when a large load is at least as large as the
# table (a first import): built again in one sort, which fails (and rolls the import back) on a
# duplicate.
_UNIQUE_INDEX = ("uq_transactions_fingerprint", "transactions (fingerprint)")
BULK_REBUILD_ROWS = 100_000
_COPY_CHUNK_ROWS = 100_000
# Stored fingerprints are read this many ids at a time: each joined text stays ~130 MB, far
# below both databases' ~1 GB limit on one string, however large the store.
_STORED_CHUNK_IDS = 2_000_000
_REBUILD_MEMORY = "256MB"


@dataclass
class StoredImport:
    """Counts of one stored import."""

    import_id: int
    inserted: int
    duplicates: int
    rejected: int


def store_import(
    engine: Engine,
    *,
    file_name: str,
    sha256: str,
    file_format: str,
    frame: pd.DataFrame,
    rejects: Sequence[RejectedRowRecord],
    rows_read: int,
    balance_breaks: int = 0,
    skipped: int = 0,
) -> StoredImport:
    """Store one file's accepted rows and rejects in a single database transaction.

    ``frame`` is canonical with ``merchant`` and ``fingerprint`` columns.  Rows whose fingerprint
    is already stored are skipped (idempotent re-import).  Either everything is written or nothing.
    """
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Imports take this lock first, before any account row: two imports then queue
            # instead of racing between the fingerprint check and COPY, and never deadlock.
            conn.exec_driver_sql("LOCK TABLE transactions IN SHARE ROW EXCLUSIVE MODE")
        account_ids = _ensure_accounts(conn, frame)
        import_id = conn.execute(
            insert(Import).values(
                file_name=file_name[:500],
                sha256=sha256,
                format=file_format,
                rows_read=rows_read,
                rows_rejected=len(rejects),
                balance_breaks=balance_breaks,
                rows_skipped=skipped,
            )
        ).inserted_primary_key[0]  # type: ignore[index]
        inserted = (
            _bulk_insert_transactions(conn, frame, account_ids, import_id) if len(frame) else 0
        )
        if rejects:
            conn.execute(
                insert(RejectedRow),
                [
                    {
                        "import_id": import_id,
                        "line": r.line,
                        "raw": r.raw[:4000],
                        "reason": r.reason,
                    }
                    for r in rejects
                ],
            )
        duplicates = len(frame) - inserted
        conn.execute(
            update(Import)
            .where(Import.c.id == import_id)
            .values(rows_inserted=inserted, rows_duplicate=duplicates)
        )
    return StoredImport(int(import_id), inserted, duplicates, len(rejects))


def _ensure_accounts(conn: Connection, frame: pd.DataFrame) -> dict[str, int]:
    """Account name -> id for the frame's accounts, creating missing ones idempotently: a
    concurrent import creating the same account makes ``ON CONFLICT DO NOTHING`` skip the
    row, and the select after it sees the other import's account."""
    names = frame[d.ACCOUNT].fillna(d.DEFAULT_ACCOUNT).astype(str) if len(frame) else pd.Series([])
    wanted = set(names.unique().tolist())
    existing = dict(conn.execute(select(Account.c.name, Account.c.id)).all())
    missing = sorted(wanted - existing.keys())  # one order everywhere: no lock-order deadlock
    if missing:
        currencies = (  # grouped by the names directly: no copy of the whole frame
            frame[d.CURRENCY].groupby(names.to_numpy()).first().to_dict()
            if d.CURRENCY in frame
            else {}
        )
        conn.execute(
            _insert_or_skip(conn, Account, ["name"]),
            [{"name": name, "currency": currencies.get(name)} for name in missing],
        )
        existing = dict(conn.execute(select(Account.c.name, Account.c.id)).all())
    return existing


def _insert_or_skip(conn: Connection, table: Any, keys: list[str]) -> Any:
    """``INSERT ... ON CONFLICT (keys) DO NOTHING`` for SQLite and PostgreSQL."""
    from sqlalchemy.dialects import postgresql, sqlite

    if conn.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=keys)
    return sqlite.insert(table).on_conflict_do_nothing(index_elements=keys)


def _insert_table(frame: pd.DataFrame, account_ids: dict[str, int], import_id: int) -> Any:
    """The rows as an Arrow table with `_INSERT_COLUMNS` (dates as ISO text, money as text for
    exactness, null for missing), built per distinct value and column by column in C."""
    import pyarrow as pa

    names = frame[d.ACCOUNT].fillna(d.DEFAULT_ACCOUNT).astype(str)
    codes, accounts = pd.factorize(names)
    ids = np.asarray([account_ids[a] for a in accounts], dtype=np.int64)
    arrays = [pa.array(ids[codes]), pa.array(np.full(len(frame), import_id, dtype=np.int64))]
    for source in _COLUMN_MAP:
        if source not in frame:
            arrays.append(pa.nulls(len(frame), pa.string()))
            continue
        values = frame[source]
        if source == d.DATE:
            values = per_distinct(values, lambda v: pd.Timestamp(v).date().isoformat())
        elif source in (d.AMOUNT, d.BALANCE):
            values = per_distinct(values, str)
        arrays.append(_text_array(pa, values))
    return pa.Table.from_arrays(arrays, names=list(_INSERT_COLUMNS))


def _bulk_insert_transactions(
    conn: Connection, frame: pd.DataFrame, account_ids: dict[str, int], import_id: int
) -> int:
    """Insert the rows whose fingerprint is not stored yet; return how many were inserted
    (on PostgreSQL the caller holds the transactions table lock)."""
    frame = _without_stored(conn, frame, account_ids)
    fresh = len(frame)
    if not fresh:
        return 0
    rebuild = fresh >= BULK_REBUILD_ROWS and conn.dialect.name in ("sqlite", "postgresql")
    if rebuild and conn.dialect.name == "postgresql":
        # The indexes and constraints rebuilt after a large load sort every row: in memory
        # rather than in temporary files (for this transaction only).
        conn.exec_driver_sql(f"SET LOCAL maintenance_work_mem = '{_REBUILD_MEMORY}'")
    unique = dict([_UNIQUE_INDEX]) if rebuild and _unique_aside(conn, frame) else {}
    if rebuild:  # inside the import's transaction: a failure restores the indexes too
        for name in [*unique, *_SECONDARY_INDEXES]:
            conn.exec_driver_sql(f"DROP INDEX IF EXISTS {name}")
    if conn.dialect.name == "postgresql":
        # converted chunk by chunk while the server reads the previous ones
        chunks = (
            _insert_table(frame.iloc[start : start + _COPY_CHUNK_ROWS], account_ids, import_id)
            for start in range(0, fresh, _COPY_CHUNK_ROWS)
        )
        _copy_insert_postgres(conn, chunks, large=rebuild)
        inserted = fresh
    else:
        inserted = _insert_rows(conn, _insert_table(frame, account_ids, import_id))
    for name, target in unique.items():
        conn.exec_driver_sql(f"CREATE UNIQUE INDEX {name} ON {target}")
    if rebuild:
        for name, target in _SECONDARY_INDEXES.items():
            conn.exec_driver_sql(f"CREATE INDEX {name} ON {target}")
    return inserted


def _unique_aside(conn: Connection, fresh: pd.DataFrame) -> bool:
    """Whether a large load sets the fingerprint index aside: when the table holds no more
    rows than the load (its highest id bounds its row count).  On SQLite the load's
    fingerprints must also be distinct: a repeat is left to ``INSERT OR IGNORE`` as before
    instead of failing the rebuild (PostgreSQL's COPY refuses a repeat either way)."""
    stored = conn.execute(select(func.coalesce(func.max(Transaction.c.id), 0))).scalar_one()
    if int(stored) > len(fresh):
        return False
    return conn.dialect.name == "postgresql" or bool(fresh["fingerprint"].is_unique)


def _without_stored(
    conn: Connection, frame: pd.DataFrame, account_ids: dict[str, int]
) -> pd.DataFrame:
    """The rows whose fingerprint is not stored yet.  Large loads read the stored fingerprints
    of their accounts (a fingerprint spells its account, so only those rows can match) as one
    joined text per range of `_STORED_CHUNK_IDS` ids; small PostgreSQL loads ask for their own
    fingerprints; small SQLite loads leave it to ``INSERT OR IGNORE``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    fingerprints = pa.array(frame["fingerprint"], pa.string(), from_pandas=True)
    if len(frame) >= BULK_REBUILD_ROWS:
        names = frame[d.ACCOUNT].fillna(d.DEFAULT_ACCOUNT).astype(str).unique()
        accounts = sorted({account_ids[name] for name in names})
        first, last = conn.execute(
            select(func.min(Transaction.c.id), func.max(Transaction.c.id))
        ).one()
        parts = []
        for start in range(first or 0, (last or -1) + 1, _STORED_CHUNK_IDS):
            # one joined text per id range instead of a row each: hex digests hold no separator
            joined = conn.execute(
                select(func.aggregate_strings(Transaction.c.fingerprint, ",")).where(
                    Transaction.c.account_id.in_(accounts),
                    Transaction.c.id >= start,
                    Transaction.c.id < start + _STORED_CHUNK_IDS,
                )
            ).scalar_one()
            if joined:
                parts.append(pc.split_pattern(pa.array([joined], pa.large_string()), ",").flatten())
        if not parts:
            return frame
        known = pa.concat_arrays(parts).cast(pa.string())
    elif conn.dialect.name == "postgresql":
        found = conn.exec_driver_sql(
            "SELECT fingerprint FROM transactions WHERE fingerprint = ANY(%s)",
            (fingerprints.to_pylist(),),
        ).scalars()
        known = pa.array(list(found), pa.string())
        if not len(known):
            return frame
    else:
        return frame
    stored = pc.is_in(fingerprints, value_set=known)
    fresh: pd.DataFrame = frame[~stored.to_numpy(zero_copy_only=False)]
    return fresh


def _insert_rows(conn: Connection, table: Any) -> int:
    names = ", ".join(_INSERT_COLUMNS)
    rows = zip(*(column.to_pylist() for column in table.columns), strict=True)
    if conn.dialect.name == "sqlite":
        placeholders = ", ".join("?" for _ in _INSERT_COLUMNS)
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        cursor.executemany(
            f"INSERT OR IGNORE INTO transactions ({names}, created_at, updated_at) "
            f"VALUES ({placeholders}, datetime('now'), datetime('now'))",
            rows,
        )
        return int(cursor.rowcount)
    stmt = insert(Transaction)  # other dialects: insert only fingerprints not stored yet
    known = set(conn.execute(select(Transaction.c.fingerprint)).scalars())
    fresh = [
        dict(zip(_INSERT_COLUMNS, r, strict=True)) for r in rows if r[_FINGERPRINT] not in known
    ]
    if fresh:
        conn.execute(stmt, fresh)
    return len(fresh)


def _text_array(pa: Any, values: pd.Series) -> Any:
    try:
        return pa.array(values, pa.string(), from_pandas=True)
    except (pa.ArrowTypeError, pa.ArrowInvalid):  # a non-text value: spell it out
        spelled = [None if v is None or v != v else str(v) for v in values.tolist()]
        return pa.array(spelled, pa.string())


def _csv_for_copy(table: Any, now: datetime | None) -> bytes:
    """The rows as CSV for ``COPY ... (FORMAT csv)``, written by Arrow in C++: text values
    quoted (an empty text stays empty), missing values unquoted (NULL); with ``now`` as their
    created_at and updated_at (None: left to the columns' defaults)."""
    import pyarrow as pa
    from pyarrow import csv as pa_csv

    if now is not None:
        stamp = pa.array([now.isoformat()], pa.string()).take(np.zeros(table.num_rows, np.int64))
        table = table.append_column("c", stamp).append_column("u", stamp)
    buffer = io.BytesIO()
    pa_csv.write_csv(table, buffer, pa_csv.WriteOptions(include_header=False))
    return buffer.getvalue()


def _copy_insert_postgres(conn: Connection, chunks: Iterable[Any], *, large: bool) -> None:
    """COPY new rows (fingerprints checked under the import's table lock) into the table: Arrow
    ``chunks``, each queued to a writer thread as CSV, so the server parses a chunk while the
    next one is converted.

    A ``large`` load (the caller's index rebuild) sets the table's foreign keys aside and adds
    them back afterwards, checked in one join instead of one trigger call per row (4-5x
    faster).  It also leaves created_at and updated_at to a column default of the
    transaction's time, set for the load only: parsing two timestamps per row was a third of
    the server's COPY time.  Readers then wait for that import; everything stays inside the
    import's transaction, so a failure restores the constraints and defaults too.
    """
    from psycopg.copy import QueuedLibpqWriter

    raw = conn.connection.driver_connection
    names = ", ".join(_INSERT_COLUMNS)
    with raw.cursor() as cursor:  # type: ignore[union-attr]
        set_aside = _foreign_keys(cursor) if large else []
        for name, _definition in set_aside:
            cursor.execute(f'ALTER TABLE transactions DROP CONSTRAINT "{name}"')
        if large:
            cursor.execute(
                "ALTER TABLE transactions ALTER COLUMN created_at SET DEFAULT now(), "
                "ALTER COLUMN updated_at SET DEFAULT now()"
            )
            statement = f"COPY transactions ({names}) FROM STDIN (FORMAT csv)"
        else:
            statement = (
                f"COPY transactions ({names}, created_at, updated_at) FROM STDIN (FORMAT csv)"
            )
        now = None if large else utcnow()
        with cursor.copy(statement, writer=QueuedLibpqWriter(cursor)) as copy:
            for chunk in chunks:
                copy.write(_csv_for_copy(chunk, now))
        if large:
            cursor.execute(
                "ALTER TABLE transactions ALTER COLUMN created_at DROP DEFAULT, "
                "ALTER COLUMN updated_at DROP DEFAULT"
            )
        for name, definition in set_aside:
            cursor.execute(f'ALTER TABLE transactions ADD CONSTRAINT "{name}" {definition}')


def _foreign_keys(cursor: Any) -> list[tuple[str, str]]:
    """(name, definition) of the transactions foreign keys, which a large load drops and adds
    back after it."""
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = 'transactions'::regclass AND contype = 'f' ORDER BY conname"
    )
    return [(str(name), str(definition)) for name, definition in cursor.fetchall()]


__all__ = ["BULK_REBUILD_ROWS", "StoredImport", "store_import"]

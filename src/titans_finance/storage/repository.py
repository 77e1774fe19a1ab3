"""Reads and writes of the store: bulk transaction loads, queries as DataFrames, feedback, rules."""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, Select, delete, func, insert, or_, select, update
from sqlalchemy.engine import Connection

from titans_finance import domain as d
from titans_finance.domain import RejectedRow as RejectedRowRecord
from titans_finance.domain import TransactionFilter
from titans_finance.errors import NotFoundError, ValidationError
from titans_finance.storage.tables import (
    Account,
    AnomalyFeedback,
    Budget,
    CategoryFeedback,
    Import,
    RejectedRow,
    Rule,
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
    "fingerprint": "fingerprint",
}
_INSERT_COLUMNS: tuple[str, ...] = ("account_id", "import_id", *_COLUMN_MAP.values())
_FINGERPRINT = _INSERT_COLUMNS.index("fingerprint")
# Secondary indexes rebuilt once after a large load instead of being updated row by row.
_SECONDARY_INDEXES: dict[str, str] = {
    "ix_transactions_date": "transactions (date)",
    "ix_transactions_account_date": "transactions (account_id, date)",
    "ix_transactions_category": "transactions (category)",
}
BULK_REBUILD_ROWS = 100_000
_SORTABLE = {"date", "amount", "description", "category", "id", "merchant", "account"}


@dataclass
class StoredImport:
    """Counts of one stored import."""

    import_id: int
    inserted: int
    duplicates: int
    rejected: int


@dataclass
class ImportRecord:
    """An import as listed back to users."""

    id: int
    file_name: str
    format: str
    rows_read: int
    rows_inserted: int
    rows_duplicate: int
    rows_rejected: int
    balance_breaks: int
    created_at: str
    rejects: list[dict[str, Any]] = field(default_factory=list)


# -- writes ---------------------------------------------------------------------------------------
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
) -> StoredImport:
    """Store one file's accepted rows and rejects in a single database transaction.

    ``frame`` is canonical with ``merchant`` and ``fingerprint`` columns.  Rows whose fingerprint
    is already stored are skipped (idempotent re-import).  Either everything is written or nothing.
    """
    with engine.begin() as conn:
        account_ids = _ensure_accounts(conn, frame)
        import_id = conn.execute(
            insert(Import).values(
                file_name=file_name[:500],
                sha256=sha256,
                format=file_format,
                rows_read=rows_read,
                rows_rejected=len(rejects),
                balance_breaks=balance_breaks,
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
            .where(Import.id == import_id)
            .values(rows_inserted=inserted, rows_duplicate=duplicates)
        )
    return StoredImport(int(import_id), inserted, duplicates, len(rejects))


def _ensure_accounts(conn: Connection, frame: pd.DataFrame) -> dict[str, int]:
    names = frame[d.ACCOUNT].fillna(d.DEFAULT_ACCOUNT).astype(str) if len(frame) else pd.Series([])
    wanted = set(names.unique().tolist())
    existing = dict(conn.execute(select(Account.name, Account.id)).all())
    missing = sorted(wanted - existing.keys())
    if missing:
        currencies = (
            frame.assign(_acc=names).groupby("_acc")[d.CURRENCY].first().to_dict()
            if d.CURRENCY in frame
            else {}
        )
        conn.execute(
            insert(Account),
            [{"name": name, "currency": currencies.get(name)} for name in missing],
        )
        existing = dict(conn.execute(select(Account.name, Account.id)).all())
    return existing


def _per_distinct(values: pd.Series, convert: Any) -> list[Any]:
    """``convert`` applied once per distinct non-missing value; None where missing."""
    codes, uniques = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=True)
    table = np.array([*(convert(u) for u in uniques), None], dtype=object)
    return table[codes].tolist()


def _insert_columns(
    frame: pd.DataFrame, account_ids: dict[str, int], import_id: int
) -> list[list[Any]]:
    """Column values in `_INSERT_COLUMNS` order (dates as ISO text, money as text for
    exactness, None for missing)."""
    columns: list[list[Any]] = [
        frame[d.ACCOUNT].fillna(d.DEFAULT_ACCOUNT).astype(str).map(account_ids).tolist(),
        [import_id] * len(frame),
    ]
    for source in _COLUMN_MAP:
        if source not in frame:
            columns.append([None] * len(frame))
            continue
        values = frame[source]
        if source == d.DATE:
            columns.append(_per_distinct(values, lambda v: pd.Timestamp(v).date().isoformat()))
        elif source in (d.AMOUNT, d.BALANCE):
            columns.append(_per_distinct(values, str))
        else:
            columns.append(values.astype(object).where(values.notna(), None).tolist())
    return columns


def _bulk_insert_transactions(
    conn: Connection, frame: pd.DataFrame, account_ids: dict[str, int], import_id: int
) -> int:
    """Insert the rows whose fingerprint is not stored yet; return how many were inserted."""
    if conn.dialect.name == "postgresql":  # two imports must not race between check and COPY
        conn.exec_driver_sql("LOCK TABLE transactions IN SHARE ROW EXCLUSIVE MODE")
    columns = _without_stored(conn, _insert_columns(frame, account_ids, import_id))
    fresh = len(columns[0])
    if not fresh:
        return 0
    rebuild = fresh >= BULK_REBUILD_ROWS and conn.dialect.name in ("sqlite", "postgresql")
    if rebuild:  # inside the import's transaction: a failure restores the indexes too
        for name in _SECONDARY_INDEXES:
            conn.exec_driver_sql(f"DROP INDEX IF EXISTS {name}")
    if conn.dialect.name == "postgresql":
        _copy_insert_postgres(conn, columns)
        inserted = fresh
    else:
        inserted = _insert_rows(conn, list(zip(*columns, strict=True)))
    if rebuild:
        for name, target in _SECONDARY_INDEXES.items():
            conn.exec_driver_sql(f"CREATE INDEX {name} ON {target}")
    return inserted


def _without_stored(conn: Connection, columns: list[list[Any]]) -> list[list[Any]]:
    """The columns without rows whose fingerprint is already stored.  Large loads read the
    stored fingerprints of their accounts (a fingerprint spells its account, so only those rows
    can match) in one scan; small PostgreSQL loads ask for their own fingerprints; small SQLite
    loads leave it to ``INSERT OR IGNORE``."""
    if len(columns[0]) >= BULK_REBUILD_ROWS:
        known = set(
            conn.execute(
                select(Transaction.fingerprint).where(
                    Transaction.account_id.in_(sorted(set(columns[0])))
                )
            ).scalars()
        )
    elif conn.dialect.name == "postgresql":
        known = set(
            conn.exec_driver_sql(
                "SELECT fingerprint FROM transactions WHERE fingerprint = ANY(%s)",
                (columns[_FINGERPRINT],),
            ).scalars()
        )
    else:
        return columns
    if not known:
        return columns
    keep = [fingerprint not in known for fingerprint in columns[_FINGERPRINT]]
    return [[v for v, k in zip(column, keep, strict=True) if k] for column in columns]


def _insert_rows(conn: Connection, rows: list[tuple[Any, ...]]) -> int:
    names = ", ".join(_INSERT_COLUMNS)
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
    known = set(conn.execute(select(Transaction.fingerprint)).scalars())
    fresh = [
        dict(zip(_INSERT_COLUMNS, r, strict=True)) for r in rows if r[_FINGERPRINT] not in known
    ]
    if fresh:
        conn.execute(stmt, fresh)
    return len(fresh)


def _text_array(pa: Any, values: list[Any]) -> Any:
    try:
        return pa.array(values, pa.string())
    except (pa.ArrowTypeError, pa.ArrowInvalid):  # a non-text value: spell it out
        return pa.array([None if v is None else str(v) for v in values], pa.string())


def _csv_for_copy(columns: list[list[Any]], now: datetime) -> bytes:
    """The rows as CSV for ``COPY ... (FORMAT csv)``, written by Arrow in C++: text values
    quoted (an empty text stays empty), missing values unquoted (NULL)."""
    import pyarrow as pa  # type: ignore[import-untyped]
    from pyarrow import csv as pa_csv

    arrays = [pa.array(columns[0], pa.int64()), pa.array(columns[1], pa.int64())]
    arrays += [_text_array(pa, values) for values in columns[2:]]
    stamp = pa.array([now.isoformat()], pa.string()).take(np.zeros(len(columns[0]), np.int64))
    table = pa.Table.from_arrays([*arrays, stamp, stamp], names=[*_INSERT_COLUMNS, "c", "u"])
    buffer = io.BytesIO()
    pa_csv.write_csv(table, buffer, pa_csv.WriteOptions(include_header=False))
    return buffer.getvalue()


def _copy_insert_postgres(conn: Connection, columns: list[list[Any]]) -> None:
    """COPY new rows (fingerprints checked under the import's table lock) into the table.

    A large load sets the table's foreign keys aside and adds them back afterwards, checked in
    one join instead of one trigger call per row (4-5x faster); a load at least as large as the
    table (a first import) does the same with the fingerprint constraint, built again in one
    sort.  Readers then wait for that import; everything stays inside the import's
    transaction, so a failure restores the constraints too.
    """
    raw = conn.connection.driver_connection
    with raw.cursor() as cursor:  # type: ignore[union-attr]
        set_aside = _constraints_to_set_aside(cursor, len(columns[0]))
        for name, _definition in set_aside:
            cursor.execute(f'ALTER TABLE transactions DROP CONSTRAINT "{name}"')
        names = ", ".join(_INSERT_COLUMNS)
        with cursor.copy(
            f"COPY transactions ({names}, created_at, updated_at) FROM STDIN (FORMAT csv)"
        ) as copy:
            copy.write(_csv_for_copy(columns, utcnow()))
        for name, definition in set_aside:
            cursor.execute(f'ALTER TABLE transactions ADD CONSTRAINT "{name}" {definition}')


def _constraints_to_set_aside(cursor: Any, fresh: int) -> list[tuple[str, str]]:
    """(name, definition) of the transactions constraints worth dropping for a load of
    ``fresh`` rows: none below ``BULK_REBUILD_ROWS``; the foreign keys; the unique
    constraints too when the table holds no more rows than the load."""
    if fresh < BULK_REBUILD_ROWS:
        return []
    cursor.execute("SELECT reltuples FROM pg_class WHERE oid = 'transactions'::regclass")
    stored = max(float(cursor.fetchone()[0]), 0.0)
    kinds = ["f", "u"] if stored <= fresh else ["f"]
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = 'transactions'::regclass AND contype::text = ANY(%s) ORDER BY conname",
        (kinds,),
    )
    return [(str(name), str(definition)) for name, definition in cursor.fetchall()]


def set_category(engine: Engine, transaction_id: int, category: str) -> dict[str, Any]:
    """Set a transaction's category and store the correction as feedback for the next training."""
    category = category.strip()
    if not category or len(category) > 100:
        raise ValidationError("category must be 1 to 100 characters")
    with engine.begin() as conn:
        previous = conn.execute(
            select(Transaction.category).where(Transaction.id == transaction_id)
        ).one_or_none()
        if previous is None:
            raise NotFoundError(f"transaction {transaction_id} does not exist")
        conn.execute(
            update(Transaction).where(Transaction.id == transaction_id).values(category=category)
        )
        conn.execute(
            insert(CategoryFeedback).values(
                transaction_id=transaction_id, previous_category=previous[0], category=category
            )
        )
    return get_transaction(engine, transaction_id)


def add_anomaly_feedback(
    engine: Engine,
    *,
    transaction_id: int | None = None,
    account: str | None = None,
    merchant: str | None = None,
    reason_code: str | None = None,
) -> int:
    """Store a "this is normal" mark; with a transaction id, account and merchant come from it."""
    with engine.begin() as conn:
        if transaction_id is not None:
            row = conn.execute(
                select(Account.name, Transaction.merchant)
                .join(Account, Account.id == Transaction.account_id)
                .where(Transaction.id == transaction_id)
            ).one_or_none()
            if row is None:
                raise NotFoundError(f"transaction {transaction_id} does not exist")
            account = account or row[0]
            merchant = merchant or row[1]
        if not (account or merchant):
            raise ValidationError("give a transaction id, an account or a merchant to mark normal")
        result = conn.execute(
            insert(AnomalyFeedback).values(
                transaction_id=transaction_id,
                account=account,
                merchant=merchant,
                reason_code=reason_code,
            )
        )
        return int(result.inserted_primary_key[0])  # type: ignore[index]


def list_anomaly_feedback(engine: Engine) -> list[dict[str, Any]]:
    """Every stored "normal" mark as {account, merchant, reason_code}."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(AnomalyFeedback.account, AnomalyFeedback.merchant, AnomalyFeedback.reason_code)
        ).all()
    return [{"account": a, "merchant": m, "reason_code": r} for a, m, r in rows]


def add_rule(engine: Engine, rule: d.CategoryRule) -> d.CategoryRule:
    """Store a categorisation rule; returns it with its id."""
    _check_rule(rule)
    with engine.begin() as conn:
        rule_id = conn.execute(
            insert(Rule).values(
                kind=rule.kind.value,
                pattern=rule.pattern,
                min_amount=rule.min_amount,
                max_amount=rule.max_amount,
                account=rule.account,
                category=rule.category,
                priority=rule.priority,
            )
        ).inserted_primary_key[0]  # type: ignore[index]
    return d.CategoryRule(**{**rule.__dict__, "id": int(rule_id)})


def _check_rule(rule: d.CategoryRule) -> None:
    import re

    if not rule.category.strip():
        raise ValidationError("a rule needs a category")
    if rule.kind is d.RuleKind.REGEX:
        try:
            re.compile(rule.pattern)
        except re.error as exc:
            raise ValidationError(
                f"rule pattern {rule.pattern!r} is not a valid regex: {exc}"
            ) from exc
    if (
        rule.kind
        in (
            d.RuleKind.CONTAINS,
            d.RuleKind.MERCHANT,
            d.RuleKind.REGEX,
            d.RuleKind.ACCOUNT,
        )
        and not rule.pattern.strip()
    ):
        raise ValidationError(f"a {rule.kind.value} rule needs a non-empty pattern")
    if rule.kind is d.RuleKind.AMOUNT_RANGE and rule.min_amount is None and rule.max_amount is None:
        raise ValidationError("an amount_range rule needs min_amount or max_amount")
    if (
        rule.min_amount is not None
        and rule.max_amount is not None
        and rule.min_amount > rule.max_amount
    ):
        raise ValidationError("min_amount is greater than max_amount")


def list_rules(engine: Engine) -> list[d.CategoryRule]:
    """Every stored rule, highest priority first."""
    with engine.connect() as conn:
        rows = conn.execute(select(Rule).order_by(Rule.priority.desc(), Rule.id)).mappings().all()
    return [
        d.CategoryRule(
            kind=d.RuleKind(row["kind"]),
            category=row["category"],
            pattern=row["pattern"],
            min_amount=row["min_amount"],
            max_amount=row["max_amount"],
            account=row["account"],
            priority=row["priority"],
            id=row["id"],
        )
        for row in rows
    ]


def delete_rule(engine: Engine, rule_id: int) -> None:
    """Delete a rule; NotFoundError when it does not exist."""
    with engine.begin() as conn:
        if conn.execute(delete(Rule).where(Rule.id == rule_id)).rowcount == 0:
            raise NotFoundError(f"rule {rule_id} does not exist")


def set_budget(engine: Engine, category: str, amount: Decimal, month: str | None = None) -> None:
    """Create or replace the budget of a category (for one month 'YYYY-MM' or every month)."""
    if amount < 0:
        raise ValidationError("a budget amount cannot be negative")
    with engine.begin() as conn:
        conn.execute(delete(Budget).where(Budget.category == category, _month_is(month)))
        conn.execute(insert(Budget).values(category=category, month=month, amount=amount))


def _month_is(month: str | None) -> Any:
    return Budget.month.is_(None) if month is None else Budget.month == month


def list_budgets(engine: Engine) -> pd.DataFrame:
    """Budgets as a frame: category, month (None = every month), amount (float)."""
    with engine.connect() as conn:
        rows = conn.execute(select(Budget.category, Budget.month, Budget.amount)).all()
    return pd.DataFrame(
        [(c, m, float(a)) for c, m, a in rows], columns=["category", "month", "amount"]
    )


# -- reads ----------------------------------------------------------------------------------------
def _select_transactions() -> Select[Any]:
    stmt: Select[Any] = select(  # type: ignore[assignment]
        Transaction.id.label("id"),
        Transaction.date.label(d.DATE),
        Transaction.type.label(d.TYPE),
        Transaction.description.label(d.DESCRIPTION),
        Transaction.amount.label(d.AMOUNT),
        Transaction.category.label(d.CATEGORY),
        Transaction.payment_method.label(d.PAYMENT_METHOD),
        Transaction.status.label(d.STATUS),
        Transaction.reference.label(d.REFERENCE),
        Transaction.receipt_url.label(d.RECEIPT_URL),
        Account.name.label(d.ACCOUNT),
        Transaction.currency.label(d.CURRENCY),
        Transaction.balance.label(d.BALANCE),
        Transaction.merchant.label(d.MERCHANT),
        Transaction.import_id.label("import_id"),
    ).join(Account, Account.id == Transaction.account_id)
    return stmt


def _apply_filter(stmt: Select[Any], flt: TransactionFilter) -> Select[Any]:
    if flt.date_from is not None and flt.date_to is not None and flt.date_from > flt.date_to:
        raise ValidationError("date_from is after date_to")
    if flt.date_from is not None:
        stmt = stmt.where(Transaction.date >= flt.date_from)
    if flt.date_to is not None:
        stmt = stmt.where(Transaction.date <= flt.date_to)
    if flt.accounts:
        stmt = stmt.where(Account.name.in_(list(flt.accounts)))
    if flt.categories:
        stmt = stmt.where(Transaction.category.in_(list(flt.categories)))
    if flt.types:
        stmt = stmt.where(Transaction.type.in_(list(flt.types)))
    if flt.text:
        like = f"%{flt.text.lower()}%"
        stmt = stmt.where(
            or_(
                func.lower(Transaction.description).like(like),
                func.lower(Transaction.merchant).like(like),
            )
        )
    if flt.min_amount is not None:
        stmt = stmt.where(Transaction.amount >= flt.min_amount)
    if flt.max_amount is not None:
        stmt = stmt.where(Transaction.amount <= flt.max_amount)
    return stmt


def load_transactions(engine: Engine, flt: TransactionFilter | None = None) -> pd.DataFrame:
    """Transactions as a canonical frame (Date as datetime64, Amount/Balance as float).

    User category corrections are already applied (they update the stored category).
    """
    flt = flt or TransactionFilter()
    stmt = _apply_filter(_select_transactions(), flt)
    if flt.sort not in _SORTABLE:
        raise ValidationError(f"cannot sort by {flt.sort!r}; choose one of {sorted(_SORTABLE)}")
    order_column = Account.name if flt.sort == "account" else getattr(Transaction, flt.sort)
    order = order_column.desc() if flt.descending else order_column.asc()
    stmt = stmt.order_by(order, Transaction.id.desc() if flt.descending else Transaction.id)
    if flt.limit is not None:
        if flt.limit < 0 or flt.offset < 0:
            raise ValidationError("limit and offset must not be negative")
        stmt = stmt.limit(flt.limit).offset(flt.offset)
    with engine.connect() as conn:
        result = conn.execute(stmt)
        frame = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    frame[d.DATE] = pd.to_datetime(frame[d.DATE])
    for column in (d.AMOUNT, d.BALANCE):
        frame[column] = d.to_float(frame[column])
    return frame


def count_transactions(engine: Engine, flt: TransactionFilter | None = None) -> int:
    """How many transactions match the filter (ignoring limit/offset)."""
    stmt = _apply_filter(
        select(func.count(Transaction.id)).join(Account, Account.id == Transaction.account_id),
        flt or TransactionFilter(),
    )
    with engine.connect() as conn:
        return int(conn.execute(stmt).scalar_one())


def get_transaction(engine: Engine, transaction_id: int) -> dict[str, Any]:
    """One transaction as a dict of canonical fields; NotFoundError when absent."""
    stmt = _select_transactions().where(Transaction.id == transaction_id)
    with engine.connect() as conn:
        row = conn.execute(stmt).mappings().one_or_none()
    if row is None:
        raise NotFoundError(f"transaction {transaction_id} does not exist")
    return dict(row)


def store_version(engine: Engine) -> str:
    """A token that changes on every write a page can show (for caches), read in one query.

    Per table: the row count and the newest id, plus the newest ``updated_at`` of transactions
    (category corrections), the newest ``created_at`` of rules (a deleted rule's id may be
    reused) and an id-weighted amount sum of budgets (a replaced budget may reuse its id).
    """
    columns = [
        *_table_state(Transaction, func.max(Transaction.updated_at)),
        *_table_state(CategoryFeedback),
        *_table_state(AnomalyFeedback),
        *_table_state(Rule, func.max(Rule.created_at)),
        *_table_state(Budget, func.sum(Budget.amount * Budget.id)),
        *_table_state(Import),
    ]
    with engine.connect() as conn:
        values = conn.execute(select(*columns)).one()
    return "-".join(str(value) for value in values)


def _table_state(table: Any, *extra: Any) -> list[Any]:
    """Scalar subqueries of ``table``'s count, newest id and ``extra`` aggregates."""
    aggregates = (func.count(table.id), func.max(table.id), *extra)
    return [select(aggregate).scalar_subquery() for aggregate in aggregates]


def list_accounts(engine: Engine) -> list[str]:
    """Account names, sorted."""
    with engine.connect() as conn:
        return sorted(conn.execute(select(Account.name)).scalars().all())


def list_imports(
    engine: Engine,
    *,
    with_rejects: int = 5,
    limit: int | None = None,
    offset: int = 0,
    raw_chars: int | None = None,
) -> list[ImportRecord]:
    """Imports, newest first, each with its first ``with_rejects`` rejected rows (two queries).

    ``limit``/``offset`` page the imports; ``raw_chars`` cuts each reject's raw text.
    """
    _check_page(limit, offset)
    stmt = select(Import.__table__).order_by(Import.id.desc()).offset(offset)
    with engine.connect() as conn:
        imports = conn.execute(stmt.limit(limit)).mappings().all()
        firsts = _first_rejects(conn, [imp["id"] for imp in imports], with_rejects, raw_chars)
    return [
        ImportRecord(
            **{k: v for k, v in imp.items() if k not in ("sha256", "created_at")},
            created_at=_utc_text(imp["created_at"]),
            rejects=firsts.get(imp["id"], []),
        )
        for imp in imports
    ]


def _check_page(limit: int | None, offset: int) -> None:
    if (limit is not None and limit < 0) or offset < 0:
        raise ValidationError("limit and offset must not be negative")


def _raw_column(raw_chars: int | None) -> Any:
    raw = RejectedRow.raw if raw_chars is None else func.substr(RejectedRow.raw, 1, raw_chars)
    return raw.label("raw")


def _first_rejects(
    conn: Connection, import_ids: list[int], count: int, raw_chars: int | None
) -> dict[int, list[dict[str, Any]]]:
    """The first ``count`` rejects (by line) of each import, in one windowed query."""
    if not import_ids or count <= 0:
        return {}
    rank = (
        func.row_number()
        .over(partition_by=RejectedRow.import_id, order_by=(RejectedRow.line, RejectedRow.id))
        .label("rank")
    )
    ranked = (
        select(RejectedRow.import_id, RejectedRow.line, RejectedRow.reason, _raw_column(raw_chars))
        .add_columns(rank)
        .where(RejectedRow.import_id.in_(import_ids))
        .subquery()
    )
    rows = conn.execute(
        select(ranked.c.import_id, ranked.c.line, ranked.c.reason, ranked.c.raw)
        .where(ranked.c.rank <= count)
        .order_by(ranked.c.import_id, ranked.c.rank)
    ).all()
    out: dict[int, list[dict[str, Any]]] = {}
    for import_id, line, reason, raw in rows:
        out.setdefault(import_id, []).append({"line": line, "reason": reason, "raw": raw})
    return out


def _utc_text(value: Any) -> str:
    """A stored timestamp as text, naive ones (SQLite) marked as the UTC they were written in."""
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return str(value)


def count_imports(engine: Engine) -> int:
    """How many imports are stored."""
    with engine.connect() as conn:
        return int(conn.execute(select(func.count(Import.id))).scalar_one())


def list_rejects(
    engine: Engine,
    import_id: int,
    *,
    limit: int | None = None,
    offset: int = 0,
    raw_chars: int | None = None,
) -> tuple[int, list[dict[str, Any]]]:
    """(how many rows import ``import_id`` rejected, a page of them by line); NotFoundError."""
    _check_page(limit, offset)
    total = select(func.count(RejectedRow.id)).where(RejectedRow.import_id == import_id)
    page = (
        select(RejectedRow.line, RejectedRow.reason, _raw_column(raw_chars))
        .where(RejectedRow.import_id == import_id)
        .order_by(RejectedRow.line, RejectedRow.id)
        .limit(limit)
        .offset(offset)
    )
    with engine.connect() as conn:
        found = conn.execute(
            select(Import.id, total.scalar_subquery()).where(Import.id == import_id)
        ).one_or_none()
        if found is None:
            raise NotFoundError(f"import {import_id} does not exist")
        rows = conn.execute(page).mappings().all()
    return int(found[1]), [dict(row) for row in rows]


def export_csv(frame: pd.DataFrame) -> str:
    """CSV text of a frame with every cell escaped against spreadsheet formula injection."""
    buffer = io.StringIO()
    escape_formulas(frame).to_csv(buffer, index=False)
    return buffer.getvalue()


def escape_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix text cells starting with = + - @ (or tab/CR) with a quote unless they are numbers."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype != object:
            continue
        text = out[column].astype("string")
        risky = text.str.match(r"^[=+\-@\t\r]", na=False)
        numeric = pd.to_numeric(text.where(risky), errors="coerce").notna()
        flagged = risky & ~numeric
        if flagged.any():
            out[column] = out[column].where(~flagged, "'" + text)
    return out


__all__ = [
    "ImportRecord",
    "StoredImport",
    "TransactionFilter",
    "add_anomaly_feedback",
    "add_rule",
    "count_imports",
    "count_transactions",
    "delete_rule",
    "escape_formulas",
    "export_csv",
    "get_transaction",
    "list_accounts",
    "list_anomaly_feedback",
    "list_budgets",
    "list_imports",
    "list_rejects",
    "list_rules",
    "load_transactions",
    "set_budget",
    "set_category",
    "store_import",
    "store_version",
]

"""Reads and writes of the store: queries as DataFrames, feedback, rules and budgets.

Bulk transaction loads live in `titans_finance.storage.bulk`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, Select, delete, func, insert, or_, select, update
from sqlalchemy.engine import Connection

from titans_finance import domain as d
from titans_finance.domain import TransactionFilter
from titans_finance.errors import NotFoundError, ValidationError
from titans_finance.patterns import compile_rule_regex

if TYPE_CHECKING:
    import pandas as pd

from titans_finance.storage.tables import (
    Account,
    AnomalyFeedback,
    Budget,
    CategoryFeedback,
    Import,
    RejectedRow,
    Rule,
    Transaction,
)

logger = logging.getLogger(__name__)

_SORTABLE = {"date", "amount", "description", "category", "id", "merchant", "account"}


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
    rows_skipped: int = 0


# -- feedback, rules and budgets ----------------------------------------------------------------
def set_category(engine: Engine, transaction_id: int, category: str) -> dict[str, Any]:
    """Set a transaction's category and store the correction as feedback for the next training."""
    category = category.strip()
    if not category or len(category) > 100:
        raise ValidationError("category must be 1 to 100 characters")
    with engine.begin() as conn:
        previous = conn.execute(
            select(Transaction.c.category).where(Transaction.c.id == transaction_id)
        ).one_or_none()
        if previous is None:
            raise NotFoundError(f"transaction {transaction_id} does not exist")
        conn.execute(
            update(Transaction).where(Transaction.c.id == transaction_id).values(category=category)
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
                select(Account.c.name, Transaction.c.merchant)
                .join(Account, Account.c.id == Transaction.c.account_id)
                .where(Transaction.c.id == transaction_id)
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
            select(
                AnomalyFeedback.c.account, AnomalyFeedback.c.merchant, AnomalyFeedback.c.reason_code
            )
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
    if not rule.category.strip():
        raise ValidationError("a rule needs a category")
    if rule.kind is d.RuleKind.REGEX:
        compile_rule_regex(rule.pattern)  # RE2: linear-time matching, refused if unsupported
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
        rows = (
            conn.execute(select(Rule).order_by(Rule.c.priority.desc(), Rule.c.id)).mappings().all()
        )
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
        if conn.execute(delete(Rule).where(Rule.c.id == rule_id)).rowcount == 0:
            raise NotFoundError(f"rule {rule_id} does not exist")


def set_budget(engine: Engine, category: str, amount: Decimal, month: str | None = None) -> None:
    """Create or replace the budget of a category (for one month 'YYYY-MM' or every month)."""
    if amount < 0:
        raise ValidationError("a budget amount cannot be negative")
    with engine.begin() as conn:
        conn.execute(delete(Budget).where(Budget.c.category == category, _month_is(month)))
        conn.execute(insert(Budget).values(category=category, month=month, amount=amount))


def _month_is(month: str | None) -> Any:
    return Budget.c.month.is_(None) if month is None else Budget.c.month == month


def list_budgets(engine: Engine) -> pd.DataFrame:
    """Budgets as a frame: category, month (None = every month), amount (float)."""
    import pandas as pd

    with engine.connect() as conn:
        rows = conn.execute(select(Budget.c.category, Budget.c.month, Budget.c.amount)).all()
    return pd.DataFrame(
        [(c, m, float(a)) for c, m, a in rows], columns=["category", "month", "amount"]
    )


# -- reads ----------------------------------------------------------------------------------------
def _select_transactions() -> Select[Any]:
    stmt: Select[Any] = select(
        Transaction.c.id.label("id"),
        Transaction.c.date.label(d.DATE),
        Transaction.c.type.label(d.TYPE),
        Transaction.c.description.label(d.DESCRIPTION),
        Transaction.c.amount.label(d.AMOUNT),
        Transaction.c.category.label(d.CATEGORY),
        Transaction.c.payment_method.label(d.PAYMENT_METHOD),
        Transaction.c.status.label(d.STATUS),
        Transaction.c.reference.label(d.REFERENCE),
        Transaction.c.receipt_url.label(d.RECEIPT_URL),
        Account.c.name.label(d.ACCOUNT),
        Transaction.c.currency.label(d.CURRENCY),
        Transaction.c.balance.label(d.BALANCE),
        Transaction.c.mcc.label(d.MCC),
        Transaction.c.merchant.label(d.MERCHANT),
        Transaction.c.import_id.label("import_id"),
    ).join(Account, Account.c.id == Transaction.c.account_id)
    return stmt


def apply_filter(stmt: Select[Any], flt: TransactionFilter) -> Select[Any]:
    """``stmt`` (joined to accounts) restricted to ``flt``'s dates, accounts, categories, types,
    text and amounts (its sort and page are not applied)."""
    if flt.date_from is not None and flt.date_to is not None and flt.date_from > flt.date_to:
        raise ValidationError("date_from is after date_to")
    if flt.date_from is not None:
        stmt = stmt.where(Transaction.c.date >= flt.date_from)
    if flt.date_to is not None:
        stmt = stmt.where(Transaction.c.date <= flt.date_to)
    if flt.accounts:
        stmt = stmt.where(Account.c.name.in_(list(flt.accounts)))
    if flt.categories:
        stmt = stmt.where(Transaction.c.category.in_(list(flt.categories)))
    if flt.types:
        stmt = stmt.where(Transaction.c.type.in_(list(flt.types)))
    if flt.text:
        # autoescape: % and _ in the user's text are literal characters, not wildcards.
        needle = flt.text.lower()
        stmt = stmt.where(
            or_(
                func.lower(Transaction.c.description).contains(needle, autoescape=True),
                func.lower(Transaction.c.merchant).contains(needle, autoescape=True),
            )
        )
    if flt.min_amount is not None:
        stmt = stmt.where(Transaction.c.amount >= flt.min_amount)
    if flt.max_amount is not None:
        stmt = stmt.where(Transaction.c.amount <= flt.max_amount)
    return stmt


def _transactions_query(flt: TransactionFilter) -> Select[Any]:
    stmt = apply_filter(_select_transactions(), flt)
    if flt.sort not in _SORTABLE:
        raise ValidationError(f"cannot sort by {flt.sort!r}; choose one of {sorted(_SORTABLE)}")
    order_column = Account.c.name if flt.sort == "account" else Transaction.c[flt.sort]
    order = order_column.desc() if flt.descending else order_column.asc()
    stmt = stmt.order_by(order, Transaction.c.id.desc() if flt.descending else Transaction.c.id)
    if flt.limit is not None:
        if flt.limit < 0 or flt.offset < 0:
            raise ValidationError("limit and offset must not be negative")
        stmt = stmt.limit(flt.limit).offset(flt.offset)
    return stmt


def load_transactions(engine: Engine, flt: TransactionFilter | None = None) -> pd.DataFrame:
    """Transactions as a canonical frame (Date as datetime64, Amount/Balance as float).

    User category corrections are already applied (they update the stored category).
    """
    import pandas as pd

    from titans_finance.frame import to_float

    stmt = _transactions_query(flt or TransactionFilter())
    with engine.connect() as conn:
        result = conn.execute(stmt)
        frame = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    frame[d.DATE] = pd.to_datetime(frame[d.DATE])
    for column in (d.AMOUNT, d.BALANCE):
        frame[column] = to_float(frame[column])
    return frame


def recent_days_start(engine: Engine, max_rows: int) -> date | None:
    """First date of the most recent whole days holding at most ``max_rows`` transactions
    (always at least the latest day); None when every transaction fits.  Two indexed queries:
    the rows are not read."""
    with engine.connect() as conn:
        beyond = conn.execute(
            select(Transaction.c.date).order_by(Transaction.c.date.desc()).offset(max_rows).limit(1)
        ).scalar_one_or_none()
        if beyond is None:
            return None
        after = conn.execute(
            select(func.min(Transaction.c.date)).where(Transaction.c.date > beyond)
        ).scalar_one_or_none()
    first: date = after if after is not None else beyond
    return first


def transaction_dates(engine: Engine) -> tuple[date | None, date | None]:
    """The first and the last transaction date of the store (None, None when it is empty)."""
    with engine.connect() as conn:
        first, last = conn.execute(
            select(func.min(Transaction.c.date), func.max(Transaction.c.date))
        ).one()
    return first, last


def iter_transactions(
    engine: Engine, columns: Sequence[str], flt: TransactionFilter | None = None
) -> Iterator[tuple[Any, ...]]:
    """The rows of `load_transactions` as tuples of ``columns`` (dates as dates, money as
    Decimal), streamed from the database in chunks: an export of any size, without pandas."""
    stmt = _transactions_query(flt or TransactionFilter())
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=5000).execute(stmt)
        positions = [list(result.keys()).index(column) for column in columns]
        for row in result:
            yield tuple(row[i] for i in positions)


def count_transactions(engine: Engine, flt: TransactionFilter | None = None) -> int:
    """How many transactions match the filter (ignoring limit/offset)."""
    stmt = apply_filter(
        select(func.count(Transaction.c.id)).join(
            Account, Account.c.id == Transaction.c.account_id
        ),
        flt or TransactionFilter(),
    )
    with engine.connect() as conn:
        return int(conn.execute(stmt).scalar_one())


def get_transaction(engine: Engine, transaction_id: int) -> dict[str, Any]:
    """One transaction as a dict of canonical fields; NotFoundError when absent."""
    stmt = _select_transactions().where(Transaction.c.id == transaction_id)
    with engine.connect() as conn:
        row = conn.execute(stmt).mappings().one_or_none()
    if row is None:
        raise NotFoundError(f"transaction {transaction_id} does not exist")
    return dict(row)


def store_version(engine: Engine) -> str:
    """A token that changes on every write a page can show (for caches), read in one query.

    Per table: the row count and the newest id, plus the newest ``created_at`` of rules (a
    deleted rule's id may be reused) and an id-weighted amount sum of budgets (a replaced budget
    may reuse its id).  A category correction, the one change to a stored transaction, adds a
    feedback row in the same transaction (`set_category`), so the transactions' ``updated_at``
    (an unindexed scan of every row) is not read.
    """
    columns = [
        *_table_state(Transaction),
        *_table_state(CategoryFeedback),
        *_table_state(AnomalyFeedback),
        *_table_state(Rule, func.max(Rule.c.created_at)),
        *_table_state(Budget, func.sum(Budget.c.amount * Budget.c.id)),
        *_table_state(Import),
    ]
    with engine.connect() as conn:
        values = conn.execute(select(*columns)).one()
    return "-".join(str(value) for value in values)


def _table_state(table: Any, *extra: Any) -> list[Any]:
    """Scalar subqueries of ``table``'s count, newest id and ``extra`` aggregates."""
    aggregates = (func.count(table.c.id), func.max(table.c.id), *extra)
    return [select(aggregate).scalar_subquery() for aggregate in aggregates]


def list_accounts(engine: Engine) -> list[str]:
    """Account names, sorted."""
    with engine.connect() as conn:
        return sorted(conn.execute(select(Account.c.name)).scalars().all())


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
    stmt = select(Import).order_by(Import.c.id.desc()).offset(offset)
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
    raw = RejectedRow.c.raw if raw_chars is None else func.substr(RejectedRow.c.raw, 1, raw_chars)
    return raw.label("raw")


def _first_rejects(
    conn: Connection, import_ids: list[int], count: int, raw_chars: int | None
) -> dict[int, list[dict[str, Any]]]:
    """The first ``count`` rejects (by line) of each import, in one windowed query."""
    if not import_ids or count <= 0:
        return {}
    rank = (
        func.row_number()
        .over(partition_by=RejectedRow.c.import_id, order_by=(RejectedRow.c.line, RejectedRow.c.id))
        .label("rank")
    )
    ranked = (
        select(
            RejectedRow.c.import_id,
            RejectedRow.c.line,
            RejectedRow.c.reason,
            _raw_column(raw_chars),
        )
        .add_columns(rank)
        .where(RejectedRow.c.import_id.in_(import_ids))
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
        return int(conn.execute(select(func.count(Import.c.id))).scalar_one())


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
    total = select(func.count(RejectedRow.c.id)).where(RejectedRow.c.import_id == import_id)
    page = (
        select(RejectedRow.c.line, RejectedRow.c.reason, _raw_column(raw_chars))
        .where(RejectedRow.c.import_id == import_id)
        .order_by(RejectedRow.c.line, RejectedRow.c.id)
        .limit(limit)
        .offset(offset)
    )
    with engine.connect() as conn:
        found = conn.execute(
            select(Import.c.id, total.scalar_subquery()).where(Import.c.id == import_id)
        ).one_or_none()
        if found is None:
            raise NotFoundError(f"import {import_id} does not exist")
        rows = conn.execute(page).mappings().all()
    return int(found[1]), [dict(row) for row in rows]


__all__ = [
    "ImportRecord",
    "TransactionFilter",
    "add_anomaly_feedback",
    "add_rule",
    "apply_filter",
    "count_imports",
    "count_transactions",
    "delete_rule",
    "get_transaction",
    "iter_transactions",
    "list_accounts",
    "list_anomaly_feedback",
    "list_budgets",
    "list_imports",
    "list_rejects",
    "list_rules",
    "load_transactions",
    "recent_days_start",
    "set_budget",
    "set_category",
    "store_version",
    "transaction_dates",
]

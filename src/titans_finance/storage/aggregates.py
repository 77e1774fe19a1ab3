"""GROUP BY reads of the store: what the insights need, without reading every row into pandas.

Each query runs the same on SQLite and PostgreSQL (SQLAlchemy Core, no dialect SQL) and returns a
small frame whose columns are those `titans_finance.insights` builds from a transaction frame, so
the figures are computed by one function whichever the source.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, Select, case, func, select

from titans_finance import domain as d
from titans_finance.domain import TransactionFilter
from titans_finance.storage.repository import apply_filter
from titans_finance.storage.tables import Account, Transaction

if TYPE_CHECKING:
    import pandas as pd


def _is_transfer() -> Any:
    return Transaction.c.type == d.TransactionType.TRANSFER.value  # type is NOT NULL


def _frame(stmt: Any, engine: Engine, money: tuple[str, ...]) -> pd.DataFrame:
    import pandas as pd

    from titans_finance.frame import to_float

    with engine.connect() as conn:
        result = conn.execute(stmt)
        frame = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    for column in money:
        frame[column] = to_float(frame[column])
    return frame


def _filtered(flt: TransactionFilter, *columns: Any) -> Select[Any]:
    """``columns`` of the transactions matching ``flt``, joined to accounts only when the
    filter names accounts: without the join a GROUP BY reads its covering index alone."""
    stmt: Select[Any] = select(*columns).select_from(Transaction)
    if flt.accounts:
        stmt = stmt.join(Account, Account.c.id == Transaction.c.account_id)
    return apply_filter(stmt, flt)


def daily_groups(engine: Engine, flt: TransactionFilter | None = None) -> pd.DataFrame:
    """Per day x category x currency x type: the transfer flag, income, expenses (positive),
    the row count and the count of spending rows, for `insights.month_groups` (a day may hold
    several groups of the same flag).  Category and currency stay as stored (None included).
    Grouped in the order of ``ix_transactions_day_groups``, which SQLite scans without a sort."""
    amount = Transaction.c.amount
    keys = (Transaction.c.date, Transaction.c.category, Transaction.c.currency, Transaction.c.type)
    stmt = _filtered(
        flt or TransactionFilter(),
        Transaction.c.date.label(d.DATE),
        Transaction.c.category.label(d.CATEGORY),
        Transaction.c.currency.label(d.CURRENCY),
        Transaction.c.type.label(d.TYPE),
        func.sum(case((amount > 0, amount), else_=0)).label("income"),
        func.sum(case((amount < 0, -amount), else_=0)).label("expenses"),
        func.count().label("count"),
        func.sum(case((amount < 0, 1), else_=0)).label("spend_count"),
    )
    frame = _frame(stmt.group_by(*keys), engine, ("income", "expenses"))
    transfer = frame.pop(d.TYPE) == d.TransactionType.TRANSFER.value
    frame.insert(3, "transfer", transfer.astype(bool))
    return frame


def merchant_spending(engine: Engine, flt: TransactionFilter | None = None) -> pd.DataFrame:
    """Spending (positive) per category x merchant (the description when no merchant), transfers
    left out, for `insights.top_merchants` (a merchant may come twice: as merchant and as
    description).  Rows with a merchant are grouped in ``ix_transactions_merchant_groups``
    order, so SQLite scans that index without a sort."""
    flt = flt or TransactionFilter()

    def spent(name: Any) -> Select[Any]:
        stmt = _filtered(
            flt,
            Transaction.c.category.label(d.CATEGORY),
            name.label(d.MERCHANT),
            func.sum(-Transaction.c.amount).label("spent"),
        ).where(Transaction.c.amount < 0, ~_is_transfer())
        return stmt.group_by(Transaction.c.category, name)

    named = spent(Transaction.c.merchant).where(Transaction.c.merchant.is_not(None))
    unnamed = spent(Transaction.c.description).where(Transaction.c.merchant.is_(None))
    return _frame(named.union_all(unnamed), engine, ("spent",))


def balance_moves(engine: Engine, flt: TransactionFilter | None = None) -> dict[str, Any]:
    """What the balance chart needs: ``reported`` (more than half the rows carry a balance),
    then either ``balances`` (the last reported balance per account and day: Account, Date,
    Balance) or ``net`` (the net of non-transfers per day: Date, Amount)."""
    flt = flt or TransactionFilter()
    with engine.connect() as conn:
        counted = _filtered(flt, func.count(Transaction.c.balance), func.count())
        with_balance, rows = conn.execute(counted).one()
    reported = rows > 0 and with_balance / rows > 0.5
    if reported:
        last = (
            _filtered(flt, func.max(Transaction.c.id))
            .where(Transaction.c.balance.is_not(None))
            .group_by(Transaction.c.account_id, Transaction.c.date)
        )
        stmt = (
            select(
                Account.c.name.label(d.ACCOUNT),
                Transaction.c.date.label(d.DATE),
                Transaction.c.balance.label(d.BALANCE),
            )
            .select_from(Transaction)
            .join(Account, Account.c.id == Transaction.c.account_id)
        )
        stmt = stmt.where(Transaction.c.id.in_(last))
        return {"reported": True, "balances": _frame(stmt, engine, (d.BALANCE,))}
    net = _filtered(
        flt, Transaction.c.date.label(d.DATE), func.sum(Transaction.c.amount).label(d.AMOUNT)
    ).where(~_is_transfer())
    return {
        "reported": False,
        "net": _frame(net.group_by(Transaction.c.date), engine, (d.AMOUNT,)),
    }


def account_rows(engine: Engine, flt: TransactionFilter | None = None) -> dict[str, int]:
    """Transactions per account name (accounts without a matching row left out)."""
    joined: Select[Any] = (
        select(Account.c.name, func.count())
        .select_from(Transaction)
        .join(Account, Account.c.id == Transaction.c.account_id)
    )
    stmt = apply_filter(joined, flt or TransactionFilter()).group_by(Account.c.name)
    with engine.connect() as conn:
        return {str(name): int(count) for name, count in conn.execute(stmt)}


#: rows fetched per round trip by `account_day_moves`
_CHUNK_ROWS = 100_000


def account_day_moves(engine: Engine, flt: TransactionFilter | None = None) -> pd.DataFrame:
    """What the cash-flow and recurring models read, as one row per account x day x merchant
    (the description where no merchant) x sign of the amount x balance: the summed Amount, the
    greatest Description and Category in byte order (the same on every database, whatever its
    collation), the Balance (a key, so per-row balances survive for the
    closing balance of a day).  Both models merge a merchant's same-day rows and add up daily
    nets, so they fit the same on this as on the rows (but for which description a merged row
    shows).

    Columns Date (datetime64), Account, Merchant, Description, Category, Amount, Balance (float),
    sorted by date then first transaction id.  Read in chunks, each string value kept once, so
    memory follows the groups' numeric size, not every row's Python strings.
    """
    import pandas as pd

    flt = flt or TransactionFilter()
    amount = Transaction.c.amount
    sign = case((amount > 0, 1), (amount < 0, -1), else_=0)
    unnamed = case((Transaction.c.merchant.is_(None), Transaction.c.description), else_=None)
    keys = (
        Transaction.c.account_id,
        Transaction.c.date,
        Transaction.c.merchant,
        unnamed,
        sign,
        Transaction.c.balance,
    )
    stmt = (
        _filtered(
            flt,
            Transaction.c.date.label(d.DATE),
            Transaction.c.account_id.label("account_id"),
            Transaction.c.merchant.label(d.MERCHANT),
            func.max(_byte_order(engine, Transaction.c.description)).label(d.DESCRIPTION),
            func.max(_byte_order(engine, Transaction.c.category)).label(d.CATEGORY),
            func.sum(amount).label(d.AMOUNT),
            Transaction.c.balance.label(d.BALANCE),
        )
        .group_by(*keys)
        .order_by(Transaction.c.date, func.min(Transaction.c.id))
    )
    with engine.connect() as conn:
        names = dict(conn.execute(select(Account.c.id, Account.c.name)).all())
        result = conn.execution_options(stream_results=True, yield_per=_CHUNK_ROWS).execute(stmt)
        columns = list(result.keys())
        shared: dict[str, str] = {}
        parts = [
            _compact(pd.DataFrame(rows, columns=columns), names, shared)
            for rows in result.partitions()
        ]
    if not parts:
        return _compact(pd.DataFrame(columns=columns), names, shared)
    return pd.concat(parts, ignore_index=True)


def _byte_order(engine: Engine, column: Any) -> Any:
    """``column`` compared byte by byte: PostgreSQL's ``"C"`` collation (a database's default
    may order by locale), SQLite's default ``BINARY`` already does."""
    return column.collate("C") if engine.dialect.name == "postgresql" else column


def _compact(part: pd.DataFrame, names: dict[int, str], shared: dict[str, str]) -> pd.DataFrame:
    """A chunk of `account_day_moves`: dates as datetime64, money as float, account names for
    ids, and every string one shared object per distinct value."""
    import numpy as np
    import pandas as pd

    from titans_finance.frame import to_float

    part[d.DATE] = pd.to_datetime(part[d.DATE])
    for column in (d.AMOUNT, d.BALANCE):
        part[column] = to_float(part[column])
    part.insert(1, d.ACCOUNT, part.pop("account_id").map(names).astype(object))
    for column in (d.ACCOUNT, d.MERCHANT, d.DESCRIPTION, d.CATEGORY):
        codes, uniques = pd.factorize(part[column].to_numpy(dtype=object))
        table = np.array(
            [shared.setdefault(str(u), str(u)) for u in uniques] + [None], dtype=object
        )
        part[column] = table[codes]  # code -1 (missing) takes the trailing None
    return part


__all__ = [
    "account_day_moves",
    "account_rows",
    "balance_moves",
    "daily_groups",
    "merchant_spending",
]

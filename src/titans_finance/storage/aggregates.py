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

#: Columns of `daily_groups` besides its keys (Date, Category, Currency, transfer).
GROUP_SUMS = ("income", "expenses", "count", "spend_count")


def _is_transfer() -> Any:
    return Transaction.type == d.TransactionType.TRANSFER.value  # type is NOT NULL


def _frame(stmt: Select[Any], engine: Engine, money: tuple[str, ...]) -> pd.DataFrame:
    import pandas as pd

    from titans_finance.frame import to_float

    with engine.connect() as conn:
        result = conn.execute(stmt)
        frame = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    for column in money:
        frame[column] = to_float(frame[column])
    return frame


def _joined(*columns: Any) -> Select[Any]:
    stmt: Select[Any] = select(*columns).join(Account, Account.id == Transaction.account_id)
    return stmt


def daily_groups(engine: Engine, flt: TransactionFilter | None = None) -> pd.DataFrame:
    """Per day x category x currency x transfer flag: income, expenses (positive), the row count
    and the count of spending rows, for `insights.month_groups`.  Category and currency stay
    as stored (None included)."""
    amount = Transaction.amount
    transfer = _is_transfer().label("transfer")
    keys = (Transaction.date, Transaction.category, Transaction.currency, transfer)
    stmt = _joined(
        Transaction.date.label(d.DATE),
        Transaction.category.label(d.CATEGORY),
        Transaction.currency.label(d.CURRENCY),
        transfer,
        func.sum(case((amount > 0, amount), else_=0)).label("income"),
        func.sum(case((amount < 0, -amount), else_=0)).label("expenses"),
        func.count().label("count"),
        func.sum(case((amount < 0, 1), else_=0)).label("spend_count"),
    )
    stmt = apply_filter(stmt, flt or TransactionFilter()).group_by(*keys)
    frame = _frame(stmt, engine, ("income", "expenses"))
    frame["transfer"] = frame["transfer"].astype(bool)
    return frame


def merchant_spending(engine: Engine, flt: TransactionFilter | None = None) -> pd.DataFrame:
    """Spending (positive) per category x merchant (the description when no merchant), transfers
    left out, for `insights.top_merchants`."""
    merchant = func.coalesce(Transaction.merchant, Transaction.description)
    stmt = _joined(
        Transaction.category.label(d.CATEGORY),
        merchant.label(d.MERCHANT),
        func.sum(-Transaction.amount).label("spent"),
    ).where(Transaction.amount < 0, ~_is_transfer())
    stmt = apply_filter(stmt, flt or TransactionFilter()).group_by(Transaction.category, merchant)
    return _frame(stmt, engine, ("spent",))


def balance_moves(engine: Engine, flt: TransactionFilter | None = None) -> dict[str, Any]:
    """What the balance chart needs: ``reported`` (more than half the rows carry a balance),
    then either ``balances`` (the last reported balance per account and day: Account, Date,
    Balance) or ``net`` (the net of non-transfers per day: Date, Amount)."""
    flt = flt or TransactionFilter()
    with engine.connect() as conn:
        counted = apply_filter(_joined(func.count(Transaction.balance), func.count()), flt)
        with_balance, rows = conn.execute(counted).one()
    reported = rows > 0 and with_balance / rows > 0.5
    if reported:
        last = apply_filter(
            _joined(func.max(Transaction.id)).where(Transaction.balance.is_not(None)), flt
        ).group_by(Transaction.account_id, Transaction.date)
        stmt = _joined(
            Account.name.label(d.ACCOUNT),
            Transaction.date.label(d.DATE),
            Transaction.balance.label(d.BALANCE),
        ).where(Transaction.id.in_(last))
        return {"reported": True, "balances": _frame(stmt, engine, (d.BALANCE,))}
    net = apply_filter(
        _joined(Transaction.date.label(d.DATE), func.sum(Transaction.amount).label(d.AMOUNT)),
        flt,
    ).where(~_is_transfer())
    return {
        "reported": False,
        "net": _frame(net.group_by(Transaction.date), engine, (d.AMOUNT,)),
    }


__all__ = ["GROUP_SUMS", "balance_moves", "daily_groups", "merchant_spending"]

"""Spending insights, computed one way from a canonical transaction frame or from the store's
GROUP BY reads (`storage.aggregates`).

The summary is computed from month groups, whether a frame's (`transaction_groups`) or the
store's (`storage.aggregates.daily_groups`), so the API's ``/insights`` routes and the
dashboard show the same numbers whichever way they read; the merchant and balance figures
are computed from the store's groups (`top_merchants`, `balance_points`), and `budget_status`
still works on rows.  Only `overview` reads the store.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from titans_finance import domain as d
from titans_finance.domain import TransactionFilter

if TYPE_CHECKING:
    from sqlalchemy import Engine

UNCATEGORISED = "Uncategorized"


def _spending_frame(frame: pd.DataFrame, exclude_categories: Sequence[str]) -> pd.DataFrame:
    """Rows that count as income or spending: no transfers, no excluded categories."""
    if frame.empty:
        return pd.DataFrame(
            {d.DATE: pd.Series(dtype="datetime64[ns]"), d.AMOUNT: pd.Series(dtype=float)}
        ).assign(**{d.CATEGORY: pd.Series(dtype=object), d.TYPE: pd.Series(dtype=object)})
    work = pd.DataFrame(
        {
            d.DATE: pd.to_datetime(frame[d.DATE]),
            d.AMOUNT: pd.to_numeric(frame[d.AMOUNT], errors="coerce").astype(float),
            d.CATEGORY: (
                frame[d.CATEGORY].fillna(UNCATEGORISED).astype(str)
                if d.CATEGORY in frame
                else UNCATEGORISED
            ),
            d.TYPE: frame[d.TYPE].astype(str) if d.TYPE in frame else "",
        },
        index=frame.index,
    )
    keep = work[d.AMOUNT].notna() & (work[d.TYPE] != d.TransactionType.TRANSFER.value)
    if exclude_categories:
        keep &= ~work[d.CATEGORY].isin(list(exclude_categories))
    return work.loc[keep]


def _round(value: float) -> float:
    return float(round(value, 2))


#: Keys of `month_groups`; its other columns are first, last and `_SUMS`.
GROUP_KEYS = ["month", d.CATEGORY, d.CURRENCY, "transfer"]
_SUMS = ["income", "expenses", "count", "spend_count"]


def transaction_groups(frame: pd.DataFrame) -> pd.DataFrame:
    """One group per transaction, in the columns of `storage.aggregates.daily_groups` (Date,
    Category, Currency, transfer, income, expenses, count, spend_count); rows whose Amount is
    not a number are left out."""
    amounts = pd.to_numeric(frame.get(d.AMOUNT, pd.Series(dtype=float)), errors="coerce")
    kept = frame.loc[amounts.notna()] if len(frame) else pd.DataFrame(columns=[d.DATE])
    amounts = amounts.astype(float).loc[kept.index]
    return pd.DataFrame(
        {
            d.DATE: pd.to_datetime(kept[d.DATE]),
            d.CATEGORY: kept.get(d.CATEGORY),
            d.CURRENCY: kept.get(d.CURRENCY),
            "transfer": (
                kept[d.TYPE].astype(str) == d.TransactionType.TRANSFER.value
                if d.TYPE in kept
                else False
            ),
            "income": amounts.clip(lower=0),
            "expenses": (-amounts).clip(lower=0),
            "count": 1,
            "spend_count": (amounts < 0).astype(int),
        },
        index=kept.index,
    )


def month_keys(dates: pd.Series) -> pd.Series:
    """'YYYY-MM' of each date, formatting only the distinct months (fast on 100k rows)."""
    months = pd.to_datetime(dates).to_numpy().astype("datetime64[M]")
    uniques, inverse = np.unique(months, return_inverse=True)
    labels = np.array([str(u)[:7] for u in uniques], dtype=object)
    return pd.Series(labels[inverse.reshape(-1)], index=dates.index, dtype=object)


def month_groups(groups: pd.DataFrame) -> pd.DataFrame:
    """Groups of any finer grain (a day, a transaction) summed per month ('YYYY-MM') x category
    x currency x transfer, with each group's first and last date."""
    dates = pd.to_datetime(groups[d.DATE])
    work = groups.assign(month=month_keys(dates), first=dates, last=dates)
    out = (
        work.groupby(GROUP_KEYS, dropna=False, sort=True)
        .agg(
            first=("first", "min"),
            last=("last", "max"),
            **{column: (column, "sum") for column in _SUMS},
        )
        .reset_index()
    )
    return out.astype({"transfer": bool, "count": int, "spend_count": int})


def summary_of_groups(
    groups: pd.DataFrame,
    *,
    exclude_categories: Sequence[str] = (),
    top_categories: int | None = None,
) -> dict[str, Any]:
    """Income, expenses, net, savings rate, spending by category and a monthly breakdown.

    ``groups`` is a `month_groups` frame.  Transfers and ``exclude_categories`` (e.g.
    credit-card payments that mirror spending already counted) are left out.  Expenses are
    reported as positive numbers.  ``savings_rate`` is ``net / income`` (``None`` without
    income).
    """
    if groups.empty:  # e.g. the API's empty list of groups: no columns at all
        groups = pd.DataFrame(columns=[*GROUP_KEYS, "first", "last", *_SUMS])
    work = groups.loc[~groups["transfer"].astype(bool)]
    work = work.assign(**{d.CATEGORY: work[d.CATEGORY].fillna(UNCATEGORISED).astype(str)})
    if exclude_categories:
        work = work.loc[~work[d.CATEGORY].isin(list(exclude_categories))]
    income = float(work["income"].sum())
    expenses = float(work["expenses"].sum())
    net = income - expenses

    by_category_frame = (
        work.loc[work["spend_count"] > 0]
        .groupby(d.CATEGORY)[["expenses", "spend_count"]]
        .sum()
        .sort_values("expenses", ascending=False, kind="stable")
    )
    if top_categories is not None:
        by_category_frame = by_category_frame.head(top_categories)
    by_category = [
        {
            "category": str(category),
            "amount": _round(row.expenses),
            "count": int(row.spend_count),
            "share": _round(row.expenses / expenses) if expenses else 0.0,
        }
        for category, row in by_category_frame.iterrows()
    ]
    monthly = work.groupby("month")[["income", "expenses"]].sum().sort_index()
    by_month = [
        {
            "month": str(month),
            "income": _round(row.income),
            "expenses": _round(row.expenses),
            "net": _round(row.income - row.expenses),
        }
        for month, row in monthly.iterrows()
    ]
    rows = int(work["count"].sum())
    return {
        "transactions": rows,
        "date_from": pd.Timestamp(work["first"].min()).date().isoformat() if rows else None,
        "date_to": pd.Timestamp(work["last"].max()).date().isoformat() if rows else None,
        "income": _round(income),
        "expenses": _round(expenses),
        "net": _round(net),
        "savings_rate": _round(net / income) if income > 0 else None,
        "by_category": by_category,
        "by_month": by_month,
    }


def summarize(
    frame: pd.DataFrame,
    *,
    exclude_categories: Sequence[str] = (),
    top_categories: int | None = None,
) -> dict[str, Any]:
    """`summary_of_groups` of a canonical frame (signed ``Amount``: negative = money out;
    transfers are ``Type == "Transfer"``)."""
    return summary_of_groups(
        month_groups(transaction_groups(frame)),
        exclude_categories=exclude_categories,
        top_categories=top_categories,
    )


def budget_status(
    frame: pd.DataFrame,
    budgets: pd.DataFrame,
    month: str,
    *,
    exclude_categories: Sequence[str] = (),
) -> pd.DataFrame:
    """Spending against budget per category for one month ('YYYY-MM').

    ``budgets`` has columns category, month (None = every month), amount; a month-specific
    budget overrides the every-month one.  Returns category, budget, spent, remaining, used
    (spent / budget) sorted by ``used`` descending.
    """
    columns = ["category", "budget", "spent", "remaining", "used"]
    if budgets.empty:
        return pd.DataFrame(columns=columns)
    applicable = budgets.loc[budgets["month"].isna() | (budgets["month"] == month)].copy()
    applicable["_specific"] = applicable["month"].notna()
    applicable = applicable.sort_values("_specific").drop_duplicates("category", keep="last")
    work = _spending_frame(frame, exclude_categories)
    in_month = work.loc[work[d.DATE].dt.to_period("M") == pd.Period(month, freq="M")]
    spent = (-in_month.loc[in_month[d.AMOUNT] < 0].groupby(d.CATEGORY)[d.AMOUNT].sum()).rename(
        "spent"
    )
    out = applicable[["category", "amount"]].rename(columns={"amount": "budget"})
    out = out.merge(spent, left_on="category", right_index=True, how="left")
    out["spent"] = out["spent"].fillna(0.0)
    out["remaining"] = out["budget"] - out["spent"]
    out["used"] = np.where(
        out["budget"] > 0, out["spent"] / out["budget"].where(out["budget"] > 0), np.nan
    )
    return out[columns].sort_values("used", ascending=False).reset_index(drop=True)


def top_merchants(spending: pd.DataFrame, per_category: int = 8) -> pd.DataFrame:
    """Category, Merchant, spent of a `storage.aggregates.merchant_spending` frame with each
    category's smallest
    merchants beyond the ``per_category`` largest folded into "other merchants"."""
    table = spending.assign(
        **{
            d.CATEGORY: spending[d.CATEGORY].fillna(UNCATEGORISED).astype(str),
            d.MERCHANT: spending[d.MERCHANT].astype(str),
        }
    )
    table = table.groupby([d.CATEGORY, d.MERCHANT])["spent"].sum().reset_index()
    table = table.sort_values(["spent", d.MERCHANT], ascending=[False, True], kind="stable")
    rank = table.groupby(d.CATEGORY).cumcount()
    table.loc[rank >= per_category, d.MERCHANT] = "other merchants"
    return table.groupby([d.CATEGORY, d.MERCHANT])["spent"].sum().reset_index()


def balance_points(moves: dict[str, Any]) -> dict[str, Any]:
    """The balance chart's series from `balance_moves`: the reported balances of every account
    (each carried forward to the days it has none) summed per day, else the cumulative net.
    ``{"reported": bool, "points": [{"date": "YYYY-MM-DD", "value": float}, ...]}``."""
    if moves["reported"]:
        balances = moves["balances"].assign(**{d.DATE: lambda t: pd.to_datetime(t[d.DATE])})
        wide = balances.pivot_table(
            index=d.DATE, columns=d.ACCOUNT, values=d.BALANCE, aggfunc="last"
        )
        series = wide.sort_index().ffill().sum(axis=1)
    else:
        net = moves["net"].assign(**{d.DATE: lambda t: pd.to_datetime(t[d.DATE])})
        series = net.groupby(d.DATE)[d.AMOUNT].sum().sort_index().cumsum()
    return {
        "reported": bool(moves["reported"]),
        "points": [
            {"date": pd.Timestamp(day).date().isoformat(), "value": float(value)}
            for day, value in series.items()
        ],
    }


def categories_of_groups(groups: pd.DataFrame) -> list[str]:
    """Sorted distinct non-empty categories of `month_groups` (transfers included)."""
    return sorted({str(c) for c in groups[d.CATEGORY].dropna() if str(c).strip()})


def currency_of_groups(groups: pd.DataFrame) -> str:
    """The most common currency of the grouped rows (the first in order on a tie; USD when
    none is known)."""
    counts = groups.dropna(subset=[d.CURRENCY]).groupby(d.CURRENCY)["count"].sum()
    if counts.empty:
        return "USD"
    return str(counts[counts == counts.max()].index.min())


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-ready rows: dates as ISO text, missing values as None."""
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[column]):
            out[column] = out[column].dt.strftime("%Y-%m-%d")
        elif out[column].dtype == object:
            out[column] = out[column].map(lambda v: v.isoformat() if hasattr(v, "isoformat") else v)
    rows = out.astype(object).where(out.notna(), None).to_dict("records")
    return [{str(key): value for key, value in row.items()} for row in rows]


def overview(
    engine: Engine, flt: TransactionFilter | None = None, *, recent: int = 15
) -> dict[str, Any]:
    """What the dashboard's Overview shows, from GROUP BY queries (no full read of the store):
    ``rows``, ``currency``, ``categories``, ``groups`` (`month_groups` records, for
    `summary_of_groups` with any exclusions), ``merchants`` (`top_merchants` records),
    ``balance`` (`balance_points`) and the ``recent`` latest transactions."""
    from titans_finance.storage import aggregates, repository

    flt = flt or TransactionFilter()
    groups = month_groups(aggregates.daily_groups(engine, flt))
    latest = repository.load_transactions(
        engine, dataclasses.replace(flt, sort="date", descending=True, limit=recent, offset=0)
    )
    return {
        "rows": int(groups["count"].sum()),
        "currency": currency_of_groups(groups),
        "categories": categories_of_groups(groups),
        "groups": _records(groups),
        "merchants": _records(top_merchants(aggregates.merchant_spending(engine, flt))),
        "balance": balance_points(aggregates.balance_moves(engine, flt)),
        "recent": _records(latest[RECENT_COLUMNS]),
    }


#: The columns of the Overview's latest transactions.
RECENT_COLUMNS = [d.DATE, d.DESCRIPTION, d.CATEGORY, d.ACCOUNT, d.AMOUNT]

__all__ = [
    "GROUP_KEYS",
    "RECENT_COLUMNS",
    "UNCATEGORISED",
    "balance_points",
    "budget_status",
    "categories_of_groups",
    "currency_of_groups",
    "month_groups",
    "month_keys",
    "overview",
    "summarize",
    "summary_of_groups",
    "top_merchants",
    "transaction_groups",
]

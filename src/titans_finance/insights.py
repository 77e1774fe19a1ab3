"""Spending insights computed from a canonical transaction frame (pure pandas, no I/O).

The API's ``/insights/summary`` and the dashboard both call these functions, so the figures a
user sees are computed once, one way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from titans_finance import domain as d

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


def summarize(
    frame: pd.DataFrame,
    *,
    exclude_categories: Sequence[str] = (),
    top_categories: int | None = None,
) -> dict[str, Any]:
    """Income, expenses, net, savings rate, spending by category and a monthly breakdown.

    ``frame`` is canonical (signed ``Amount``: negative = money out).  Transfers
    (``Type == "Transfer"``) and ``exclude_categories`` (e.g. credit-card payments that mirror
    spending already counted) are left out.  Expenses are reported as positive numbers.
    ``savings_rate`` is ``net / income`` (``None`` without income).
    """
    work = _spending_frame(frame, exclude_categories)
    amounts = work[d.AMOUNT]
    income = float(amounts[amounts > 0].sum())
    expenses = float(-amounts[amounts < 0].sum())
    net = income - expenses

    spend = work.loc[amounts < 0]
    by_category_frame = (
        spend.groupby(d.CATEGORY)[d.AMOUNT]
        .agg(["sum", "count"])
        .rename(columns={"sum": "amount", "count": "count"})
    )
    by_category_frame["amount"] = -by_category_frame["amount"]
    by_category_frame = by_category_frame.sort_values("amount", ascending=False)
    if top_categories is not None:
        by_category_frame = by_category_frame.head(top_categories)
    by_category = [
        {
            "category": str(category),
            "amount": _round(row["amount"]),
            "count": int(row["count"]),
            "share": _round(row["amount"] / expenses) if expenses else 0.0,
        }
        for category, row in by_category_frame.iterrows()
    ]

    monthly = monthly_totals(work)
    by_month = [
        {
            "month": str(month),
            "income": _round(row.income),
            "expenses": _round(row.expenses),
            "net": _round(row.net),
        }
        for month, row in monthly.iterrows()
    ]
    dates = work[d.DATE]
    return {
        "transactions": len(work),
        "date_from": dates.min().date().isoformat() if len(work) else None,
        "date_to": dates.max().date().isoformat() if len(work) else None,
        "income": _round(income),
        "expenses": _round(expenses),
        "net": _round(net),
        "savings_rate": _round(net / income) if income > 0 else None,
        "by_category": by_category,
        "by_month": by_month,
    }


def monthly_totals(frame: pd.DataFrame) -> pd.DataFrame:
    """Income, expenses (positive) and net per calendar month, indexed by 'YYYY-MM'."""
    if frame.empty:
        return pd.DataFrame(columns=["income", "expenses", "net"], dtype=float)
    amounts = pd.to_numeric(frame[d.AMOUNT], errors="coerce").astype(float)
    month = pd.to_datetime(frame[d.DATE]).dt.to_period("M")
    table = pd.DataFrame(
        {
            "month": month,
            "income": amounts.clip(lower=0),
            "expenses": (-amounts).clip(lower=0),
        }
    )
    out = table.groupby("month")[["income", "expenses"]].sum().sort_index()
    out.index = pd.Index(out.index.astype(str), name="month")  # 'YYYY-MM', once per month
    out["net"] = out["income"] - out["expenses"]
    return out


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


__all__ = ["UNCATEGORISED", "budget_status", "monthly_totals", "summarize"]

"""Spending insights over stored transactions."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query

from titans_finance import insights
from titans_finance.api.deps import EngineDep, ReadDep
from titans_finance.domain import TransactionFilter
from titans_finance.storage import aggregates

router = APIRouter(prefix="/insights", tags=["insights"])


@router.get("/summary", summary="Income, spending and savings")
def summary(
    engine: EngineDep,
    principal: ReadDep,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    account: Annotated[list[str] | None, Query(max_length=50)] = None,
    exclude_category: Annotated[
        list[str] | None,
        Query(max_length=50, description="Categories to leave out, e.g. Credit Card Payment"),
    ] = None,
    top_categories: Annotated[int | None, Query(ge=1, le=200)] = None,
) -> dict[str, Any]:
    """Income, expenses, net, savings rate, spending by category and by month."""
    flt = TransactionFilter(
        date_from=date_from, date_to=date_to, accounts=principal.accounts_filter(account)
    )
    result = insights.summary_of_groups(
        insights.month_groups(aggregates.daily_groups(engine, flt)),
        exclude_categories=exclude_category or (),
        top_categories=top_categories,
    )
    return {"success": True, **result}


@router.get("/overview", summary="The dashboard's Overview figures")
def overview(
    engine: EngineDep,
    principal: ReadDep,
    account: Annotated[list[str] | None, Query(max_length=50)] = None,
) -> dict[str, Any]:
    """Row count, main currency, categories, monthly groups, top merchants, balance trend and
    the latest transactions, from GROUP BY queries."""
    flt = TransactionFilter(accounts=principal.accounts_filter(account))
    return {"success": True, **insights.overview(engine, flt)}


__all__ = ["router"]

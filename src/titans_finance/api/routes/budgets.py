"""Monthly budgets per category, with spending against them."""

from __future__ import annotations

from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Query

from titans_finance import insights
from titans_finance.api import schemas as s
from titans_finance.api.deps import EngineDep, ReadDep, WriteDep
from titans_finance.auth import store
from titans_finance.serving import frame_records
from titans_finance.storage import repository

router = APIRouter(prefix="/budgets", tags=["budgets"])

Month = Annotated[str | None, Query(pattern=s.MONTH_PATTERN, examples=["2024-03"])]


@router.get("", response_model=s.BudgetList, summary="List budgets")
def list_budgets(engine: EngineDep, principal: ReadDep, month: Month = None) -> Any:
    """Budgets; with ``month`` ('YYYY-MM'), the budget applying that month and the spending.

    Budgets are household-wide; the spending counts only the caller's accounts.
    """
    budgets = repository.list_budgets(engine)
    if month is None:
        return {"success": True, "month": None, "budgets": frame_records(budgets)}
    start = pd.Timestamp(f"{month}-01")
    end = (start + pd.offsets.MonthEnd(0)).date()
    frame = repository.load_transactions(
        engine,
        repository.TransactionFilter(
            date_from=start.date(), date_to=end, accounts=principal.accounts_filter(None)
        ),
    )
    status = insights.budget_status(frame, budgets, month)
    status = status.rename(columns={"budget": "amount"}).assign(month=month)
    return {"success": True, "month": month, "budgets": frame_records(status)}


@router.put("", response_model=s.BudgetList, summary="Create or replace a budget")
def set_budget(body: s.BudgetSet, engine: EngineDep, principal: WriteDep) -> Any:
    """Set the budget of a category (for one month, or every month when ``month`` is omitted)."""
    principal.require_unrestricted("a budget")
    repository.set_budget(engine, body.category, body.amount, body.month)
    store.record_audit(
        engine,
        actor=principal.actor,
        action="budget.set",
        target=body.category,
        detail={"category": body.category, "amount": str(body.amount), "month": body.month},
    )
    return {
        "success": True,
        "month": body.month,
        "budgets": frame_records(repository.list_budgets(engine)),
    }


__all__ = ["router"]

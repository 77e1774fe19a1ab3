"""Recurring payments and income found by the recurring model."""

from __future__ import annotations

from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Query

from titans_finance import domain as d
from titans_finance.api.deps import ReadDep, StateDep
from titans_finance.auth.scopes import Principal
from titans_finance.serving import frame_records

router = APIRouter(prefix="/recurring", tags=["recurring"])


def _own(principal: Principal, frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of the caller's accounts (all rows for an unrestricted caller)."""
    if principal.accounts is None or frame.empty:
        return frame
    column = d.ACCOUNT if d.ACCOUNT in frame else "account"
    if column not in frame:
        return frame.iloc[0:0]
    return frame.loc[frame[column].isin(principal.accounts)]


@router.get("", summary="Recurring streams")
def list_recurring(
    state: StateDep,
    principal: ReadDep,
    active_only: bool = False,
    upcoming_days: Annotated[int, Query(ge=0, le=d.MAX_HORIZON_DAYS)] = 0,
) -> dict[str, Any]:
    """Subscriptions, bills and salaries with period, typical amount and next expected date.

    With ``upcoming_days`` > 0, also the expected occurrences in that many days.
    """
    streams = _own(principal, state.models.recurring_streams(active_only=active_only))
    body: dict[str, Any] = {
        "success": True,
        "count": len(streams),
        "streams": frame_records(streams),
        "model_version": state.models.models.version("recurring"),
    }
    if upcoming_days:
        model = state.models.models.get("recurring")
        body["upcoming"] = frame_records(_own(principal, model.upcoming(days=upcoming_days)))
    return body


__all__ = ["router"]

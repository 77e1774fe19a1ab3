"""User categorisation rules (they take precedence over the category model)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, status

from titans_finance import domain as d
from titans_finance.api import schemas as s
from titans_finance.api.deps import EngineDep, StateDep
from titans_finance.storage import repository
from titans_finance.storage.tables import MAX_ID

router = APIRouter(prefix="/rules", tags=["rules"])


def _public(rule: d.CategoryRule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "kind": rule.kind.value,
        "category": rule.category,
        "pattern": rule.pattern,
        "min_amount": rule.min_amount,
        "max_amount": rule.max_amount,
        "account": rule.account,
        "priority": rule.priority,
    }


@router.get("", response_model=s.RuleList, summary="List rules")
def list_rules(engine: EngineDep) -> Any:
    """Every rule, highest priority first."""
    return {"success": True, "rules": [_public(r) for r in repository.list_rules(engine)]}


@router.post(
    "",
    response_model=s.RulePublic,
    status_code=status.HTTP_201_CREATED,
    summary="Add a rule",
)
def create_rule(body: s.RuleCreate, engine: EngineDep, state: StateDep) -> Any:
    """Store a rule; it applies to the next prediction at once."""
    rule = repository.add_rule(
        engine,
        d.CategoryRule(
            kind=body.kind,
            category=body.category,
            pattern=body.pattern,
            min_amount=body.min_amount,
            max_amount=body.max_amount,
            account=body.account,
            priority=body.priority,
        ),
    )
    state.sync_store(force=True)
    return _public(rule)


@router.delete("/{rule_id}", response_model=s.DeletedResponse, summary="Delete a rule")
def delete_rule(
    rule_id: Annotated[int, Path(ge=1, le=MAX_ID)], engine: EngineDep, state: StateDep
) -> Any:
    """Delete a rule (404 when it does not exist)."""
    repository.delete_rule(engine, rule_id)
    state.sync_store(force=True)
    return {"success": True, "id": rule_id}


__all__ = ["router"]

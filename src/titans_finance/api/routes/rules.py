"""User categorisation rules (they take precedence over the category model)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, status

from titans_finance import domain as d
from titans_finance.api import schemas as s
from titans_finance.api.deps import EngineDep, ReadDep, StateDep, WriteDep
from titans_finance.auth import store
from titans_finance.auth.scopes import Principal
from titans_finance.errors import NotFoundError
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
def list_rules(engine: EngineDep, principal: ReadDep) -> Any:
    """Every rule, highest priority first (a caller limited to accounts sees their rules)."""
    rules = [r for r in repository.list_rules(engine) if _visible(principal, r)]
    return {"success": True, "rules": [_public(r) for r in rules]}


def _visible(principal: Principal, rule: d.CategoryRule) -> bool:
    # A rule without an account applies to every account: household-wide, like budgets.
    return principal.accounts is None or rule.account in principal.accounts


@router.post(
    "",
    response_model=s.RulePublic,
    status_code=status.HTTP_201_CREATED,
    summary="Add a rule",
)
def create_rule(body: s.RuleCreate, engine: EngineDep, state: StateDep, principal: WriteDep) -> Any:
    """Store a rule; it applies to the next prediction at once."""
    if body.account is None:
        principal.require_unrestricted("a rule without an account")
    principal.require_account(body.account)
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
    store.record_audit(
        engine,
        actor=principal.actor,
        action="rule.create",
        target=str(rule.id),
        detail=_public(rule),
    )
    state.sync_store(force=True)
    return _public(rule)


@router.delete("/{rule_id}", response_model=s.DeletedResponse, summary="Delete a rule")
def delete_rule(
    rule_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    engine: EngineDep,
    state: StateDep,
    principal: WriteDep,
) -> Any:
    """Delete a rule (404 when it does not exist or is not the caller's to see)."""
    found = next((r for r in repository.list_rules(engine) if r.id == rule_id), None)
    if found is None or not _visible(principal, found):
        raise NotFoundError(f"rule {rule_id} does not exist")
    repository.delete_rule(engine, rule_id)
    store.record_audit(
        engine,
        actor=principal.actor,
        action="rule.delete",
        target=str(rule_id),
        detail=_public(found),
    )
    state.sync_store(force=True)
    return {"success": True, "id": rule_id}


__all__ = ["router"]

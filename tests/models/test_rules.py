"""User rules: vectorised matching, priority, precedence over the model, proposals."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from tests.factories import synthetic_frame

from titans_finance import domain as d
from titans_finance.domain import CategoryRule, RuleKind, rule_from_dict
from titans_finance.models.category import CategoryModel
from titans_finance.models.rules import apply_rules, propose_rules


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            d.DESCRIPTION: ["STARBUCKS #12 SEATTLE", "Shell Oil 5544", "ACME PAYROLL", "rent"],
            d.AMOUNT: [-4.5, -40.0, 3200.0, -1450.0],
            d.ACCOUNT: ["visa", "visa", "checking", "checking"],
            d.MERCHANT: ["Starbucks", "Shell", "Acme", "Landlord"],
        },
        index=[10, 11, 12, 13],
    )


def test_each_kind_matches(frame: pd.DataFrame) -> None:
    cases = {
        CategoryRule(RuleKind.CONTAINS, "Coffee", pattern="starbucks"): [10],
        CategoryRule(RuleKind.REGEX, "Fuel", pattern=r"shell\s+oil \d+"): [11],
        CategoryRule(RuleKind.MERCHANT, "Salary", pattern="ACME"): [12],
        CategoryRule(RuleKind.ACCOUNT, "Checking stuff", pattern="Checking"): [12, 13],
        CategoryRule(
            RuleKind.AMOUNT_RANGE,
            "Big out",
            min_amount=Decimal("-2000"),
            max_amount=Decimal("-100"),
        ): [13],
    }
    for rule, expected in cases.items():
        result = apply_rules(frame, [rule])
        assert list(result.index) == list(frame.index)
        assert list(result[result.notna()].index) == expected, rule
        assert (result.dropna() == rule.category).all()


def test_unmatched_rows_are_nan(frame: pd.DataFrame) -> None:
    result = apply_rules(frame, [CategoryRule(RuleKind.CONTAINS, "X", pattern="nothing-like-it")])
    assert result.isna().all()
    assert apply_rules(frame, []).isna().all()


def test_highest_priority_wins_then_first_listed(frame: pd.DataFrame) -> None:
    low = CategoryRule(RuleKind.ACCOUNT, "Low", pattern="visa", priority=1)
    high = CategoryRule(RuleKind.CONTAINS, "High", pattern="shell", priority=5)
    same_a = CategoryRule(RuleKind.CONTAINS, "A", pattern="starbucks", priority=1)
    result = apply_rules(frame, [low, high, same_a])
    assert result.loc[11] == "High"
    assert result.loc[10] == "Low"  # equal priority: the rule listed first wins


def test_extra_conditions_restrict_any_kind(frame: pd.DataFrame) -> None:
    rule = CategoryRule(
        RuleKind.CONTAINS, "Small coffee", pattern="starbucks", max_amount=Decimal("-10")
    )
    assert apply_rules(frame, [rule]).isna().all()  # -4.5 > -10
    rule = CategoryRule(RuleKind.CONTAINS, "Checking", pattern="r", account="checking")
    assert list(apply_rules(frame, [rule]).dropna().index) == [12, 13]


def test_rules_take_precedence_over_the_model() -> None:
    train = synthetic_frame(200)
    model = CategoryModel().fit(train)
    test = synthetic_frame(40, seed=9)
    rules = [CategoryRule(RuleKind.CONTAINS, "Treats", pattern="starbucks", priority=3)]
    plain = model.predict(test)
    ruled = model.predict_with_rules(test, rules)
    hit = test[d.DESCRIPTION].str.contains("STARBUCKS").to_numpy()
    assert hit.any()
    assert (ruled.loc[hit, "predicted_category"] == "Treats").all()
    assert (ruled.loc[hit, "source"] == "rule").all()
    assert (ruled.loc[hit, "confidence"] == 1.0).all()
    assert (ruled.loc[hit, "confidence_level"] == "VERY_HIGH").all()
    pd.testing.assert_frame_equal(ruled.loc[~hit], plain.loc[~hit])
    assert (ruled.loc[~hit, "source"] == "model").all()


def test_propose_rules_picks_consistent_merchants() -> None:
    frame = pd.DataFrame(
        {
            d.DESCRIPTION: ["Netflix"] * 6 + ["Amazon"] * 6 + ["Rare"] * 2,
            d.CATEGORY: ["Subs"] * 6 + ["Shopping"] * 4 + ["Books"] * 2 + ["X"] * 2,
            d.AMOUNT: np.full(14, -10.0),
        }
    )
    rules = propose_rules(frame, min_support=5, min_precision=0.9)
    assert [(r.kind, r.pattern, r.category) for r in rules] == [
        (RuleKind.MERCHANT, "netflix", "Subs")
    ]
    # a proposed rule matches the rows it was learnt from
    assert (apply_rules(frame, rules).iloc[:6] == "Subs").all()
    assert propose_rules(frame.drop(columns=[d.CATEGORY])) == []


def test_rule_from_dict() -> None:
    rule = rule_from_dict({"kind": "amount_range", "category": "Big", "min_amount": "100"})
    assert rule.kind is RuleKind.AMOUNT_RANGE and rule.min_amount == Decimal("100")

"""Issue 15 finding 1 (ReDoS): rule regexes run on RE2, linear in the text; patterns RE2 cannot
run in linear time are refused when the rule is created."""

from __future__ import annotations

import pandas as pd
import pytest

from titans_finance import domain as d
from titans_finance.errors import ValidationError
from titans_finance.models.rules import apply_rules
from titans_finance.patterns import MAX_PATTERN_LENGTH, compile_rule_regex


def test_catastrophic_pattern_runs_in_linear_time() -> None:
    # With Python's re this search takes ~2**n steps: n=27 blocked a server for 11 s.
    compiled = compile_rule_regex("^(a+)+$")
    assert compiled.search("a" * 50_000 + "!") is None
    assert compiled.search("a" * 50_000) is not None


@pytest.mark.parametrize(
    ("pattern", "needle"),
    [
        (r"(a)\1", "backreferences"),
        (r"(?=pay)pay", "lookaround"),
        (r"(?<!x)y", "lookaround"),
        ("[", "missing ]"),
        ("x" * (MAX_PATTERN_LENGTH + 1), "at most"),
    ],
)
def test_unsupported_patterns_are_refused(pattern: str, needle: str) -> None:
    with pytest.raises(ValidationError, match=needle):
        compile_rule_regex(pattern)


def test_regex_rules_match_case_insensitively_over_distinct_texts() -> None:
    frame = pd.DataFrame(
        {d.DESCRIPTION: ["STARBUCKS 12", "starbucks 9", "Shell", "STARBUCKS 12", None]}
    )
    rule = d.CategoryRule(kind=d.RuleKind.REGEX, pattern=r"^star\w+ \d+$", category="Coffee")
    result = apply_rules(frame, [rule])
    assert result.notna().tolist() == [True, True, False, True, False]
    assert set(result.dropna()) == {"Coffee"}


def test_a_stored_pattern_re2_refuses_matches_nothing() -> None:
    frame = pd.DataFrame({d.DESCRIPTION: ["aa", "ab"]})
    rule = d.CategoryRule(kind=d.RuleKind.REGEX, pattern=r"(a)\1", category="Twice")
    assert apply_rules(frame, [rule]).isna().all()

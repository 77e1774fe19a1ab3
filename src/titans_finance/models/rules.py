"""User categorisation rules: vectorised matching and rule proposals from labelled history."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from titans_finance import domain as d
from titans_finance.errors import ValidationError
from titans_finance.features.text import merchant_key_of
from titans_finance.frame import amount_column, text_column
from titans_finance.patterns import compile_rule_regex

logger = logging.getLogger(__name__)


def _regex_mask(text: pd.Series, pattern: str) -> np.ndarray:
    """Rows whose text RE2 ``pattern`` is found in (each distinct text searched once)."""
    try:
        compiled = compile_rule_regex(pattern)
    except ValidationError as exc:  # stored before RE2 was required: it matches nothing
        logger.warning("regex rule skipped: %s", exc.message)
        return np.zeros(len(text), dtype=bool)
    codes, uniques = pd.factorize(text.to_numpy(dtype=object))
    hits = np.fromiter(
        (compiled.search(str(value)) is not None for value in uniques), bool, len(uniques)
    )
    return np.where(codes >= 0, hits[codes], False)


def rule_mask(frame: pd.DataFrame, rule: d.CategoryRule) -> np.ndarray:
    """Boolean mask of the rows ``rule`` matches (every given condition must hold)."""
    kind = d.RuleKind(rule.kind)
    mask = np.ones(len(frame), dtype=bool)
    if kind is d.RuleKind.CONTAINS:
        text = text_column(frame, d.DESCRIPTION).str.lower()
        mask &= text.str.contains(rule.pattern.lower(), regex=False).to_numpy(bool)
    elif kind is d.RuleKind.REGEX:
        mask &= _regex_mask(text_column(frame, d.DESCRIPTION), rule.pattern)
    elif kind is d.RuleKind.MERCHANT:
        wanted = rule.pattern.strip().lower()
        keys = merchant_key_of(frame).str.lower()
        mask &= (keys == wanted).to_numpy(bool)
    elif kind is d.RuleKind.ACCOUNT:
        accounts = text_column(frame, d.ACCOUNT).str.strip().str.lower()
        mask &= (accounts == rule.pattern.strip().lower()).to_numpy(bool)
    if rule.min_amount is not None or rule.max_amount is not None:
        amount = amount_column(frame)
        if rule.min_amount is not None:
            mask &= amount >= float(rule.min_amount)
        if rule.max_amount is not None:
            mask &= amount <= float(rule.max_amount)
    if rule.account is not None and kind is not d.RuleKind.ACCOUNT:
        accounts = text_column(frame, d.ACCOUNT).str.strip().str.lower()
        mask &= (accounts == rule.account.strip().lower()).to_numpy(bool)
    return mask


def apply_rules(frame: pd.DataFrame, rules: Sequence[d.CategoryRule]) -> pd.Series:
    """The category each row gets from ``rules`` (NaN where none matched), on ``frame``'s index.

    Highest ``priority`` wins; among equal priorities the rule listed first wins.  Each rule is
    one vectorised match over the whole frame.
    """
    result = np.full(len(frame), np.nan, dtype=object)
    decided = np.zeros(len(frame), dtype=bool)
    ordered = sorted(enumerate(rules), key=lambda item: (-item[1].priority, item[0]))
    for _, rule in ordered:
        if decided.all():
            break
        mask = rule_mask(frame, rule) & ~decided
        result[mask] = rule.category
        decided |= mask
    return pd.Series(result, index=frame.index, dtype=object, name="rule_category")


def propose_rules(
    frame: pd.DataFrame, min_support: int = 5, min_precision: float = 0.95, priority: int = 0
) -> list[d.CategoryRule]:
    """Merchant rules for merchants whose labelled history is large and consistent.

    A merchant qualifies when it has at least ``min_support`` labelled rows and its most common
    category covers at least ``min_precision`` of them.  Strongest support first.
    """
    if d.CATEGORY not in frame:
        return []
    labels = frame[d.CATEGORY]
    labelled = labels.notna() & labels.astype(str).str.strip().ne("")
    if not labelled.any():
        return []
    data = pd.DataFrame(
        {
            "merchant": merchant_key_of(frame.loc[labelled]).to_numpy(),
            "category": labels[labelled].astype(str).to_numpy(),
        }
    )
    data = data[data["merchant"] != ""]
    counts = data.groupby(["merchant", "category"]).size().rename("n").reset_index()
    totals = counts.groupby("merchant")["n"].transform("sum")
    counts["precision"] = counts["n"] / totals
    counts["support"] = totals
    best = counts.sort_values(["merchant", "n"], ascending=[True, False]).drop_duplicates(
        "merchant"
    )
    chosen = best[(best["support"] >= min_support) & (best["precision"] >= min_precision)]
    chosen = chosen.sort_values(["support", "merchant"], ascending=[False, True])
    return [
        d.CategoryRule(kind=d.RuleKind.MERCHANT, category=str(c), pattern=str(m), priority=priority)
        for m, c in zip(chosen["merchant"], chosen["category"], strict=True)
    ]


__all__ = ["apply_rules", "propose_rules", "rule_mask"]

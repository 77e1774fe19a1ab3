"""Spending insights: pure pandas, checked against hand-computed figures and the real export."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from tests.factories import canonical_frame

from titans_finance import insights
from titans_finance.ingest.pipeline import load_frame, to_model_frame


def _frame(rows: list[tuple[str, float, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Date": pd.to_datetime([r[0] for r in rows]),
            "Amount": [r[1] for r in rows],
            "Category": [r[2] for r in rows],
            "Type": [r[3] for r in rows],
        }
    )


HAND = _frame(
    [
        ("2024-01-05", 1000.0, "Salary", "Income"),
        ("2024-01-06", -200.0, "Rent", "Expense"),
        ("2024-01-20", -50.0, "Food", "Expense"),
        ("2024-02-05", 1000.0, "Salary", "Income"),
        ("2024-02-10", -110.0, "Food", "Expense"),
        ("2024-02-11", -500.0, "Savings", "Transfer"),
        ("2024-02-12", -40.0, None, "Expense"),  # type: ignore[list-item]
    ]
)


def test_summary_by_hand() -> None:
    result = insights.summarize(HAND)
    assert result["income"] == 2000.0
    assert result["expenses"] == 400.0  # transfers are not spending
    assert result["net"] == 1600.0
    assert result["savings_rate"] == 0.8
    assert result["transactions"] == 6
    assert result["date_from"] == "2024-01-05" and result["date_to"] == "2024-02-12"
    by_category = {c["category"]: c for c in result["by_category"]}
    assert by_category["Rent"]["amount"] == 200.0 and by_category["Food"]["count"] == 2
    assert by_category["Food"]["share"] == pytest.approx(0.4)
    assert insights.UNCATEGORISED in by_category
    assert result["by_category"][0]["category"] == "Rent"
    assert result["by_month"] == [
        {"month": "2024-01", "income": 1000.0, "expenses": 250.0, "net": 750.0},
        {"month": "2024-02", "income": 1000.0, "expenses": 150.0, "net": 850.0},
    ]


def test_excluded_categories_and_top() -> None:
    result = insights.summarize(HAND, exclude_categories=["Rent"], top_categories=1)
    assert result["expenses"] == 200.0
    assert [c["category"] for c in result["by_category"]] == ["Food"]


def test_empty_frame() -> None:
    result = insights.summarize(HAND.iloc[:0])
    assert result["income"] == 0 and result["savings_rate"] is None
    assert result["by_category"] == [] and result["by_month"] == []


def test_budget_status_prefers_month_specific_budget() -> None:
    budgets = pd.DataFrame(
        {
            "category": ["Food", "Food", "Rent"],
            "month": [None, "2024-02", None],
            "amount": [100.0, 300.0, 0.0],
        }
    )
    jan = insights.budget_status(HAND, budgets, "2024-01").set_index("category")
    assert jan.loc["Food", "budget"] == 100.0 and jan.loc["Food", "spent"] == 50.0
    assert jan.loc["Food", "used"] == 0.5
    assert pd.isna(jan.loc["Rent", "used"])  # a zero budget has no ratio
    feb = insights.budget_status(HAND, budgets, "2024-02").set_index("category")
    assert feb.loc["Food", "budget"] == 300.0 and feb.loc["Food", "remaining"] == 190.0


def test_factory_frame_totals_match_a_direct_sum() -> None:
    frame = to_model_frame(canonical_frame(120))
    result = insights.summarize(frame)
    amounts = frame["Amount"]
    assert result["income"] == pytest.approx(amounts[amounts > 0].sum(), abs=0.01)
    assert result["expenses"] == pytest.approx(-amounts[amounts < 0].sum(), abs=0.01)
    assert sum(m["net"] for m in result["by_month"]) == pytest.approx(result["net"], abs=0.05)


def test_real_export(shared_data: Path) -> None:
    frame = load_frame(shared_data / "personal-transactions" / "personal_transactions.csv")
    result = insights.summarize(frame, exclude_categories=["Credit Card Payment"])
    assert result["transactions"] < len(frame)
    assert len(result["by_month"]) == 21  # 2018-01 .. 2019-09
    assert result["income"] > 0 and result["expenses"] > 0
    assert {c["category"] for c in result["by_category"]} >= {"Mortgage & Rent", "Groceries"}


def test_no_groups_give_the_empty_summary() -> None:
    # what a client builds from `GET /insights/overview` on an empty store: a frame with no columns
    summary = insights.summary_of_groups(pd.DataFrame([]))
    assert summary["transactions"] == 0
    assert (summary["income"], summary["expenses"], summary["net"]) == (0.0, 0.0, 0.0)
    assert summary["savings_rate"] is None
    assert summary["by_category"] == [] and summary["by_month"] == []

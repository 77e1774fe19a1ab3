"""Pure helpers behind the pages: presets, queues, unusual days, advice, formatting."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from titans_finance import domain as d
from titans_finance import insights
from titans_finance.dashboard import charts, palette
from titans_finance.dashboard.app_pages.anomalies import reasons_text, score_threshold, unusual_days
from titans_finance.dashboard.app_pages.imports import status_table
from titans_finance.dashboard.app_pages.insights import (
    budget_recommendations,
    forecast_figure,
    price_change_text,
)
from titans_finance.dashboard.app_pages.predictions import review_queue
from titans_finance.dashboard.app_pages.transactions import _charts_html, preset_range
from titans_finance.export import export_csv

FIRST, LAST = date(2018, 1, 1), date(2019, 9, 30)


@pytest.mark.parametrize(
    ("preset", "expected"),
    [
        ("All time", (None, None)),
        ("Last 30 days", (date(2019, 8, 31), LAST)),
        ("Last 3 months", (date(2019, 7, 1), LAST)),
        ("Year to date", (date(2019, 1, 1), LAST)),
        ("Last 12 months", (date(2018, 9, 30), LAST)),
    ],
)
def test_presets_count_back_from_the_latest_transaction(
    preset: str, expected: tuple[date | None, date | None]
) -> None:
    assert preset_range(preset, FIRST, LAST) == expected


def test_custom_range_and_clamping() -> None:
    custom = (date(2019, 2, 1), date(2019, 3, 1))
    assert preset_range("Custom range", FIRST, LAST, custom) == custom
    assert preset_range("Custom range", FIRST, LAST) == (FIRST, LAST)
    assert preset_range("Last 12 months", date(2019, 6, 1), LAST)[0] == date(2019, 6, 1)


def test_review_queue_takes_unsure_model_rows_not_rules_nor_reviewed() -> None:
    scored = pd.DataFrame(
        {
            "id": [1, 2, 3, 4, 5],
            d.CATEGORY: ["A", "A", "B", "A", "A"],
            "predicted_category": ["A", "A", "A", "A", "B"],
            "confidence": [0.99, 0.55, 0.97, 0.40, 0.5],
            "confidence_level": ["VERY_HIGH", "LOW", "HIGH", "LOW", "LOW"],
            "source": ["model", "model", "model", "rule", "model"],
        }
    )
    queue = review_queue(scored, reviewed={5})
    assert queue["id"].tolist() == [2, 3]  # least confident first; rule and reviewed rows out


def test_unusual_days_flags_big_and_busy_days() -> None:
    days = pd.date_range("2024-01-01", periods=40, freq="D")
    frame = pd.DataFrame({d.DATE: days.delete([5, 9]), d.AMOUNT: -10.0})
    big = pd.DataFrame({d.DATE: [days[5]], d.AMOUNT: [-5000.0]})
    busy = pd.DataFrame({d.DATE: [days[9]] * 6, d.AMOUNT: [-1.5] * 6})  # many, small in total
    out = unusual_days(pd.concat([frame, big, busy], ignore_index=True))
    assert out.loc[out["large_amount"]].index.tolist() == [days[5]]
    assert out.loc[out["high_activity"]].index.tolist() == [days[9]]


def test_threshold_from_metadata_else_lowest_flagged_score() -> None:
    scored = pd.DataFrame({"anomaly_score": [0.2, 0.7, 0.9], "is_anomaly": [False, True, True]})
    assert score_threshold(scored, [{"model_type": "anomaly", "params": {"threshold": 0.5}}]) == 0.5
    assert score_threshold(scored, []) == 0.7
    assert reasons_text(["big", "new merchant"]) == "big; new merchant"
    assert reasons_text(None) == ""


def test_budget_advice_names_overspending_and_missing_budgets() -> None:
    status = pd.DataFrame(
        {
            "category": ["Food", "Rent"],
            "budget": [100.0, 1000.0],
            "spent": [150.0, 900.0],
            "remaining": [-50.0, 100.0],
            "used": [1.5, 0.9],
        }
    )
    typical = pd.Series({"Rent": 1000.0, "Fun": 300.0, "Food": 120.0})
    advice = budget_recommendations(status, typical, "USD")
    assert advice[0].startswith("**Food** is 50% over budget ($50.00 over)")
    assert advice[1].startswith("**Fun** has no budget") and "$270.00" in advice[1]
    assert len(advice) == 2


def test_price_change_text_speaks_of_the_price_not_the_sign() -> None:
    stream = {
        "merchant": "netflix",
        "period": "monthly",
        "price_change": 2.14,
        "price_change_pct": 0.182,
        "last_amount": -13.90,
    }
    assert price_change_text(stream, "USD") == (
        "**netflix** (monthly) went up by $2.14 (18.2%) to $13.90."
    )


def test_forecast_band_is_labelled_by_coverage() -> None:
    daily = pd.DataFrame(
        {
            "date": pd.date_range("2024-01-01", periods=3),
            "predicted_balance": [10.0, 11.0, 12.0],
            "balance_lower": [9.0, 9.0, 9.0],
            "balance_upper": [11.0, 13.0, 15.0],
        }
    )
    names = [trace.name for trace in forecast_figure(daily, 0.8).data]
    assert "P10–P90 band" in names
    assert "forecast interval band" in [t.name for t in forecast_figure(daily, None).data]


def test_month_keys_match_strftime() -> None:
    dates = pd.Series(pd.to_datetime(["2024-01-31", "2023-12-01", "2024-01-01", "2024-02-29"]))
    assert insights.month_keys(dates).tolist() == dates.dt.strftime("%Y-%m").tolist()


def test_money_and_percent_formats() -> None:
    assert palette.money(1234.5) == "$1,234.50"
    assert palette.money(-12, "EUR") == "-€12.00"
    assert palette.money(3.0, signed=True) == "+$3.00"
    assert palette.money(float("nan")) == "—"
    assert palette.percent(0.1234) == "12.3%"
    assert palette.percent(None) == "—"


def test_status_table_shows_metrics_or_the_reason() -> None:
    table = status_table(
        [
            {"model_type": "category", "trained": True, "version": "v1", "metrics": {"acc": 0.9}},
            {"model_type": "amount", "trained": False, "error": "no trained amount model"},
        ]
    )
    assert table["metrics"].tolist() == ["acc 0.900", "no trained amount model"]
    assert table["trained"].tolist() == [True, False]


def test_exports_escape_formulas_and_bundle_charts() -> None:
    frame = pd.DataFrame({"Description": ["=HYPERLINK(1)", "ok"], "Amount": [-1.0, 2.0]})
    text = export_csv(frame)
    assert "'=HYPERLINK(1)" in text
    figure = charts.amount_distribution(
        pd.DataFrame({d.AMOUNT: np.array([-5.0, 10.0, -20.0]), d.TYPE: ["Expense", "Income", None]})
    )
    html = _charts_html({"Amounts": figure})
    assert html.startswith("<!doctype html>") and "<h2>Amounts</h2>" in html
    assert "plotly" in html.lower()


def test_binned_bars_count_every_value_once_per_group() -> None:
    values = pd.Series([0.05, 0.15, 0.15, 0.95, 0.55])
    groups = pd.Series(["low", "low", "low", "high", "medium"])
    fig = charts.binned_bars(values, groups, np.linspace(0, 1, 11), palette.RISK_COLOURS)
    totals = {trace.name: int(sum(trace.y)) for trace in fig.data}
    assert totals == {"high": 1, "low": 3, "medium": 1}
    low = next(t for t in fig.data if t.name == "low")
    assert list(low.y[:2]) == [1, 2]

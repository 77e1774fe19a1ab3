"""RecurringModel: periods, next dates, stopped streams, price rises, predictions, evaluation."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from tests.factories import berka_slice, household_frame, households

from titans_finance.errors import TrainingDataError, ValidationError
from titans_finance.models.recurring import RecurringModel, add_months


@pytest.fixture(scope="module")
def fitted() -> RecurringModel:
    return RecurringModel().fit(household_frame(months=12))


def _stream(model: RecurringModel, merchant: str) -> pd.Series:
    streams = model.streams()
    rows = streams[streams["merchant"] == merchant]
    assert len(rows) == 1, f"{merchant} not detected: {streams['merchant'].tolist()}"
    return rows.iloc[0]


@pytest.mark.parametrize(
    ("merchant", "period", "typical"),
    [
        ("acme corp", "monthly", 3200.0),
        ("city apartments", "monthly", -1450.0),
        ("netflix", "monthly", -15.99),
        ("whole foods", "weekly", None),
    ],
)
def test_periods_and_typical_amounts(
    fitted: RecurringModel, merchant: str, period: str, typical: float | None
) -> None:
    stream = _stream(fitted, merchant)
    assert stream["period"] == period
    assert stream["active"]
    assert stream["occurrences"] >= 12
    if typical is not None:
        assert stream["typical_amount"] == pytest.approx(typical)
    else:
        assert -95 <= stream["typical_amount"] <= -55
        assert stream["amount_spread"] > 0


def test_random_purchases_are_not_recurring(fitted: RecurringModel) -> None:
    assert "starbucks" not in set(fitted.streams()["merchant"])


def test_next_expected_date_keeps_day_of_month(fitted: RecurringModel) -> None:
    rent = _stream(fitted, "city apartments")
    salary = _stream(fitted, "acme corp")
    assert rent["last_date"] == pd.Timestamp("2024-12-01")
    assert rent["next_expected_date"] == pd.Timestamp("2025-01-01")
    assert salary["next_expected_date"] == pd.Timestamp("2025-01-25")
    groceries = _stream(fitted, "whole foods")
    assert groceries["next_expected_date"] == groceries["last_date"] + pd.Timedelta(days=7)


def test_stopped_stream_is_inactive_and_not_upcoming(fitted: RecurringModel) -> None:
    gym = _stream(fitted, "pure gym")
    assert not gym["active"]
    assert gym["last_date"] == pd.Timestamp("2024-08-05")
    upcoming = fitted.upcoming(days=60)
    assert "pure gym" not in set(upcoming["merchant"])
    assert "pure gym" not in set(fitted.streams(active_only=True)["merchant"])


def test_price_rise_is_reported(fitted: RecurringModel) -> None:
    netflix = _stream(fitted, "netflix")
    assert netflix["price_change"] == pytest.approx(2.0)
    assert netflix["price_change_pct"] == pytest.approx(2.0 / 15.99, rel=1e-3)
    assert _stream(fitted, "city apartments")["price_change"] == 0.0


def test_upcoming_window(fitted: RecurringModel) -> None:
    upcoming = fitted.upcoming(date(2025, 1, 1), 31)
    assert upcoming["date"].between("2025-01-01", "2025-01-31").all()
    counts = upcoming["merchant"].value_counts()
    assert counts["city apartments"] == 1
    assert counts["acme corp"] == 1
    assert counts["whole foods"] in (4, 5)
    with pytest.raises(ValidationError):
        fitted.upcoming(days=0)


def test_month_end_and_leap_days() -> None:
    dates = np.array(["2024-01-31", "2024-01-30", "2023-12-31"], dtype="datetime64[D]")
    moved = add_months(dates, np.array([1, 1, 2]))
    assert moved.tolist() == [date(2024, 2, 29), date(2024, 2, 29), date(2024, 2, 29)]


def test_predict_one_row_per_input_with_streams(fitted: RecurringModel) -> None:
    frame = household_frame(months=12)
    frame["Amount"] = frame["Amount"].map(lambda v: Decimal(str(v)))  # Decimal money is accepted
    result = fitted.predict(frame)
    assert len(result) == len(frame)
    assert list(result.index) == list(frame.index)
    coffee = frame["merchant"] == "Starbucks"
    assert not result.loc[coffee, "is_recurring"].any()
    assert result.loc[coffee, "stream_id"].isna().all()
    rent = frame["merchant"] == "City Apartments"
    assert result.loc[rent, "is_recurring"].all()
    assert (result.loc[rent, "period"] == "monthly").all()
    assert (result.loc[rent, "next_expected_date"] == pd.Timestamp("2025-01-01")).all()
    assert result["model_version"].nunique() == 1


def test_stream_ids_are_stable_across_refits() -> None:
    first = RecurringModel().fit(household_frame(months=10)).streams()
    second = RecurringModel().fit(household_frame(months=12)).streams()
    merged = first.merge(second, on=["account", "merchant", "direction"])
    assert len(merged) >= 4
    assert (merged["stream_id_x"] == merged["stream_id_y"]).all()


def test_accounts_are_separate_streams() -> None:
    model = RecurringModel().fit(households(3, months=6))
    rent = model.streams()[lambda s: s["merchant"] == "city apartments"]
    assert sorted(rent["account"]) == ["acct-0", "acct-1", "acct-2"]
    assert rent["stream_id"].nunique() == 3


def test_without_merchant_column_uses_descriptions() -> None:
    frame = household_frame(months=8).drop(columns=["merchant"])
    streams = RecurringModel().fit(frame).streams()
    assert (streams["period"] == "monthly").sum() >= 3
    assert streams["occurrences"].min() >= 3


def test_evaluate_on_later_hold_out() -> None:
    frame = household_frame(months=16)
    cut = pd.Timestamp("2025-01-01")
    model = RecurringModel().fit(frame[frame["Date"] < cut])
    metrics = model.evaluate(frame[frame["Date"] >= cut])
    # the gym membership stops with the training data: its expected payments are the misses
    assert 0.8 <= metrics["occurrence_precision"] < 1.0
    assert metrics["occurrence_recall"] >= 0.95
    assert metrics["amount_mape"] < 0.15
    precision, recall = metrics["occurrence_precision"], metrics["occurrence_recall"]
    assert metrics["occurrence_f1"] == pytest.approx(2 * precision * recall / (precision + recall))
    assert metrics["expected_occurrences"] > 20


def test_real_berka_slice_finds_monthly_streams() -> None:
    frame = berka_slice(40)
    model = RecurringModel().fit(frame)
    streams = model.streams()
    assert streams["account"].nunique() >= 30
    assert (streams["period"] == "monthly").mean() > 0.9
    interest = streams[streams["merchant"].str.contains("interest")]
    assert len(interest) >= 20
    assert (interest["direction"] == "in").all()
    cut = frame["Date"].quantile(0.75)
    held = RecurringModel().fit(frame[frame["Date"] <= cut])
    metrics = held.evaluate(frame[frame["Date"] > cut])
    assert metrics["occurrence_precision"] > 0.8
    assert metrics["occurrence_recall"] > 0.8


@pytest.mark.parametrize(
    ("frame", "error"),
    [
        (pd.DataFrame(), TrainingDataError),
        (pd.DataFrame({"Date": ["2024-01-01"], "Description": ["x"]}), TrainingDataError),
        (
            pd.DataFrame({"Date": ["not a date"], "Description": ["x"], "Amount": [1.0]}),
            TrainingDataError,
        ),
    ],
)
def test_bad_training_frames(frame: pd.DataFrame, error: type[Exception]) -> None:
    with pytest.raises(error):
        RecurringModel().fit(frame)


def test_two_occurrences_are_not_a_stream() -> None:
    frame = household_frame(months=2)
    model = RecurringModel().fit(frame)
    assert model.streams()["merchant"].tolist() == ["whole foods"]  # weekly: 8 occurrences
    monthly = frame[frame["merchant"].isin(["City Apartments", "Acme Corp", "Netflix"])]
    assert RecurringModel().fit(monthly).streams().empty
    assert RecurringModel().fit(monthly).upcoming(days=30).empty
    assert not model.predict(monthly)["is_recurring"].any()

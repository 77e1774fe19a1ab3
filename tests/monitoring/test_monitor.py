"""Model monitoring on a real store with real models: the prediction log, labels from reviews,
anomaly precision from "this is normal" marks, amount and cash-flow errors, drift."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import Engine, func, select, text, update

from titans_finance import domain as d
from titans_finance.config import Settings
from titans_finance.models.drift import PSI_ALERT
from titans_finance.monitoring import ModelMonitor, build_report, wilson_lower_bound
from titans_finance.storage import predictions as log_store
from titans_finance.storage import repository
from titans_finance.storage.tables import ModelPrediction, Transaction

SETTINGS = Settings(_env_file=None, monitor_interval_seconds=0)  # type: ignore[call-arg]


def _logged(engine: Engine, model: str) -> pd.DataFrame:
    return log_store.load_predictions(engine, model)


def test_wilson_lower_bound_known_values() -> None:
    assert wilson_lower_bound(8, 10) == pytest.approx(0.4902, abs=1e-4)
    assert wilson_lower_bound(45, 50) == pytest.approx(0.7864, abs=1e-4)
    assert wilson_lower_bound(0, 0) is None
    assert wilson_lower_bound(0, 20) == pytest.approx(0.0, abs=1e-12)


def test_first_pass_logs_the_window_once(store: Engine, models: dict[str, Any]) -> None:
    report = build_report(store, models, SETTINGS)
    window = report["window_rows"]
    assert window > 50
    assert report["logged"]["category"] == window
    assert report["logged"]["anomaly"] == window
    assert report["logged"]["amount"] == window  # every window row is after the training data
    assert report["logged"]["cashflow"] == SETTINGS.monitor_forecast_days
    again = build_report(store, models, SETTINGS)
    assert again["logged"] == {}
    with store.connect() as conn:
        rows = conn.execute(select(func.count()).select_from(ModelPrediction)).scalar_one()
    assert rows == 3 * window + SETTINGS.monitor_forecast_days
    category = again["models"]["category"]["quality"]
    assert category["predictions"] == window and category["labels"] == 0
    assert category["labelled_accuracy"] is None
    assert 0.0 < category["estimated_accuracy"] <= 1.0
    assert 0.0 <= category["low_confidence_share"] <= 1.0
    assert 0.0 <= category["unseen_merchant_rate"] < 0.5


def test_labels_are_reviews_made_after_the_prediction(
    store: Engine, models: dict[str, Any]
) -> None:
    # a review before any prediction was logged is not a label of the model
    first_id = int(repository.load_transactions(store)["id"].iloc[-1])
    repository.set_category(store, first_id, "Groceries")
    build_report(store, models, SETTINGS)
    logged = _logged(store, "category").sort_values("transaction_id")
    logged = logged[logged["transaction_id"] != first_id]
    others = sorted(set(logged["predicted_label"]))
    confirm, correct = logged.iloc[:8], logged.iloc[8:10]
    for row in confirm.itertuples():
        repository.set_category(store, int(row.transaction_id), row.predicted_label)
    for row in correct.itertuples():
        other = next(c for c in [*others, "Something else"] if c != row.predicted_label)
        repository.set_category(store, int(row.transaction_id), other)
    # a second review of the same transaction replaces the first: the latest one counts
    row = confirm.iloc[0]
    repository.set_category(store, int(row.transaction_id), row.predicted_label)
    quality = build_report(store, models, SETTINGS)["models"]["category"]["quality"]
    assert quality["labels"] == 10
    assert quality["confirmed"] == 8 and quality["corrected"] == 2
    assert quality["labelled_accuracy"] == pytest.approx(0.8)
    assert quality["labelled_accuracy_lower_bound"] == pytest.approx(0.4902, abs=1e-4)


def test_normal_marks_lower_anomaly_precision(store: Engine, models: dict[str, Any]) -> None:
    quality = build_report(store, models, SETTINGS)["models"]["anomaly"]["quality"]
    assert quality["predictions"] > 0
    flagged = _logged(store, "anomaly").query("flagged == True")
    if flagged.empty:  # pragma: no cover - the personal data has flags; fail loudly if not
        pytest.fail("the anomaly model flagged nothing in the window")
    assert quality["flagged"] == len(flagged) and quality["precision"] == 1.0
    repository.add_anomaly_feedback(store, transaction_id=int(flagged["transaction_id"].iloc[0]))
    quality = build_report(store, models, SETTINGS)["models"]["anomaly"]["quality"]
    assert quality["marked_normal"] >= 1
    assert quality["precision"] == pytest.approx(
        (quality["flagged"] - quality["marked_normal"]) / quality["flagged"]
    )
    assert quality["flagged_share"] == pytest.approx(quality["flagged"] / quality["predictions"])


def test_amount_mae_and_cashflow_error_use_what_posted(
    store: Engine, models: dict[str, Any]
) -> None:
    report = build_report(store, models, SETTINGS)
    amount = report["models"]["amount"]["quality"]
    logged = _logged(store, "amount")
    expected = (logged["predicted_value"] - logged[d.AMOUNT]).abs().mean()
    assert amount["rows"] == len(logged) > 0
    assert amount["mae"] == pytest.approx(expected)
    cashflow = report["models"]["cashflow"]["quality"]
    # the store holds the 90 days after the cash-flow model's history: all 30 forecast days passed
    assert cashflow["forecast_days"] == SETTINGS.monitor_forecast_days
    assert cashflow["days"] == SETTINGS.monitor_forecast_days
    forecast = _logged(store, "cashflow").set_index("target_date")["predicted_value"]
    frame = repository.load_transactions(store)
    daily = frame.groupby(frame[d.DATE].dt.date)[d.AMOUNT].sum()
    truth = daily.reindex(forecast.index).fillna(0.0)
    assert cashflow["mae"] == pytest.approx((forecast - truth).abs().mean())


def test_amounts_times_three_raise_drift_above_the_threshold(
    store: Engine, models: dict[str, Any]
) -> None:
    before = build_report(store, models, SETTINGS)
    for name, entry in before["models"].items():
        assert entry["drift"]["available"], name
        assert entry["drift"]["features"]["amount"]["psi"] < PSI_ALERT, name
        assert entry["drift"]["alert"] is False, name
    start = (
        pd.Timestamp(repository.load_transactions(store)[d.DATE].max()) - pd.Timedelta(days=89)
    ).date()
    with store.begin() as conn:
        conn.execute(
            update(Transaction)
            .where(Transaction.c.date >= start)
            .values(amount=Transaction.c.amount * 3)
        )
    after = build_report(store, models, SETTINGS)
    for name, entry in after["models"].items():
        features = entry["drift"]["features"]
        assert features["amount"]["psi"] > PSI_ALERT, name
        assert (
            features["amount"]["ks"] > before["models"][name]["drift"]["features"]["amount"]["ks"]
        )
        assert entry["drift"]["alert"] is True, name


def test_a_model_without_reference_reports_why(store: Engine, models: dict[str, Any]) -> None:
    models["recurring"].metadata_.reference = {}
    drift = build_report(store, models, SETTINGS)["models"]["recurring"]["drift"]
    assert drift["available"] is False and "retrain" in drift["reason"]


def test_monitor_keeps_the_last_report_when_the_store_fails(
    store: Engine, models: dict[str, Any]
) -> None:
    monitor = ModelMonitor(SETTINGS)
    report = monitor.current(store, models)
    assert report is not None and monitor.last_success
    with store.begin() as conn:
        conn.execute(text("DROP TABLE model_predictions"))
    assert monitor.current(store, models) is report
    assert monitor.last_success is False and "monitoring refresh failed" in str(monitor.last_error)


def test_concurrent_logging_does_not_duplicate(store: Engine, models: dict[str, Any]) -> None:
    version = str(models["category"].metadata_.version)
    rows = [{"transaction_id": 1, "predicted_label": "A", "confidence": 0.9}]
    assert log_store.record_predictions(store, "category", version, rows) == 1
    both = [*rows, {"transaction_id": 2, "predicted_label": "B", "confidence": 0.5}]
    assert log_store.record_predictions(store, "category", version, both) == 1
    assert sorted(_logged(store, "category")["transaction_id"]) == [1, 2]


@pytest.mark.postgres
def test_monitoring_on_postgresql(
    postgres_url: str, shared_data: Path, models: dict[str, Any]
) -> None:
    from tests.api._models import PERSONAL_CSV

    from titans_finance.ingest.pipeline import ingest_file
    from titans_finance.storage.db import create_db_engine

    engine = create_db_engine(postgres_url)
    try:
        ingest_file(engine, shared_data / PERSONAL_CSV)
        first = build_report(engine, models, SETTINGS)
        assert first["logged"]["category"] == first["window_rows"] > 50
        logged = _logged(engine, "category").sort_values("transaction_id")
        for row in logged.iloc[:3].itertuples():
            repository.set_category(engine, int(row.transaction_id), row.predicted_label)
        report = build_report(engine, models, SETTINGS)
        assert report["logged"] == {}
        quality = report["models"]["category"]["quality"]
        assert quality["labels"] == 3 and quality["labelled_accuracy"] == 1.0
        assert report["models"]["cashflow"]["quality"]["days"] == SETTINGS.monitor_forecast_days
        assert all(entry["drift"]["available"] for entry in report["models"].values())
    finally:
        engine.dispose()


def test_earlier_versions_keep_their_own_figures(store: Engine, models: dict[str, Any]) -> None:
    first = build_report(store, models, SETTINGS)
    window = first["window_rows"]
    # the logged predictions become those of a version that served before this one
    with store.begin() as conn:
        conn.execute(
            update(ModelPrediction)
            .where(ModelPrediction.c.model == "category")
            .values(model_version="category-earlier")
        )
    report = build_report(store, models, SETTINGS)
    assert report["logged"]["category"] == window  # the serving version scores the window anew
    category = report["models"]["category"]
    assert category["quality"]["predictions"] == window
    earlier = category["earlier_versions"]
    assert list(earlier) == ["category-earlier"]
    assert earlier["category-earlier"]["predictions"] == window
    assert earlier["category-earlier"]["estimated_accuracy"] == pytest.approx(
        category["quality"]["estimated_accuracy"]
    )
    assert report["models"]["amount"]["earlier_versions"] == {}

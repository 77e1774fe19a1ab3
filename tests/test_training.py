"""Training: time-ordered hold-out, refit, save, MLflow failures tolerated, data loading."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine
from tests.factories import synthetic_frame

from titans_finance import domain as d
from titans_finance.config import Settings
from titans_finance.errors import TrainingDataError
from titans_finance.models.catalog import MODEL_CLASSES, MODEL_NAMES, UnknownModelError, model_class
from titans_finance.models.category import CategoryModel
from titans_finance.training import (
    TrainingData,
    evaluate_model,
    load_training_data,
    load_training_frame,
    primary_metric,
    recent_start,
    sample_accounts,
    time_split,
    train_model,
)


def test_model_types_and_catalog() -> None:
    assert MODEL_NAMES == ("category", "amount", "anomaly", "recurring", "cashflow")
    assert list(MODEL_CLASSES) == list(MODEL_NAMES)
    assert model_class("category") is CategoryModel
    with pytest.raises(UnknownModelError, match="unknown model 'tree'"):
        model_class("tree")


def test_time_split_orders_by_date() -> None:
    frame = pd.DataFrame(
        {d.DATE: pd.to_datetime(["2024-01-04", "2024-01-01", None, "2024-01-03"]), "k": range(4)}
    )
    train, holdout = time_split(frame)
    assert train["k"].tolist() == [1, 3, 0]
    assert holdout["k"].tolist() == [2]  # missing dates count as latest
    no_dates = pd.DataFrame({"k": range(8)})
    train, holdout = time_split(no_dates)
    assert train["k"].tolist() == list(range(6)) and holdout["k"].tolist() == [6, 7]


def test_primary_metric_rules() -> None:
    assert primary_metric(CategoryModel, {}) == ("accuracy", True)

    class Plain(CategoryModel):
        primary_metric = None  # type: ignore[assignment]

    assert primary_metric(Plain, {"rows": 3.0, "mae": 1.0}) == ("mae", False)
    assert primary_metric(Plain, {"coverage": 0.9}) == ("coverage", True)


def test_train_model_without_registry(tmp_path: Path) -> None:
    frame = synthetic_frame(200)
    result = train_model("category", frame, tmp_path, settings=Settings(), log_to_registry=False)
    assert result.model_dir == tmp_path / "category"
    assert result.training_rows == 200 and result.holdout_rows == 50
    assert result.metrics["accuracy"] > 0.8
    loaded = CategoryModel.load(tmp_path)
    assert loaded.metadata_.version == result.version
    assert loaded.metadata_.metrics == result.metrics
    assert loaded.metadata_.training_rows == 200  # refit on all rows
    assert result.alias is None and result.warnings == []


def test_mlflow_failure_keeps_the_model(tmp_path: Path) -> None:
    settings = Settings(mlflow_tracking_uri="bogus-scheme://nowhere", models_dir=tmp_path)
    result = train_model("category", synthetic_frame(120), tmp_path, settings=settings)
    assert (tmp_path / "category" / "model.joblib").is_file()
    assert any("MLflow logging failed" in w for w in result.warnings)
    assert result.alias is None


def test_evaluate_model_does_not_save(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    metrics = evaluate_model("category", synthetic_frame(160))
    assert set(metrics) >= {"accuracy", "macro_f1", "ece", "rows"}
    assert metrics["rows"] == 40
    assert list(tmp_path.iterdir()) == []


def test_bad_training_data_is_reported() -> None:
    frame = synthetic_frame(40).drop(columns=[d.CATEGORY])
    with pytest.raises(TrainingDataError, match="no Category column"):
        train_model("category", frame, Path("unused"), settings=Settings(), log_to_registry=False)


def test_load_training_frame_from_an_empty_store(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(TrainingDataError, match="titans ingest"):
        load_training_frame(settings, None)


def test_recent_start_keeps_whole_recent_days() -> None:
    days = pd.to_datetime(["2024-01-01"] * 3 + ["2024-01-02"] * 3 + ["2024-01-03"] * 2).to_numpy()
    assert recent_start(days, 5) == np.datetime64("2024-01-02")
    assert recent_start(days, 4) == np.datetime64("2024-01-03")  # 2024-01-02 does not fit whole
    assert recent_start(days, 1) == np.datetime64("2024-01-03")  # the latest day, even above


def _export(path: Path, frame: pd.DataFrame) -> Path:
    frame.assign(**{d.DATE: frame[d.DATE].dt.strftime("%Y-%m-%d")}).to_csv(path, index=False)
    return path


def test_load_training_data_reads_the_recent_window_of_a_file(tmp_path: Path) -> None:
    source = _export(tmp_path / "history.csv", synthetic_frame(200))  # two rows a day
    data = load_training_data(Settings(), source, max_rows=51, min_days=0)
    assert data.source_rows == 200 and len(data.frame) == 50
    assert data.since == "2024-03-16"
    assert data.frame[d.DATE].min() == pd.Timestamp("2024-03-16")
    assert data.frame[d.MERCHANT].notna().all()  # merchants named, as an import names them
    whole = load_training_data(Settings(), source, max_rows=0)
    assert len(whole.frame) == 200 and whole.since is None


def test_load_training_data_reads_only_the_window_of_the_store(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    from titans_finance.ingest.pipeline import ingest_file
    from titans_finance.storage.repository import recent_days_start

    source = _export(tmp_path / "history.csv", synthetic_frame(200))
    ingest_file(engine, source)
    assert recent_days_start(engine, 200) is None
    settings = Settings(database_url=database_url, train_max_rows=51, train_min_days=0)
    data = load_training_data(settings)
    assert data.source_rows == 200 and len(data.frame) == 50 and data.since == "2024-03-16"
    from_file = load_training_data(settings, source)
    assert sorted(data.frame[d.DESCRIPTION]) == sorted(from_file.frame[d.DESCRIPTION])


def test_sample_accounts_is_deterministic_and_within_the_cap() -> None:
    rows = {f"acct-{i}": 10 + i for i in range(40)}
    chosen = sample_accounts(rows, 100)
    assert chosen == sample_accounts(dict(reversed(rows.items())), 100)  # not input order
    assert sum(rows[name] for name in chosen) <= 100
    left = [name for name in rows if name not in chosen]
    assert all(sum(rows[n] for n in chosen) + rows[name] > 100 for name in left)  # cap filled
    assert sample_accounts({"big": 500}, 100) == []


def _many_accounts(tmp_path: Path) -> Path:
    """Two years of 12 household accounts (salary, rent, subscriptions, balances)."""
    from tests.factories import households

    path = tmp_path / "households.csv"
    households(12, months=24).to_csv(path, index=False)
    return path


def _check_window(data: TrainingData, cap: int, min_days: int) -> None:
    """Sampled whole accounts over at least ``min_days`` days within ``cap``; history: every
    account of the window, nothing summed away."""
    assert data.history is not None and data.sampled_accounts is not None
    frame, history = data.frame, data.history
    assert 0 < len(frame) <= cap < len(history)
    last = history[d.DATE].max()
    assert frame[d.DATE].max() > last - pd.Timedelta(days=10)
    assert frame[d.DATE].min() <= last - pd.Timedelta(days=min_days - 8)  # sparse first days
    accounts = set(frame[d.ACCOUNT])
    assert len(accounts) == data.sampled_accounts < data.window_accounts == 12
    assert set(history[d.ACCOUNT]) == {f"acct-{i}" for i in range(12)}
    whole = history[history[d.ACCOUNT].isin(accounts)]
    assert len(whole) == len(frame)  # the sampled accounts' every row of the window
    assert data.for_model("cashflow") is history and data.for_model("recurring") is history
    assert data.for_model("category") is frame
    # amount and anomaly: every account's most recent days within the cap
    recent = data.recent
    assert recent is not None and len(recent) <= cap
    assert set(recent[d.ACCOUNT]) == set(history[d.ACCOUNT])
    assert recent[d.DATE].min() > last - pd.Timedelta(days=min_days - 1)
    assert data.for_model("amount") is recent and data.for_model("anomaly") is recent


def test_a_large_window_samples_whole_accounts_and_keeps_every_account_for_cashflow(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    from titans_finance.ingest.pipeline import ingest_file
    from titans_finance.models.cashflow import ALL_ACCOUNTS, CashflowModel
    from titans_finance.models.recurring import RecurringModel

    source = _many_accounts(tmp_path)
    ingest_file(engine, source)
    settings = Settings(database_url=database_url, train_max_rows=700, train_min_days=420)
    stored = load_training_data(settings)
    _check_window(stored, 700, 420)
    from_file = load_training_data(settings, source)
    _check_window(from_file, 700, 420)
    assert set(stored.frame[d.ACCOUNT]) == set(from_file.frame[d.ACCOUNT])  # one sample
    assert set(load_training_data(settings).frame[d.ACCOUNT]) == set(stored.frame[d.ACCOUNT])
    assert stored.since == from_file.since == stored.frame[d.DATE].min().date().isoformat()
    # the store's history (one row per account x day x merchant x sign) sums to the file's rows
    assert stored.history is not None and from_file.history is not None
    daily = [
        h.groupby([d.ACCOUNT, d.DATE])[d.AMOUNT].sum().round(2)
        for h in (stored.history, from_file.history)
    ]
    pd.testing.assert_series_equal(*daily)

    model = CashflowModel(drop_future_rows=True).fit(stored.for_model("cashflow"))
    unsampled = sorted(set(stored.history[d.ACCOUNT]) - set(stored.frame[d.ACCOUNT]))
    assert model.accounts_ == sorted(stored.history[d.ACCOUNT].unique())
    one = model.forecast(30, account=unsampled[0])
    assert len(one.daily) == 30 and set(one.daily[d.ACCOUNT]) == {unsampled[0]}
    each = model.forecast(30, by_account=True).daily
    assert set(each[d.ACCOUNT]) == set(model.accounts_)
    total = model.forecast(30).daily
    assert set(total[d.ACCOUNT]) == {ALL_ACCOUNTS}
    assert model.forecast(30).summary["accounts"] == 12
    by_day = each.groupby("date")["predicted_net"].sum().to_numpy()
    assert by_day == pytest.approx(total["predicted_net"].to_numpy(), abs=0.01)
    from_rows = CashflowModel(drop_future_rows=True).fit(from_file.for_model("cashflow"))
    assert from_rows.forecast(30).summary["net"] == pytest.approx(model.forecast(30).summary["net"])
    streams = RecurringModel().fit(stored.for_model("recurring")).streams()
    assert set(streams["account"]) == set(model.accounts_)


def test_recent_days_within_the_minimum_train_as_before(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    from titans_finance.ingest.pipeline import ingest_file

    source = _many_accounts(tmp_path)
    ingest_file(engine, source)
    for min_days in (0, 60):  # 60 days hold fewer than the cap's days
        settings = Settings(database_url=database_url, train_max_rows=700, train_min_days=min_days)
        for data in (load_training_data(settings), load_training_data(settings, source)):
            assert data.history is None and data.sampled_accounts is None
            assert len(data.frame) <= 700 and data.for_model("cashflow") is data.frame
            assert len(set(data.frame[d.ACCOUNT])) == 12
    everything = Settings(database_url=database_url, train_max_rows=100_000)
    assert load_training_data(everything).since is None


def test_cashflow_training_leaves_scheduled_payments_out(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from tests.factories import household_frame

    today = datetime.now(UTC).date()
    history = household_frame(months=4, start=today - timedelta(days=150))
    scheduled = history.iloc[:3].assign(Date=pd.Timestamp(today + timedelta(days=7)))
    frame = pd.concat([history, scheduled.assign(Balance=np.nan)], ignore_index=True)
    result = train_model("cashflow", frame, tmp_path, settings=Settings(), log_to_registry=False)
    assert (tmp_path / "cashflow").is_dir()
    assert any("3 row(s) dated after today" in w for w in result.warnings), result.warnings


def test_no_whole_account_within_the_cap_trains_every_model_on_the_recent_days(
    tmp_path: Path,
) -> None:
    from tests.factories import households

    path = tmp_path / "one.csv"
    households(1, months=24).to_csv(path, index=False)
    rows = len(pd.read_csv(path))
    cap = rows // 5
    data = load_training_data(Settings(train_max_rows=cap, train_min_days=420), path)
    assert data.sampled_accounts is None and data.recent is None
    assert data.history is not None and len(data.history) > cap >= len(data.frame) > 0
    assert data.since == data.frame[d.DATE].min().date().isoformat()
    for model_type in ("category", "amount", "anomaly"):
        assert data.for_model(model_type) is data.frame
    assert data.for_model("cashflow") is data.history


def test_only_what_the_requested_models_read_is_loaded_from_the_store(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    from titans_finance.ingest.pipeline import ingest_file

    ingest_file(engine, _many_accounts(tmp_path))
    settings = Settings(database_url=database_url, train_max_rows=700, train_min_days=420)
    every = load_training_data(settings)
    category = load_training_data(settings, models=["category"])
    assert category.history is None and category.recent is None  # no cash-flow moves read
    pd.testing.assert_frame_equal(category.frame, every.frame)
    cashflow = load_training_data(settings, models=["cashflow"])
    assert cashflow.recent is None and cashflow.history is not None
    pd.testing.assert_frame_equal(cashflow.for_model("cashflow"), every.for_model("cashflow"))
    anomaly = load_training_data(settings, models=["anomaly"])
    assert anomaly.history is None and anomaly.recent is not None
    pd.testing.assert_frame_equal(anomaly.for_model("anomaly"), every.for_model("anomaly"))

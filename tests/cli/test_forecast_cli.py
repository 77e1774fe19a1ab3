"""`titans forecast` and `titans recurring` through the Typer runner."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import typer
from tests.factories import households
from typer.testing import CliRunner

from titans_finance.cli.forecast import register
from titans_finance.config import get_settings
from titans_finance.errors import NotFoundError, TitansError, TrainingDataError, ValidationError
from titans_finance.models.cashflow import DAILY_COLUMNS, CashflowModel

runner = CliRunner()


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


@pytest.fixture
def models_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """Settings pointing at a temporary models folder and database."""
    monkeypatch.setenv("TITANS_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("TITANS_DATABASE_URL", f"sqlite:///{tmp_path / 'titans.db'}")
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield tmp_path / "models"
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def history() -> pd.DataFrame:
    return households(2, months=8)


@pytest.fixture
def data_csv(tmp_path: Path, history: pd.DataFrame) -> Path:
    path = tmp_path / "history.csv"
    out = history.copy()
    out["Date"] = out["Date"].dt.strftime("%Y-%m-%d")
    out.to_csv(path, index=False)
    return path


def test_forecast_from_data_file(
    app: typer.Typer, models_dir: Path, data_csv: Path, tmp_path: Path
) -> None:
    output = tmp_path / "out" / "forecast.csv"
    result = runner.invoke(
        app, ["forecast", "--data", str(data_csv), "--days", "14", "--output", str(output)]
    )
    assert result.exit_code == 0, result.output
    daily = pd.read_csv(output)
    assert list(daily.columns) == DAILY_COLUMNS
    assert len(daily) == 14
    assert (daily["Account"] == "ALL").all()
    assert (daily["lower"] <= daily["upper"]).all()
    assert "probability_below_zero" in result.output
    assert "lowest_balance" in result.output


def test_forecast_by_account_uses_trained_model(
    app: typer.Typer, models_dir: Path, history: pd.DataFrame, tmp_path: Path
) -> None:
    CashflowModel(n_simulations=100).fit(history).save(models_dir)
    output = tmp_path / "by_account.csv"
    result = runner.invoke(app, ["forecast", "--by-account", "--output", str(output)])
    assert result.exit_code == 0, result.output
    daily = pd.read_csv(output)
    assert sorted(daily["Account"].unique()) == ["acct-0", "acct-1"]
    assert len(daily) == 60
    one = runner.invoke(
        app,
        ["forecast", "--account", "acct-1", "--days", "7", "--output", str(output)],
    )
    assert one.exit_code == 0, one.output
    assert set(pd.read_csv(output)["Account"]) == {"acct-1"}


def test_forecast_bad_inputs(
    app: typer.Typer, models_dir: Path, history: pd.DataFrame, tmp_path: Path
) -> None:
    CashflowModel(n_simulations=100).fit(history).save(models_dir)
    output = tmp_path / "f.csv"
    bad_days = runner.invoke(app, ["forecast", "--days", "0", "--output", str(output)])
    assert isinstance(bad_days.exception, ValidationError)
    assert "between 1 and 366" in bad_days.exception.message
    unknown = runner.invoke(app, ["forecast", "--account", "savings", "--output", str(output)])
    assert isinstance(unknown.exception, NotFoundError)
    assert "acct-0" in unknown.exception.message
    assert not output.exists()


@pytest.mark.parametrize("days", ["-5", "367", "100000"])
def test_forecast_refuses_bad_horizons_before_fitting(
    app: typer.Typer, models_dir: Path, data_csv: Path, tmp_path: Path, days: str
) -> None:
    output = tmp_path / "f.csv"
    result = runner.invoke(
        app, ["forecast", "--data", str(data_csv), "--days", days, "--output", str(output)]
    )
    assert isinstance(result.exception, ValidationError)
    assert "between 1 and 366" in result.exception.message
    assert not output.exists()


def _write(frame: pd.DataFrame, path: Path) -> Path:
    out = frame.copy()
    out["Date"] = pd.to_datetime(out["Date"]).dt.strftime("%Y-%m-%d")
    out.to_csv(path, index=False)
    return path


def test_forecast_refuses_future_dated_rows(
    app: typer.Typer, models_dir: Path, history: pd.DataFrame, tmp_path: Path
) -> None:
    today = datetime.now(UTC).date()
    shifted = history.assign(Date=history["Date"] + (pd.Timestamp(today) - history["Date"].max()))
    ahead = shifted.iloc[:3].assign(Date=pd.Timestamp(today + timedelta(days=5)))
    data = _write(pd.concat([shifted, ahead]), tmp_path / "future.csv")
    output = tmp_path / "f.csv"
    result = runner.invoke(app, ["forecast", "--data", str(data), "--output", str(output)])
    assert isinstance(result.exception, TrainingDataError)
    message = result.exception.message
    assert "3 row(s) are dated after today" in message
    assert (today + timedelta(days=5)).isoformat() in message
    assert not output.exists()


def test_forecast_from_the_store_leaves_scheduled_payments_out(
    app: typer.Typer, models_dir: Path, history: pd.DataFrame, tmp_path: Path
) -> None:
    from titans_finance.ingest.pipeline import ingest_file
    from titans_finance.storage.db import get_engine

    today = datetime.now(UTC).date()
    shifted = history.assign(Date=history["Date"] + (pd.Timestamp(today) - history["Date"].max()))
    ahead = shifted.iloc[:3].assign(Date=pd.Timestamp(today + timedelta(days=5)))
    data = _write(pd.concat([shifted, ahead]).drop(columns=["Balance"]), tmp_path / "store.csv")
    assert ingest_file(get_engine(get_settings().database_url), data).inserted == len(history) + 3
    output = tmp_path / "f.csv"
    result = runner.invoke(app, ["forecast", "--days", "10", "--output", str(output)])
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(output)) == 10


def test_forecast_refuses_a_too_short_history(
    app: typer.Typer, models_dir: Path, history: pd.DataFrame, tmp_path: Path
) -> None:
    short = history[history["Date"] < history["Date"].min() + pd.Timedelta(days=10)]
    data = _write(short, tmp_path / "short.csv")
    output = tmp_path / "f.csv"
    result = runner.invoke(app, ["forecast", "--data", str(data), "--output", str(output)])
    assert isinstance(result.exception, TrainingDataError)
    assert "days of history" in result.exception.message
    assert not output.exists()


def test_forecast_refuses_an_empty_export(
    app: typer.Typer, models_dir: Path, history: pd.DataFrame, tmp_path: Path
) -> None:
    data = _write(history.iloc[:0], tmp_path / "empty.csv")
    output = tmp_path / "f.csv"
    result = runner.invoke(app, ["forecast", "--data", str(data), "--output", str(output)])
    assert isinstance(result.exception, TitansError)
    assert result.exception.message
    assert not output.exists()


def test_forecast_account_without_rows(
    app: typer.Typer, models_dir: Path, data_csv: Path, tmp_path: Path
) -> None:
    output = tmp_path / "f.csv"
    result = runner.invoke(
        app,
        ["forecast", "--data", str(data_csv), "--account", "acct-9", "--output", str(output)],
    )
    assert isinstance(result.exception, NotFoundError)
    assert "'acct-9' has no transactions" in result.exception.message
    assert not output.exists()


def test_recurring_lists_streams(
    app: typer.Typer, models_dir: Path, data_csv: Path, tmp_path: Path
) -> None:
    output = tmp_path / "streams.csv"
    result = runner.invoke(app, ["recurring", "--data", str(data_csv), "--output", str(output)])
    assert result.exit_code == 0, result.output
    streams = pd.read_csv(output)
    rent = streams[streams["merchant"].str.contains("apartments")]
    assert len(rent) == 2
    assert (rent["period"] == "monthly").all()
    assert "Recurring streams" in result.output
    assert "monthly" in result.output


def test_recurring_from_trained_cashflow_model(
    app: typer.Typer, models_dir: Path, history: pd.DataFrame
) -> None:
    CashflowModel(n_simulations=100).fit(history).save(models_dir)
    result = runner.invoke(app, ["recurring", "--models-dir", str(models_dir), "--active-only"])
    assert result.exit_code == 0, result.output
    assert "stopped" not in result.output
    assert "weekly" in result.output

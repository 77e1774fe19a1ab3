"""`titans train | predict | evaluate` through the Typer runner on an app built here."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import typer
from tests.factories import synthetic_frame
from typer.testing import CliRunner

from titans_finance import domain as d
from titans_finance.cli.models import register
from titans_finance.config import get_settings
from titans_finance.errors import ModelNotTrainedError, TrainingDataError, ValidationError


@pytest.fixture
def app() -> typer.Typer:
    application = typer.Typer()
    register(application)
    return application


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Settings pointing at temporary folders; MLflow at an unusable URI (kept fast here; the
    registry tests cover real logging), so training must still save and warn."""
    monkeypatch.setenv("TITANS_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("TITANS_DATABASE_URL", f"sqlite:///{tmp_path / 'titans.db'}")
    monkeypatch.setenv("TITANS_MLFLOW_TRACKING_URI", "unusable-scheme://x")
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def _csv(path: Path, frame: pd.DataFrame) -> Path:
    out = frame.copy()
    out[d.DATE] = out[d.DATE].dt.strftime("%Y-%m-%d")
    out.to_csv(path, index=False)
    return path


@pytest.fixture
def history(env: Path) -> Path:
    return _csv(env / "history.csv", synthetic_frame(200))


def test_train_predict_evaluate(app: typer.Typer, env: Path, history: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["train", "category", "--data", str(history)])
    assert result.exit_code == 0, result.output
    assert "category" in result.output and "not recorded" in result.output
    assert (env / "models" / "category" / "metadata.json").is_file()

    scoring = synthetic_frame(30, seed=4).drop(columns=[d.CATEGORY])
    scoring.insert(0, "my_note", [f"note {i}" for i in range(30)])
    source = _csv(env / "new.csv", scoring)
    output = env / "out" / "scored.csv"
    result = runner.invoke(
        app, ["predict", "category", "--input", str(source), "--output", str(output)]
    )
    assert result.exit_code == 0, result.output
    scored = pd.read_csv(output)
    original = pd.read_csv(source)
    assert len(scored) == len(original)
    pd.testing.assert_frame_equal(scored[original.columns], original)
    for column in ("predicted_category", "confidence", "confidence_level", "alternatives"):
        assert scored[column].notna().all()
    assert (scored["source"] == "model").all()
    assert len(json.loads(scored["alternatives"].iloc[0])) == 3
    expected = [
        "Coffee" if "STARBUCKS" in text or "BLUE BOTTLE" in text else None
        for text in original[d.DESCRIPTION]
    ]
    coffee = [e is not None for e in expected]
    assert (scored.loc[coffee, "predicted_category"] == "Coffee").all()

    result = runner.invoke(app, ["evaluate", "category", "--data", str(history)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["category"]["accuracy"] > 0.8
    assert report["category"]["rows"] == 50


def test_predict_without_model_names_the_command(app: typer.Typer, history: Path) -> None:
    result = CliRunner().invoke(
        app, ["predict", "category", "--input", str(history), "--output", "x.csv"]
    )
    assert isinstance(result.exception, ModelNotTrainedError)
    assert "titans train category" in result.exception.message


def test_cold_start_needs_no_model(app: typer.Typer, env: Path, history: Path) -> None:
    output = env / "cold.csv"
    result = CliRunner().invoke(
        app,
        ["predict", "category", "--cold-start", "--input", str(history), "--output", str(output)],
    )
    assert result.exit_code == 0, result.output
    assert "cold start: default taxonomy" in " ".join(result.output.split())
    scored = pd.read_csv(output)
    assert (scored["source"] == "cold_start").all()
    assert (scored["confidence_level"] == "LOW").all()


def test_bad_inputs(app: typer.Typer, env: Path) -> None:
    runner = CliRunner()
    unlabelled = _csv(env / "unlabelled.csv", synthetic_frame(40).drop(columns=[d.CATEGORY]))
    result = runner.invoke(app, ["train", "category", "--data", str(unlabelled)])
    assert isinstance(result.exception, TrainingDataError)
    assert "Category" in result.exception.message
    result = runner.invoke(
        app, ["predict", "recurring", "--input", str(unlabelled), "--output", "x.csv"]
    )
    assert isinstance(result.exception, ValidationError)


def test_predict_joins_rows_by_source_line(app: typer.Typer, env: Path) -> None:
    """Invalid rows stay in place with a reason; the file's own columns come back unchanged."""
    scoring = synthetic_frame(12, seed=5).drop(columns=[d.CATEGORY])
    scoring.insert(0, "my_note", [f"note {i}" for i in range(12)])
    source = _csv(env / "mixed.csv", scoring)
    original = pd.read_csv(source, dtype=str)
    original.loc[3, d.DATE] = "not a date"
    original.loc[7, d.AMOUNT] = ""
    original.to_csv(source, index=False)
    original = pd.read_csv(source, dtype=str)
    output = env / "mixed_scored.csv"
    result = CliRunner().invoke(
        app,
        ["predict", "category", "--cold-start", "--input", str(source), "--output", str(output)],
    )
    assert result.exit_code == 0, result.output
    assert "2 input rows were invalid" in " ".join(result.output.split())
    scored = pd.read_csv(output, dtype=str)
    assert len(scored) == len(original)
    pd.testing.assert_frame_equal(scored[original.columns], original)
    rejected = scored["reject_reason"].notna()
    assert rejected.tolist() == [i in (3, 7) for i in range(12)]
    assert "line 5" in scored.loc[3, "reject_reason"]  # header is line 1
    assert "line 9" in scored.loc[7, "reject_reason"]
    assert scored.loc[rejected, "predicted_category"].isna().all()
    assert scored.loc[~rejected, "predicted_category"].notna().all()


def test_predict_other_formats_keep_canonical_columns(app: typer.Typer, env: Path) -> None:
    qif = env / "statement.qif"
    qif.write_text(
        "!Type:Bank\nD01/15/2024\nT-4.50\nPSTARBUCKS STORE 123\n^\n"
        "Dnot a date\nT-3.00\nPBROKEN\n^\n"
        "D01/16/2024\nT-60.00\nPSHELL OIL 5566\n^\n"
    )
    output = env / "qif_scored.csv"
    result = CliRunner().invoke(
        app,
        ["predict", "category", "--cold-start", "--input", str(qif), "--output", str(output)],
    )
    assert result.exit_code == 0, result.output
    scored = pd.read_csv(output)
    assert len(scored) == 3
    assert scored["line"].is_monotonic_increasing
    assert scored[d.DESCRIPTION].iloc[[0, 2]].tolist() == ["STARBUCKS STORE 123", "SHELL OIL 5566"]
    assert scored["predicted_category"].iloc[[0, 2]].notna().all()
    assert pd.isna(scored["predicted_category"].iloc[1])
    assert scored["reject_reason"].iloc[1]


def test_predict_amount_without_an_amount_column(app: typer.Typer, env: Path) -> None:
    """The amount is what is predicted: a file without one is scored, one row per input row,
    money out for expenses, money in for income, and the history's direction without a type."""
    runner = CliRunner()
    history = _csv(env / "history.csv", synthetic_frame(240))
    result = runner.invoke(app, ["train", "amount", "--data", str(history)])
    assert result.exit_code == 0, result.output
    scoring = synthetic_frame(12, seed=6).drop(columns=[d.AMOUNT, d.CATEGORY])
    scoring[d.DESCRIPTION] = ["ACME CORP PAYROLL", "WHOLE FOODS MKT #12"] * 6
    scoring[d.TYPE] = ["Income", "Expense", "", "", "Expense", "Income"] * 2
    source = _csv(env / "no_amount.csv", scoring)
    output = env / "amounts.csv"
    result = runner.invoke(
        app, ["predict", "amount", "--input", str(source), "--output", str(output)]
    )
    assert result.exit_code == 0, result.output
    scored = pd.read_csv(output, keep_default_na=False, na_values=[""])
    assert len(scored) == len(scoring)
    assert scored[d.DESCRIPTION].tolist() == scoring[d.DESCRIPTION].tolist()
    assert scored["model_version"].notna().all()
    predicted, types = scored["predicted_amount"], scoring[d.TYPE]
    assert (predicted[types.eq("Income").to_numpy()] > 0).all()
    assert (predicted[types.eq("Expense").to_numpy()] < 0).all()
    untyped = types.eq("").to_numpy()
    payroll = scoring[d.DESCRIPTION].str.startswith("ACME").to_numpy()
    assert (predicted[untyped & payroll] > 0).all()  # the payroll was always money in
    assert (predicted[untyped & ~payroll] < 0).all()
    assert (scored["lower"] <= predicted).all() and (predicted <= scored["upper"]).all()


def test_predict_category_still_needs_an_amount_column(app: typer.Typer, env: Path) -> None:
    source = _csv(env / "no_amount.csv", synthetic_frame(5).drop(columns=[d.AMOUNT]))
    result = CliRunner().invoke(
        app,
        ["predict", "category", "--cold-start", "--input", str(source), "--output", "x.csv"],
    )
    assert result.exit_code != 0
    assert "no amount column" in str(result.exception)


def test_train_all_samples_accounts_but_forecasts_every_account(
    app: typer.Typer, env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.factories import households

    from titans_finance.models.base import read_metadata
    from titans_finance.models.cashflow import CashflowModel
    from titans_finance.models.recurring import RecurringModel

    source = env / "households.csv"
    households(12, months=24).to_csv(source, index=False)
    monkeypatch.setenv("TITANS_TRAIN_MAX_ROWS", "700")
    monkeypatch.setenv("TITANS_TRAIN_MIN_DAYS", "420")
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["train", "all", "--data", str(source)])
    assert result.exit_code == 0, result.output
    printed = " ".join(result.output.split())  # rich wraps at the runner's 80 columns
    assert "TITANS_TRAIN_MIN_DAYS; 2 of 12 whole accounts" in printed
    assert "recurring and cashflow on every account" in printed
    models = env / "models"
    for name in ("category", "amount", "anomaly"):
        assert 0 < read_metadata(models / name, name).training_rows <= 700
    every = [f"acct-{i}" for i in range(12)]
    assert CashflowModel.load(models).accounts_ == sorted(every)
    assert set(RecurringModel.load(models).streams()["account"]) == set(every)

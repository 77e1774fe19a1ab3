"""Whole pipeline runs on the bundled sample (category model, SQLite store, MLflow in SQLite):
a synthetic shift triggers a retrain and changes the champion only when the candidate is better;
MLflow unreachable promotes nothing and the next run retries; a crash mid-promotion leaves the
serving folder whole and the next run finishes the promotion."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.pipeline.helpers import SAMPLE_CSV, drop, pipeline_values, shifted_sample, use_values

from titans_finance import registry
from titans_finance.config import Settings, get_settings
from titans_finance.errors import PipelineBusyError, PipelineRunError
from titans_finance.models.base import read_metadata
from titans_finance.models.category import CategoryModel
from titans_finance.pipeline import run_pipeline
from titans_finance.storage import pipeline_runs as store
from titans_finance.storage.db import get_engine

pytestmark = pytest.mark.slow


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Settings:
    monkeypatch.chdir(tmp_path)
    values = pipeline_values(tmp_path, f"sqlite:///{tmp_path / 'titans.db'}", "category")
    return use_values(monkeypatch, values)


def _serving_version(settings: Settings) -> str:
    return read_metadata(settings.models_dir / "category", "category").version


def _champion_model_version(settings: Settings) -> str | None:
    rows = registry.list_versions("category", tracking_uri=settings.mlflow_tracking_uri)
    return next((r["model_version"] for r in rows if "champion" in r["aliases"]), None)


def test_shift_retrains_and_promotes_only_a_better_candidate(settings: Settings) -> None:
    drop(settings.inbox_dir, SAMPLE_CSV)
    first = run_pipeline(settings)
    assert first["status"] == "succeeded" and first["rows_inserted"] == 808
    [decision] = first["decisions"]
    assert decision["status"] == "promoted" and "no champion" in decision["reason"]
    champion = _serving_version(settings)
    assert champion == decision["candidate_version"] == _champion_model_version(settings)

    quiet = run_pipeline(settings)
    assert not quiet["retrained"] and "below every threshold" in quiet["retrain_reason"]

    # the same data again: the candidate is not better by the margin, the champion stays
    same = run_pipeline(settings, force=True)
    [kept] = same["decisions"]
    assert kept["status"] == "challenger" and kept["decision"] == "keep"
    assert kept["candidate_value"] < kept["champion_value"] * (1 + kept["margin"])
    assert _serving_version(settings) == champion == _champion_model_version(settings)
    challenger = registry.alias_version(
        "category", "challenger", tracking_uri=settings.mlflow_tracking_uri
    )
    assert challenger == kept["registry_version"]

    # a shift: two years later, amounts x3, a new merchant mix
    shifted_sample(settings.inbox_dir / "shifted.csv")
    shift = run_pipeline(settings)
    assert shift["rows_inserted"] == 808 and shift["retrained"]
    assert "808 new rows" in shift["retrain_reason"]
    [better] = shift["decisions"]
    assert better["metric"] == "accuracy" and better["holdout_rows"] == 404
    assert better["candidate_value"] >= better["champion_value"] * (1 + better["margin"])
    assert better["status"] == "promoted"
    assert _serving_version(settings) == better["candidate_version"] != champion
    assert _champion_model_version(settings) == better["candidate_version"]
    CategoryModel.load(settings.models_dir)  # the installed folder verifies


def test_drift_alone_triggers_the_retrain(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    values = pipeline_values(tmp_path, f"sqlite:///{tmp_path / 'titans.db'}", "category")
    # row and correction thresholds out of reach: only drift can ask for a retrain
    values.update(TITANS_RETRAIN_MIN_NEW_ROWS="1000000", TITANS_RETRAIN_MIN_CORRECTIONS="1000000")
    settings = use_values(monkeypatch, values)
    drop(settings.inbox_dir, SAMPLE_CSV)
    first = run_pipeline(settings)
    assert first["status"] == "succeeded" and "no champion" in first["retrain_reason"]
    champion = _serving_version(settings)

    # two years later, same amounts: new rows the champion never saw, but no drift
    shifted_sample(settings.inbox_dir / "later.csv", amount_factor=1.0)
    calm = run_pipeline(settings)
    assert calm["rows_inserted"] == 808 and not calm["retrained"]
    assert "below every threshold" in calm["retrain_reason"]

    # four years later, amounts x3: the amount distribution of the unseen rows drifts
    shifted_sample(settings.inbox_dir / "shifted.csv", years=4, amount_factor=3.0)
    drifted = run_pipeline(settings)
    assert drifted["retrained"] and drifted["retrain_reason"].startswith("input drift: amount PSI")
    assert "rows the category champion never saw" in drifted["retrain_reason"]
    [decision] = drifted["decisions"]
    promoted = decision["status"] == "promoted"
    better = decision["candidate_value"] >= decision["champion_value"] * (1 + decision["margin"])
    assert promoted == better
    assert (_serving_version(settings) != champion) == promoted


_CRASH = """
import os
from titans_finance.config import get_settings
from titans_finance.pipeline import run_pipeline

def crash(model_type):
    os._exit(17)  # killed between the champion alias moving and the folder swap

run_pipeline(get_settings(), fail_point=crash)
"""


def test_mlflow_down_then_a_crash_mid_promotion(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = get_engine(settings.database_url)
    drop(settings.inbox_dir, SAMPLE_CSV)
    monkeypatch.setenv("TITANS_MLFLOW_TRACKING_URI", "http://127.0.0.1:9")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    get_settings.cache_clear()
    with pytest.raises(PipelineRunError, match="MLflow"):
        run_pipeline(get_settings())
    [down] = store.list_runs(engine)
    assert down["status"] == "failed" and "nothing was promoted" in down["error"]
    assert [d["status"] for d in down["decisions"]] == ["failed"]
    assert not (settings.models_dir / "category").exists()

    # MLflow is back: the next run retrains (no retrain succeeded) and promotes
    monkeypatch.setenv("TITANS_MLFLOW_TRACKING_URI", settings.mlflow_tracking_uri)
    get_settings.cache_clear()
    retry = run_pipeline(settings)
    assert retry["status"] == "succeeded" and retry["retrained"]
    assert [d["status"] for d in retry["decisions"]] == ["promoted"]
    champion = _serving_version(settings)

    # a better candidate, and the process dies in the middle of promoting it
    shifted_sample(settings.inbox_dir / "shifted.csv")
    env = {**os.environ, "TITANS_PIPELINE_LOCK_TTL_SECONDS": "5"}
    crashed = subprocess.run([sys.executable, "-c", _CRASH], env=env, check=False)
    assert crashed.returncode == 17
    [interrupted, *_] = store.list_runs(engine)
    assert interrupted["status"] == "running"
    [stuck] = interrupted["decisions"]
    assert stuck["status"] == "promoting"
    assert _serving_version(settings) == champion  # the old folder serves, whole
    CategoryModel.load(settings.models_dir)

    deadline = time.monotonic() + 60
    while True:  # the crashed run's lease expires within its 5 s
        try:
            recovered = run_pipeline(settings)
            break
        except PipelineBusyError:
            assert time.monotonic() < deadline
            time.sleep(1)
    assert recovered["status"] == "succeeded"
    assert any("completed category" in note for note in recovered["details"]["recovered"])
    finished = store.get_run(engine, interrupted["id"])
    assert finished["status"] == "failed" and "interrupted" in finished["error"]
    assert finished["decisions"][0]["status"] == "promoted"
    promoted = [
        d for r in store.list_runs(engine) for d in r["decisions"] if d["status"] == "promoted"
    ]
    assert _serving_version(settings) == promoted[0]["candidate_version"] != champion
    assert _champion_model_version(settings) == _serving_version(settings)
    CategoryModel.load(settings.models_dir)


def test_signed_models_are_promoted_and_load_in_production(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The hold-out metrics written into a signed candidate keep its signature valid."""
    monkeypatch.chdir(tmp_path)
    values = pipeline_values(tmp_path, f"sqlite:///{tmp_path / 'titans.db'}", "category")
    values["TITANS_ENVIRONMENT"] = "production"
    values["TITANS_MODEL_SIGNING_KEY"] = "k" * 40
    settings = use_values(monkeypatch, values)
    drop(settings.inbox_dir, SAMPLE_CSV)
    run = run_pipeline(settings)
    assert run["status"] == "succeeded", run
    [decision] = run["decisions"]
    assert decision["status"] == "promoted", decision
    served = CategoryModel.load(settings.models_dir)  # signature and checksums verify
    assert served.metadata_.version == decision["candidate_version"]
    assert served.metadata_.metrics  # the hold-out metrics made it into the signed metadata

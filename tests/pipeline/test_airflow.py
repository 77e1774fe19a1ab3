"""The Airflow DAG for real: `airflow dags test` in Airflow's own venv (`make airflow-venv`),
its tasks calling `titans pipeline step` against a real SQLite store and MLflow."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.conftest import REPO_ROOT
from tests.pipeline.helpers import SAMPLE_CSV, drop, pipeline_values

from titans_finance.models.base import read_metadata
from titans_finance.storage import pipeline_runs as store
from titans_finance.storage.db import create_db_engine

pytestmark = pytest.mark.slow

AIRFLOW_VENV = REPO_ROOT / "var" / "airflow-venv"
DAGS = REPO_ROOT / "deploy" / "airflow" / "dags"


@pytest.fixture(scope="module")
def airflow() -> Path:
    """The Airflow CLI of the separate venv, built (once, cached under var/) by make."""
    subprocess.run(["make", "-s", "airflow-venv"], cwd=REPO_ROOT, check=True)
    binary = AIRFLOW_VENV / "bin" / "airflow"
    assert binary.is_file()
    return binary


def test_dag_runs_every_step_against_a_real_store(airflow: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'titans.db'}"
    values = pipeline_values(tmp_path, url, "recurring")
    drop(Path(values["TITANS_INBOX_DIR"]), SAMPLE_CSV)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TITANS_", "AIRFLOW"))},
        **values,
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "TITANS_BIN": str(Path(sys.executable).with_name("titans")),
    }
    subprocess.run(
        [str(airflow), "db", "migrate"], env=env, cwd=tmp_path, check=True, capture_output=True
    )
    # Airflow 3 lists the DAGs its database holds: parse the folder into it first.
    subprocess.run(
        [str(airflow), "dags", "reserialize"],
        env=env,
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    listed = subprocess.run(
        [str(airflow), "dags", "list"], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert "titans_pipeline" in listed.stdout and "titans_retrain" in listed.stdout
    result = subprocess.run(
        [str(airflow), "dags", "test", "titans_pipeline", "2026-01-02"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=1500,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]

    engine = create_db_engine(url)
    [run] = store.list_runs(engine)
    assert run["trigger"] == "airflow" and run["external_id"].startswith("titans_pipeline:")
    assert run["status"] == "succeeded" and run["rows_inserted"] == 808
    assert set(run["details"]["seconds"]) == {"ingest", "train", "evaluate", "promote", "reload"}
    [decision] = run["decisions"]
    assert decision["status"] == "promoted"
    served = read_metadata(Path(values["TITANS_MODELS_DIR"]) / "recurring", "recurring")
    assert served.version == decision["candidate_version"]
    engine.dispose()

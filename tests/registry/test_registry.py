"""MLflow record: runs logged to a temporary SQLite store, champion/challenger aliases,
promotion and rollback that reinstall the artefacts serving loads."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from tests.factories import synthetic_frame

from titans_finance import registry
from titans_finance.config import Settings
from titans_finance.errors import NotFoundError
from titans_finance.models.category import C_GRID, CategoryModel
from titans_finance.training import train_model


@pytest.fixture(scope="module")
def tracking_uri(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{folder / 'sub' / 'mlflow.db'}"
    registry.prepare(uri).result()  # create the store once for the module
    return uri


def _saved_model(folder: Path, rows: int) -> tuple[Path, str]:
    model = CategoryModel(calibration_folds=0).fit(synthetic_frame(rows))
    return model.save(folder), model.metadata_.version


def _log(uri: str, folder: Path, version: str, accuracy: float) -> registry.RegistryRecord:
    return registry.log_training_run(
        "category",
        folder,
        tracking_uri=uri,
        metrics={"accuracy": accuracy, "macro_f1": accuracy / 2},
        params={"C": 0.5},
        primary_metric="accuracy",
        higher_is_better=True,
        model_version=version,
    )


def test_aliases_promotion_and_rollback(tracking_uri: str, tmp_path: Path) -> None:
    runs = []
    for i, (rows, accuracy) in enumerate([(60, 0.80), (70, 0.70), (80, 0.90)]):
        folder, version = _saved_model(tmp_path / f"run{i}", rows)
        runs.append((_log(tracking_uri, folder, version, accuracy), version))
    (first, v1), (second, _), (third, v3) = runs
    assert first.alias == "champion" and first.previous_champion is None
    assert second.alias == "challenger" and second.previous_champion == first.version
    assert third.alias == "champion"
    assert first.model_name == "titans-category"
    assert registry.champion_version("category", tracking_uri=tracking_uri) == third.version

    versions = registry.list_versions("category", tracking_uri=tracking_uri)
    assert [v["version"] for v in versions] == [third.version, second.version, first.version]
    assert versions[0]["aliases"] == ["champion"]
    assert versions[1]["aliases"] == ["challenger"]
    assert versions[2]["value"] == pytest.approx(0.80)

    serving = tmp_path / "serving"
    record = registry.rollback("category", tracking_uri=tracking_uri, models_dir=serving)
    assert record.version == first.version and record.previous_champion == third.version
    assert CategoryModel.load(serving).metadata_.version == v1
    assert registry.champion_version("category", tracking_uri=tracking_uri) == first.version
    with pytest.raises(NotFoundError, match="nothing to roll back"):
        registry.rollback("category", tracking_uri=tracking_uri, models_dir=serving)

    registry.promote("category", third.version, tracking_uri=tracking_uri, models_dir=serving)
    assert CategoryModel.load(serving).metadata_.version == v3
    with pytest.raises(NotFoundError):
        registry.promote("category", "999", tracking_uri=tracking_uri, install=False)


def test_train_model_logs_run_quickly(tracking_uri: str, tmp_path: Path) -> None:
    settings = Settings(mlflow_tracking_uri=tracking_uri, models_dir=tmp_path)
    started = time.perf_counter()
    result = train_model("category", synthetic_frame(160), tmp_path, settings=settings)
    assert time.perf_counter() - started < 30
    assert result.warnings == []
    assert result.alias in ("champion", "challenger")
    assert result.registry_seconds < 5.0
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri)
    run = client.get_run(result.run_id)
    assert run.data.metrics["accuracy"] == pytest.approx(result.metrics["accuracy"])
    assert float(run.data.params["C"]) in C_GRID  # the C the per-user search chose
    artefacts = {a.path for a in client.list_artifacts(result.run_id, "model")}
    assert artefacts == {"model/model.joblib", "model/metadata.json"}

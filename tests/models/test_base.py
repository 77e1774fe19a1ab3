"""The shared model contract, exercised through CategoryModel: sklearn rules, predict shape and
order, model_version, save/load round trip, refused tampered/truncated/missing artefacts."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from sklearn.base import clone
from tests.factories import synthetic_frame

from titans_finance.errors import ModelIntegrityError, ModelNotTrainedError
from titans_finance.models.base import ARTEFACT_NAME, METADATA_NAME
from titans_finance.models.category import CategoryModel


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[CategoryModel, Path]:
    model = CategoryModel(C=0.7).fit(synthetic_frame(160))
    folder = tmp_path_factory.mktemp("models")
    model.save(folder)
    return model, folder


def test_hyperparameters_only_in_init_and_fit_returns_self() -> None:
    model = CategoryModel(C=0.3, classifier="svm")
    assert model.get_params()["C"] == 0.3
    assert not [k for k in vars(model) if k.endswith("_")]
    cloned = clone(model)
    assert cloned.get_params() == model.get_params()
    frame = synthetic_frame(80)
    assert model.fit(frame) is model


def test_predict_keeps_rows_order_index_and_version(
    trained: tuple[CategoryModel, Path],
) -> None:
    model, _ = trained
    frame = synthetic_frame(30, seed=5)
    frame.index = pd.Index([f"row{i}" for i in range(30)][::-1])
    result = model.predict(frame)
    assert len(result) == len(frame)
    assert list(result.index) == list(frame.index)
    assert (result["model_version"] == model.metadata_.version).all()
    shuffled = frame.sample(frac=1.0, random_state=1)
    again = model.predict(shuffled)
    pd.testing.assert_frame_equal(again.loc[frame.index], result)


def test_metadata(trained: tuple[CategoryModel, Path]) -> None:
    _, folder = trained
    meta = json.loads((folder / "category" / METADATA_NAME).read_text())
    assert meta["model_type"] == "category"
    assert meta["training_rows"] == 160
    assert meta["params"]["C"] == 0.7
    assert any(name.startswith("char_ngrams[") for name in meta["features"])
    assert set(meta["artefacts"]) == {ARTEFACT_NAME}


def test_save_load_round_trip(trained: tuple[CategoryModel, Path]) -> None:
    model, folder = trained
    loaded = CategoryModel.load(folder)
    frame = synthetic_frame(25, seed=8)
    pd.testing.assert_frame_equal(loaded.predict(frame), model.predict(frame))
    assert loaded.metadata_.version == model.metadata_.version


def _copy(folder: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy"
    (target / "category").mkdir(parents=True)
    for name in (ARTEFACT_NAME, METADATA_NAME):
        (target / "category" / name).write_bytes((folder / "category" / name).read_bytes())
    return target


def test_tampered_artefact_is_refused(trained: tuple[CategoryModel, Path], tmp_path: Path) -> None:
    folder = _copy(trained[1], tmp_path)
    artefact = folder / "category" / ARTEFACT_NAME
    data = bytearray(artefact.read_bytes())
    data[len(data) // 2] ^= 0xFF
    artefact.write_bytes(bytes(data))
    with pytest.raises(ModelIntegrityError, match="checksum"):
        CategoryModel.load(folder)


def test_truncated_artefact_is_refused(trained: tuple[CategoryModel, Path], tmp_path: Path) -> None:
    folder = _copy(trained[1], tmp_path)
    artefact = folder / "category" / ARTEFACT_NAME
    artefact.write_bytes(artefact.read_bytes()[:100])
    with pytest.raises(ModelIntegrityError):
        CategoryModel.load(folder)


def test_missing_model_names_the_training_command(tmp_path: Path) -> None:
    with pytest.raises(ModelNotTrainedError, match="titans train category"):
        CategoryModel.load(tmp_path)


def test_unfitted_model_cannot_predict() -> None:
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        CategoryModel().predict(synthetic_frame(3))


def test_gc_paused_under_concurrent_batches_leaves_collection_as_it_found_it() -> None:
    import gc
    import threading

    from titans_finance.models.base import gc_paused

    assert gc.isenabled()
    inside: list[bool] = []
    start = threading.Barrier(8)

    def batches() -> None:
        start.wait()
        for _ in range(2000):
            with gc_paused():
                inside.append(gc.isenabled())

    threads = [threading.Thread(target=batches) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(inside) == 16000 and not any(inside)  # off inside every batch
    assert gc.isenabled()  # and back on once the last one ended
    gc.disable()
    with gc_paused():
        pass
    assert not gc.isenabled()  # a caller that had it off keeps it off
    gc.enable()

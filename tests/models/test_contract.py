"""The shared model contract (models/base.py), checked on every model of the catalog.

Each model class: hyperparameters only in ``__init__`` (``get_params``/``clone``), ``fit``
returns self, one output row per input row in input order and index, ``model_version`` on
every row, and a signed save/load round trip whose artefact checksum is verified.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from sklearn.base import clone
from tests.factories import household_frame

import titans_finance.models as models_package
from titans_finance.errors import ModelIntegrityError
from titans_finance.models.base import ARTEFACT_NAME, TitansModel, sha256_file
from titans_finance.models.catalog import MODEL_NAMES, model_class
from titans_finance.models.signing import SigningPolicy

SIGNING = SigningPolicy(key=b"c" * 40, production=True)


@pytest.fixture(scope="module")
def history() -> pd.DataFrame:
    """A year of one household account: salary, rent, subscriptions, groceries, coffee."""
    return household_frame(months=12, seed=3)


@pytest.fixture(scope="module")
def upcoming() -> pd.DataFrame:
    """The month after ``history`` (cash flow forecasts only dates after the history)."""
    return household_frame(start=date(2025, 1, 1), months=1, seed=4)


@pytest.fixture(scope="module", params=MODEL_NAMES)
def fitted(request: pytest.FixtureRequest, history: pd.DataFrame) -> TitansModel:
    return model_class(request.param)().fit(history)


def test_the_catalog_lists_every_model_class() -> None:
    classes = set()
    for info in pkgutil.iter_modules(models_package.__path__):
        module = importlib.import_module(f"titans_finance.models.{info.name}")
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, TitansModel) and obj is not TitansModel:
                classes.add(obj)
    assert classes == {model_class(name) for name in MODEL_NAMES}


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_init_stores_hyperparameters_only_and_clones(name: str) -> None:
    model = model_class(name)()
    params = model.get_params()
    assert set(vars(model)) == set(params), "__init__ sets something besides hyperparameters"
    assert not [key for key in vars(model) if key.endswith("_")]
    cloned = clone(model)
    assert cloned is not model and cloned.get_params() == params


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_fit_returns_self(name: str, history: pd.DataFrame) -> None:
    model = model_class(name)()
    assert model.fit(history) is model
    assert model.metadata_.model_type == name
    assert model.metadata_.training_rows == len(history)


def test_one_row_per_input_row_in_order_with_model_version(
    fitted: TitansModel, upcoming: pd.DataFrame
) -> None:
    batch = upcoming.iloc[::-1].copy()
    batch.index = pd.Index([f"row-{i}" for i in range(len(batch))])
    result = fitted.predict(batch)
    assert len(result) == len(batch)
    assert list(result.index) == list(batch.index)
    assert result["model_version"].eq(fitted.metadata_.version).all()
    again = fitted.predict(batch.iloc[::-1])
    pd.testing.assert_frame_equal(again.loc[batch.index], result)


def test_save_load_round_trip_with_checksum(
    fitted: TitansModel, upcoming: pd.DataFrame, tmp_path: Path
) -> None:
    folder = fitted.save(tmp_path, signing=SIGNING)
    assert fitted.metadata_.artefacts == {ARTEFACT_NAME: sha256_file(folder / ARTEFACT_NAME)}
    loaded = type(fitted).load(tmp_path, signing=SIGNING)
    assert loaded.metadata_.version == fitted.metadata_.version
    batch = upcoming
    pd.testing.assert_frame_equal(loaded.predict(batch), fitted.predict(batch))
    with (folder / ARTEFACT_NAME).open("ab") as handle:
        handle.write(b"tampered")
    with pytest.raises(ModelIntegrityError, match="checksum"):
        type(fitted).load(tmp_path, signing=SIGNING)

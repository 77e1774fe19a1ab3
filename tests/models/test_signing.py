"""Signed model artefacts (issue 15 finding 17): whoever can write the models folder cannot
forge a model that loads, because the signing key lives outside it."""

from __future__ import annotations

import json
import logging
import os
import pickle
from pathlib import Path

import pytest
from pydantic import SecretStr
from tests.factories import synthetic_frame

from titans_finance.config import Settings
from titans_finance.errors import ConfigurationError, ModelIntegrityError
from titans_finance.models.base import ARTEFACT_NAME, METADATA_NAME, sha256_file
from titans_finance.models.category import CategoryModel
from titans_finance.models.signing import SigningPolicy

KEY = SigningPolicy(key=b"k" * 40, production=True)
OTHER_KEY = SigningPolicy(key=b"o" * 40, production=True)
NO_KEY_DEV = SigningPolicy(key=None, production=False)
NO_KEY_PROD = SigningPolicy(key=None, production=True)


@pytest.fixture(scope="module")
def model() -> CategoryModel:
    return CategoryModel().fit(synthetic_frame(120))


class _Exploit:
    """A pickle that runs code when loaded: it would create the file named by ``marker``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, int]]:
        return (os.open, (str(self.marker), os.O_CREAT | os.O_WRONLY))


def test_signed_model_loads_under_its_key(model: CategoryModel, tmp_path: Path) -> None:
    model.save(tmp_path, KEY)
    meta = json.loads((tmp_path / "category" / METADATA_NAME).read_text())
    assert meta["signature"].startswith("hmac-sha256:")
    loaded = CategoryModel.load(tmp_path, KEY)
    assert loaded.metadata_.version == model.metadata_.version


def test_rewritten_artefact_and_checksum_is_refused_before_unpickling(
    model: CategoryModel, tmp_path: Path
) -> None:
    model.save(tmp_path, KEY)
    folder = tmp_path / "category"
    marker = tmp_path / "pwned"
    (folder / ARTEFACT_NAME).write_bytes(pickle.dumps(_Exploit(marker)))
    meta = json.loads((folder / METADATA_NAME).read_text())
    meta["artefacts"] = {ARTEFACT_NAME: sha256_file(folder / ARTEFACT_NAME)}  # attacker's fix-up
    (folder / METADATA_NAME).write_text(json.dumps(meta))
    with pytest.raises(ModelIntegrityError, match="signature does not match"):
        CategoryModel.load(tmp_path, KEY)
    assert not marker.exists()
    # Without the signature the same forged folder would have run the attacker's code.
    with pytest.raises(ModelIntegrityError):
        CategoryModel.load(tmp_path, NO_KEY_DEV)
    assert marker.exists()


def test_signature_from_another_key_is_refused(model: CategoryModel, tmp_path: Path) -> None:
    model.save(tmp_path, OTHER_KEY)
    with pytest.raises(ModelIntegrityError, match="another key"):
        CategoryModel.load(tmp_path, KEY)


def test_unsigned_model_is_refused_when_a_key_is_set(model: CategoryModel, tmp_path: Path) -> None:
    model.save(tmp_path, NO_KEY_DEV)
    assert json.loads((tmp_path / "category" / METADATA_NAME).read_text())["signature"] is None
    with pytest.raises(ModelIntegrityError, match="not signed"):
        CategoryModel.load(tmp_path, KEY)


def test_edited_metadata_is_refused(model: CategoryModel, tmp_path: Path) -> None:
    model.save(tmp_path, KEY)
    path = tmp_path / "category" / METADATA_NAME
    meta = json.loads(path.read_text())
    meta["metrics"] = {"accuracy": 0.99}
    path.write_text(json.dumps(meta))
    with pytest.raises(ModelIntegrityError, match="signature"):
        CategoryModel.load(tmp_path, KEY)


def test_production_without_key_neither_saves_nor_loads(
    model: CategoryModel, tmp_path: Path
) -> None:
    with pytest.raises(ConfigurationError, match="TITANS_MODEL_SIGNING_KEY") as caught:
        model.save(tmp_path / "prod", NO_KEY_PROD)
    assert caught.value.exit_code == 78
    assert not (tmp_path / "prod").exists()
    model.save(tmp_path, KEY)
    with pytest.raises(ModelIntegrityError, match="production loads only signed"):
        CategoryModel.load(tmp_path, NO_KEY_PROD)


def test_development_without_key_loads_with_a_warning(
    model: CategoryModel, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    model.save(tmp_path, NO_KEY_DEV)
    with caplog.at_level(logging.WARNING):
        CategoryModel.load(tmp_path, NO_KEY_DEV)
    assert "without a signature check" in caplog.text


def test_policy_from_settings_and_short_production_key(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, model_signing_key=SecretStr("s" * 32))  # type: ignore[call-arg]
    assert SigningPolicy.from_settings(settings).key == b"s" * 32
    with pytest.raises(ValueError, match="at least 32"):
        Settings(  # type: ignore[call-arg]
            _env_file=None, environment="production", model_signing_key=SecretStr("short")
        )

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from titans_finance.config import Environment, Settings, generate_development_key


def test_defaults_are_local_and_development(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    settings = Settings()
    assert settings.environment is Environment.DEVELOPMENT
    assert settings.database_url == "sqlite:///./var/titans.db"
    assert settings.api_keys == []
    assert settings.redis_url is None
    assert not settings.is_production


def test_environment_variables_are_parsed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TITANS_ENVIRONMENT", "production")
    monkeypatch.setenv("TITANS_API_KEYS", " k1 , k2,, ")
    monkeypatch.setenv("TITANS_CORS_ORIGINS", "https://a.example,https://b.example")
    monkeypatch.setenv("TITANS_REDIS_URL", "")
    monkeypatch.setenv("TITANS_RATE_LIMIT", "60")
    settings = Settings()
    assert settings.is_production
    assert [k.get_secret_value() for k in settings.api_keys] == ["k1", "k2"]
    assert settings.cors_origins == ["https://a.example", "https://b.example"]
    assert settings.redis_url is None
    assert settings.rate_limit == 60
    assert "k1" not in repr(settings) and "k1" not in str(settings.model_dump())


def test_dotenv_file_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("TITANS_MODELS_DIR=/srv/models\n")
    assert Settings().models_dir == Path("/srv/models")


@pytest.mark.parametrize(
    ("name", "value"),
    [("TITANS_RATE_LIMIT", "0"), ("TITANS_ENVIRONMENT", "staging"), ("TITANS_DEBUG", "maybe")],
)
def test_bad_values_are_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str, value: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match=name.removeprefix("TITANS_").lower()):
        Settings()


def test_development_keys_are_random() -> None:
    first, second = generate_development_key(), generate_development_key()
    assert first != second and len(first) > 30

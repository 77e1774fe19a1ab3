"""Application settings: the only module that reads the environment."""

from __future__ import annotations

import os
import secrets
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Environment(StrEnum):
    """Where the service runs; production disables every convenience default."""

    DEVELOPMENT = "development"
    PRODUCTION = "production"


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class Settings(BaseSettings):
    """Titans Finance settings, read from `TITANS_*` variables and an optional `.env` file."""

    model_config = SettingsConfigDict(
        env_prefix="TITANS_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    environment: Environment = Environment.DEVELOPMENT
    database_url: str = "sqlite:///./var/titans.db"
    redis_url: str | None = None
    api_keys: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    rate_limit: int = Field(default=1000, ge=1, description="requests per hour per key")
    rate_limit_burst: int = Field(default=100, ge=1)
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    models_dir: Path = Path("./var/models")
    mlflow_tracking_uri: str = "sqlite:///./var/mlflow.db"
    log_level: str = "INFO"
    debug: bool = False
    metrics_public: bool = False
    max_batch_size: int = Field(default=100_000, ge=1)
    max_upload_bytes: int = Field(default=50 * 1024 * 1024, ge=1)
    max_body_bytes: int = Field(default=20 * 1024 * 1024, ge=1)
    cache_ttl_seconds: int = Field(default=300, ge=0)
    default_currency: str = "USD"
    dashboard_api_url: str | None = None
    dashboard_api_key: SecretStr | None = None
    jwt_secret: SecretStr | None = None
    token_ttl_seconds: int = Field(default=900, ge=30, le=86_400)
    refresh_ttl_seconds: int = Field(default=7 * 86_400, ge=60, le=90 * 86_400)
    auth_failure_burst: int = Field(default=10, ge=1, description="failed logins before 429")
    auth_failures_per_hour: int = Field(default=60, ge=1, description="refill of that budget")
    owner_username: str | None = None
    owner_password: SecretStr | None = None

    @field_validator("api_keys", mode="before")
    @classmethod
    def _parse_keys(cls, value: object) -> object:
        return _split_csv(value)

    @field_validator(
        "redis_url",
        "dashboard_api_url",
        "dashboard_api_key",
        "jwt_secret",
        "owner_username",
        "owner_password",
        mode="before",
    )
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _parse_origins(cls, value: object) -> object:
        return _split_csv(value)

    @property
    def is_production(self) -> bool:
        """True when running with production safeguards."""
        return self.environment is Environment.PRODUCTION


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()


def child_environment(overrides: dict[str, str]) -> dict[str, str]:
    """This process's environment plus ``overrides``, for child processes (serve, dashboard)."""
    return {**os.environ, **overrides}


def generate_development_key() -> str:
    """A fresh random API key for development mode (never a fixed, known key)."""
    return "dev-" + secrets.token_urlsafe(24)

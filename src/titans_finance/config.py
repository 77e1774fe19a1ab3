"""Application settings: the only module that reads the environment."""

from __future__ import annotations

import os
import secrets
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from titans_finance.domain import MAX_HORIZON_DAYS
from titans_finance.errors import ConfigurationError

# Database back-ends the store supports (URL scheme before any ``+driver``).
SUPPORTED_DATABASES = ("sqlite", "postgresql", "postgres")
# Shortest secret accepted in production for keys that guard integrity.
MIN_PRODUCTION_SECRET = 32
# Fields whose values never appear in an error message.
_SECRET_FIELDS = {"api_keys", "dashboard_api_key", "model_signing_key", "database_url", "redis_url"}


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
    #: after loading models, put them out of the cyclic garbage collector's reach (gc.freeze):
    #: a full collection over them stalls a server ~150-200 ms; off, e.g., in test processes
    gc_freeze: bool = True
    default_currency: str = "USD"
    dashboard_api_url: str | None = None
    monitor_window_days: int = Field(default=90, ge=1, le=3650)
    monitor_interval_seconds: int = Field(default=300, ge=0)
    monitor_max_rows: int = Field(default=20_000, ge=1)
    monitor_forecast_days: int = Field(default=30, ge=1, le=MAX_HORIZON_DAYS)
    #: training reads the most recent whole days holding at most this many rows (0: every row)
    train_max_rows: int = Field(default=200_000, ge=0)
    #: ... but at least this many of the most recent days (a year and a hold-out); when they hold
    #: more than train_max_rows rows, category learns from whole accounts sampled inside them,
    #: amount and anomaly from every account's recent days within the cap, cash flow and
    #: recurring from every account (0: no minimum)
    train_min_days: int = Field(default=420, ge=0)
    dashboard_api_key: SecretStr | None = None
    # Set by `titans serve --workers N` for its workers (prometheus-client multiprocess mode).
    prometheus_multiproc_dir: Path | None = Field(
        default=None, validation_alias=AliasChoices("PROMETHEUS_MULTIPROC_DIR")
    )

    # Set by `titans dashboard --address` for the app: a non-loopback bind always asks for a login.
    dashboard_address: str = "127.0.0.1"
    jwt_secret: SecretStr | None = None
    token_ttl_seconds: int = Field(default=900, ge=30, le=86_400)
    refresh_ttl_seconds: int = Field(default=7 * 86_400, ge=60, le=90 * 86_400)
    # a stored key's record is re-read at most this often per worker (0: on every request)
    key_cache_seconds: float = Field(default=5.0, ge=0, le=300)
    auth_failure_burst: int = Field(default=10, ge=1, description="failed logins before 429")
    auth_failures_per_hour: int = Field(default=60, ge=1, description="refill of that budget")
    owner_username: str | None = None
    owner_password: SecretStr | None = None
    model_signing_key: SecretStr | None = None

    @field_validator("environment", mode="before")
    @classmethod
    def _environment_case(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        scheme = _check_url(value, "a database URL such as sqlite:///./var/titans.db")
        if scheme.split("+", 1)[0] not in SUPPORTED_DATABASES:
            raise ValueError(
                f"the database {scheme!r} is not supported; use sqlite:/// or postgresql://"
            )
        return value

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: str | None) -> str | None:
        if value is not None and _check_url(value, "redis://host:port/db") not in (
            "redis",
            "rediss",
            "unix",
        ):
            raise ValueError("not a Redis URL; use redis://host:port/db")
        return value

    @model_validator(mode="after")
    def _check_production_secrets(self) -> Settings:
        key = self.model_signing_key
        if (
            self.is_production
            and key is not None
            and len(key.get_secret_value()) < MIN_PRODUCTION_SECRET
        ):
            raise ValueError(
                f"TITANS_MODEL_SIGNING_KEY must be at least {MIN_PRODUCTION_SECRET} "
                "characters in production"
            )
        return self

    inbox_dir: Path = Path("./var/inbox")
    pipeline_models: Annotated[list[str], NoDecode] = Field(default_factory=list)
    pipeline_dir: Path = Path("./var/pipeline")
    retrain_min_new_rows: int = Field(default=200, ge=1)
    retrain_min_corrections: int = Field(default=20, ge=1)
    retrain_max_age_days: float = Field(default=7.0, gt=0)
    #: PSI above which unseen data triggers a retrain (the DataDrift alert's threshold)
    retrain_drift_psi: float = Field(default=0.2, gt=0)
    retrain_drift_min_rows: int = Field(default=50, ge=1)
    promotion_margin: float = Field(default=0.01, ge=0, lt=1)
    pipeline_lock_ttl_seconds: int = Field(default=900, ge=5)
    model_reload_seconds: float = Field(default=30.0, ge=0, le=60)

    @field_validator("api_keys", mode="before")
    @classmethod
    def _parse_keys(cls, value: object) -> object:
        return _split_csv(value)

    @field_validator(
        "redis_url",
        "dashboard_api_url",
        "dashboard_api_key",
        "model_signing_key",
        "prometheus_multiproc_dir",
        "jwt_secret",
        "owner_username",
        "owner_password",
        mode="before",
    )
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("cors_origins", "pipeline_models", mode="before")
    @classmethod
    def _parse_origins(cls, value: object) -> object:
        return _split_csv(value)

    @property
    def is_production(self) -> bool:
        """True when running with production safeguards."""
        return self.environment is Environment.PRODUCTION


def _check_url(value: str, example: str) -> str:
    """The scheme of ``value``; ValueError when it is no URL or its port is not a number."""
    if "://" not in value:
        raise ValueError(f"not a URL; expected {example}")
    parts = urlsplit(value)
    try:
        parts.port  # noqa: B018 - parsing the port is the check
    except ValueError:
        raise ValueError("the port is not a number between 0 and 65535") from None
    return parts.scheme.lower()


def _describe(exc: ValidationError) -> str:
    """One line per bad setting, naming its variable; secrets' values are never echoed."""
    lines = []
    for error in exc.errors():
        loc = [str(part) for part in error.get("loc", ()) if not isinstance(part, int)]
        name = loc[0] if loc else ""
        variable = f"TITANS_{name.upper()}" if name else "settings"
        message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
        if name and name not in _SECRET_FIELDS and "input" in error:
            message += f" (got {str(error['input'])[:60]!r})"
        lines.append(f"{variable}: {message}")
    return "invalid configuration: " + "; ".join(lines)


def load_settings() -> Settings:
    """Settings from the environment; a bad value raises ConfigurationError (exit 78)."""
    try:
        return Settings()
    except ValidationError as exc:
        raise ConfigurationError(_describe(exc)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once (ConfigurationError when a value is wrong)."""
    return load_settings()


def child_environment(overrides: dict[str, str]) -> dict[str, str]:
    """This process's environment plus ``overrides``, for child processes (serve, dashboard)."""
    return {**os.environ, **overrides}


def generate_development_key() -> str:
    """A fresh random API key for development mode (never a fixed, known key)."""
    return "dev-" + secrets.token_urlsafe(24)

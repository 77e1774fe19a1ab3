"""MLflow record of every training run: params, metrics, the model folder, registered versions
with ``champion``/``challenger`` aliases, promotion and rollback.

This is the only module that imports mlflow, always inside functions (mlflow takes seconds to
import).  The model directory stays what serving loads; promotion and rollback copy a
version's artefacts back into it after verifying their checksums.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import tempfile
import threading
from collections.abc import Iterator, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from titans_finance.errors import ConfigurationError, NotFoundError

logger = logging.getLogger(__name__)

EXPERIMENT_NAME = "titans-finance"
CHAMPION = "champion"
CHALLENGER = "challenger"
_TAG_METRIC = "titans.primary_metric"
_TAG_VALUE = "titans.metric_value"
_TAG_HIGHER = "titans.higher_is_better"
_TAG_WAS_CHAMPION = "titans.was_champion"
_TAG_MODEL_VERSION = "titans.model_version"
_QUIET_LOGGERS = ("mlflow", "alembic", "alembic.runtime.migration", "git")

_lock = threading.Lock()
_sessions: dict[str, Future[tuple[Any, str]]] = {}


@dataclass(frozen=True)
class RegistryRecord:
    """Where a training run went in MLflow."""

    model_name: str
    version: str
    run_id: str
    alias: str
    metric: str | None = None
    value: float | None = None
    previous_champion: str | None = None


def registered_name(model_type: str) -> str:
    """The registered model name of a model type (``titans-<model_type>``)."""
    return f"titans-{model_type}"


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence mlflow/alembic INFO chatter for the duration of a registry call."""
    saved = {name: logging.getLogger(name).level for name in _QUIET_LOGGERS}
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        yield
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


def _artifact_root(tracking_uri: str) -> str | None:
    """Artefact location beside a local store (None: the server decides)."""
    parsed = urlparse(tracking_uri)
    if parsed.scheme.startswith("sqlite"):
        database = tracking_uri.split(":///", 1)[-1]
        if not database or database == ":memory:":
            raise ConfigurationError("TITANS_MLFLOW_TRACKING_URI needs a sqlite file, not memory")
        path = Path(database).expanduser().resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        return (path.parent / "mlartifacts").as_uri()
    if parsed.scheme in ("", "file"):
        path = Path(parsed.path if parsed.scheme else tracking_uri).expanduser().resolve()
        path.mkdir(parents=True, exist_ok=True)
        return None
    return None


def _open(tracking_uri: str) -> tuple[Any, str]:
    with _quiet():
        artifact_root = _artifact_root(tracking_uri)
        from mlflow.tracking import MlflowClient

        logging.getLogger("mlflow").setLevel(logging.WARNING)
        client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
        experiment = client.get_experiment_by_name(EXPERIMENT_NAME)
        if experiment is not None:
            return client, experiment.experiment_id
        try:
            return client, client.create_experiment(
                EXPERIMENT_NAME, artifact_location=artifact_root
            )
        except Exception:  # created concurrently by another process
            experiment = client.get_experiment_by_name(EXPERIMENT_NAME)
            if experiment is None:
                raise
            return client, experiment.experiment_id


def prepare(tracking_uri: str) -> Future[tuple[Any, str]]:
    """Start importing mlflow and opening the store in the background; returns the future.

    Call it when training starts so the mlflow import overlaps model fitting.
    """
    with _lock:
        future = _sessions.get(tracking_uri)
        if future is not None and not (future.done() and future.exception() is not None):
            return future
        future = Future()
        _sessions[tracking_uri] = future

    def work() -> None:
        try:
            future.set_result(_open(tracking_uri))
        except BaseException as exc:  # reported to whoever waits on the future
            future.set_exception(exc)

    threading.Thread(target=work, name="titans-mlflow-open", daemon=True).start()
    return future


def _session(tracking_uri: str) -> tuple[Any, str]:
    return prepare(tracking_uri).result()


def _champion(client: Any, name: str) -> Any | None:
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException:
        return None


def _beats(value: float | None, champion: Any, metric: str, higher_is_better: bool) -> bool:
    if champion is None:
        return True
    if value is None:
        return False
    tags = champion.tags or {}
    if tags.get(_TAG_METRIC) != metric or tags.get(_TAG_VALUE) in (None, ""):
        return True  # the champion was judged on another metric (or none): the new run wins
    previous = float(tags[_TAG_VALUE])
    return value > previous if higher_is_better else value < previous


def _log_version(
    client: Any,
    model_type: str,
    model_dir: Path,
    *,
    tracking_uri: str,
    metrics: Mapping[str, float],
    params: Mapping[str, Any],
    primary_metric: str | None,
    higher_is_better: bool,
    model_version: str,
    tags: Mapping[str, str] | None,
) -> tuple[Any, str, float | None]:
    """Log a run with the model folder and register it as a new version (no alias yet)."""
    _, experiment_id = _session(tracking_uri)
    from mlflow.entities import Metric, Param, RunTag

    name = registered_name(model_type)
    run = client.create_run(
        experiment_id,
        run_name=f"{model_type}-{model_version}" if model_version else model_type,
        tags={"titans.model_type": model_type, _TAG_MODEL_VERSION: model_version},
    )
    run_id = run.info.run_id
    try:
        timestamp = int(run.info.start_time)
        client.log_batch(
            run_id,
            metrics=[
                Metric(key, float(value), timestamp, 0)
                for key, value in metrics.items()
                if value is not None
            ],
            params=[Param(key, str(value)[:6000]) for key, value in params.items()],
            tags=[RunTag(key, str(value)) for key, value in (tags or {}).items()],
        )
        client.log_artifacts(run_id, str(model_dir), artifact_path="model")
    except Exception:
        client.set_terminated(run_id, status="FAILED")
        raise
    client.set_terminated(run_id)
    try:
        client.get_registered_model(name)
    except Exception:
        client.create_registered_model(name, description=f"Titans Finance {model_type} model")
    value = metrics.get(primary_metric) if primary_metric else None
    version_tags = {
        _TAG_MODEL_VERSION: model_version,
        _TAG_METRIC: primary_metric or "",
        _TAG_VALUE: "" if value is None else repr(float(value)),
        _TAG_HIGHER: str(higher_is_better).lower(),
        **{key: str(val) for key, val in (tags or {}).items()},
    }
    version = client.create_model_version(
        name, source=f"{run.info.artifact_uri}/model", run_id=run_id, tags=version_tags
    )
    return version, run_id, None if value is None else float(value)


def register_candidate(
    model_type: str,
    model_dir: Path,
    *,
    tracking_uri: str,
    metrics: Mapping[str, float],
    params: Mapping[str, Any],
    primary_metric: str | None,
    higher_is_better: bool = True,
    model_version: str = "",
    tags: Mapping[str, str] | None = None,
) -> RegistryRecord:
    """Log a pipeline candidate's run and register its folder as a version without an alias:
    the pipeline decides and then calls :func:`set_alias` (``alias`` is empty here)."""
    client, _ = _session(tracking_uri)
    with _quiet():
        version, run_id, value = _log_version(
            client,
            model_type,
            model_dir,
            tracking_uri=tracking_uri,
            metrics=metrics,
            params=params,
            primary_metric=primary_metric,
            higher_is_better=higher_is_better,
            model_version=model_version,
            tags=tags,
        )
    return RegistryRecord(
        model_name=registered_name(model_type),
        version=str(version.version),
        run_id=run_id,
        alias="",
        metric=primary_metric,
        value=value,
    )


def set_alias(model_type: str, version: str, alias: str, *, tracking_uri: str) -> None:
    """Point ``alias`` (champion or challenger) of a model type at ``version``."""
    client, _ = _session(tracking_uri)
    name = registered_name(model_type)
    with _quiet():
        client.set_registered_model_alias(name, alias, str(version))
        if alias == CHAMPION:
            client.set_model_version_tag(name, str(version), _TAG_WAS_CHAMPION, "true")


def alias_version(model_type: str, alias: str, *, tracking_uri: str) -> str | None:
    """The version an alias points at, or None."""
    client, _ = _session(tracking_uri)
    from mlflow.exceptions import MlflowException

    with _quiet():
        try:
            found = client.get_model_version_by_alias(registered_name(model_type), alias)
        except MlflowException:
            return None
    return str(found.version)


def log_training_run(
    model_type: str,
    model_dir: Path,
    *,
    tracking_uri: str,
    metrics: Mapping[str, float],
    params: Mapping[str, Any],
    primary_metric: str | None,
    higher_is_better: bool = True,
    model_version: str = "",
    tags: Mapping[str, str] | None = None,
) -> RegistryRecord:
    """Log one training run and register its model folder as a new version.

    The version gets the ``champion`` alias when its ``primary_metric`` beats the current
    champion's (or there is none), else ``challenger``.
    """
    client, _ = _session(tracking_uri)
    name = registered_name(model_type)
    with _quiet():
        version, run_id, value = _log_version(
            client,
            model_type,
            model_dir,
            tracking_uri=tracking_uri,
            metrics=metrics,
            params=params,
            primary_metric=primary_metric,
            higher_is_better=higher_is_better,
            model_version=model_version,
            tags=tags,
        )
        champion = _champion(client, name)
        wins = _beats(
            None if value is None else float(value),
            champion,
            primary_metric or "",
            higher_is_better,
        )
        alias = CHAMPION if wins else CHALLENGER
        client.set_registered_model_alias(name, alias, version.version)
        if wins:
            client.set_model_version_tag(name, version.version, _TAG_WAS_CHAMPION, "true")
    return RegistryRecord(
        model_name=name,
        version=str(version.version),
        run_id=run_id,
        alias=alias,
        metric=primary_metric,
        value=None if value is None else float(value),
        previous_champion=None if champion is None else str(champion.version),
    )


def list_versions(model_type: str, *, tracking_uri: str) -> list[dict[str, Any]]:
    """Registered versions of a model type, newest first, with aliases and primary metric."""
    client, _ = _session(tracking_uri)
    name = registered_name(model_type)
    from mlflow.exceptions import MlflowException

    with _quiet():
        try:
            aliases: dict[str, str] = dict(client.get_registered_model(name).aliases or {})
        except MlflowException:
            return []
        versions = client.search_model_versions(f"name='{name}'")
    by_version: dict[str, list[str]] = {}
    for alias, number in aliases.items():
        by_version.setdefault(str(number), []).append(alias)
    rows = []
    for version in sorted(versions, key=lambda v: int(v.version), reverse=True):
        tags = version.tags or {}
        rows.append(
            {
                "version": str(version.version),
                "aliases": sorted(by_version.get(str(version.version), [])),
                "run_id": version.run_id,
                "model_version": tags.get(_TAG_MODEL_VERSION, ""),
                "metric": tags.get(_TAG_METRIC) or None,
                "value": float(tags[_TAG_VALUE]) if tags.get(_TAG_VALUE) else None,
            }
        )
    return rows


def champion_version(model_type: str, *, tracking_uri: str) -> str | None:
    """The version holding the ``champion`` alias, or None."""
    client, _ = _session(tracking_uri)
    with _quiet():
        champion = _champion(client, registered_name(model_type))
    return None if champion is None else str(champion.version)


def _resolve(tracking_uri: str | None, models_dir: Path | None) -> tuple[str, Path]:
    from titans_finance.config import get_settings

    settings = get_settings() if tracking_uri is None or models_dir is None else None
    uri = tracking_uri if tracking_uri is not None else settings.mlflow_tracking_uri  # type: ignore[union-attr]
    folder = models_dir if models_dir is not None else settings.models_dir  # type: ignore[union-attr]
    return uri, Path(folder)


def promote(
    model_type: str,
    version: str | int,
    *,
    tracking_uri: str | None = None,
    models_dir: Path | None = None,
    install: bool = True,
) -> RegistryRecord:
    """Give ``version`` the ``champion`` alias and (``install``) copy its artefacts into the
    model directory serving loads, checksums verified before the swap.

    ``tracking_uri`` and ``models_dir`` default to the settings.
    """
    tracking_uri, models_dir = _resolve(tracking_uri, models_dir)
    client, _ = _session(tracking_uri)
    from mlflow.exceptions import MlflowException

    name = registered_name(model_type)
    with _quiet():
        try:
            target = client.get_model_version(name, str(version))
        except MlflowException as exc:
            raise NotFoundError(f"{name} has no version {version}") from exc
        previous = _champion(client, name)
        if install:
            _install(client, model_type, target.run_id, models_dir)
        client.set_registered_model_alias(name, CHAMPION, target.version)
        client.set_model_version_tag(name, target.version, _TAG_WAS_CHAMPION, "true")
    tags = target.tags or {}
    return RegistryRecord(
        model_name=name,
        version=str(target.version),
        run_id=target.run_id,
        alias=CHAMPION,
        metric=tags.get(_TAG_METRIC) or None,
        value=float(tags[_TAG_VALUE]) if tags.get(_TAG_VALUE) else None,
        previous_champion=None if previous is None else str(previous.version),
    )


def rollback(
    model_type: str,
    *,
    tracking_uri: str | None = None,
    models_dir: Path | None = None,
    install: bool = True,
) -> RegistryRecord:
    """Move ``champion`` back to the latest earlier version that was champion before (and
    install it, like :func:`promote`)."""
    tracking_uri, models_dir = _resolve(tracking_uri, models_dir)
    client, _ = _session(tracking_uri)
    name = registered_name(model_type)
    with _quiet():
        current = _champion(client, name)
        if current is None:
            raise NotFoundError(f"{name} has no champion to roll back from")
        versions = client.search_model_versions(f"name='{name}'")
    earlier = [
        v
        for v in versions
        if int(v.version) < int(current.version) and (v.tags or {}).get(_TAG_WAS_CHAMPION) == "true"
    ]
    if not earlier:
        raise NotFoundError(
            f"{name} version {current.version} is the first champion; nothing to roll back to"
        )
    target = max(earlier, key=lambda v: int(v.version))
    return promote(
        model_type,
        target.version,
        tracking_uri=tracking_uri,
        models_dir=models_dir,
        install=install,
    )


def _install(client: Any, model_type: str, run_id: str, models_dir: Path) -> None:
    """Download a run's model folder and swap it into ``models_dir/<model_type>``."""
    from titans_finance.models.catalog import model_class

    models_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=models_dir, prefix=f".{model_type}-") as tmp:
        staging = Path(tmp) / "download"
        staging.mkdir()
        local = Path(client.download_artifacts(run_id, "model", str(staging)))
        candidate = Path(tmp) / model_type
        local.rename(candidate)
        model_class(model_type).load(Path(tmp))  # refuses a tampered or truncated artefact
        target = models_dir / model_type
        backup = Path(tmp) / "previous"
        if target.exists():
            target.rename(backup)
        try:
            candidate.rename(target)
        except OSError:
            if backup.exists():
                backup.rename(target)
            raise
        shutil.rmtree(backup, ignore_errors=True)


__all__ = [
    "CHALLENGER",
    "CHAMPION",
    "RegistryRecord",
    "alias_version",
    "champion_version",
    "list_versions",
    "log_training_run",
    "prepare",
    "promote",
    "register_candidate",
    "registered_name",
    "rollback",
    "set_alias",
]

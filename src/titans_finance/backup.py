"""One-file backups of the store, the models and the MLflow store, and their verified restore.

An archive is a gzip'd tar whose first member, ``manifest.json``, lists every other member with
its sha256 and size, the store's dialect, schema revision and row counts:

* ``store/titans.sqlite``: an online backup of a SQLite store (``sqlite3`` backup API), or
  ``store/<table>.csv`` per table of a PostgreSQL store (``COPY ... TO STDOUT`` inside one
  repeatable-read transaction, so the tables agree with each other);
* ``models/...``: the models folder as serving loads it (signed metadata included);
* ``mlflow/mlflow.db`` and ``mlflow/mlartifacts/...``: a local (SQLite) MLflow store.

``restore_archive`` extracts into a temporary folder and checks everything (readable archive,
manifest, every checksum, no member outside the manifest, a schema revision this installation
knows, the same database dialect, an empty target unless ``force``) before writing anything.
The store is then replaced in one step (SQLite backup API; one PostgreSQL transaction) and
upgraded to the latest schema; the models and MLflow folders are swapped in by rename.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import shutil
import sqlite3
import tarfile
import tempfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from sqlalchemy import Engine, MetaData, inspect, text

from titans_finance.config import Settings
from titans_finance.errors import InputFileError, StorageError, ValidationError
from titans_finance.storage.db import (
    alembic_config,
    create_db_engine,
    current_revision,
    get_engine,
    known_revisions,
    migrate,
)

logger = logging.getLogger(__name__)

FORMAT = "titans-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
_SQLITE_MEMBER = "store/titans.sqlite"
_ALEMBIC_TABLE = "alembic_version"
Progress = Callable[[str], None]


@dataclass
class BackupSummary:
    """What an archive holds (also what a restore put back)."""

    path: Path
    dialect: str
    schema_revision: str | None
    tables: dict[str, int]
    files: int
    bytes: int
    mlflow: bool
    notes: list[str] = field(default_factory=list)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _version() -> str:
    try:
        return importlib.metadata.version("titans-finance")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _sqlite_path(url: str) -> Path | None:
    """The file of a ``sqlite:///`` URL (None for memory or another dialect)."""
    parsed = urlparse(url)
    if not parsed.scheme.startswith("sqlite"):
        return None
    database = url.split(":///", 1)[-1] if ":///" in url else ""
    if not database or database == ":memory:":
        return None
    return Path(database).expanduser()


def _sqlite_copy(source: Path, target: Path) -> None:
    """Copy SQLite database ``source`` into ``target`` with the online backup API."""
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()


def _copy_tree(source: Path, target: Path) -> None:
    if source.is_dir():
        shutil.copytree(source, target, ignore=shutil.ignore_patterns("*.tmp"), symlinks=False)


# -- backup ---------------------------------------------------------------------------------------
def _dump_store(engine: Engine, staging: Path) -> tuple[str | None, dict[str, int], list[str]]:
    """Write the store under ``staging/store``; (schema revision, row counts, table order)."""
    store = staging / "store"
    store.mkdir(parents=True)
    if engine.dialect.name == "sqlite":
        raw = engine.raw_connection()
        try:
            dst = sqlite3.connect(staging / _SQLITE_MEMBER)
            try:
                raw.driver_connection.backup(dst)  # type: ignore[union-attr]
            finally:
                dst.close()
        finally:
            raw.close()
        copy = create_db_engine(f"sqlite:///{staging / _SQLITE_MEMBER}")
        try:
            return _describe_store(copy)
        finally:
            copy.dispose()
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
        revision, counts, order = _describe_store(conn)
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        for table in order:
            with (
                (store / f"{table}.csv").open("wb") as handle,
                cursor.copy(f'COPY "{table}" TO STDOUT WITH (FORMAT csv, HEADER)') as copy,
            ):
                for chunk in copy:
                    handle.write(chunk)
        conn.rollback()
    return revision, counts, order


def _describe_store(bind: Any) -> tuple[str | None, dict[str, int], list[str]]:
    """(schema revision, rows per table, tables in foreign-key order) of a store."""
    metadata = MetaData()
    metadata.reflect(bind)
    order = [t.name for t in metadata.sorted_tables if t.name != _ALEMBIC_TABLE]
    connect = bind.connect() if isinstance(bind, Engine) else _borrowed(bind)
    with connect as conn:
        counts = {
            name: int(conn.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one())
            for name in order
        }
        revision = current_revision(conn)
    return revision, counts, order


@contextmanager
def _borrowed(conn: Any) -> Iterator[Any]:
    yield conn


def _dump_mlflow(tracking_uri: str, staging: Path) -> tuple[bool, str | None]:
    """Copy a local MLflow store under ``staging/mlflow``; (included, why not)."""
    database = _sqlite_path(tracking_uri)
    if database is None:
        return (
            False,
            f"MLflow store {urlparse(tracking_uri).scheme}:// is not local; back it up there",
        )
    if not database.is_file():
        return False, "no MLflow store yet"
    _sqlite_copy(database, staging / "mlflow" / "mlflow.db")
    _copy_tree(database.resolve().parent / "mlartifacts", staging / "mlflow" / "mlartifacts")
    return True, None


def create_backup(
    settings: Settings, target: Path, progress: Progress | None = None
) -> BackupSummary:
    """Write one archive of the store, the models and the MLflow store to ``target``."""
    step = progress or (lambda _message: None)
    target = Path(target)
    if target.exists() and target.is_dir():
        raise ValidationError(f"{target} is a folder; give the archive's file name")
    engine = get_engine(settings.database_url)
    with tempfile.TemporaryDirectory(prefix="titans-backup-") as tmp:
        staging = Path(tmp) / "archive"
        staging.mkdir()
        step("copying the store")
        revision, counts, order = _dump_store(engine, staging)
        step("copying the models")
        _copy_tree(Path(settings.models_dir), staging / "models")
        step("copying the MLflow store")
        mlflow, why_not = _dump_mlflow(settings.mlflow_tracking_uri, staging)
        files = {
            path.relative_to(staging).as_posix(): {
                "sha256": _sha256(path),
                "size": path.stat().st_size,
            }
            for path in sorted(staging.rglob("*"))
            if path.is_file()
        }
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created_at": datetime.now(UTC).isoformat(),
            "titans_version": _version(),
            "store": {
                "dialect": engine.dialect.name,
                "schema_revision": revision,
                "tables": counts,
                "table_order": order,
            },
            "mlflow": {"included": mlflow, "note": why_not},
            "files": files,
        }
        (Path(tmp) / MANIFEST).write_text(json.dumps(manifest, indent=2))
        step("writing the archive")
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        with tarfile.open(partial, "w:gz") as archive:
            archive.add(Path(tmp) / MANIFEST, arcname=MANIFEST)
            for name in files:
                archive.add(staging / name, arcname=name)
        partial.replace(target)
    return BackupSummary(
        path=target,
        dialect=engine.dialect.name,
        schema_revision=revision,
        tables=counts,
        files=len(files),
        bytes=target.stat().st_size,
        mlflow=mlflow,
        notes=[why_not] if why_not else [],
    )


# -- restore --------------------------------------------------------------------------------------
def _refuse(archive: Path, why: str) -> InputFileError:
    return InputFileError(f"{archive.name}: {why}; nothing was restored")


def _extract(archive: Path, staging: Path) -> dict[str, Any]:
    """Extract ``archive`` into ``staging`` and return its verified manifest."""
    if not archive.is_file():
        raise InputFileError(f"{archive.name}: no such backup file")
    try:
        with tarfile.open(archive, "r:gz") as tar:
            members = tar.getmembers()
            for member in members:
                if not (member.isfile() or member.isdir()):
                    raise _refuse(archive, f"member {member.name!r} is not a plain file")
            tar.extractall(staging, filter="data")
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise _refuse(
            archive, f"not a readable backup archive (corrupt or truncated: {type(exc).__name__})"
        ) from None
    manifest_path = staging / MANIFEST
    try:
        manifest: dict[str, Any] = json.loads(manifest_path.read_text())
        files: dict[str, dict[str, Any]] = manifest["files"]
        store = manifest["store"]
        format_name, version = manifest["format"], int(manifest["format_version"])
        str(store["dialect"])
    except (OSError, ValueError, KeyError, TypeError):
        raise _refuse(archive, "its manifest is missing or unreadable") from None
    if format_name != FORMAT:
        raise _refuse(archive, "not a Titans backup")
    if version > FORMAT_VERSION:
        raise _refuse(
            archive,
            f"written by a newer Titans (backup format {version}; this one reads "
            f"{FORMAT_VERSION}); upgrade titans first",
        )
    present = {
        path.relative_to(staging).as_posix()
        for path in staging.rglob("*")
        if path.is_file() and path != manifest_path
    }
    if present - set(files):
        raise _refuse(
            archive,
            f"it holds files its manifest does not list: {sorted(present - set(files))[:3]}",
        )
    for name, expected in files.items():
        path = staging / name
        if not path.is_file():
            raise _refuse(archive, f"{name} is missing (truncated archive?)")
        if path.stat().st_size != expected.get("size") or _sha256(path) != expected.get("sha256"):
            raise _refuse(archive, f"{name} fails its checksum (corrupt archive)")
    return manifest


def _store_rows(engine: Engine) -> int:
    """Rows in the store's tables (0: empty or not created yet)."""
    names = [n for n in inspect(engine).get_table_names() if n != _ALEMBIC_TABLE]
    with engine.connect() as conn:
        return sum(
            int(conn.execute(text(f'SELECT count(*) FROM "{n}"')).scalar_one()) for n in names
        )


def _has_models(models_dir: Path) -> bool:
    return models_dir.is_dir() and any(models_dir.rglob("metadata.json"))


def _restore_sqlite(url: str, staged: Path) -> None:
    target = _sqlite_path(url)
    if target is None:
        raise StorageError("the SQLite store must be a file to restore into")
    _sqlite_copy(staged, target)


def _restore_postgres(engine: Engine, staging: Path, store: dict[str, Any]) -> None:
    """Replace every table in one transaction: drop, recreate at the archive's revision, COPY
    the rows back, reset the id sequences."""
    from alembic import command

    order: list[str] = list(store["table_order"])
    with engine.begin() as conn:
        existing = MetaData()
        existing.reflect(conn)
        existing.drop_all(conn)
        config = alembic_config()
        config.attributes["connection"] = conn
        command.upgrade(config, str(store["schema_revision"]))
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        for table in order:
            source = staging / "store" / f"{table}.csv"
            with source.open("rb") as handle:
                header = handle.readline().decode("utf-8").strip()
                columns = ", ".join(f'"{c}"' for c in header.split(","))
                handle.seek(0)
                with cursor.copy(
                    f'COPY "{table}" ({columns}) FROM STDIN WITH (FORMAT csv, HEADER)'
                ) as copy:
                    for chunk in iter(lambda: handle.read(1 << 20), b""):
                        copy.write(chunk)
        restored = {
            name: int(conn.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one())
            for name in order
        }
        if restored != store.get("tables"):
            raise StorageError("restored row counts differ from the manifest; rolled back")
        columns_with_sequences = conn.execute(
            text(
                "SELECT table_name, column_name FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND column_default LIKE 'nextval(%'"
            )
        ).all()
        for table, column in columns_with_sequences:
            conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('\"{table}\"', '{column}'), "
                    f'COALESCE((SELECT max("{column}") FROM "{table}"), 0) + 1, false)'
                )
            )


def _swap_folder(staged: Path, target: Path) -> None:
    """Put ``staged`` at ``target`` (the old folder removed only once the new one is there)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    old = target.with_name(target.name + ".before-restore")
    if old.exists():
        shutil.rmtree(old)
    if target.exists():
        target.rename(old)
    shutil.move(str(staged), str(target))
    if old.exists():
        shutil.rmtree(old)


def restore_archive(
    settings: Settings, archive: Path, *, force: bool = False, progress: Progress | None = None
) -> BackupSummary:
    """Restore ``archive`` into the configured store, models and MLflow folders.

    Everything is verified first (see the module docstring); a refused archive or a populated
    target without ``force`` raises and leaves every destination untouched.
    """
    step = progress or (lambda _message: None)
    archive = Path(archive)
    with tempfile.TemporaryDirectory(prefix="titans-restore-") as tmp:
        staging = Path(tmp)
        step("verifying the archive")
        manifest = _extract(archive, staging)
        store = manifest["store"]
        revision = store.get("schema_revision")
        if revision is not None and revision not in known_revisions():
            raise _refuse(
                archive,
                f"its store is at schema revision {revision!r}, newer than this installation "
                "knows; upgrade titans first",
            )
        engine = create_db_engine(settings.database_url)
        try:
            if store["dialect"] != engine.dialect.name:
                raise _refuse(
                    archive,
                    f"it holds a {store['dialect']} store but TITANS_DATABASE_URL is "
                    f"{engine.dialect.name}",
                )
            if not force and (_store_rows(engine) or _has_models(Path(settings.models_dir))):
                raise ValidationError(
                    "the store or the models folder already holds data; restoring would replace "
                    "it. Pass --force to replace it; nothing was restored"
                )
            step("restoring the store")
            if engine.dialect.name == "sqlite":
                engine.dispose()
                _restore_sqlite(settings.database_url, staging / _SQLITE_MEMBER)
            else:
                _restore_postgres(engine, staging, store)
            migrate(engine)  # an older archive comes up to the latest schema
        finally:
            engine.dispose()
            get_engine.cache_clear()
        step("restoring the models")
        staged_models = staging / "models"
        staged_models.mkdir(exist_ok=True)
        _swap_folder(staged_models, Path(settings.models_dir))
        mlflow = bool(manifest.get("mlflow", {}).get("included"))
        notes: list[str] = []
        if mlflow:
            database = _sqlite_path(settings.mlflow_tracking_uri)
            if database is None:
                notes.append(
                    "the archive's MLflow store was not restored: "
                    "TITANS_MLFLOW_TRACKING_URI is not local"
                )
            else:
                step("restoring the MLflow store")
                _sqlite_copy(staging / "mlflow" / "mlflow.db", database)
                artefacts = staging / "mlflow" / "mlartifacts"
                if artefacts.is_dir():
                    _swap_folder(artefacts, database.resolve().parent / "mlartifacts")
    return BackupSummary(
        path=archive,
        dialect=str(store["dialect"]),
        schema_revision=revision,
        tables={str(k): int(v) for k, v in store.get("tables", {}).items()},
        files=len(manifest["files"]),
        bytes=archive.stat().st_size,
        mlflow=mlflow,
        notes=notes,
    )


__all__ = ["FORMAT_VERSION", "BackupSummary", "create_backup", "restore_archive"]

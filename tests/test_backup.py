"""`titans backup` / `titans restore`: a round trip on SQLite and the real PostgreSQL; corrupt,
truncated and newer-schema archives refused with nothing written; a populated target refused
unless --force (issue 15 part 5)."""

from __future__ import annotations

import io
import json
import sqlite3
import tarfile
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from pydantic import SecretStr
from sqlalchemy import text
from tests.conftest import reset_postgres
from tests.factories import synthetic_frame
from typer.testing import CliRunner

from titans_finance import domain as d
from titans_finance.backup import MANIFEST, create_backup, restore_archive
from titans_finance.cli.main import app
from titans_finance.config import Settings, get_settings
from titans_finance.errors import InputFileError, ValidationError
from titans_finance.ingest.pipeline import ingest_file
from titans_finance.models.category import CategoryModel
from titans_finance.models.signing import SigningPolicy
from titans_finance.storage import repository as repo
from titans_finance.storage.db import create_db_engine, get_engine

SIGNING_KEY = "b" * 40


def _settings(root: Path, database_url: str) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=database_url,
        models_dir=root / "models",
        mlflow_tracking_uri=f"sqlite:///{root / 'mlflow' / 'mlflow.db'}",
        model_signing_key=SecretStr(SIGNING_KEY),
    )


def _mlflow_store(settings: Settings) -> None:
    """A local MLflow-style store: a SQLite file plus the artefact folder beside it."""
    path = Path(settings.mlflow_tracking_uri.split(":///", 1)[1])
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE runs (run_uuid TEXT PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO runs VALUES ('r1', 'category-2026-12-01')")
    artefacts = path.parent / "mlartifacts" / "1" / "r1"
    artefacts.mkdir(parents=True)
    (artefacts / "model.txt").write_text("artefact bytes")


@pytest.fixture
def populated(tmp_path: Path, database_url: str, test_data: Path) -> Settings:
    """A store with an import, a rule and a budget; a signed model; an MLflow store."""
    settings = _settings(tmp_path / "source", database_url)
    engine = get_engine(settings.database_url)
    ingest_file(engine, test_data / "csv" / "personal_style.csv", account="Checking")
    repo.add_rule(engine, d.CategoryRule(d.RuleKind.REGEX, "Coffee", r"star\w+"))
    repo.set_budget(engine, "Coffee", Decimal("42"))
    CategoryModel().fit(synthetic_frame(120)).save(
        settings.models_dir, SigningPolicy.from_settings(settings)
    )
    _mlflow_store(settings)
    return settings


def _snapshot(settings: Settings) -> tuple[pd.DataFrame, list[d.CategoryRule], int]:
    engine = get_engine(settings.database_url)
    return repo.load_transactions(engine), repo.list_rules(engine), repo.count_imports(engine)


def _target(tmp_path: Path, source: Settings) -> Settings:
    """Where to restore: a new SQLite file, or the same PostgreSQL database emptied."""
    url = source.database_url
    if url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'target' / 'restored.db'}"
    else:
        reset_postgres(url).dispose()
        with create_db_engine(url).begin() as conn:  # a bare database, as on a new server
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    get_engine.cache_clear()
    return _settings(tmp_path / "target", url)


def test_round_trip(populated: Settings, tmp_path: Path) -> None:
    before = _snapshot(populated)
    archive = tmp_path / "titans.tar.gz"
    summary = create_backup(populated, archive)
    assert summary.tables["transactions"] == len(before[0]) > 0
    assert summary.mlflow
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert names[0] == MANIFEST
    assert "models/category/metadata.json" in names
    assert "mlflow/mlflow.db" in names and "mlflow/mlartifacts/1/r1/model.txt" in names

    target = _target(tmp_path, populated)
    restored = restore_archive(target, archive)
    assert restored.tables == summary.tables
    after = _snapshot(target)
    pd.testing.assert_frame_equal(after[0], before[0])
    assert [(r.kind, r.pattern, r.category) for r in after[1]] == [
        (r.kind, r.pattern, r.category) for r in before[1]
    ]
    assert after[2] == before[2]
    model = CategoryModel.load(target.models_dir, SigningPolicy.from_settings(target))
    assert model.metadata_.signature
    mlflow_db = Path(target.mlflow_tracking_uri.split(":///", 1)[1])
    with sqlite3.connect(mlflow_db) as conn:
        assert conn.execute("SELECT name FROM runs").fetchall() == [("category-2026-12-01",)]
    assert (mlflow_db.parent / "mlartifacts" / "1" / "r1" / "model.txt").read_text() == (
        "artefact bytes"
    )
    # New rows get fresh ids after a restore (PostgreSQL sequences were reset).
    engine = get_engine(target.database_url)
    added = repo.add_rule(engine, d.CategoryRule(d.RuleKind.CONTAINS, "Fuel", "shell"))
    assert added.id is not None and added.id > max(r.id or 0 for r in before[1])


def test_restore_into_a_populated_store_needs_force(populated: Settings, tmp_path: Path) -> None:
    archive = tmp_path / "titans.tar.gz"
    create_backup(populated, archive)
    engine = get_engine(populated.database_url)
    repo.add_rule(engine, d.CategoryRule(d.RuleKind.CONTAINS, "Later", "added after backup"))
    with pytest.raises(ValidationError, match="--force"):
        restore_archive(populated, archive)
    assert any(r.category == "Later" for r in repo.list_rules(get_engine(populated.database_url)))
    restore_archive(populated, archive, force=True)
    assert not any(
        r.category == "Later" for r in repo.list_rules(get_engine(populated.database_url))
    )


def _rewrite(archive: Path, target: Path, edit_manifest: object = None, drop: str = "") -> Path:
    """A copy of ``archive`` with its manifest edited or a member left out."""
    with tarfile.open(archive) as src, tarfile.open(target, "w:gz") as dst:
        for member in src.getmembers():
            if member.name == drop:
                continue
            data = src.extractfile(member)
            if member.name == MANIFEST and callable(edit_manifest):
                manifest = json.loads(data.read() if data else b"{}")
                edit_manifest(manifest)
                payload = json.dumps(manifest).encode()
                member.size = len(payload)
                dst.addfile(member, io.BytesIO(payload))
                continue
            dst.addfile(member, data)
    return target


def _bad_archives(archive: Path, tmp_path: Path) -> dict[str, Path]:
    raw = archive.read_bytes()
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(raw[: len(raw) // 2])
    corrupt = tmp_path / "corrupt.tar.gz"
    flipped = bytearray(raw)
    for i in range(len(raw) // 2, len(raw) // 2 + 64):
        flipped[i] ^= 0xFF
    corrupt.write_bytes(bytes(flipped))
    garbage = tmp_path / "garbage.tar.gz"
    garbage.write_bytes(b"not an archive at all")

    def newer_schema(m: dict[str, object]) -> None:
        m["store"]["schema_revision"] = "9999_from_the_future"  # type: ignore[index]

    def newer_format(m: dict[str, object]) -> None:
        m["format_version"] = 99

    def wrong_checksum(m: dict[str, object]) -> None:
        files = m["files"]  # type: ignore[assignment]
        files["models/category/metadata.json"]["sha256"] = "0" * 64  # type: ignore[index]

    return {
        "truncated": truncated,
        "corrupt": corrupt,
        "garbage": garbage,
        "newer schema": _rewrite(archive, tmp_path / "newer.tar.gz", newer_schema),
        "newer format": _rewrite(archive, tmp_path / "format.tar.gz", newer_format),
        "checksum": _rewrite(archive, tmp_path / "sum.tar.gz", wrong_checksum),
        "missing member": _rewrite(
            archive, tmp_path / "missing.tar.gz", drop="models/category/metadata.json"
        ),
    }


def test_bad_archives_are_refused_and_write_nothing(populated: Settings, tmp_path: Path) -> None:
    archive = tmp_path / "titans.tar.gz"
    create_backup(populated, archive)
    target = _target(tmp_path, populated)
    sqlite_file = (
        Path(target.database_url.split(":///", 1)[1])
        if target.database_url.startswith("sqlite")
        else None
    )
    for why, bad in _bad_archives(archive, tmp_path).items():
        with pytest.raises(InputFileError, match="nothing was restored") as caught:
            restore_archive(target, bad, force=True)
        assert caught.value.exit_code == 65, why
        assert not target.models_dir.exists(), why
        assert not Path(target.mlflow_tracking_uri.split(":///", 1)[1]).exists(), why
        if sqlite_file is not None:
            assert not sqlite_file.exists(), why
        else:
            engine = create_db_engine(target.database_url)
            with engine.connect() as conn:
                tables = conn.execute(
                    text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
                ).scalar_one()
            engine.dispose()
            assert tables == 0, why


def test_cli_backup_and_restore(
    populated: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {
        "TITANS_DATABASE_URL": populated.database_url,
        "TITANS_MODELS_DIR": str(populated.models_dir),
        "TITANS_MLFLOW_TRACKING_URI": populated.mlflow_tracking_uri,
        "TITANS_MODEL_SIGNING_KEY": SIGNING_KEY,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    archive = tmp_path / "cli.tar.gz"
    runner = CliRunner()
    try:
        made = runner.invoke(app, ["backup", str(archive)])
        assert made.exit_code == 0, made.output
        assert "wrote" in made.output and "MLflow included" in made.output
        refused = runner.invoke(app, ["restore", str(archive)])
        assert refused.exit_code == 65 and "--force" in refused.output
        truncated = tmp_path / "cut.tar.gz"
        truncated.write_bytes(archive.read_bytes()[:1000])
        broken = runner.invoke(app, ["restore", str(truncated), "--force"])
        assert broken.exit_code == 65 and "corrupt or truncated" in broken.output
        done = runner.invoke(app, ["restore", str(archive), "--force"])
        assert done.exit_code == 0, done.output
    finally:
        get_settings.cache_clear()

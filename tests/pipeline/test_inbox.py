"""The inbox: each file imported once by content hash, receipts, rejects, an unusable inbox."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from tests.pipeline.helpers import SAMPLE_CSV, drop
from typer.testing import CliRunner

from titans_finance.cli.main import app
from titans_finance.config import Settings
from titans_finance.errors import InboxError
from titans_finance.pipeline.inbox import ingest_inbox
from titans_finance.storage import pipeline_runs as store
from titans_finance.storage.db import get_engine
from titans_finance.storage.tables import Import


def _imports(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count(Import.c.id))).scalar_one())


def test_files_are_imported_once_and_filed_with_receipts(engine: Engine, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    drop(inbox, SAMPLE_CSV, "march.csv")
    (inbox / "broken.ofx").write_bytes(b"<OFX>\x00\x01 not an export")
    (inbox / "half.csv.part").write_text("still downloading")
    report = ingest_inbox(engine, inbox, run_id=1)
    outcomes = {f.file: f.outcome for f in report.files}
    assert outcomes == {"march.csv": "imported", "broken.ofx": "rejected"}
    assert report.rows_inserted == 808 and _imports(engine) == 1
    assert sorted(p.name for p in inbox.iterdir()) == ["archive", "half.csv.part", "rejected"]
    receipt = json.loads(next((inbox / "archive").glob("*.receipt.json")).read_text())
    assert receipt["import_id"] is not None and receipt["inserted"] == 808
    reason = json.loads(next((inbox / "rejected").glob("*.reason.json")).read_text())
    assert reason["file"] == "broken.ofx" and reason["reason"]
    assert len(list((inbox / "rejected").iterdir())) == 2  # the file and its reason

    # the same content under another name: recognised by its hash, archived, not re-imported
    drop(inbox, SAMPLE_CSV, "march-again.csv")
    again = ingest_inbox(engine, inbox, run_id=2)
    assert [(f.outcome, f.import_id) for f in again.files] == [
        ("already_imported", receipt["import_id"])
    ]
    assert _imports(engine) == 1


@contextmanager
def _unwritable(folder: Path) -> Iterator[None]:
    """A folder nobody may write to: chmod for users, the immutable attribute for root."""
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(folder)], check=True)
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
    else:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)


def test_an_unwritable_inbox_fails_the_run_before_importing(
    pipeline_settings: Settings,
) -> None:
    inbox = pipeline_settings.inbox_dir
    drop(inbox, SAMPLE_CSV)
    engine = get_engine(pipeline_settings.database_url)
    with _unwritable(inbox):
        with pytest.raises(InboxError, match="not usable"):
            ingest_inbox(engine, inbox, run_id=1)
        result = CliRunner().invoke(app, ["pipeline", "run"])
    assert result.exit_code == InboxError.exit_code, result.output
    assert "inbox" in result.output and "Traceback" not in result.output
    assert _imports(engine) == 0 and (inbox / SAMPLE_CSV.name).is_file()
    [run] = store.list_runs(engine)
    assert run["status"] == "failed" and "not usable" in run["error"]
    assert store.health(engine)["last_run_success"] == 0.0

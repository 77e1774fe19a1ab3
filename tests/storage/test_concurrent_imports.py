"""Issue 15 finding 3: imports that create the same new account at the same time all succeed
(real concurrent `titans ingest` processes here; concurrent API uploads in tests/api/test_probe),
on SQLite and the real PostgreSQL; the account exists once and every file's rows are stored."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.storage.concurrent import WRITERS, check_store, export_bytes


def test_concurrent_cli_imports_create_the_account_once(
    database_url: str, tmp_path: Path, engine: object
) -> None:
    files = []
    for i in range(WRITERS):
        path = tmp_path / f"export-{i}.csv"
        path.write_bytes(export_bytes(i))
        files.append(path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TITANS_") or "TEST" in k}
    env["TITANS_DATABASE_URL"] = database_url
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "titans_finance", "ingest", str(path), "--account", "Joint"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for path in files
    ]
    for process in processes:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err + out
        assert "Traceback" not in err
    check_store(database_url, {"Joint"})

"""Issue 15 finding 3: imports that create the same new account at the same time all succeed
(real concurrent `titans ingest` processes here; concurrent API uploads in tests/api/test_probe),
on SQLite and the real PostgreSQL; the account exists once and every file's rows are stored."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from titans_finance.storage import repository as repo
from titans_finance.storage.db import get_engine

WRITERS = 3
ROWS = 200


def _word(number: int) -> str:
    """Letters for a number (descriptions are normalised without digits)."""
    return "".join(chr(ord("a") + int(digit)) for digit in str(number)).upper()


def export_bytes(index: int) -> bytes:
    """One file of ``ROWS`` distinct rows (no account column: the import names it)."""
    lines = ["Date,Description,Amount"]
    lines += [
        f"2024-{1 + day % 12:02d}-{1 + day % 28:02d},{_word(index)} {_word(day)},-{1 + day % 97}.50"
        for day in range(ROWS)
    ]
    return ("\n".join(lines) + "\n").encode()


def check_store(database_url: str, accounts: set[str]) -> None:
    get_engine.cache_clear()
    engine = get_engine(database_url)
    assert set(repo.list_accounts(engine)) == accounts
    assert repo.count_transactions(engine) == WRITERS * ROWS
    assert repo.count_imports(engine) == WRITERS


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

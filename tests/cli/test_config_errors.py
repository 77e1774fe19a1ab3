"""Issue 15 finding 11: a bad TITANS_* value exits 78 naming the variable, never a pydantic
traceback; an unknown database dialect stops `serve` before it binds."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from titans_finance.cli.main import app
from titans_finance.config import get_settings

CASES = [
    ("TITANS_RATE_LIMIT", "abc", "TITANS_RATE_LIMIT"),
    ("TITANS_ENVIRONMENT", "staging", "TITANS_ENVIRONMENT"),
    ("TITANS_DATABASE_URL", "postgresql://user:s3cret@db:abc/titans", "port is not a number"),
    ("TITANS_DATABASE_URL", "mysql://user:s3cret@db/titans", "'mysql' is not supported"),
    ("TITANS_DATABASE_URL", "not a url", "not a URL"),
    ("TITANS_REDIS_URL", "redis://cache:port/0", "TITANS_REDIS_URL"),
]


def _run(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TITANS_") or "TEST" in k}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-m", "titans_finance", *args],
        capture_output=True,
        text=True,
        env=clean,
        cwd=tmp_path,
        timeout=120,
    )


@pytest.mark.parametrize(("name", "value", "expected"), CASES)
def test_bad_setting_exits_78_with_a_message(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str, value: str, expected: str
) -> None:
    for key in [k for k in os.environ if k.startswith("TITANS_") and "TEST" not in k]:
        monkeypatch.delenv(key)
    monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["serve", "--port", "1"])
    finally:
        get_settings.cache_clear()
    output = " ".join(result.output.split())
    assert result.exit_code == 78, output
    assert expected in output
    assert "s3cret" not in output


def test_a_real_process_prints_no_traceback(tmp_path: Path) -> None:
    result = _run(tmp_path, "transactions", "list", TITANS_RATE_LIMIT="abc")
    assert result.returncode == 78
    assert "TITANS_RATE_LIMIT" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_environment_is_case_insensitive(tmp_path: Path) -> None:
    result = _run(
        tmp_path,
        "serve",
        "--port",
        "1",
        TITANS_ENVIRONMENT="PRODUCTION",
        TITANS_DATABASE_URL=f"sqlite:///{tmp_path / 'p.db'}",
    )
    # Read as production: it then refuses to start without keys (also exit 78), not as a typo.
    assert result.returncode == 78
    assert "TITANS_API_KEYS" in result.stdout + result.stderr

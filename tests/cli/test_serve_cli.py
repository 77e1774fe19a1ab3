"""`titans serve`: refuses unsafe configurations and really serves HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from tests.servers import free_port
from typer.testing import CliRunner

from titans_finance.cli.main import app
from titans_finance.config import get_settings


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TITANS_") or "TEST" in k}
    env.update(
        {
            "TITANS_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
            "TITANS_MODELS_DIR": str(tmp_path / "models"),
            **extra,
        }
    )
    return env


def test_serve_is_registered() -> None:
    result = CliRunner().invoke(app, ["serve", "--help"])
    assert result.exit_code == 0
    for option in ("--host", "--port", "--workers"):
        assert option in result.output


def test_production_without_keys_exits_with_configuration_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for key in [k for k in os.environ if k.startswith("TITANS_") and "TEST" not in k]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("TITANS_ENVIRONMENT", "production")
    monkeypatch.setenv("TITANS_API_KEYS", "")
    monkeypatch.setenv("TITANS_DATABASE_URL", f"sqlite:///{tmp_path / 'p.db'}")
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["serve", "--port", str(free_port())])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 78
    assert "TITANS_API_KEYS" in result.output


@pytest.mark.slow
def test_serve_answers_http_with_a_generated_development_key(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "titans_finance", "serve", "--port", str(port)],
            env=_env(tmp_path, TITANS_ENVIRONMENT="development", TITANS_API_KEYS=""),
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/livez", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.3)
        else:
            pytest.fail(f"titans serve did not answer /livez within 60 s: {log.read_text()}")
        output = log.read_text()
        assert "development API key: dev-" in output
        key = output.split("development API key: ", 1)[1].split()[0]
        assert httpx.get(f"{base}/models/status", timeout=5).status_code == 401
        authed = httpx.get(
            f"{base}/models/status", headers={"Authorization": f"Bearer {key}"}, timeout=5
        )
        assert authed.status_code == 200
        assert authed.json()["models"]["category"]["loaded"] is False  # nothing trained here
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.slow
def test_workers_share_metrics_in_multiprocess_mode(tmp_path: Path) -> None:
    """With --workers 2 every /metrics answer counts all workers' requests, not its own."""
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "titans_finance",
                "serve",
                "--port",
                str(port),
                "--workers",
                "2",
            ],
            env=_env(
                tmp_path,
                TITANS_ENVIRONMENT="development",
                TITANS_API_KEYS="k" * 40,
                TITANS_METRICS_PUBLIC="true",
            ),
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 240  # two workers load the models on a shared machine
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/livez", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.3)
        else:
            pytest.fail(f"titans serve did not answer /livez within 240 s: {log.read_text()}")
        while log.read_text().count("Application startup complete") < 2:
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.5)
        sent = 40
        for _ in range(sent):  # a new connection each time, so both workers answer some
            assert httpx.get(f"{base}/livez", timeout=5).status_code == 200
        line = 'titans_http_requests_total{method="GET",route="/livez",status="200"}'
        counts = set()
        for _ in range(6):
            text = httpx.get(f"{base}/metrics", timeout=5).text
            found = [row for row in text.splitlines() if row.startswith(line)]
            assert found, text[:2000]
            counts.add(float(found[0].rsplit(" ", 1)[1]))
        # Every answer, whichever worker gave it, holds the requests of both workers.
        assert len(counts) == 1 and counts.pop() >= sent + 1
    finally:
        proc.terminate()
        proc.wait(timeout=30)

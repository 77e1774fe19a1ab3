"""`titans dashboard`: registered, builds the right streamlit command, and really serves."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from tests.servers import free_port
from typer.testing import CliRunner

from titans_finance.cli.dashboard import streamlit_command
from titans_finance.cli.main import app
from titans_finance.dashboard import APP_PATH


def test_dashboard_is_registered_with_a_port_option() -> None:
    result = CliRunner().invoke(app, ["dashboard", "--help"])
    assert result.exit_code == 0
    assert "--port" in result.output


def test_streamlit_command_runs_the_app_headless_on_the_port() -> None:
    command = streamlit_command(8123)
    assert command[:4] == [sys.executable, "-m", "streamlit", "run"]
    assert command[4] == str(APP_PATH) and APP_PATH.is_file()
    assert "--server.headless=true" in command
    assert "--server.port=8123" in command
    assert "--browser.gatherUsageStats=false" in command
    assert "--server.maxUploadSize=50" in command  # the default TITANS_MAX_UPLOAD_BYTES
    assert "--server.maxUploadSize=2" in streamlit_command(1, max_upload_bytes=1024 * 1024 + 1)


def test_invalid_port_is_refused() -> None:
    result = CliRunner().invoke(app, ["dashboard", "--port", "70000"])
    assert result.exit_code != 0


def test_dashboard_serves_http(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TITANS_") or "TEST" in k}
    env["TITANS_DATABASE_URL"] = f"sqlite:///{tmp_path / 'dash.db'}"
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "titans_finance", "dashboard", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group, so teardown stops everything it runs
    )
    try:
        deadline = time.monotonic() + 60
        healthy = False
        while time.monotonic() < deadline and process.poll() is None:
            try:
                healthy = httpx.get(f"http://127.0.0.1:{port}/_stcore/health", timeout=1).is_success
            except httpx.HTTPError:
                healthy = False
            if healthy:
                break
            time.sleep(0.3)
        assert healthy, "the dashboard did not answer /_stcore/health within 60 s"
        page = httpx.get(f"http://127.0.0.1:{port}/", timeout=5)
        assert page.status_code == 200
        assert "<noscript>" in page.text  # Streamlit's single-page app shell
        process.terminate()  # what a supervisor does: it must stop the server itself
        assert process.wait(timeout=20) is not None
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{port}/_stcore/health", timeout=2)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


def test_a_network_address_without_an_api_to_log_in_against_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from titans_finance.config import get_settings

    monkeypatch.delenv("TITANS_DASHBOARD_API_URL", raising=False)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["dashboard", "--address", "0.0.0.0"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 78
    assert "refusing to serve the dashboard on 0.0.0.0 without a login" in result.output
    assert "TITANS_DASHBOARD_API_URL" in result.output
    assert "Traceback" not in result.output

"""`titans dashboard`: run the Streamlit dashboard."""

from __future__ import annotations

import os
import subprocess
import sys

import typer

from titans_finance.errors import ConfigurationError


def streamlit_command(
    port: int, *, address: str = "127.0.0.1", max_upload_bytes: int = 50 * 1024 * 1024
) -> list[str]:
    """The `streamlit run` command line for the dashboard app, headless on ``port``."""
    from titans_finance.dashboard import APP_PATH

    upload_mb = max(1, -(-max_upload_bytes // (1024 * 1024)))

    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP_PATH),
        "--server.headless=true",
        f"--server.port={port}",
        f"--server.address={address}",
        "--browser.gatherUsageStats=false",
        "--theme.base=light",
        "--client.toolbarMode=minimal",
        f"--server.maxUploadSize={upload_mb}",
    ]


def dashboard(
    port: int = typer.Option(8501, "--port", "-p", min=1, max=65535, help="Port to listen on."),
    address: str = typer.Option(
        "127.0.0.1", "--address", help="Interface to bind (0.0.0.0 to accept remote browsers)."
    ),
) -> None:
    """Run the dashboard (reads the API when TITANS_DASHBOARD_API_URL is set, else the store).

    On a non-loopback address it asks for a login, which needs TITANS_DASHBOARD_API_URL:
    without it the command refuses to start (exit 78).
    """
    from titans_finance.config import child_environment, get_settings
    from titans_finance.dashboard.login import is_loopback

    settings = get_settings()
    if not is_loopback(address) and not settings.dashboard_api_url:
        raise ConfigurationError(
            f"refusing to serve the dashboard on {address} without a login: set "
            "TITANS_DASHBOARD_API_URL to a running `titans serve` (users log in against it), "
            "or bind 127.0.0.1"
        )
    command = streamlit_command(port, address=address, max_upload_bytes=settings.max_upload_bytes)
    env = child_environment({"TITANS_DASHBOARD_ADDRESS": address})
    typer.echo(f"Titans Finance dashboard on http://{address}:{port} (Ctrl+C to stop)")
    if os.name == "posix":
        # Become the Streamlit server, so signals (Ctrl+C, SIGTERM from a supervisor) reach it
        # directly and no orphaned server outlives this command.
        sys.stdout.flush()
        os.execve(sys.executable, command, env)  # noqa: S606 - fixed argv, no shell
    try:
        code = subprocess.call(command, env=env)  # noqa: S603 - fixed argv, no shell
    except KeyboardInterrupt:
        code = 0
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    """Add the dashboard command."""
    app.command("dashboard")(dashboard)

"""Fixtures for the deploy/ configuration: the real promtool and amtool binaries."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from tests.conftest import REPO_ROOT, _unavailable

DEPLOY = REPO_ROOT / "deploy"
RULES_DIR = DEPLOY / "prometheus" / "rules"
ALERTMANAGER_CONFIG = DEPLOY / "alertmanager" / "alertmanager.yml"
GRAFANA = DEPLOY / "grafana"


def _binary(name: str, package: str) -> Path:
    found = shutil.which(name)
    if found is None:
        _unavailable(name, f"it is not on PATH; `apt-get install {package}` (.ci/run does)")
    return Path(str(found))


@pytest.fixture(scope="session")
def promtool() -> Path:
    """The real promtool (Debian package prometheus)."""
    return _binary("promtool", "prometheus")


@pytest.fixture(scope="session")
def amtool() -> Path:
    """The real amtool (Debian package prometheus-alertmanager)."""
    return _binary("amtool", "prometheus-alertmanager")

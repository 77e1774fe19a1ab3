"""The compose stack under test: secrets generated per run, `docker-compose` on compose.yaml plus
the stand-in override, helpers to reach each container. Run through `make test-stack` only."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
COMPOSE = "/usr/bin/docker-compose"
DOCKER = "/usr/bin/docker"
REPLICAS = 3
BURST = 400  # per-key burst; the refill (1 request per hour) is negligible during the test
# The monitoring, dashboard and jupyter profiles, minus Grafana (not in Debian; checked offline).
SERVICES = ("api", "nginx", "mlflow", "dashboard", "prometheus", "alertmanager", "jupyter")
# Profiles brought up; `orchestration` (Airflow) is run per command (`compose run airflow ...`),
# so no scheduler triggers DAG runs behind the test's back.
PROFILES = ("dashboard", "monitoring", "jupyter", "orchestration")


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Stack:
    """One compose project: its env file, keys, published ports and measured figures."""

    project: str
    env_file: Path
    keys: dict[str, str]
    ports: dict[str, int]
    figures: dict[str, object] = field(default_factory=dict)

    def compose(
        self,
        *args: str,
        check: bool = True,
        timeout: float = 600,
        env_file: Path | None = None,
        stdin: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run docker-compose on compose.yaml + the test override for this project."""
        command = [
            COMPOSE,
            "-p",
            self.project,
            "-f",
            str(REPO / "compose.yaml"),
            "-f",
            str(REPO / "tests" / "stack" / "compose.test.yaml"),
            "--env-file",
            str(env_file or self.env_file),
            *args,
        ]
        result = subprocess.run(
            command,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            input=stdin,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"{' '.join(args)} exited {result.returncode}:\n{result.stdout[-3000:]}\n"
                f"{result.stderr[-3000:]}"
            )
        return result

    @staticmethod
    def profiles() -> list[str]:
        """``--profile`` options for every profile the test uses."""
        return [option for name in PROFILES for option in ("--profile", name)]

    def containers(self, service: str, *, every: bool = False) -> list[str]:
        """Ids of the running (``every``: also stopped) containers of ``service``, by replica."""
        out = subprocess.run(
            [
                DOCKER,
                "ps",
                *(["-a"] if every else []),
                "--filter",
                f"label=com.docker.compose.project={self.project}",
                "--filter",
                f"label=com.docker.compose.service={service}",
                "--filter",
                "label=com.docker.compose.oneoff=False",
                "--format",
                '{{.Label "com.docker.compose.container-number"}} {{.ID}}',
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        rows = sorted((int(n), cid) for n, cid in (line.split() for line in out.splitlines()))
        return [cid for _, cid in rows]

    @staticmethod
    def inspect(container: str) -> dict[str, object]:
        """`docker inspect` of one container."""
        out = subprocess.run(
            [DOCKER, "inspect", container], capture_output=True, text=True, check=True
        ).stdout
        return dict(json.loads(out)[0])

    def ip(self, container: str) -> str:
        """The container's address on the compose network (reachable from this host)."""
        networks = self.inspect(container)["NetworkSettings"]["Networks"]  # type: ignore[index]
        return str(next(iter(networks.values()))["IPAddress"])  # type: ignore[attr-defined]

    def health(self, container: str) -> str:
        """Docker's health status of the container ('healthy', 'starting', ...)."""
        state = self.inspect(container)["State"]
        return str(state.get("Health", {}).get("Status", state["Status"]))  # type: ignore[attr-defined]

    def wait_healthy(self, services: tuple[str, ...], timeout: float) -> float:
        """Seconds until every container of ``services`` is healthy (AssertionError after)."""
        start = time.monotonic()
        while True:
            states = {
                f"{service}/{cid[:12]}": self.health(cid)
                for service in services
                for cid in self.containers(service)
            }
            if states and all(state == "healthy" for state in states.values()):
                return time.monotonic() - start
            if time.monotonic() - start > timeout:
                logs = self.compose("logs", "--tail=40", check=False).stdout[-6000:]
                raise AssertionError(f"not healthy after {timeout:.0f} s: {states}\n{logs}")
            time.sleep(1)

    def url(self, name: str) -> str:
        """The 127.0.0.1 URL of a published service (nginx, mlflow, dashboard, ...)."""
        return f"http://127.0.0.1:{self.ports[name]}"

    def api(self, key: str = "ops", timeout: float = 30) -> httpx.Client:
        """An HTTP client through nginx with one of the generated API keys."""
        return httpx.Client(
            base_url=self.url("http"),
            headers={"Authorization": f"Bearer {self.keys[key]}"},
            timeout=timeout,
        )


def write_env(path: Path, values: dict[str, str]) -> None:
    """A compose env file."""
    path.write_text("".join(f"{k}={v}\n" for k, v in values.items()))


@pytest.fixture(scope="session")
def stack_env() -> dict[str, str]:
    """Every variable the stack's .env needs, secrets fresh for this run."""
    if not os.environ.get("STACK_ENV_FILE"):
        pytest.fail("run the stack tests through `make test-stack` (tests/stack/run.sh)")
    keys = {name: secrets.token_urlsafe(32) for name in ("ops", "load", "limit", "dashboard")}
    ports = {
        name: free_port()
        for name in (
            "http",
            "mlflow",
            "dashboard",
            "prometheus",
            "alertmanager",
            "grafana",
            "jupyter",
            "airflow",
        )
    }
    return {
        "TITANS_VERSION": "stack-test",
        "POSTGRES_PASSWORD": secrets.token_urlsafe(24),
        "TITANS_MODEL_SIGNING_KEY": secrets.token_urlsafe(32),
        "TITANS_JWT_SECRET": secrets.token_urlsafe(32),
        "TITANS_JUPYTER_TOKEN": secrets.token_urlsafe(24),
        "TITANS_API_KEYS": ",".join(keys.values()),
        "TITANS_DASHBOARD_API_KEY": keys["dashboard"],
        "TITANS_OWNER_USERNAME": "owner",
        "TITANS_OWNER_PASSWORD": secrets.token_urlsafe(18),
        "GRAFANA_ADMIN_PASSWORD": secrets.token_urlsafe(18),
        "TITANS_RATE_LIMIT": "1",
        "TITANS_RATE_LIMIT_BURST": str(BURST),
        "TITANS_HTTP_PORT": str(ports["http"]),
        "TITANS_MLFLOW_PORT": str(ports["mlflow"]),
        "TITANS_DASHBOARD_PORT": str(ports["dashboard"]),
        "TITANS_PROMETHEUS_PORT": str(ports["prometheus"]),
        "TITANS_ALERTMANAGER_PORT": str(ports["alertmanager"]),
        "TITANS_GRAFANA_PORT": str(ports["grafana"]),
        "TITANS_JUPYTER_PORT": str(ports["jupyter"]),
        "TITANS_AIRFLOW_PORT": str(ports["airflow"]),
        "STACK_ALERTMANAGER_DIR": os.environ["STACK_ALERTMANAGER_DIR"],
        **{f"_KEY_{k.upper()}": v for k, v in keys.items()},
    }


@pytest.fixture(scope="session")
def stack(stack_env: dict[str, str]) -> Iterator[Stack]:
    """The stack with the dashboard, monitoring and jupyter profiles and three API replicas, up
    and healthy (Airflow's image ready for `compose run`); taken down, volumes included, after."""
    env_file = Path(os.environ["STACK_ENV_FILE"])
    write_env(env_file, {k: v for k, v in stack_env.items() if not k.startswith("_KEY_")})
    keys = {k[5:].lower(): v for k, v in stack_env.items() if k.startswith("_KEY_")}
    ports = {
        name: int(stack_env[f"TITANS_{name.upper()}_PORT"])
        for name in ("http", "mlflow", "dashboard", "prometheus", "alertmanager", "jupyter")
    }
    project = os.environ.get("STACK_PROJECT", "titansstack")
    running = Stack(project=project, env_file=env_file, keys=keys, ports=ports)
    running.figures["image_build_s"] = json.loads(os.environ.get("STACK_BUILD_SECONDS") or "{}")
    start = time.monotonic()
    try:
        running.compose(
            *running.profiles(),
            "up",
            "-d",
            "--no-build",
            "--scale",
            f"api={REPLICAS}",
            *SERVICES,
        )
        running.wait_healthy(("postgres", "redis", *SERVICES), timeout=420)
        running.figures["up_to_healthy_s"] = round(time.monotonic() - start, 1)
        yield running
    finally:
        logs = running.compose("logs", "--no-color", check=False, timeout=60).stdout
        artifacts = REPO / "tests" / "artifacts"
        artifacts.mkdir(parents=True, exist_ok=True)
        (artifacts / "stack-compose.log").write_text(logs)
        start = time.monotonic()
        running.compose(
            *running.profiles(),
            "down",
            "--volumes",
            "--remove-orphans",
            "--timeout",
            "10",
            check=False,
        )
        running.figures["down_s"] = round(time.monotonic() - start, 1)
        print(f"\nstack figures: {json.dumps(running.figures, indent=2)}")

"""`make test-stack`: the compose stack built and started for real, driven end to end.

Order matters (pytest runs this file top to bottom on one stack): configuration errors first,
then import/train/predict, dashboard, JupyterLab, monitoring, the exact rate limit, a replica
restart under load, a DAG run in the Airflow image, and last a PostgreSQL outage.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from tests.pipeline.helpers import shifted_sample
from tests.stack.conftest import BURST, DOCKER, REPLICAS, REPO, Stack, write_env

pytestmark = [pytest.mark.slow]

SAMPLE = REPO / "src" / "titans_finance" / "sample_data" / "personal_transactions.csv"
RESULTS = REPO / "bench" / "results" / "stack.json"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
IMAGES = {
    "app": "titans-finance:stack-test",
    "notebooks": "titans-finance-notebooks:stack-test",
    "airflow": "titans-finance-airflow:stack-test",
}
ONE_TRANSACTION = {"description": "Starbucks coffee", "amount": -4.5, "date": "2024-03-01"}


def _rule_files() -> list[Path]:
    """The alert rule files (the folder's `*_test.yml` are promtool unit tests)."""
    folder = REPO / "deploy/prometheus/rules"
    return sorted(p for p in folder.glob("*.yml") if not p.name.endswith("_test.yml"))


def _save_figures(stack: Stack) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(stack.figures, indent=2, sort_keys=True) + "\n")


# -- bad input at this layer (no running stack needed) -------------------------------------------
def test_a_missing_secret_stops_compose_up_with_its_name(
    stack_env: dict[str, str], tmp_path: Path
) -> None:
    partial = {k: v for k, v in stack_env.items() if not k.startswith("_KEY_")}
    del partial["TITANS_API_KEYS"]
    env_file = tmp_path / "missing.env"
    write_env(env_file, partial)
    probe = Stack(project="titansstackmissing", env_file=env_file, keys={}, ports={})
    result = probe.compose("up", "-d", "--no-build", "api", check=False)
    assert result.returncode != 0
    assert "TITANS_API_KEYS" in result.stderr
    assert "set TITANS_API_KEYS in .env" in result.stderr
    leftovers = subprocess.run(
        [DOCKER, "ps", "-aq", "--filter", "label=com.docker.compose.project=titansstackmissing"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert leftovers == []  # nothing was started


def test_a_wrong_database_url_exits_non_zero_with_one_clear_line() -> None:
    image = "titans-finance:stack-test"
    for command in (["serve", "--host", "0.0.0.0"], ["db", "upgrade"]):
        result = subprocess.run(
            [
                DOCKER,
                "run",
                "--rm",
                "-e",
                "TITANS_ENVIRONMENT=production",
                "-e",
                "TITANS_API_KEYS=" + "k" * 40,
                "-e",
                "TITANS_DATABASE_URL=postgresql://titans:secret-pw@no-such-host.invalid:5432/titans",
                image,
                *command,
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        output = (result.stdout + result.stderr).strip()
        assert result.returncode == 74, output
        assert "Traceback" not in output
        lines = [line for line in output.splitlines() if line.strip()]
        assert len(lines) == 1, output
        assert "cannot reach the database" in lines[0] and "TITANS_DATABASE_URL" in lines[0]
        assert "secret-pw" not in output


def test_the_image_runs_as_uid_10001_with_a_python_healthcheck() -> None:
    config = json.loads(
        subprocess.run(
            [DOCKER, "image", "inspect", "titans-finance:stack-test"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )[0]["Config"]
    assert config["User"] == "10001:10001"
    assert config["Entrypoint"] == ["titans"]
    assert config["Healthcheck"]["Test"][:2] == ["CMD", "python"]


def test_prometheus_and_rule_files_pass_promtool() -> None:
    checked = subprocess.run(
        [
            "promtool",
            "check",
            "config",
            "--syntax-only",
            str(REPO / "deploy/prometheus/prometheus.yml"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    rules = _rule_files()
    config = yaml.safe_load((REPO / "deploy/prometheus/prometheus.yml").read_text())
    assert sorted(config["rule_files"]) == sorted(f"/etc/prometheus/rules/{p.name}" for p in rules)
    checked = subprocess.run(
        ["promtool", "check", "rules", *map(str, rules)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_grafana_provisioning_is_valid_offline() -> None:
    """Grafana is not in Debian: check what it would load, against compose.yaml's mounts."""
    compose = yaml.safe_load((REPO / "compose.yaml").read_text())
    grafana = compose["services"]["grafana"]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in grafana["volumes"]}
    provisioning = REPO / "deploy/grafana/provisioning"
    datasources = [
        source
        for path in sorted((provisioning / "datasources").glob("*.y*ml"))
        for source in yaml.safe_load(path.read_text())["datasources"]
    ]
    prometheus = [d for d in datasources if d["type"] == "prometheus"]
    assert prometheus and prometheus[0]["url"] == "http://prometheus:9090"
    uids = {d["uid"] for d in datasources}
    providers = [
        provider
        for path in sorted((provisioning / "dashboards").glob("*.y*ml"))
        for provider in yaml.safe_load(path.read_text())["providers"]
    ]
    assert providers
    for provider in providers:
        folder = mounts.get(provider["options"]["path"])
        assert folder is not None, f"{provider['options']['path']} is not mounted in compose.yaml"
        dashboards = sorted((REPO / folder).glob("*.json"))
        assert dashboards
        for path in dashboards:
            board = json.loads(path.read_text())
            assert board["uid"] and board["title"]
            used = {
                panel["datasource"]["uid"]
                for panel in board.get("panels", [])
                if isinstance(panel.get("datasource"), dict) and "uid" in panel["datasource"]
            }
            assert used <= uids | {"${datasource}", "-- Grafana --"}, (path.name, used)


# -- the running stack ---------------------------------------------------------------------------
def test_stack_comes_up_healthy_with_every_replica(stack: Stack) -> None:
    assert len(stack.containers("api")) == REPLICAS
    migrate = stack.containers("migrate", every=True)
    assert len(migrate) == 1
    state = stack.inspect(migrate[0])["State"]
    assert state["Status"] == "exited" and state["ExitCode"] == 0  # type: ignore[index]
    logs = stack.compose("logs", "--no-color", "migrate").stdout
    assert "upgraded from revision (empty)" in logs, logs
    for cid in stack.containers("api") + stack.containers("mlflow"):
        assert stack.inspect(cid)["Config"]["User"] == "10001:10001"  # type: ignore[index]
    with httpx.Client(timeout=10) as client:
        assert client.get(f"{stack.url('http')}/livez").text == "ok"
        assert client.get(f"{stack.url('http')}/metrics").status_code == 404  # not via nginx
    sizes = {
        name: int(
            subprocess.run(
                [DOCKER, "image", "inspect", "-f", "{{.Size}}", image],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        for name, image in IMAGES.items()
    }
    stack.figures["image_size_mb"] = round(sizes["app"] / 1e6)
    stack.figures["image_sizes_mb"] = {name: round(size / 1e6) for name, size in sizes.items()}
    _save_figures(stack)


def test_migrate_again_changes_nothing(stack: Stack) -> None:
    result = stack.compose("run", "--rm", "-T", "--no-deps", "migrate")
    assert "is up to date" in result.stdout, result.stdout + result.stderr


def test_import_train_predict_through_the_api(stack: Stack) -> None:
    with stack.api() as api:
        imported = api.post(
            "/transactions/import",
            files={"file": (SAMPLE.name, SAMPLE.read_bytes(), "text/csv")},
        )
        assert imported.status_code == 201, imported.text
        assert imported.json()["inserted"] > 500
        listed = api.get("/transactions", params={"limit": 5}).json()
        assert listed["total"] == imported.json()["inserted"]

    start = time.monotonic()
    trained = stack.compose("run", "--rm", "-T", "--no-deps", "api", "train", "all", timeout=900)
    stack.figures["train_all_s"] = round(time.monotonic() - start, 1)
    assert "category" in trained.stdout, trained.stdout + trained.stderr

    # Every replica loads the new models (each answers on its own address).
    for cid in stack.containers("api"):
        with httpx.Client(
            base_url=f"http://{stack.ip(cid)}:8000",
            headers={"Authorization": f"Bearer {stack.keys['ops']}"},
            timeout=120,
        ) as replica:
            reloaded = replica.post("/models/reload-all")
            assert reloaded.status_code == 200, reloaded.text
    with stack.api() as api:
        for _ in range(REPLICAS * 2):  # whichever replica answers
            predicted = api.post("/predict/category", json=ONE_TRANSACTION)
            assert predicted.status_code == 200, predicted.text
            assert predicted.json()["prediction"]
        status = api.get("/models/status").json()["models"]
        assert status["category"]["loaded"] is True

    # Training recorded its run in the MLflow server (PostgreSQL store, artifact volume).
    with httpx.Client(base_url=stack.url("mlflow"), timeout=30) as mlflow:
        experiments = mlflow.post(
            "/api/2.0/mlflow/experiments/search", json={"max_results": 50}
        ).json()["experiments"]
        ids = [e["experiment_id"] for e in experiments]
        runs = mlflow.post(
            "/api/2.0/mlflow/runs/search", json={"experiment_ids": ids, "max_results": 50}
        ).json()
    assert runs.get("runs"), runs
    _save_figures(stack)


def test_dashboard_answers_its_health_check(stack: Stack) -> None:
    response = httpx.get(f"{stack.url('dashboard')}/_stcore/health", timeout=10)
    assert response.status_code == 200 and response.text == "ok"


def test_dashboard_asks_for_a_login_in_chromium(stack: Stack, tmp_path: Path) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        f"--user-data-dir={tmp_path / 'profile'}",
    ):
        options.add_argument(flag)
    browser = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        browser.set_page_load_timeout(60)
        browser.get(stack.url("dashboard"))
        WebDriverWait(browser, 60).until(
            lambda b: b.find_elements(By.CSS_SELECTOR, "input[type='password']")
        )
        text = browser.find_element(By.TAG_NAME, "body").text
        assert "Overview" not in text  # nothing of the finances before the login
    finally:
        browser.quit()


def test_jupyter_serves_the_mounted_notebooks_with_its_token_only(
    stack: Stack, stack_env: dict[str, str]
) -> None:
    [jupyter] = stack.containers("jupyter")
    assert stack.inspect(jupyter)["Config"]["User"] == "10001:10001"  # type: ignore[index]
    token = {"Authorization": f"token {stack_env['TITANS_JUPYTER_TOKEN']}"}
    with httpx.Client(base_url=stack.url("jupyter"), timeout=30) as client:
        refused = client.get("/api/status")
        assert refused.status_code == 403, refused.text
        wrong = client.get("/api/status", headers={"Authorization": "token not-the-token"})
        assert wrong.status_code == 403, wrong.text
        status = client.get("/api/status", headers=token)
        assert status.status_code == 200, status.text
        assert "started" in status.json()
        listed = client.get("/api/contents", headers=token)
        assert listed.status_code == 200, listed.text
    served = {item["name"] for item in listed.json()["content"]}
    assert {path.name for path in (REPO / "notebooks").glob("*.ipynb")} <= served, served


def test_prometheus_scrapes_every_replica_and_loads_the_rules(stack: Stack) -> None:
    base = stack.url("prometheus")
    replica_ips = {stack.ip(cid) for cid in stack.containers("api")}
    deadline = time.monotonic() + 90
    targets: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        active = httpx.get(f"{base}/api/v1/targets", timeout=10).json()["data"]["activeTargets"]
        targets = [t for t in active if t["labels"]["job"] == "titans-api"]
        up = {t["labels"]["instance"].split(":")[0] for t in targets if t["health"] == "up"}
        if up == replica_ips:
            break
        time.sleep(2)
    else:
        pytest.fail(f"replicas {replica_ips}, Prometheus targets {targets}")
    groups = httpx.get(f"{base}/api/v1/rules", timeout=10).json()["data"]["groups"]
    rule_files = _rule_files()
    expected = {
        group["name"]
        for path in rule_files
        for group in (yaml.safe_load(path.read_text()) or {}).get("groups", [])
    }
    assert expected and expected <= {g["name"] for g in groups}
    managers = httpx.get(f"{base}/api/v1/alertmanagers", timeout=10).json()["data"]
    assert managers["activeAlertmanagers"], managers
    assert httpx.get(f"{stack.url('alertmanager')}/-/ready", timeout=10).status_code == 200


def _served_by_replica(stack: Stack, key_route: str) -> dict[str, float]:
    """Per replica: requests counted on ``key_route`` (its own /metrics)."""
    counts = {}
    for cid in stack.containers("api"):
        text = httpx.get(f"http://{stack.ip(cid)}:8000/metrics", timeout=10).text
        counts[cid[:12]] = sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("titans_http_requests_total{") and f'route="{key_route}"' in line
        )
    return counts


def test_rate_limit_is_exact_across_replicas(stack: Stack) -> None:
    before = _served_by_replica(stack, "/store/version")
    with stack.api("limit") as api, ThreadPoolExecutor(4) as pool:
        codes = list(pool.map(lambda _: api.get("/store/version").status_code, range(BURST)))
        assert Counter(codes) == {200: BURST}
        extra = api.get("/store/version")
    assert extra.status_code == 429, extra.text
    assert "Retry-After" in extra.headers
    after = _served_by_replica(stack, "/store/version")
    served = {cid: after[cid] - before.get(cid, 0.0) for cid in after}
    # The 429 is answered before routing (counted as `unmatched`): the route saw exactly BURST.
    assert sum(served.values()) == BURST
    assert sum(1 for n in served.values() if n > 0) >= 2, served  # really spread over replicas
    stack.figures["rate_limit"] = {"burst": BURST, "answers_per_replica": served}
    _save_figures(stack)


def test_restarting_a_replica_under_load_gives_no_5xx(stack: Stack) -> None:
    total, rate, workers = 360, 15.0, 3  # bounded: 360 requests over ~24 s, 127.0.0.1 only
    results: list[tuple[float, int | str]] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + 120

    def one(i: int) -> None:
        time.sleep(max(0.0, start + i / rate - time.monotonic()))
        if time.monotonic() > stop_at:
            return
        t0 = time.monotonic()
        try:
            if i % 2:
                code: int | str = api.post("/predict/category", json=ONE_TRANSACTION).status_code
            else:
                code = api.get("/models/status").status_code
        except httpx.HTTPError as exc:
            code = type(exc).__name__
        with lock:
            results.append((time.monotonic() - t0, code))

    victim = stack.containers("api")[1]
    with stack.api("load") as api, ThreadPoolExecutor(workers) as pool:
        start = time.monotonic()
        futures = [pool.submit(one, i) for i in range(total)]
        time.sleep(6)
        restart_start = time.monotonic()
        subprocess.run([DOCKER, "restart", "-t", "20", victim], check=True, capture_output=True)
        restarted_in = time.monotonic() - restart_start
        for future in futures:
            future.result()
        load_seconds = time.monotonic() - start
    stack.wait_healthy(("api",), timeout=120)
    healthy_again = time.monotonic() - restart_start
    codes = Counter(code for _, code in results)
    latencies = sorted(seconds for seconds, _ in results)
    figures = {
        "requests": len(results),
        "seconds": round(load_seconds, 1),
        "status_counts": {str(k): v for k, v in codes.items()},
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1),
        "max_ms": round(latencies[-1] * 1000, 1),
        "docker_restart_s": round(restarted_in, 1),
        "replica_healthy_again_after_s": round(healthy_again, 1),
    }
    stack.figures["replica_restart_under_load"] = figures
    _save_figures(stack)
    assert len(results) == total, figures
    assert codes == {200: total}, figures  # no 5xx, no 429, no transport error


# The DAG run inside the Airflow image: a shifted export dropped in the inbox, Airflow's own
# metadata database migrated and the DAG folder parsed into it, then one real `dags test`.
AIRFLOW_SCRIPT = """set -e
cat > /data/inbox/shifted.csv
airflow db migrate >/dev/null
airflow dags reserialize >/dev/null
airflow dags list
exec airflow dags test titans_pipeline 2026-01-02
"""


def test_airflow_runs_the_dag_against_the_stack_store(stack: Stack, tmp_path: Path) -> None:
    shifted = shifted_sample(tmp_path / "shifted.csv")  # rows the store has not seen yet
    start = time.monotonic()
    result = stack.compose(
        "--profile",
        "orchestration",
        "run",
        "--rm",
        "-T",
        "--no-deps",
        "--entrypoint",
        "sh",
        # One model to retrain keeps the run short; every step still runs.
        "-e",
        "TITANS_PIPELINE_MODELS=category",
        "airflow",
        "-c",
        AIRFLOW_SCRIPT,
        stdin=shifted.read_text(),
        timeout=1500,
    )
    stack.figures["airflow_dags_test_s"] = round(time.monotonic() - start, 1)
    assert "titans_pipeline" in result.stdout and "titans_retrain" in result.stdout
    with stack.api() as api:
        page = api.get("/pipeline/runs")
    assert page.status_code == 200, page.text
    runs = [r for r in page.json()["items"] if r["trigger"] == "airflow"]
    assert len(runs) == 1, page.json()
    [run] = runs
    output = result.stdout[-3000:] + result.stderr[-3000:]
    assert run["external_id"].startswith("titans_pipeline:"), run
    assert run["status"] == "succeeded", (run, output)
    assert run["files_ingested"] == 1 and run["rows_inserted"] > 500, run
    assert run["retrained"] is True, run
    assert set(run["details"]["seconds"]) == {"ingest", "train", "evaluate", "promote", "reload"}
    [decision] = run["decisions"]
    assert decision["model_type"] == "category" and decision["status"] in {
        "promoted",
        "challenger",
    }, decision
    stack.figures["airflow_run"] = {
        "rows_inserted": run["rows_inserted"],
        "decisions": {d["model_type"]: d["status"] for d in run["decisions"]},
    }
    _save_figures(stack)


def test_postgres_outage_gives_503_and_recovers_without_restart(stack: Stack) -> None:
    api_ids = stack.containers("api")
    started = {cid: stack.inspect(cid)["State"]["StartedAt"] for cid in api_ids}  # type: ignore[index]
    with stack.api() as api:
        assert api.get("/health").status_code == 200
        stack.compose("stop", "-t", "10", "postgres")
        try:
            down = [api.get("/health", timeout=30) for _ in range(REPLICAS)]
            assert {r.status_code for r in down} == {503}, [r.text for r in down]
            assert all(r.json()["database"]["ok"] is False for r in down)
            assert "Traceback" not in down[0].text
        finally:
            stack.compose("start", "postgres")
        back = time.monotonic()
        deadline = back + 90
        while True:
            codes = {api.get("/health", timeout=30).status_code for _ in range(REPLICAS)}
            if codes == {200}:
                break
            assert time.monotonic() < deadline, codes
            time.sleep(1)
        stack.figures["postgres_recovery_s"] = round(time.monotonic() - back, 1)
    assert {cid: stack.inspect(cid)["State"]["StartedAt"] for cid in api_ids} == started
    _save_figures(stack)

"""Grafana provisioning, validated offline (Grafana is not installable here): the YAML and JSON
have the shape Grafana reads, every datasource reference resolves, every query parses."""

from __future__ import annotations

import json
import re

import pytest
import yaml
from tests.deploy.conftest import GRAFANA
from tests.deploy.promql import dashboard_expressions, dashboard_files, metric_names

PANEL_TYPES = {"timeseries", "stat", "gauge", "bargauge", "table", "text", "row", "heatmap"}


def _datasources() -> list[dict[str, object]]:
    found: list[dict[str, object]] = []
    for path in sorted((GRAFANA / "provisioning" / "datasources").glob("*.yml")):
        doc = yaml.safe_load(path.read_text())
        assert doc["apiVersion"] == 1, path
        found.extend(doc["datasources"])
    return found


def test_datasource_provisioning_shape() -> None:
    sources = _datasources()
    assert sources
    uids = [s["uid"] for s in sources]
    assert len(set(uids)) == len(uids)
    assert sum(bool(s.get("isDefault")) for s in sources) == 1
    for source in sources:
        assert {"name", "type", "uid", "url", "access"} <= set(source)
        assert source["type"] == "prometheus"
        assert source["access"] in {"proxy", "direct"}
        assert re.fullmatch(r"https?://[\w.-]+(:\d+)?/?", str(source["url"]))
        assert re.fullmatch(r"[\w-]{1,40}", str(source["uid"]))


def test_dashboard_provider_points_at_the_dashboards() -> None:
    paths = sorted((GRAFANA / "provisioning" / "dashboards").glob("*.yml"))
    assert paths
    for path in paths:
        doc = yaml.safe_load(path.read_text())
        assert doc["apiVersion"] == 1
        for provider in doc["providers"]:
            assert provider["type"] == "file" and provider["name"]
            assert str(provider["options"]["path"]).startswith("/")
    assert dashboard_files()


@pytest.mark.parametrize("path", dashboard_files(), ids=lambda p: p.name)
def test_dashboard_shape_and_references(path: object) -> None:
    board = json.loads(path.read_text())  # type: ignore[attr-defined]
    assert re.fullmatch(r"[\w-]{1,40}", board["uid"]) and board["title"]
    assert isinstance(board["schemaVersion"], int) and board["panels"]
    uids = {s["uid"] for s in _datasources()}
    variables = {v["name"] for v in board.get("templating", {}).get("list", [])}
    for variable in board.get("templating", {}).get("list", []):
        if "datasource" in variable:
            assert variable["datasource"]["uid"] in uids
    ids = [p["id"] for p in board["panels"]]
    assert len(set(ids)) == len(ids)
    for panel in board["panels"]:
        assert panel["type"] in PANEL_TYPES, panel["title"]
        grid = panel["gridPos"]
        assert grid["w"] > 0 and grid["h"] > 0 and grid["x"] + grid["w"] <= 24
        assert panel["datasource"]["uid"] in uids
        refs = [t["refId"] for t in panel["targets"]]
        assert refs and len(set(refs)) == len(refs)
        for target in panel["targets"]:
            assert target["datasource"]["uid"] in uids
            used = set(re.findall(r"\$\{?(\w+)\}?", target["expr"])) - {"__rate_interval"}
            assert used <= variables, f"{panel['title']}: undefined variables {used - variables}"


def test_every_dashboard_query_parses() -> None:
    expressions = dashboard_expressions()
    assert len(expressions) >= 10
    for where, expr in expressions:
        assert metric_names(expr), f"{where}: selects no metric"


def test_service_and_ml_health_dashboards_cover_their_signals() -> None:
    used: dict[str, set[str]] = {}
    for where, expr in dashboard_expressions():
        used.setdefault(where.split(":")[0], set()).update(metric_names(expr))
    service = used["titans-service.json"]
    assert {"titans_http_requests_total", "titans_http_request_duration_seconds_bucket"} <= service
    ml = used["titans-ml-health.json"]
    assert {
        "titans_model_labelled_accuracy_lower_bound",
        "titans_model_drift_psi",
        "titans_model_age_seconds",
        "titans_model_amount_mae",
        "titans_model_anomaly_precision",
    } <= ml


def test_a_broken_query_does_not_parse() -> None:
    with pytest.raises(ValueError):
        metric_names("sum(rate(titans_http_requests_total[5m])")

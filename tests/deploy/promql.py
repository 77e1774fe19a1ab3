"""PromQL expressions of the rules and dashboards, and the metric names they select."""

from __future__ import annotations

import json
import re
from pathlib import Path

import promql_parser
import yaml
from tests.deploy.conftest import GRAFANA, RULES_DIR

#: Grafana's built-in interval variables and a value for each dashboard variable, so a panel's
#: query parses as the PromQL Grafana sends
_GRAFANA_VARIABLES = {
    "$__rate_interval": "5m",
    "$__interval": "1m",
    "$__range": "1h",
}


def dashboard_files() -> list[Path]:
    """Every provisioned dashboard JSON."""
    return sorted((GRAFANA / "dashboards").glob("*.json"))


def grafana_to_promql(expr: str, variables: dict[str, str]) -> str:
    """A panel query with Grafana's variables replaced by sample values."""
    for name, value in _GRAFANA_VARIABLES.items():
        expr = expr.replace(name, value)
    return re.sub(r"\$\{?(\w+)\}?", lambda m: variables.get(m.group(1), "x"), expr)


def dashboard_expressions() -> list[tuple[str, str]]:
    """(where, PromQL) of every panel target in the dashboards."""
    found: list[tuple[str, str]] = []
    for path in dashboard_files():
        board = json.loads(path.read_text())
        variables = {
            v["name"]: str(v.get("current", {}).get("value", "x"))
            for v in board.get("templating", {}).get("list", [])
        }
        for panel in board["panels"]:
            for target in panel.get("targets", []):
                where = f"{path.name}: panel {panel['title']!r} {target['refId']}"
                found.append((where, grafana_to_promql(target["expr"], variables)))
    return found


def rule_expressions() -> list[tuple[str, str]]:
    """(where, PromQL) of every alerting and recording rule."""
    found: list[tuple[str, str]] = []
    for path in sorted(RULES_DIR.glob("*.yml")):
        if path.name.endswith("_test.yml"):
            continue
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                name = rule.get("alert") or rule.get("record")
                found.append((f"{path.name}: {name}", rule["expr"]))
    return found


def metric_names(expr: str) -> set[str]:
    """Metric names selected by a PromQL expression (parsed, not pattern-matched)."""
    names: set[str] = set()

    def visit(node: object) -> bool:
        if isinstance(node, promql_parser.VectorSelector):
            if node.name:
                names.add(node.name)
            for matcher in node.matchers.matchers:
                if matcher.name == "__name__":
                    names.add(matcher.value)
        return True

    promql_parser.walk(promql_parser.parse(expr), visit)
    return names

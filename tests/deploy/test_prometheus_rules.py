"""Alert rules and Alertmanager config, checked by the real promtool and amtool."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml
from tests.deploy.conftest import ALERTMANAGER_CONFIG, RULES_DIR

REQUIRED_ALERTS = {
    "HighErrorRate",
    "HighLatencyP95",
    "TargetDown",
    "ModelPerformanceDrop",
    "DataDrift",
    "StaleModel",
    "PipelineFailed",
    "IngestStalled",
}


def _run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=120, cwd=cwd, check=False
    )


def rule_files() -> list[Path]:
    """The rule files Prometheus loads (rules/*.yml, without the *_test.yml unit tests)."""
    return sorted(p for p in RULES_DIR.glob("*.yml") if not p.name.endswith("_test.yml"))


def alerts() -> dict[str, dict[str, object]]:
    """Every alerting rule by name."""
    found: dict[str, dict[str, object]] = {}
    for path in rule_files():
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    found[rule["alert"]] = rule
    return found


def test_rules_pass_promtool_check(promtool: Path) -> None:
    result = _run(promtool, "check", "rules", *rule_files())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_required_alerts_exist_with_severity_and_summary() -> None:
    rules = alerts()
    assert set(rules) >= REQUIRED_ALERTS
    for name, rule in rules.items():
        labels = rule.get("labels") or {}
        annotations = rule.get("annotations") or {}
        assert isinstance(labels, dict) and labels.get("severity") in {"warning", "critical"}, name
        assert isinstance(annotations, dict) and annotations.get("summary"), name
    assert rules["TargetDown"]["expr"] == 'up{job="titans-api"} == 0'
    assert rules["ModelPerformanceDrop"]["for"] == "1h"


def test_every_alert_has_a_firing_and_a_silent_unit_test() -> None:
    """Each alert is checked once where it must fire and once where it must stay silent
    (promtool compares the exact list, so the other series of a firing case stay quiet too)."""
    fired: set[str] = set()
    silent: set[str] = set()
    for path in RULES_DIR.glob("*_test.yml"):
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                (fired if check.get("exp_alerts") else silent).add(check["alertname"])
    assert set(alerts()) <= fired, sorted(set(alerts()) - fired)
    assert set(alerts()) <= silent, sorted(set(alerts()) - silent)


def test_rule_unit_tests_pass_promtool(promtool: Path) -> None:
    tests = sorted(RULES_DIR.glob("*_test.yml"))
    assert tests
    result = _run(promtool, "test", "rules", *tests, cwd=RULES_DIR)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_a_broken_rule_is_rejected_by_promtool(promtool: Path, tmp_path: Path) -> None:
    """The check is real: promtool fails a rule file with a PromQL syntax error."""
    bad = tmp_path / "bad.yml"
    bad.write_text("groups:\n  - name: x\n    rules:\n      - alert: X\n        expr: sum(up\n")
    result = _run(promtool, "check", "rules", bad)
    assert result.returncode != 0


def test_alertmanager_config_passes_amtool(amtool: Path) -> None:
    result = _run(amtool, "check-config", ALERTMANAGER_CONFIG)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_amtool_rejects_a_route_to_an_unknown_receiver(amtool: Path, tmp_path: Path) -> None:
    config = yaml.safe_load(ALERTMANAGER_CONFIG.read_text())
    config["route"]["receiver"] = "nobody"
    bad = tmp_path / "alertmanager.yml"
    bad.write_text(yaml.safe_dump(config))
    assert _run(amtool, "check-config", bad).returncode != 0


def test_alertmanager_routes_critical_alerts_and_holds_no_secret() -> None:
    text = ALERTMANAGER_CONFIG.read_text()
    config = yaml.safe_load(text)
    receivers = {r["name"] for r in config["receivers"]}
    assert config["route"]["receiver"] in receivers
    assert any(
        'severity = "critical"' in m for r in config["route"]["routes"] for m in r["matchers"]
    )
    for word in ("password", "api_key", "token", "secret"):
        assert f"{word}:" not in text

"""The drift proof: amounts x3 in the store push the PSI the app exports above 0.2, and the
DataDrift rule, fed those measured series, fires under `promtool test rules`."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pandas as pd
import yaml
from sqlalchemy import func, select, update
from tests.deploy.conftest import RULES_DIR
from tests.monitoring._app import monitored_settings, start
from tests.monitoring._scrape import series

from titans_finance.storage.db import get_engine
from titans_finance.storage.tables import Transaction


def _psi(client: object) -> dict[tuple[tuple[str, str], ...], float]:
    text = client.get("/metrics").text  # type: ignore[attr-defined]
    return series(text, "titans_model_drift_psi")


def _promtool_case(before: dict, after: dict) -> dict:
    def selector(labels: tuple[tuple[str, str], ...]) -> str:
        inner = ", ".join(f'{k}="{v}"' for k, v in labels)
        return f"titans_model_drift_psi{{{inner}}}"

    expected = []
    for labels, value in sorted(after.items()):
        if value > 0.2:
            named = dict(labels)
            expected.append(
                {
                    "exp_labels": {"severity": "warning", **named},
                    "exp_annotations": {
                        "summary": f"{named['model']} model {named['version']}: input drift "
                        f"on {named['feature']}",
                        "description": f"PSI of {named['feature']} against the training "
                        f"reference is {value:.3f} (> 0.2).",
                    },
                }
            )
    return {
        "rule_files": [str(RULES_DIR / "titans.yml")],
        "evaluation_interval": "1m",
        "tests": [
            {
                "name": "DataDrift on the PSI measured before and after amounts x3",
                "interval": "1m",
                # 10 minutes as measured before the shift, then 50 minutes as measured after
                "input_series": [
                    {"series": selector(k), "values": f"{before[k]!r}x9 {after[k]!r}x50"}
                    for k in sorted(after)
                ],
                "alert_rule_test": [
                    {"eval_time": "20m", "alertname": "DataDrift", "exp_alerts": []},
                    {"eval_time": "45m", "alertname": "DataDrift", "exp_alerts": expected},
                ],
            }
        ],
    }


def test_amounts_times_three_fire_data_drift(
    shared_data: Path, tmp_path: Path, promtool: Path
) -> None:
    settings = monitored_settings(shared_data, tmp_path)
    client = start(settings)
    try:
        before = _psi(client)
        assert len(before) == 15 and max(before.values()) < 0.2
        engine = get_engine(settings.database_url)
        with engine.begin() as conn:
            newest = conn.execute(select(func.max(Transaction.c.date))).scalar_one()
            start_day = (pd.Timestamp(newest) - pd.Timedelta(days=89)).date()
            conn.execute(
                update(Transaction)
                .where(Transaction.c.date >= start_day)
                .values(amount=Transaction.c.amount * 3)
            )
        after = _psi(client)
    finally:
        client.__exit__(None, None, None)
    amount = {k: v for k, v in after.items() if dict(k)["feature"] == "amount"}
    assert len(amount) == 5 and min(amount.values()) > 0.2
    case = tmp_path / "drift_test.yml"
    case.write_text(yaml.safe_dump(_promtool_case(before, after), sort_keys=False))
    result = subprocess.run(
        [str(promtool), "test", "rules", str(case)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout

"""Pipeline test helpers: settings of a temporary pipeline, inbox drops, a shifted sample."""

from __future__ import annotations

import csv
import os
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from titans_finance.config import Settings, get_settings
from titans_finance.storage.db import get_engine

SAMPLE = Path(__file__).resolve().parents[2] / "src" / "titans_finance" / "sample_data"
SAMPLE_CSV = SAMPLE / "personal_transactions.csv"

# A new merchant mix for the shift: the same kinds of spending under names the champion never saw.
RENAMED = {
    "Grocery Store": "Zorblax Provisions",
    "Amazon": "Quuxmart Online",
    "Starbucks": "Bean Orbit Kiosk",
    "Hardware Store": "Fixit Depot Vellum",
    "American Tavern": "Old Lantern Taproom",
    "Brewing Company": "Hopworks Cellar",
    "Gas Company": "Blue Flame Utility",
    "Mortgage Payment": "Keystone Home Loan",
}


def pipeline_values(tmp_path: Path, database_url: str, models: str) -> dict[str, str]:
    """TITANS_* variables of a pipeline under ``tmp_path``."""
    return {
        "TITANS_ENVIRONMENT": "development",
        "TITANS_DATABASE_URL": database_url,
        "TITANS_MODELS_DIR": str(tmp_path / "models"),
        "TITANS_MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
        "TITANS_INBOX_DIR": str(tmp_path / "inbox"),
        "TITANS_PIPELINE_DIR": str(tmp_path / "pipeline"),
        "TITANS_PIPELINE_MODELS": models,
        "TITANS_PIPELINE_LOCK_TTL_SECONDS": "30",
    }


def use_values(monkeypatch: pytest.MonkeyPatch, values: dict[str, str]) -> Settings:
    """Only these TITANS_* variables (test service URLs kept); fresh cached settings."""
    for key in [
        k for k in os.environ if k.startswith("TITANS_") and not k.startswith("TITANS_TEST")
    ]:
        monkeypatch.delenv(key)
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    get_engine.cache_clear()
    return get_settings()


def shifted_sample(target: Path, *, years: int = 2, amount_factor: float = 3.0) -> Path:
    """The sample moved ``years`` later with amounts multiplied and merchants renamed."""
    with SAMPLE_CSV.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        when = datetime.strptime(row["Date"], "%m/%d/%Y") + timedelta(days=365 * years)
        row["Date"] = when.strftime("%m/%d/%Y")
        row["Amount"] = f"{float(row['Amount']) * amount_factor:.2f}"
        row["Description"] = RENAMED.get(row["Description"], row["Description"])
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return target


def drop(inbox: Path, source: Path, name: str | None = None) -> Path:
    """Put a copy of ``source`` in the inbox."""
    inbox.mkdir(parents=True, exist_ok=True)
    target = inbox / (name or source.name)
    target.write_bytes(source.read_bytes())
    return target

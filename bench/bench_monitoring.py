"""Model monitoring under synthetic shifts, and what one monitoring refresh costs.

The five models are fitted on the personal export up to 90 days before its end; a SQLite store
holds the whole export, so the last 90 days (the monitoring window) are new to them.  Three
windows are measured with the same models:

* ``none``: the window as it happened (the drift figures of honest new data);
* ``amounts_x3``: every amount in the window multiplied by 3;
* ``merchant_mix``: the window keeps only the rows of the merchants that were rarest in
  training (a new mix of merchants and so of categories).

For each: PSI and KS per feature (the category model's, the reference is the same training
frame for every model), whether the DataDrift threshold (PSI > 0.2) is crossed, and the seconds
of the refresh that first logs the window's predictions and of a second one that logs nothing.

    uv run python bench/bench_monitoring.py [--data PERSONAL_EXPORT.csv]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import delete, func, select, update
from threadpoolctl import threadpool_limits

from titans_finance import domain as d
from titans_finance.config import Settings
from titans_finance.ingest.pipeline import ingest_file, load_frame
from titans_finance.models.catalog import model_class
from titans_finance.models.drift import PSI_ALERT
from titans_finance.monitoring import build_report
from titans_finance.storage.db import create_db_engine, migrate
from titans_finance.storage.tables import Transaction

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = (
    ROOT.parent / "shared" / "data" / "personal-transactions" / "personal_transactions.csv"
)
RESULTS = ROOT / "bench" / "results" / "monitoring.json"
HELD_BACK_DAYS = 90
MODELS = ("category", "amount", "anomaly", "recurring", "cashflow")


def _fit(frame: pd.DataFrame) -> dict[str, Any]:
    cut = frame[d.DATE].max() - pd.Timedelta(days=HELD_BACK_DAYS)
    train = frame[frame[d.DATE] <= cut]
    with threadpool_limits(limits=1):
        return {name: model_class(name)().fit(train) for name in MODELS}


def _shift(engine: Any, kind: str, rare: list[str]) -> None:
    with engine.begin() as conn:
        newest = conn.execute(select(func.max(Transaction.c.date))).scalar_one()
        start = (pd.Timestamp(newest) - pd.Timedelta(days=HELD_BACK_DAYS - 1)).date()
        if kind == "amounts_x3":
            conn.execute(
                update(Transaction)
                .where(Transaction.c.date >= start)
                .values(amount=Transaction.c.amount * 3)
            )
        elif kind == "merchant_mix":
            conn.execute(
                delete(Transaction).where(
                    Transaction.c.date >= start, Transaction.c.merchant.not_in(rare)
                )
            )


def _measure(data: Path, models: dict[str, Any], kind: str, rare: list[str]) -> dict[str, Any]:
    settings = Settings(_env_file=None, monitor_interval_seconds=0)  # type: ignore[call-arg]
    with tempfile.TemporaryDirectory(prefix="bench-monitoring-") as tmp:
        engine = create_db_engine(f"sqlite:///{Path(tmp) / 'store.db'}")
        migrate(engine)
        ingest_file(engine, data)
        _shift(engine, kind, rare)
        started = time.perf_counter()
        first = build_report(engine, models, settings)
        first_seconds = time.perf_counter() - started
        started = time.perf_counter()
        second = build_report(engine, models, settings)
        second_seconds = time.perf_counter() - started
        engine.dispose()
    category = second["models"]["category"]
    features = category["drift"]["features"]
    return {
        "shift": kind,
        "window_rows": second["window_rows"],
        "logged": first["logged"],
        "first_refresh_seconds": round(first_seconds, 3),
        "second_refresh_seconds": round(second_seconds, 3),
        "drift": {name: {k: round(v, 4) for k, v in f.items()} for name, f in features.items()},
        "data_drift_fires": any(f["psi"] > PSI_ALERT for f in features.values()),
        "unseen_merchant_rate": category["quality"]["unseen_merchant_rate"],
        "estimated_accuracy": category["quality"]["estimated_accuracy"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    frame = load_frame(args.data)
    started = time.perf_counter()
    models = _fit(frame)
    fit_seconds = time.perf_counter() - started
    cut = frame[d.DATE].max() - pd.Timedelta(days=HELD_BACK_DAYS)
    counts = frame.loc[frame[d.DATE] <= cut, d.MERCHANT].value_counts()
    rare = list(counts[counts <= counts.quantile(0.5)].index)
    runs = [
        _measure(args.data, models, kind, rare) for kind in ("none", "amounts_x3", "merchant_mix")
    ]
    result = {
        "benchmark": "monitoring",
        "data": str(args.data),
        "rows": len(frame),
        "held_back_days": HELD_BACK_DAYS,
        "fit_seconds": round(fit_seconds, 1),
        "psi_threshold": PSI_ALERT,
        "runs": runs,
    }
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    header = (
        "shift",
        "window rows",
        "PSI amount",
        "PSI category",
        "PSI account",
        "KS amount",
        "fires",
        "unseen merchants",
        "1st refresh s",
        "2nd refresh s",
    )
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for run in runs:
        drift = run["drift"]
        print(
            f"| {run['shift']} | {run['window_rows']} | {drift['amount']['psi']:.3f} | "
            f"{drift['category']['psi']:.3f} | {drift['account']['psi']:.3f} | "
            f"{drift['amount']['ks']:.3f} | {run['data_drift_fires']} | "
            f"{run['unseen_merchant_rate']:.3f} | {run['first_refresh_seconds']:.2f} | "
            f"{run['second_refresh_seconds']:.2f} |"
        )


if __name__ == "__main__":
    main()

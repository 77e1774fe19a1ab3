"""Category model scoring speed: one vectorised predict() call on 1M rows.

    uv run python bench/bench_category_speed.py [--rows 1000000]

The model is trained on the noisy personal-transactions variant; the scoring batch samples
descriptor stems from personal-transactions and us-merchants and adds random store numbers,
city suffixes and processor prefixes (so most raw descriptors are distinct, as in bank data);
the ``merchant`` column is added by ingest's normaliser before timing.
Writes bench/results/category_speed.json and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_category import CITIES, PREFIXES, add_noise, personal, us_merchants
from titans_finance import domain as d
from titans_finance.features.text import prepare_text
from titans_finance.merchants import normalize_merchants
from titans_finance.models.category import CategoryModel

RESULTS = Path(__file__).resolve().parent / "results"


def scoring_frame(rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    stems = np.concatenate(
        [
            personal()[d.DESCRIPTION].unique(),
            us_merchants("Category")[d.DESCRIPTION].unique(),
        ]
    ).astype(str)
    text = pd.Series(rng.choice(stems, rows), dtype=object)
    prefix = pd.Series(rng.choice(PREFIXES, rows), dtype=object)
    store = pd.Series(rng.integers(1, 99999, rows)).astype(str)
    city = pd.Series(rng.choice(CITIES, rows), dtype=object)
    description = (prefix + text + " #" + store + " " + city).str.strip()
    amount = -np.round(np.exp(rng.normal(3.0, 1.2, rows)), 2)
    amount[rng.random(rows) < 0.05] *= -1
    return pd.DataFrame(
        {
            d.DATE: pd.Timestamp("2024-01-01")
            + pd.to_timedelta(rng.integers(0, 730, rows), unit="D"),
            d.DESCRIPTION: description.to_numpy(),
            d.AMOUNT: amount,
            d.TYPE: np.where(amount < 0, "Expense", "Income"),
            d.ACCOUNT: rng.choice(["Checking", "Platinum Card", "Silver Card"], rows),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    train = pd.concat([add_noise(personal(), s) for s in range(3)], ignore_index=True)
    train[d.MERCHANT] = normalize_merchants(train[d.DESCRIPTION])
    model = CategoryModel().fit(train)
    frame = scoring_frame(args.rows)
    frame[d.MERCHANT] = normalize_merchants(frame[d.DESCRIPTION])  # ingest's job, not timed
    model.predict(frame.head(1000))  # warm-up (imports, first-call overheads)

    timings: dict[str, float] = {}
    started = time.perf_counter()
    prepare_text(frame)
    timings["normalise text + merchant key"] = time.perf_counter() - started
    started = time.perf_counter()
    model.decision_scores(frame)
    timings["decision scores (incl. normalising)"] = time.perf_counter() - started

    started, cpu_started = time.perf_counter(), time.process_time()
    result = model.predict(frame)
    total = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    assert len(result) == len(frame)
    payload = {
        "benchmark": "category_speed",
        "command": f"uv run python bench/bench_category_speed.py --rows {args.rows}",
        "rows": args.rows,
        "distinct_descriptors": int(frame[d.DESCRIPTION].nunique()),
        "classes": len(model.classes_),
        "predict_seconds": total,
        "rows_per_second": args.rows / total,
        "process_cpu_seconds": cpu,
        "rows_per_cpu_second": args.rows / cpu,
        "stage_seconds": timings,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_1m": os.getloadavg()[0],
        },
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "category_speed.json").write_text(json.dumps(payload, indent=2))
    print(
        "| rows | distinct descriptors | predict() wall s | rows/s (wall) "
        "| process CPU s | rows per CPU-second | load avg |"
    )
    print("|---|---|---|---|---|---|---|")
    print(
        f"| {args.rows:,} | {payload['distinct_descriptors']:,} | {total:.2f} "
        f"| {payload['rows_per_second']:,.0f} | {cpu:.2f} | {args.rows / cpu:,.0f} "
        f"| {payload['machine']['load_average_1m']:.1f} |"
    )
    print()
    print("| stage (measured separately) | seconds |")
    print("|---|---|")
    for stage, seconds in timings.items():
        print(f"| {stage} | {seconds:.2f} |")


if __name__ == "__main__":
    main()

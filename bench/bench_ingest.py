"""Ingest throughput on 1M rows resampled from the real personal-transactions export.

Measures, on the same generated file: the raw CSV parse (pandas.read_csv, all columns as text),
our reader + validation + merchants + fingerprints (no database), and the full import into SQLite
and PostgreSQL (TITANS_BENCH_POSTGRES_URL, else TITANS_TEST_POSTGRES_URL; its schema is dropped).
Writes bench/results/ingest.json and prints a markdown table.

    uv run python bench/bench_ingest.py [--rows 1000000]

With ``--no-db`` only the parse reference and read + validate + fingerprints run, ``--repeat``
times each, and bench/results/ingest_prepare.json gets wall and CPU seconds per run, the spread,
the load average and the ratio to the raw parse measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import text

from titans_finance.ingest.pipeline import ingest_file, prepare_file
from titans_finance.storage.db import create_db_engine, migrate

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT.parent / "shared" / "data" / "personal-transactions" / "personal_transactions.csv"
RESULTS = ROOT / "bench" / "results" / "ingest.json"


def generate(rows: int, target: Path, seed: int = 0) -> None:
    """Resample the real export to `rows` rows with spread dates and jittered amounts."""
    rng = np.random.default_rng(seed)
    real = pd.read_csv(SOURCE, dtype=str)
    sample = real.iloc[rng.integers(0, len(real), rows)].reset_index(drop=True)
    days = rng.integers(0, 3650, rows)
    sample["Date"] = (pd.Timestamp("2015-01-01") + pd.to_timedelta(days, unit="D")).strftime(
        "%m/%d/%Y"
    )
    amounts = sample["Amount"].astype(float) * rng.uniform(0.5, 1.5, rows)
    sample["Amount"] = np.char.mod("%.2f", np.round(amounts, 2))
    sample.to_csv(target, index=False)


def timed(label: str, func) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = func()
    elapsed = time.perf_counter() - start
    print(f"{label}: {elapsed:.2f} s", flush=True)
    return elapsed, result


def postgres_url() -> str | None:
    url = os.environ.get("TITANS_BENCH_POSTGRES_URL") or os.environ.get("TITANS_TEST_POSTGRES_URL")
    if not url:
        print("PostgreSQL skipped: set TITANS_BENCH_POSTGRES_URL (its public schema is dropped)")
        return None
    try:
        engine = create_db_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    except Exception as exc:
        print(f"PostgreSQL skipped: {exc}")
        return None
    return url


def prepare_only(path: Path, repeat: int) -> None:
    """Raw parse and our read + validate + fingerprints, alternated ``repeat`` times."""
    runs: list[dict[str, float]] = []
    rows = 0
    for _ in range(repeat):
        run: dict[str, float] = {"load_1min": os.getloadavg()[0]}
        for label, func in (
            ("raw", lambda: pd.read_csv(path, dtype=str, keep_default_na=False)),
            ("titans", lambda: prepare_file(path)),
        ):
            wall, cpu = time.perf_counter(), time.process_time()
            result = func()
            run[f"{label}_seconds"] = time.perf_counter() - wall
            run[f"{label}_cpu_seconds"] = time.process_time() - cpu
            if label == "titans":
                rows = result.rows_read  # type: ignore[attr-defined]
        run["titans_rows_per_s"] = rows / run["titans_seconds"]
        run["titans_rows_per_cpu_s"] = rows / run["titans_cpu_seconds"]
        run["titans_over_raw"] = run["titans_seconds"] / run["raw_seconds"]
        print({k: round(v, 2) for k, v in run.items()}, flush=True)
        runs.append(run)
    summary = {
        key: {"min": min(r[key] for r in runs), "max": max(r[key] for r in runs)} for key in runs[0]
    }
    out = RESULTS.with_name("ingest_prepare.json")
    out.write_text(json.dumps({"rows": rows, "runs": runs, "spread": summary}, indent=2))
    print(json.dumps(summary, indent=2))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--no-db", action="store_true", help="read + validate only")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if args.no_db:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "resampled.csv"
            generate(args.rows, path)
            prepare_only(path, args.repeat)
        return
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "resampled.csv"
        generate(args.rows, path)
        size_mb = path.stat().st_size / 1e6
        print(f"generated {args.rows:,} rows ({size_mb:.0f} MB)")
        seconds, _ = timed(
            "raw pandas parse", lambda: pd.read_csv(path, dtype=str, keep_default_na=False)
        )
        results["raw pandas.read_csv"] = {"seconds": seconds}
        seconds, prepared = timed(
            "read+validate+merchants+fingerprints", lambda: prepare_file(path)
        )
        results["titans read + validate (no DB)"] = {"seconds": seconds}
        targets = {"SQLite": f"sqlite:///{Path(tmp) / 'bench.db'}"}
        pg = postgres_url()
        if pg:
            targets["PostgreSQL"] = pg
        for name, url in targets.items():
            engine = create_db_engine(url)
            migrate(engine)
            seconds, summary = timed(f"full ingest {name}", lambda e=engine: ingest_file(e, path))
            results[f"full ingest into {name}"] = {"seconds": seconds, "inserted": summary.inserted}  # type: ignore[attr-defined]
            seconds, again = timed(f"re-import {name}", lambda e=engine: ingest_file(e, path))
            results[f"re-import into {name} (adds 0)"] = {
                "seconds": seconds,
                "inserted": again.inserted,  # type: ignore[attr-defined]
            }
            engine.dispose()
        rows_read = prepared.rows_read  # type: ignore[attr-defined]
    for entry in results.values():
        entry["rows_per_s"] = round(rows_read / entry["seconds"])
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"rows": rows_read, "results": results}, indent=2))
    print(f"\n| stage ({rows_read:,} rows) | seconds | rows/s |\n|---|---:|---:|")
    for label, entry in results.items():
        print(f"| {label} | {entry['seconds']:.2f} | {entry['rows_per_s']:,} |")


if __name__ == "__main__":
    main()

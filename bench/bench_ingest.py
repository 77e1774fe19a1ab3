"""Ingest throughput on 1M rows resampled from the real personal-transactions export.

Each of ``--repeat`` runs measures, on the same generated file: the raw CSV parse
(pandas.read_csv, all columns as text: the reference of the same run), our reader + validation +
merchants + fingerprints (no database), and per store a full import into an empty store and a
re-import (adds nothing): SQLite in a temporary folder and PostgreSQL (TITANS_BENCH_POSTGRES_URL,
else TITANS_TEST_POSTGRES_URL; its public schema is dropped). Every stage records wall seconds,
CPU seconds of this process and, for PostgreSQL, of the database's server processes; each run
the load average. Writes ``--out`` (bench/results/ingest.json) with every run and the min-max
spread, and prints a markdown table.

    uv run python bench/bench_ingest.py [--rows 1000000] [--repeat 3] [--no-db] [--source big]
        [--store SQLite|PostgreSQL ...]

``--no-db`` measures the parse reference and read + validate + fingerprints only; ``--store``
(repeatable) measures only the stores named. ``--source
big`` reads bench/generate_big.py's file (200 accounts, 3 years, noisy descriptors) instead.
The code before a change is measured by running this script with PYTHONPATH at its ``src``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, text

from titans_finance.ingest.pipeline import ingest_file, prepare_file
from titans_finance.storage.db import create_db_engine, migrate

sys.path.insert(0, str(Path(__file__).resolve().parent))

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


def peak_rss_mb(reset: bool = False) -> float:
    """This process's peak resident memory (VmHWM) in MB since the last reset; ``reset``
    starts a new peak at the current size (Linux /proc/self/clear_refs)."""
    if reset:
        Path("/proc/self/clear_refs").write_text("5")
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measured(func: Callable[[], object]) -> tuple[dict[str, float], object]:
    """Wall and CPU seconds of this process and its peak resident memory during ``func``."""
    peak_rss_mb(reset=True)
    wall, cpu = time.perf_counter(), time.process_time()
    result = func()
    figures = {"seconds": time.perf_counter() - wall, "cpu_seconds": time.process_time() - cpu}
    return figures | {"peak_rss_mb": peak_rss_mb()}, result


def backend_cpu(engine: Engine) -> float:
    """CPU seconds used so far by the server processes of this database (PostgreSQL on this
    machine; parallel index-build workers, which exit, are not counted)."""
    with engine.connect() as conn:
        pids = conn.execute(
            text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        ).scalars()
        total = 0.0
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def postgres_url() -> str | None:
    url = os.environ.get("TITANS_BENCH_POSTGRES_URL") or os.environ.get("TITANS_TEST_POSTGRES_URL")
    if not url:
        print("PostgreSQL skipped: set TITANS_BENCH_POSTGRES_URL (its public schema is dropped)")
        return None
    return url


def fresh_store(url: str) -> Engine:
    """A migrated, empty store at ``url`` (a PostgreSQL schema is dropped first)."""
    engine = create_db_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    migrate(engine)
    return engine


def one_run(path: Path, targets: dict[str, str], tmp: Path) -> tuple[dict[str, Any], int]:
    """The raw parse, read + validate + fingerprints, and per store a full import and a
    re-import, each with wall and CPU seconds; the load average before the run."""
    run: dict[str, Any] = {"load_1min": os.getloadavg()[0]}
    run["raw pandas.read_csv"], _ = measured(
        lambda: pd.read_csv(path, dtype=str, keep_default_na=False)
    )
    run["read + validate + fingerprints (no DB)"], prepared = measured(lambda: prepare_file(path))
    rows = int(prepared.rows_read)  # type: ignore[attr-defined]
    del prepared
    for name, url in targets.items():
        if name == "SQLite":
            for old in tmp.glob("bench.db*"):
                old.unlink()
        engine = fresh_store(url)
        for label in (f"full import into {name}", f"re-import into {name} (adds 0)"):
            server = backend_cpu(engine) if name == "PostgreSQL" else 0.0
            run[label], summary = measured(lambda e=engine: ingest_file(e, path))
            run[label]["inserted"] = summary.inserted  # type: ignore[attr-defined]
            if name == "PostgreSQL":
                run[label]["server_cpu_seconds"] = backend_cpu(engine) - server
        engine.dispose()
    for stage in run.values():
        if isinstance(stage, dict):
            stage["rows_per_s"] = rows / stage["seconds"]
            stage["rows_per_cpu_s"] = rows / (
                stage["cpu_seconds"] + stage.get("server_cpu_seconds", 0)
            )
    print(json.dumps(run, indent=1), flush=True)
    return run, rows


def spread(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """min / max of every figure over the runs."""
    out: dict[str, Any] = {
        "load_1min": [min(r["load_1min"] for r in runs), max(r["load_1min"] for r in runs)]
    }
    for stage in runs[0]:
        if stage == "load_1min":
            continue
        out[stage] = {
            key: [min(r[stage][key] for r in runs), max(r[stage][key] for r in runs)]
            for key in runs[0][stage]
            if key != "inserted"
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--no-db", action="store_true", help="read + validate only")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--source",
        choices=("resampled", "big"),
        default="resampled",
        help="resampled: generate() here; big: bench/generate_big.py (200 accounts, 3 years)",
    )
    parser.add_argument(
        "--store", choices=("SQLite", "PostgreSQL"), action="append", help="only these stores"
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--note", default="")
    args = parser.parse_args()
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        path = tmp / "input.csv"
        if args.source == "big":
            from generate_big import generate as generate_big

            generate_big(args.rows, 200, 3, 0).to_csv(path, index=False)
        else:
            generate(args.rows, path)
        targets: dict[str, str] = {}
        stores = args.store or ["SQLite", "PostgreSQL"]
        if not args.no_db:
            if "SQLite" in stores:
                targets["SQLite"] = f"sqlite:///{tmp / 'bench.db'}"
            pg = postgres_url() if "PostgreSQL" in stores else None
            if pg:
                targets["PostgreSQL"] = pg
        for _ in range(args.repeat):
            run, rows = one_run(path, targets, tmp)
            runs.append(run)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    command = "uv run python bench/bench_ingest.py " + " ".join(sys.argv[1:])
    result = {"command": command.strip(), "note": args.note, "source": args.source, "rows": rows}
    result |= {"spread": spread(runs), "runs": runs}
    args.out.write_text(json.dumps(result, indent=2))
    print(f"\n| stage ({rows:,} rows) | wall s | rows/s | CPU s | rows/CPU s | peak RSS MB |")
    print("|---|---:|---:|---:|---:|---:|")
    for stage, figures in result["spread"].items():
        if stage == "load_1min":
            continue
        cpu = [
            a + b
            for a, b in zip(
                figures["cpu_seconds"], figures.get("server_cpu_seconds", [0, 0]), strict=True
            )
        ]
        print(
            f"| {stage} | {figures['seconds'][0]:.2f}–{figures['seconds'][1]:.2f} "
            f"| {figures['rows_per_s'][0]:,.0f}–{figures['rows_per_s'][1]:,.0f} "
            f"| {cpu[0]:.2f}–{cpu[1]:.2f} "
            f"| {figures['rows_per_cpu_s'][0]:,.0f}–{figures['rows_per_cpu_s'][1]:,.0f} "
            f"| {figures['peak_rss_mb'][0]:,.0f}–{figures['peak_rss_mb'][1]:,.0f} |"
        )


if __name__ == "__main__":
    main()

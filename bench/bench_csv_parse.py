"""Delimited-reader throughput on a 1M-row personal-transactions-style CSV.

Generates the file by resampling the real export (spread dates, jittered amounts, unsigned
amounts with a debit/credit column), then times ``read_delimited`` alone and, for reference,
``pandas.read_csv`` with every column as text. Target: >= 300k rows/s for ``read_delimited``.
Writes bench/results/csv_parse.json and prints a markdown table.

    uv run python bench/bench_csv_parse.py [--rows 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import pandas as pd

from bench_ingest import generate  # the same 1M-row resample as the ingest benchmark
from titans_finance.ingest.readers.delimited import read_delimited
from titans_finance.ingest.validate import validate_frame

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "csv_parse.json"
TARGET_ROWS_PER_S = 300_000


def best_of(repeat: int, func) -> tuple[float, float, object]:  # type: ignore[no-untyped-def]
    """(best wall seconds, best CPU seconds of this process incl. threads, last result)."""
    wall, cpu, result = float("inf"), float("inf"), None
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = func()
        wall = min(wall, time.perf_counter() - start)
        cpu = min(cpu, time.process_time() - start_cpu)
    return wall, cpu, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "personal_1m.csv"
        generate(args.rows, path)
        size_mb = path.stat().st_size / 1e6
        load_before = os.getloadavg()[0]
        steps = {
            "pandas.read_csv (text only)": best_of(
                args.repeat, lambda: pd.read_csv(path, dtype=str, keep_default_na=False)
            ),
            "read_delimited": best_of(args.repeat, lambda: read_delimited(path)),
        }
        result = steps["read_delimited"][2]
        frame = result.frame  # type: ignore[attr-defined]
        assert len(frame) == args.rows and not result.rejects  # type: ignore[attr-defined]
        steps["validate_frame"] = best_of(1, lambda: validate_frame(frame))
    rows = args.rows
    wall, cpu, _ = steps["read_delimited"]
    report = {
        "rows": rows,
        "file_mb": round(size_mb, 1),
        "cpus": os.cpu_count(),
        "load_average_at_start": round(load_before, 1),
        "steps": {
            name: {"wall_s": round(w, 3), "cpu_s": round(c, 3), "rows_per_s": round(rows / w)}
            for name, (w, c, _r) in steps.items()
        },
        "read_delimited_rows_per_s": round(rows / wall),
        "read_delimited_rows_per_cpu_s": round(rows / cpu),
        "target_rows_per_s": TARGET_ROWS_PER_S,
        "meets_target": rows / wall >= TARGET_ROWS_PER_S,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(
        f"{rows:,} rows, {size_mb:.0f} MB, load average {load_before:.1f} on {os.cpu_count()} CPUs"
    )
    print("| step | wall s | CPU s | rows/s (wall) | rows/s (CPU) |")
    print("|---|---|---|---|---|")
    for name, (w, c, _r) in steps.items():
        print(f"| {name} | {w:.2f} | {c:.2f} | {rows / w:,.0f} | {rows / c:,.0f} |")
    print(f"\nread_delimited: {rows / wall:,.0f} rows/s wall, {rows / cpu:,.0f} rows/CPU-s")
    print(f"(target {TARGET_ROWS_PER_S:,} rows/s; CPU time includes pyarrow's parser threads)")


if __name__ == "__main__":
    main()

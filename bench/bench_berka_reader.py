"""Berka reader throughput on a 1M-row resample of the real trans.asc.

Rows of ../shared/data/berka/trans.asc are drawn with replacement (seed 0) into a temporary file
in the same layout (Latin-1, CRLF); then, best of ``--repeat`` runs, the time of a bare
``pandas.read_csv`` of that file (the floor) and of ``read_berka`` (parse, translate, Decimal
money, dates, canonical frame).  Wall and CPU time are both reported: on a loaded machine CPU
time is the steadier figure.  Writes bench/results/berka_reader.json and prints a markdown table.

    uv run python bench/bench_berka_reader.py [--rows 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from titans_finance.ingest.readers.berka import read_berka

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT.parent / "shared" / "data" / "berka" / "trans.asc"
RESULTS = ROOT / "bench" / "results" / "berka_reader.json"


def resample(rows: int, target: Path) -> None:
    """Write ``rows`` data lines drawn with replacement from the real file."""
    lines = SOURCE.read_bytes().split(b"\r\n")
    header, body = lines[0], [line for line in lines[1:] if line]
    picks = np.random.default_rng(0).integers(0, len(body), rows)
    target.write_bytes(b"\r\n".join([header, *(body[i] for i in picks)]) + b"\r\n")


def best_of(repeat: int, run: Callable[[], int]) -> tuple[float, float, int]:
    """Fastest wall and CPU seconds over ``repeat`` runs, and the row count of the last run."""
    walls, cpus, count = [], [], 0
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        count = run()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus), count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "trans_resampled.asc"
        resample(args.rows, path)
        floor = best_of(
            args.repeat,
            lambda: len(pd.read_csv(path, sep=";", encoding="latin-1", low_memory=False)),
        )
        reader = best_of(args.repeat, lambda: len(read_berka(path).frame))
    results = {
        "rows": args.rows,
        "pandas_read_csv": {"wall_s": round(floor[0], 3), "cpu_s": round(floor[1], 3)},
        "read_berka": {
            "wall_s": round(reader[0], 3),
            "cpu_s": round(reader[1], 3),
            "rows_accepted": reader[2],
            "rows_per_s_wall": round(args.rows / reader[0]),
            "rows_per_s_cpu": round(args.rows / reader[1]),
        },
        "target_rows_per_s": 300_000,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"| step ({args.rows:,} rows) | wall s | CPU s | rows/s (wall) | rows/s (CPU) |")
    print("|---|---:|---:|---:|---:|")
    for name, (wall, cpu, _) in (("pandas.read_csv (floor)", floor), ("read_berka", reader)):
        rates = f"{args.rows / wall:,.0f} | {args.rows / cpu:,.0f}"
        print(f"| {name} | {wall:.2f} | {cpu:.2f} | {rates} |")


if __name__ == "__main__":
    main()

"""Anomaly scoring speed: one `AnomalyModel.predict` call over N rows (Berka test rows drawn
with replacement, model fitted on the Berka training months), this checkout against a
reference source tree (``--reference``, e.g. a `git worktree` of the commit before), each run
a fresh process, alternating.

    uv run python bench/bench_anomaly_speed.py [--rows 1000000] [--runs 3] [--reference REF/src]

Writes bench/results/anomaly_speed.json: per tree the wall and CPU seconds of the predict call
(median, min, max), rows/s by both, peak RSS of the process, and the load average.  Fails
unless both trees give the same output (scores, flags, risk levels, reasons) on the batch.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results" / "anomaly_speed.json"

_CHILD = """
import json, os, resource, sys, time
sys.path.insert(0, {bench!r})
from bench_amount import BERKA_SPLIT, load_berka, time_split
from titans_finance.models.anomaly import AnomalyModel
train, test = time_split(load_berka(), BERKA_SPLIT)
model = AnomalyModel().fit(train)
batch = test.sample({rows}, replace=True, random_state=0).reset_index(drop=True)
wall, cpu = time.perf_counter(), time.process_time()
scored = model.predict(batch)
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
scored.to_pickle({output!r})
print(json.dumps({{"wall_s": wall, "cpu_s": cpu, "peak_rss_mib": peak}}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--reference", type=Path, required=True, help="src/ of the reference")
    args = parser.parse_args()
    trees = {"this checkout": BENCH.parent / "src", "reference": args.reference}
    load_before = os.getloadavg()
    samples: dict[str, list[dict[str, float]]] = {tree: [] for tree in trees}
    with tempfile.TemporaryDirectory() as scratch:
        outputs = {tree: Path(scratch) / f"{i}.pkl" for i, tree in enumerate(trees)}
        for _ in range(args.runs):
            for tree, src in trees.items():
                code = _CHILD.format(bench=str(BENCH), rows=args.rows, output=str(outputs[tree]))
                done = subprocess.run(
                    [sys.executable, "-c", code],
                    env={**os.environ, "PYTHONPATH": str(src)},
                    check=True,
                    capture_output=True,
                    text=True,
                )
                samples[tree].append(json.loads(done.stdout.strip().splitlines()[-1]))
        mine, reference = (pd.read_pickle(outputs[tree]) for tree in trees)
        # model_version is a random id per fit
        pd.testing.assert_frame_equal(
            mine.drop(columns="model_version"), reference.drop(columns="model_version")
        )
    results = {}
    for tree, runs in samples.items():
        wall = [r["wall_s"] for r in runs]
        cpu = [r["cpu_s"] for r in runs]
        results[tree] = {
            "median_wall_s": round(statistics.median(wall), 2),
            "min_wall_s": round(min(wall), 2),
            "max_wall_s": round(max(wall), 2),
            "median_cpu_s": round(statistics.median(cpu), 2),
            "min_cpu_s": round(min(cpu), 2),
            "max_cpu_s": round(max(cpu), 2),
            "rows_per_s_wall": round(args.rows / statistics.median(wall)),
            "rows_per_s_cpu": round(args.rows / statistics.median(cpu)),
            "peak_rss_mib": round(max(r["peak_rss_mib"] for r in runs)),
        }
    out = {
        "command": f"uv run python bench/bench_anomaly_speed.py --rows {args.rows} "
        f"--runs {args.runs} --reference REF/src",
        "rows": args.rows,
        "runs": args.runs,
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "results": results,
        "outputs_identical": True,
    }
    RESULTS.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print("| tree | wall s (median, min-max) | CPU s | rows/s wall | rows/s CPU | peak RSS MiB |")
    print("|---|---|---:|---:|---:|---:|")
    for tree, r in results.items():
        print(
            f"| {tree} | {r['median_wall_s']} ({r['min_wall_s']}-{r['max_wall_s']}) | "
            f"{r['median_cpu_s']} | {r['rows_per_s_wall']:,} | {r['rows_per_s_cpu']:,} | "
            f"{r['peak_rss_mib']} |"
        )


if __name__ == "__main__":
    main()

"""`/predict/batch` rows/s end to end over HTTP: this checkout against a reference source tree
(``--reference``, e.g. a `git worktree` of the commit before), same trained models, same run,
one server after the other, ``--rounds`` alternations of 3 timed requests each.

    uv run python bench/bench_api_batch.py [--rows 20000] [--rounds 2] [--reference /tmp/base/src]

Writes bench/results/api_batch.json (the batch part of bench_api.py's measurement, with a
reference): per tree and model set the median seconds over all timed requests, their min and
max, rows/s end to end and rows/s of the server's own processing time; the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_api import _free_port, measure_batch, start_server, train

RESULTS = Path(__file__).resolve().parent / "results" / "api_batch.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--reference", type=Path, required=True, help="src/ of the reference")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="titans-bench-batch-"))
    models_dir = tmp / "models"
    trained, records = train(models_dir)
    trees = {"this checkout": None, "reference": str(args.reference)}
    sets = [["category"], sorted(m for m in trained if m in ("anomaly", "category"))]
    samples: dict[str, dict[str, list[dict[str, float]]]] = {
        tree: {" + ".join(s): [] for s in sets} for tree in trees
    }
    load_before = os.getloadavg()
    for _ in range(args.rounds):
        for tree, src in trees.items():
            if src is None:
                os.environ.pop("PYTHONPATH", None)
            else:
                os.environ["PYTHONPATH"] = src
            port = _free_port()
            proc = start_server(port, 1, tmp, models_dir)
            try:
                for models in sets:
                    result = measure_batch(
                        f"http://127.0.0.1:{port}", records, args.rows, repeats=3, models=models
                    )
                    samples[tree][" + ".join(models)].append(result)
            finally:
                proc.terminate()
                proc.wait(timeout=30)
    os.environ.pop("PYTHONPATH", None)
    out: dict[str, object] = {
        "command": f"uv run python bench/bench_api_batch.py --rows {args.rows} "
        f"--rounds {args.rounds} --reference REF/src",
        "rows": args.rows,
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "note": "median_seconds is the median of each round's median of 3 requests",
    }
    table = {}
    for tree, by_set in samples.items():
        table[tree] = {
            name: {
                "median_seconds": statistics.median(r["median_seconds"] for r in runs),
                "min_round_seconds": min(r["median_seconds"] for r in runs),
                "max_round_seconds": max(r["median_seconds"] for r in runs),
                "rows_per_s": round(
                    args.rows / statistics.median(r["median_seconds"] for r in runs)
                ),
                "scoring_only_rows_per_s": round(
                    statistics.median(r["scoring_only_rows_per_s"] for r in runs)
                ),
            }
            for name, runs in by_set.items()
        }
    out["results"] = table
    RESULTS.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    shutil.rmtree(tmp, ignore_errors=True)
    print("| tree | models | median s | min | max | rows/s end to end | rows/s scoring |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for tree, by_set in table.items():
        for name, r in by_set.items():
            print(
                f"| {tree} | {name} | {r['median_seconds']} | {r['min_round_seconds']} | "
                f"{r['max_round_seconds']} | {r['rows_per_s']:,} | "
                f"{r['scoring_only_rows_per_s']:,} |"
            )
    print(f"load {load_before} -> {os.getloadavg()}", file=sys.stderr)


if __name__ == "__main__":
    main()

"""Pipeline timing: one whole `titans pipeline run` (first run: no champion, so every model
trains, is judged and promoted) on the bundled sample, and on a store of N rows.

The N-row store is the sample repeated, each copy under its own accounts (the sample's account
names with the copy number) and its dates moved by up to two weeks, so fingerprints differ and
every date stays in the sample's span; imported through the inbox like any export.  Per-step
seconds come from the run record.

    uv run python bench/bench_pipeline.py [--rows 100000] [--models category,anomaly,...]

Writes bench/results/pipeline.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

SAMPLE = Path(__file__).resolve().parents[1] / "src/titans_finance/sample_data"
SAMPLE_CSV = SAMPLE / "personal_transactions.csv"
RESULTS = Path(__file__).resolve().parent / "results" / "pipeline.json"


def _scaled(target: Path, rows: int) -> int:
    with SAMPLE_CSV.open(newline="") as handle:
        base = list(csv.DictReader(handle))
    written = 0
    with target.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(base[0]))
        writer.writeheader()
        copy = 0
        while written < rows:
            for row in base:
                if written >= rows:
                    break
                when = datetime.strptime(row["Date"], "%m/%d/%Y") + timedelta(days=copy % 15)
                writer.writerow(
                    {
                        **row,
                        "Date": when.strftime("%m/%d/%Y"),
                        "Account Name": f"{row['Account Name']} {copy + 1}",
                    }
                )
                written += 1
            copy += 1
    return written


def _one_run(folder: Path, source: Path, models: str) -> dict[str, object]:
    from titans_finance.config import Settings
    from titans_finance.pipeline import run_pipeline
    from titans_finance.storage.db import get_engine

    inbox = folder / "inbox"
    inbox.mkdir(parents=True)
    (inbox / source.name).write_bytes(source.read_bytes())
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=f"sqlite:///{folder / 'titans.db'}",
        models_dir=folder / "models",
        mlflow_tracking_uri=f"sqlite:///{folder / 'mlflow.db'}",
        inbox_dir=inbox,
        pipeline_dir=folder / "pipeline",
        pipeline_models=[m for m in models.split(",") if m],
    )
    started = time.perf_counter()
    run = run_pipeline(settings, trigger="bench")
    seconds = time.perf_counter() - started
    get_engine.cache_clear()
    return {
        "rows": run["rows_inserted"],
        "status": run["status"],
        "seconds_total": round(seconds, 1),
        "seconds_by_step": run["details"]["seconds"],
        "decisions": {d["model_type"]: d["status"] for d in run["decisions"]},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--models", default="", help="comma-separated (default: every model)")
    parser.add_argument("--skip-large", action="store_true", help="only the sample")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    results: dict[str, object] = {
        "machine": f"{platform.machine()} {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}",
        "models": args.models or "all",
        "when": datetime.now().isoformat(timespec="seconds"),
    }
    with tempfile.TemporaryDirectory(prefix="titans-bench-pipeline-") as tmp:
        results["sample"] = _one_run(Path(tmp) / "sample", SAMPLE_CSV, args.models)
        print("sample:", results["sample"])
        if not args.skip_large:
            big = Path(tmp) / f"rows-{args.rows}.csv"
            written = _scaled(big, args.rows)
            results[f"rows_{args.rows}"] = _one_run(Path(tmp) / "large", big, args.models)
            results[f"rows_{args.rows}"]["rows_written"] = written
            print(f"{args.rows} rows:", results[f"rows_{args.rows}"])
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()

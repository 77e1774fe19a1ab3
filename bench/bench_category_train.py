"""Category model training cost on a large file: wall time per stage and peak memory.

    uv run python bench/generate_big.py --rows 1000000 --out /tmp/big.csv
    uv run python bench/bench_category_train.py --data /tmp/big.csv

Runs what ``titans train category`` runs (``training.train_model``: a fit on the earlier 80%
evaluated on the later 20%, then a fit on every row, then saving; no MLflow) on the file read
by ingest's ``load_frame``.  Reports each stage the model logs, the total, the peak RSS of the
process (``resource.getrusage``, includes the loaded frame), the 1-minute load average and a
reference measured in the same run: a raw ``pandas.read_csv`` of the same file.  Writes
bench/results/category_train.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import resource
import tempfile
import time
from pathlib import Path

import pandas as pd

from titans_finance.ingest.pipeline import load_frame
from titans_finance.training import train_model

RESULTS = Path(__file__).resolve().parent / "results"


class StageLog(logging.Handler):
    """Keeps (seconds since start, message) of every record."""

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.started = time.perf_counter()
        self.lines: list[tuple[float, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        elapsed = time.perf_counter() - self.started
        self.lines.append((round(elapsed, 2), record.getMessage()))
        print(f"[{elapsed:7.1f} s] {record.getMessage()}", flush=True)


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (MB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    args = parser.parse_args()
    load_before = os.getloadavg()
    started = time.perf_counter()
    raw = pd.read_csv(args.data)
    reference = time.perf_counter() - started
    rows = len(raw)
    del raw
    started = time.perf_counter()
    frame = load_frame(args.data)
    load_seconds = time.perf_counter() - started
    rss_after_load = peak_rss_mb()
    handler = StageLog()
    for name in ("titans_finance.models.category", "titans_finance.training"):
        logging.getLogger(name).addHandler(handler)
        logging.getLogger(name).setLevel(logging.INFO)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        result = train_model(
            "category",
            frame,
            Path(folder),
            log_to_registry=False,
            on_stage=lambda stage: handler.emit(
                logging.LogRecord("train", logging.INFO, "", 0, f"train: {stage}", None, None)
            ),
        )
    train_seconds = time.perf_counter() - started
    payload = {
        "benchmark": "category_train",
        "command": f"uv run python bench/bench_category_train.py --data {args.data.name}",
        "data": "bench/generate_big.py (personal export resampled over 200 accounts, 3 years)",
        "rows": rows,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_before": load_before[0],
            "load_average_after": os.getloadavg()[0],
        },
        "reference_pandas_read_csv_seconds": round(reference, 2),
        "load_frame_seconds": round(load_seconds, 2),
        "train_model_seconds": round(train_seconds, 2),
        "peak_rss_mb_after_load": round(rss_after_load, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "holdout_metrics": result.metrics,
        "stages": handler.lines,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "category_train.json").write_text(json.dumps(payload, indent=2))
    print(json.dumps({k: v for k, v in payload.items() if k != "stages"}, indent=2))


if __name__ == "__main__":
    main()

"""`titans train all` at scale: wall and CPU seconds per model and stage, peak RSS.

    uv run python bench/generate_big.py --rows 1000000 --out /tmp/big.csv
    uv run python bench/bench_train_all.py --data /tmp/big.csv [--reference /tmp/ref/src] \\
        [--store postgresql://postgres@127.0.0.1:5432/test_training --copies 10 [--skip-fill]]

Runs the real command in a subprocess under ``/usr/bin/time -v`` (peak RSS, user + system CPU
seconds) and reads the stage lines it prints (``<model>: <stage> <seconds> s``):

* ``csv``: ``titans train all --data big.csv`` (the file read as an import reads it);
* ``store`` (with ``--store``): the store is filled first with ``--copies`` copies of the
  file's rows, each under its own accounts (``Account 001 c3``), through ``storage.bulk`` (the
  COPY loader ``titans ingest`` ends in; merchants named once for the first copy, fingerprints
  computed per copy) — ``titans ingest`` of 10M rows is beyond this bench's time — then
  ``titans train all`` reads the store (``--skip-fill``: the store as a previous run left it).

``--reference SRC`` trains the code of another ``src/`` folder first in the same run (main's,
from ``git archive``), so both are measured under the same load.  Hold-out metrics come from
each saved model's metadata.json.  Reference in the same run: a raw ``pandas.read_csv`` of the
file.  Writes bench/results/train_all.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

RESULTS = Path(__file__).resolve().parent / "results" / "train_all.json"
_STAGE = re.compile(r"^(\w+): (.+) ([\d.]+) s$")
_TIME_FIELDS = {
    "Maximum resident set size (kbytes)": "peak_rss_kb",
    "User time (seconds)": "user_seconds",
    "System time (seconds)": "system_seconds",
}


def _train(env: dict[str, str], extra: list[str], models_dir: Path) -> dict[str, Any]:
    """One `titans train all` under /usr/bin/time -v: stages, metrics, wall, CPU, peak RSS."""
    command = [
        "/usr/bin/time",
        "-v",
        str(Path(sys.executable).parent / "titans"),
        "train",
        "all",
        *extra,
        "--models-dir",
        str(models_dir),
    ]
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    stages: list[dict[str, Any]] = []
    for line in done.stdout.splitlines():
        match = _STAGE.match(line.strip())
        if match:
            stages.append({"model": match[1], "stage": match[2], "seconds": float(match[3])})
    measured: dict[str, float] = {}
    for line in done.stderr.splitlines():
        key, _, value = line.strip().partition(": ")
        if key in _TIME_FIELDS:
            measured[_TIME_FIELDS[key]] = float(value)
    metrics = {}
    for meta in sorted(models_dir.glob("*/metadata.json")):
        metrics[meta.parent.name] = json.loads(meta.read_text())["metrics"]
    window = [line for line in done.stdout.splitlines() if line.startswith("training on")]
    return {
        "returncode": done.returncode,
        "wall_seconds": round(wall, 1),
        "cpu_seconds": round(
            measured.get("user_seconds", 0) + measured.get("system_seconds", 0), 1
        ),
        "peak_rss_mb": round(measured.get("peak_rss_kb", 0) / 1024, 1),
        "window": window[0] if window else None,
        "stages": stages,
        "holdout_metrics": metrics,
        "stderr_tail": done.stderr.splitlines()[-40:] if done.returncode else [],
    }


def _measured(env: dict[str, str], extra: list[str], models_dir: Path) -> dict[str, Any]:
    """`_train` with the load average before and after; printed as it ends."""
    load = os.getloadavg()[0]
    run = _train(env, extra, models_dir)
    measured = {"load_average_before": load, "load_average_after": os.getloadavg()[0], **run}
    print(json.dumps({k: v for k, v in measured.items() if k != "stages"}, indent=2), flush=True)
    return measured


def fill_store(url: str, data: Path, copies: int) -> dict[str, Any]:
    """Replace the store at ``url`` with ``copies`` copies of ``data`` (see the module doc)."""
    from sqlalchemy import text

    from titans_finance import domain as d
    from titans_finance.frame import per_distinct
    from titans_finance.ingest.dedupe import fingerprints
    from titans_finance.ingest.pipeline import prepare_file
    from titans_finance.storage.bulk import store_import
    from titans_finance.storage.db import get_engine, migrate

    engine = get_engine(url)
    migrate(engine)
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE transactions, rejected_rows, imports, accounts CASCADE"))
    started = time.perf_counter()
    prepared = prepare_file(data)
    prepare_seconds = time.perf_counter() - started
    base = prepared.frame
    accounts = base[d.ACCOUNT]
    stored = 0
    for copy in range(copies):
        frame = base.copy()
        frame[d.ACCOUNT] = per_distinct(accounts, lambda name, c=copy: f"{name} c{c}")
        frame["fingerprint"] = fingerprints(frame)
        stored += store_import(
            engine,
            file_name=f"{data.name} copy {copy}",
            sha256=f"{copy:064d}",
            file_format=prepared.format,
            frame=frame,
            rejects=[],
            rows_read=len(frame),
        ).inserted
        print(f"store: copy {copy + 1}/{copies} ({stored} rows)", flush=True)
    return {
        "rows": stored,
        "prepare_file_seconds": round(prepare_seconds, 1),
        "fill_seconds": round(time.perf_counter() - started, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--store", help="PostgreSQL URL of a scratch store (it is emptied)")
    parser.add_argument("--copies", type=int, default=10)
    parser.add_argument("--skip-csv", action="store_true")
    parser.add_argument(
        "--skip-fill", action="store_true", help="train on the store as it is (filled before)"
    )
    parser.add_argument(
        "--reference",
        type=Path,
        help="a src/ folder of other code (e.g. main's: git archive) trained first in the same "
        "run, its figures under csv_reference / store_reference",
    )
    args = parser.parse_args()
    payload: dict[str, Any] = {}
    payload.update(
        {
            "benchmark": "train_all",
            "command": "uv run python bench/bench_train_all.py --data big.csv "
            "[--reference /tmp/ref/src] [--store postgresql://.../test_training --copies 10 "
            "[--skip-fill]]",
            "data": "bench/generate_big.py --rows 1000000 (200 accounts, 3 years)",
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        }
    )
    started = time.perf_counter()
    raw = pd.read_csv(args.data)
    payload["reference_pandas_read_csv_seconds"] = round(time.perf_counter() - started, 2)
    payload["rows"] = len(raw)
    del raw
    with tempfile.TemporaryDirectory() as folder:
        env = {
            **os.environ,
            "COLUMNS": "200",
            "TITANS_MLFLOW_TRACKING_URI": f"sqlite:///{folder}/mlflow.db",
        }
        versions = [("", env)]
        if args.reference:
            reference = {**env, "PYTHONPATH": str(args.reference.resolve())}
            versions.insert(0, ("_reference", reference))
        if not args.skip_csv:
            for suffix, version_env in versions:
                payload[f"csv{suffix}"] = _measured(
                    version_env, ["--data", str(args.data)], Path(folder) / f"csv{suffix}"
                )
        if args.store:
            filled = None if args.skip_fill else fill_store(args.store, args.data, args.copies)
            for suffix, version_env in versions:
                store_env = {**version_env, "TITANS_DATABASE_URL": args.store}
                run = _measured(store_env, [], Path(folder) / f"store{suffix}")
                payload[f"store{suffix}"] = {"fill": filled, **run} if filled else run
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    # the csv and store runs may be separate invocations: keep the other's figures
    merged = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    RESULTS.write_text(json.dumps({**merged, **payload}, indent=2))


if __name__ == "__main__":
    main()

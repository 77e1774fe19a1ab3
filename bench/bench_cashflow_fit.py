"""Cash-flow fit cost and quality on a large generated file (many accounts, one window).

The file comes from ``bench/generate_big.py``; the last ``--days`` days are the window a
training run would give cash flow, the model is fitted on its first 75 % and evaluated
(``CashflowModel.evaluate``: 30-day net MAE / zero change, end-balance coverage) on the rest.
The code before a change runs the same script with ``PYTHONPATH`` at its ``src``.

    uv run python bench/generate_big.py --rows 2000000 --accounts 2000 --out /tmp/big.csv
    OMP_NUM_THREADS=1 uv run python bench/bench_cashflow_fit.py --data /tmp/big.csv --days 420
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import pandas as pd

import titans_finance.models.cashflow as cashflow
from titans_finance.ingest.pipeline import load_frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--days", type=int, default=420)
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args()
    frame = load_frame(args.data)
    end = frame["Date"].max()
    window = frame[frame["Date"] > end - pd.Timedelta(days=args.days)]
    cut = window["Date"].min() + pd.Timedelta(days=int(args.days * 0.75))
    history, later = window[window["Date"] <= cut], window[window["Date"] > cut]
    started, cpu = time.perf_counter(), time.process_time()
    model = cashflow.CashflowModel(drop_future_rows=True).fit(history)
    fit_wall, fit_cpu = time.perf_counter() - started, time.process_time() - cpu
    metrics = model.evaluate(later)
    result = {
        "benchmark": "cashflow_fit",
        "command": "uv run python bench/bench_cashflow_fit.py " + " ".join(sys.argv[1:]),
        "code": str(Path(cashflow.__file__).resolve().parents[2]),
        "load_average": os.getloadavg(),
        "history_rows": len(history),
        "accounts": len(model.accounts_),
        "days": args.days,
        "calibration_samples": model.calibration_samples_,
        "fit_wall_seconds": round(fit_wall, 2),
        "fit_cpu_seconds": round(fit_cpu, 2),
        "mae_ratio": round(metrics["mae_ratio"], 4),
        "end_balance_coverage": round(metrics["end_balance_coverage"], 4),
    }
    print(json.dumps(result))
    if args.output is not None:
        args.output.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()

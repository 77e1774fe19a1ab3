"""Amount model under the issue-12 protocol: amounts of the next two months, without amounts.

For each month-end cut-off, the model is fitted on the history up to the cut-off and predicts
every transaction of the next two months from its date, account, description and type only
(no amount, category or payment method).  Berka development accounts only (id % 10 not in
{5, 6}); ``--held-out`` also REPORTS the held-out accounts (never used to choose settings).
Baseline: the median of the same (account, description) in training, else the description's
median, else the global median.  Writes bench/results/amount_protocol.json.

    uv run python bench/bench_amount_protocol.py [--accounts N] [--held-out] [--set NAME=VALUE]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_amount import RESULTS, load_berka
from berka_split import held_out_accounts
from titans_finance import domain as d
from titans_finance.frame import to_float
from titans_finance.models.amount import AmountModel

#: month-ends of the shared Berka extract (1993-01 .. 1994-03), each followed by two months
CUTOFFS = (pd.Timestamp("1993-09-30"), pd.Timestamp("1993-11-30"), pd.Timestamp("1994-01-31"))
HORIZON_MONTHS = 2
#: the columns a row to score carries under the protocol
INPUT_COLUMNS = (d.DATE, d.ACCOUNT, d.DESCRIPTION, d.TYPE)


def sample_accounts(frame: pd.DataFrame, *, held_out: bool, n: int, seed: int = 0) -> pd.DataFrame:
    """Rows of development accounts (id % 10 not in {5, 6}) or held-out ones; with ``n`` > 0
    only ``n`` random ones (fixed seed) with history before the first cut-off."""
    group = held_out_accounts(frame) == held_out
    if n <= 0:
        return frame[group].reset_index(drop=True)
    early = frame.loc[group & (frame[d.DATE] <= CUTOFFS[0]), d.ACCOUNT].unique()
    rng = np.random.default_rng(seed)
    chosen = rng.choice(np.sort(early), size=min(n, len(early)), replace=False)
    return frame[frame[d.ACCOUNT].isin(chosen)].reset_index(drop=True)


def baseline(train: pd.DataFrame, test: pd.DataFrame) -> np.ndarray:
    """(account, description) median, else description median, else global median."""
    keys = [d.ACCOUNT, d.DESCRIPTION]
    pair = train.groupby(keys)[d.AMOUNT].median().rename("pair").reset_index()
    desc = train.groupby(d.DESCRIPTION)[d.AMOUNT].median().rename("desc").reset_index()
    merged = test[keys].merge(pair, on=keys, how="left").merge(desc, on=d.DESCRIPTION, how="left")
    return merged["pair"].fillna(merged["desc"]).fillna(train[d.AMOUNT].median()).to_numpy()


def run_cutoff(frame: pd.DataFrame, cutoff: pd.Timestamp, **params: float) -> dict:
    """Fit on rows up to ``cutoff`` (inclusive), score the next two months without amounts."""
    end = cutoff + pd.offsets.MonthEnd(HORIZON_MONTHS)
    train = frame[frame[d.DATE] <= cutoff]
    test = frame[(frame[d.DATE] > cutoff) & (frame[d.DATE] <= end)].reset_index(drop=True)
    start = time.perf_counter()
    model = AmountModel(**params).fit(train)
    fit_seconds = time.perf_counter() - start
    predicted = model.predict(test[list(INPUT_COLUMNS)])
    actual = test[d.AMOUNT].to_numpy(dtype=float)
    errors = np.abs(predicted["predicted_amount"].to_numpy() - actual)
    base = np.abs(baseline(train, test) - actual)
    lower, upper = predicted["lower"].to_numpy(), predicted["upper"].to_numpy()
    inside = (actual >= lower - 0.005) & (actual <= upper + 0.005)
    return {
        "cutoff": str(cutoff.date()),
        "test_until": str(end.date()),
        "train_rows": len(train),
        "test_rows": len(test),
        "mae": float(errors.mean()),
        "baseline_mae": float(base.mean()),
        "mae_ratio": float(errors.mean() / base.mean()),
        "coverage": float(inside.mean()),
        "mean_interval_width": float(np.mean(upper - lower)),
        "sign_correct": float(np.mean(np.sign(predicted["predicted_amount"]) == np.sign(actual))),
        "fit_seconds": round(fit_seconds, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=0, help="0: all accounts")
    parser.add_argument("--held-out", action="store_true", help="also report held-out accounts")
    parser.add_argument("--cutoffs", default="", help="comma-separated subset of the cut-offs")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="AmountModel setting (repeatable), e.g. --set validation_origins=1",
    )
    args = parser.parse_args()
    settings = {k: float(v) if "." in v else int(v) for k, v in (s.split("=") for s in args.set)}
    berka = load_berka()
    berka[d.DATE] = pd.to_datetime(berka[d.DATE])
    berka[d.AMOUNT] = to_float(berka[d.AMOUNT])
    groups = [("development", False)] + (
        [("held-out (report only)", True)] if args.held_out else []
    )
    result: dict[str, object] = {
        "command": " ".join(["uv run python bench/bench_amount_protocol.py", *sys.argv[1:]]),
        "load_average_at_start": [round(v, 1) for v in os.getloadavg()],
        "accounts_per_group": args.accounts,
        "settings": settings,
        "groups": {},
    }
    print("| accounts | cut-off | train rows | test rows | MAE | baseline MAE | ratio | coverage |")
    print("|---|---|---|---|---|---|---|---|")
    for name, held_out in groups:
        frame = sample_accounts(berka, held_out=held_out, n=args.accounts)
        rows = []
        chosen = [c for c in CUTOFFS if not args.cutoffs or str(c.date()) in args.cutoffs]
        for cutoff in chosen:
            m = run_cutoff(frame, cutoff, **settings)
            rows.append(m)
            print(
                f"| {name} | {m['cutoff']} | {m['train_rows']} | {m['test_rows']} | "
                f"{m['mae']:.1f} | {m['baseline_mae']:.1f} | {m['mae_ratio']:.3f} | "
                f"{m['coverage']:.3f} |",
                flush=True,
            )
        result["groups"][name] = rows  # type: ignore[index]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "amount_protocol.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

"""Recurring-stream detection quality and speed on the real Berka accounts.

At each cut-off the detector is fitted on the history up to it and its expected occurrences in
the next 90 days are compared with what happened:

* precision: expected occurrences matched by an actual transaction of the same account,
  merchant and direction within the stream's date tolerance;
* recall: hindsight recurring occurrences (rows of streams that a detector fitted on history
  *including* the 90 days finds) matched by an expected occurrence;
* recall (detectable): the same, restricted to keys with at least three occurrences before the
  cut-off (a stream needs three to be detected; newer ones cannot be);
* amount MAPE over matched pairs.

Baseline in the same run: "repeat last month" — every (account, merchant, direction) seen in the
31 days before the cut-off repeats monthly with its last amount.

    uv run python bench/bench_recurring.py [--data ../shared/data/berka/trans.asc]
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd

from titans_finance.models._history import working_frame
from titans_finance.models.recurring import RecurringModel, add_months

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "berka" / "trans.asc"
DEFAULT_CUTOFFS = ["1993-09-30", "1993-11-30", "1993-12-31"]
MONTHLY_TOLERANCE = 30.4375 * 0.15


def load_berka(path: Path) -> pd.DataFrame:
    """Berka through the project's own ingest pipeline (reader, validation, merchants)."""
    from titans_finance.ingest.pipeline import load_frame

    return load_frame(path, file_format="berka")


def keyed(work: pd.DataFrame) -> pd.DataFrame:
    """Daily occurrences per (account, merchant, direction) key."""
    direction = np.where(work["_amount"] > 0, "in", "out")
    key = work["_account"].astype(str) + "|" + work["_merchant"].astype(str) + "|" + direction
    out = pd.DataFrame({"key": key, "date": work["_date"], "amount": work["_amount"]})
    return out.groupby(["key", "date"], as_index=False)["amount"].sum()


def expected_from_model(model: RecurringModel, start: pd.Timestamp, days: int) -> pd.DataFrame:
    upcoming = model.upcoming(start, days, include_overdue=False)
    upcoming = upcoming.merge(
        model.streams()[["stream_id", "direction", "tolerance_days"]], on="stream_id"
    )
    key = upcoming["account"] + "|" + upcoming["merchant"] + "|" + upcoming["direction"]
    return pd.DataFrame(
        {
            "key": key,
            "date": upcoming["date"],
            "amount": upcoming["expected_amount"],
            "tolerance": upcoming["tolerance_days"],
        }
    )


def expected_repeat_last_month(history: pd.DataFrame, cut: pd.Timestamp, days: int) -> pd.DataFrame:
    recent = history[history["date"] > cut - pd.Timedelta(days=31)]
    last = recent.sort_values("date").groupby("key").tail(1)
    steps = np.arange(1, days // 28 + 2)
    dates = add_months(
        np.repeat(last["date"].to_numpy().astype("datetime64[D]"), len(steps)),
        np.tile(steps, len(last)),
    )
    out = pd.DataFrame(
        {
            "key": np.repeat(last["key"].to_numpy(), len(steps)),
            "date": dates.astype("datetime64[ns]"),
            "amount": np.repeat(last["amount"].to_numpy(), len(steps)),
            "tolerance": MONTHLY_TOLERANCE,
        }
    )
    end = cut + pd.Timedelta(days=days)
    return out[(out["date"] > cut) & (out["date"] <= end)]


def match(
    expected: pd.DataFrame, actual: pd.DataFrame, truth: pd.DataFrame, end: pd.Timestamp
) -> dict[str, float]:
    """Precision against any actual row of the key; recall of the hindsight truth."""
    expected = expected[expected["date"] <= end - pd.to_timedelta(expected["tolerance"], unit="D")]
    exp = expected.sort_values("date").assign(exp_date=lambda f: f["date"])
    act = actual.sort_values("date").assign(act_date=lambda f: f["date"])
    act = act.rename(columns={"amount": "actual_amount"})
    pairs = pd.merge_asof(exp, act, on="date", by="key", direction="nearest").dropna(
        subset=["act_date"]
    )
    hit = (pairs["act_date"] - pairs["exp_date"]).abs().dt.days <= pairs["tolerance"]
    matched = pairs[hit]
    errors = (matched["actual_amount"] - matched["amount"]).abs() / matched[
        "actual_amount"
    ].abs().clip(lower=1e-9)
    tru = truth.sort_values("date").assign(act_date=lambda f: f["date"])
    back = pd.merge_asof(
        tru, exp[["key", "date", "exp_date", "tolerance"]], on="date", by="key", direction="nearest"
    ).dropna(subset=["exp_date"])
    found = (back["act_date"] - back["exp_date"]).abs().dt.days <= back["tolerance"]
    return {
        "expected": float(len(exp)),
        "precision": float(hit.sum() / len(exp)) if len(exp) else 0.0,
        "recall": float(found.sum() / len(truth)) if len(truth) else 0.0,
        "amount_mape": float(errors.mean()) if len(errors) else 0.0,
    }


def run_cutoff(frame: pd.DataFrame, cut: pd.Timestamp, days: int) -> dict[str, object]:
    end = cut + pd.Timedelta(days=days)
    history_rows = frame[frame["Date"] <= cut]
    started = time.perf_counter()
    model = RecurringModel().fit(history_rows)
    fit_seconds = time.perf_counter() - started
    hindsight = RecurringModel().fit(frame[frame["Date"] <= end])
    work = working_frame(frame[frame["Date"] <= end], need_amount=True, what="bench", training=True)
    daily = keyed(work)
    history = daily[daily["date"] <= cut]
    actual = daily[(daily["date"] > cut) & (daily["date"] <= end)]
    streams = hindsight.streams()
    truth_keys = set(streams["account"] + "|" + streams["merchant"] + "|" + streams["direction"])
    tolerance_limit = end - pd.Timedelta(days=MONTHLY_TOLERANCE)
    truth = actual[actual["key"].isin(truth_keys) & (actual["date"] <= tolerance_limit)]
    # keys with enough history to be detectable at the cut-off (>= 3 dated occurrences)
    seen = history.groupby("key").size()
    detectable = truth[truth["key"].isin(seen[seen >= 3].index)]
    start = cut + pd.Timedelta(days=1)
    expected = expected_from_model(model, start, days)
    repeat = expected_repeat_last_month(history, cut, days)
    ours = match(expected, actual, truth, end)
    baseline = match(repeat, actual, truth, end)
    ours["recall_detectable"] = match(expected, actual, detectable, end)["recall"]
    baseline["recall_detectable"] = match(repeat, actual, detectable, end)["recall"]
    own = model.evaluate(frame[(frame["Date"] > cut) & (frame["Date"] <= end)])
    table = model.streams()
    return {
        "cutoff": cut.date().isoformat(),
        "accounts": int(history_rows["Account"].nunique()),
        "rows": len(history_rows),
        "streams": len(table),
        "active_streams": int(table["active"].sum()),
        "periods": table["period"].value_counts().to_dict(),
        "fit_seconds": fit_seconds,
        "model": ours,
        "repeat_last_month": baseline,
        "model_evaluate": own,
    }


def markdown(rows: list[dict[str, object]]) -> str:
    lines = [
        "| cut-off | accounts | streams (active) | method | expected | precision | recall "
        "| recall (detectable) | amount MAPE | fit s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        for method in ("model", "repeat_last_month"):
            m = row[method]
            assert isinstance(m, dict)
            lines.append(
                f"| {row['cutoff']} | {row['accounts']} | {row['streams']} "
                f"({row['active_streams']}) | {method} | {m['expected']:.0f} "
                f"| {m['precision']:.3f} | {m['recall']:.3f} | {m['recall_detectable']:.3f} "
                f"| {m['amount_mape']:.3f} "
                f"| {row['fit_seconds']:.2f} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--cutoffs", nargs="*", default=DEFAULT_CUTOFFS)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument(
        "--output", type=Path, default=ROOT / "bench" / "results" / "recurring.json"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    frame = load_berka(args.data)
    rows = []
    for cut in args.cutoffs:
        row = run_cutoff(frame, pd.Timestamp(cut), args.days)
        rows.append(row)
        print(json.dumps(row, default=str), flush=True)
    result = {
        "benchmark": "recurring",
        "data": str(args.data),
        "rows": len(frame),
        "horizon_days": args.days,
        "cutoffs": rows,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2, default=str))
    print()
    print(markdown(rows))


if __name__ == "__main__":
    main()

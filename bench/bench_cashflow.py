"""Cash-flow forecast quality and speed on the real Berka accounts (rolling origins).

For each cut-off date the model is fitted on everything up to it, forecasts 30 days per account
and is compared with what happened: the actual 30-day net and the actual closing balance read
from the Balance column.  Baselines in the same run: zero change (net 0, balance unchanged) and
seasonal naive (the last 30 days' net repeats).  The uncalibrated structural forecast
(``calibration_origins=0``) is reported too, to show what the learned correction adds, and
with ``--statsforecast`` statsforecast's AutoETS and HistoricAverage fitted on every account's
daily net flow in one multi-series call.

Development accounts (Berka id % 10 not 5 or 6) and held-out accounts (id % 10 in 5, 6) are run
separately, each model fitted on its own set only; ``origins`` / ``mean`` are the development
figures, ``held_out`` the held-out ones (statsforecast on the development set only).

    uv run python bench/bench_cashflow.py [--data ../shared/data/berka/trans.asc] [--statsforecast]
        [--split dev|held-out|both]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from berka_split import held_out_accounts
from titans_finance.models._history import working_frame
from titans_finance.models.cashflow import CashflowModel, _start_balances

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "berka" / "trans.asc"
SHORT_DAYS = 182  # an account younger than this at the cut-off has a short history
DEFAULT_ORIGINS = [
    "1993-07-31",
    "1993-09-30",
    "1993-11-15",
    "1993-12-31",
    "1994-01-31",
    "1994-02-28",
]


def load_berka(path: Path) -> pd.DataFrame:
    """Berka through the project's own ingest pipeline (reader, validation, merchants)."""
    from titans_finance.ingest.pipeline import load_frame

    return load_frame(path, file_format="berka")


def closing_balances(frame: pd.DataFrame, cut: pd.Timestamp, accounts: list[str]) -> np.ndarray:
    """Each account's closing balance on ``cut`` from the Balance column."""
    rows = frame[frame["Date"] <= cut]
    work = working_frame(rows, need_amount=True, what="bench", training=True)
    work["_balance"] = rows["Balance"].to_numpy(dtype=float)
    order = np.lexsort((work["_pos"].to_numpy(), work["_date"].to_numpy()))
    work = work.iloc[order].reset_index(drop=True)
    names = np.sort(work["_account"].astype(str).unique())
    index = np.searchsorted(names, work["_account"].astype(str).to_numpy())
    balances = pd.Series(_start_balances(work, index, len(names)), index=names)
    return balances.reindex(accounts).to_numpy()


def statsforecast_nets(
    history: pd.DataFrame, origin: pd.Timestamp, horizon: int, accounts: list[str]
) -> tuple[dict[str, np.ndarray], float]:
    """Summed ``horizon``-day forecasts of statsforecast models fitted on every account's daily
    net flow at once (one multi-series fit; Naive where a series is too short)."""
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS, HistoricAverage, Naive

    daily = history.groupby(["Account", "Date"])["Amount"].sum()
    first = daily.reset_index().groupby("Account")["Date"].min()
    grid = pd.concat(
        [
            pd.DataFrame({"unique_id": str(acc), "ds": pd.date_range(start, origin)})
            for acc, start in first.items()
        ],
        ignore_index=True,
    )
    values = daily.rename("y").reset_index().rename(columns={"Account": "unique_id", "Date": "ds"})
    values["unique_id"] = values["unique_id"].astype(str)
    grid = grid.merge(values, on=["unique_id", "ds"], how="left").fillna({"y": 0.0})
    started = time.perf_counter()
    model = StatsForecast(
        models=[AutoETS(season_length=7), HistoricAverage()],
        freq="D",
        n_jobs=1,
        fallback_model=Naive(),
    )
    forecast = model.forecast(df=grid, h=horizon)
    seconds = time.perf_counter() - started
    sums = forecast.groupby("unique_id").sum(numeric_only=True).reindex(accounts).fillna(0.0)
    return {
        "statsforecast_autoets": sums["AutoETS"].to_numpy(),
        "statsforecast_historic_average": sums["HistoricAverage"].to_numpy(),
    }, seconds


def below_zero_brier(
    model: CashflowModel,
    frame: pd.DataFrame,
    window: pd.DataFrame,
    origin: pd.Timestamp,
    horizon: int,
    accounts: list[str],
) -> dict[str, float]:
    """Brier score of each account's forecast P(balance below zero within the horizon: an
    end-of-day balance below zero on some day of it, the summary's ``probability_below_zero``)
    against what happened (a Balance below zero on any row of the window, or at the start),
    with the base-rate forecast (the share of accounts below zero at some point before the
    origin)."""
    probability = np.array(
        [
            model.forecast(horizon, account=account).summary["probability_below_zero"]
            for account in accounts
        ],
        dtype=float,
    )
    lowest = window.groupby(window["Account"].astype(str))["Balance"].min().astype(float)
    start = closing_balances(frame, origin, accounts)
    outcome = (lowest.reindex(accounts).fillna(np.inf).to_numpy() < 0) | (start < 0)
    history = frame[frame["Date"] <= origin]
    past = history.groupby(history["Account"].astype(str))["Balance"].min().astype(float) < 0
    base_rate = float(past.reindex(accounts).fillna(False).mean())
    return {
        "below_zero_rate": float(outcome.mean()),
        "below_zero_mean_probability": float(probability.mean()),
        "below_zero_brier": float(np.mean((probability - outcome) ** 2)),
        "below_zero_brier_base_rate": float(np.mean((base_rate - outcome) ** 2)),
    }


def run_origin(
    frame: pd.DataFrame,
    origin: pd.Timestamp,
    horizon: int,
    n_simulations: int,
    with_statsforecast: bool = False,
    brier: bool = False,
) -> dict[str, object]:
    history = frame[frame["Date"] <= origin]
    end = origin + pd.Timedelta(days=horizon)
    window = frame[(frame["Date"] > origin) & (frame["Date"] <= end)]
    out: dict[str, object] = {"origin": origin.date().isoformat()}
    for name, params in (
        ("model", {}),
        ("structural", {"calibration_origins": 0}),
    ):
        started, cpu = time.perf_counter(), time.process_time()
        model = CashflowModel(n_simulations=n_simulations, **params).fit(history)
        fit_seconds = time.perf_counter() - started
        out[f"{name}_fit_cpu_seconds"] = time.process_time() - cpu
        started = time.perf_counter()
        daily = model.forecast(horizon, by_account=True).daily
        forecast_seconds = time.perf_counter() - started
        accounts = model.accounts_
        last = daily[daily["date"] == daily["date"].max()].set_index("Account").reindex(accounts)
        start = model.start_balance_
        actual_net = (
            window.groupby(window["Account"].astype(str))["Amount"]
            .sum()
            .reindex(accounts, fill_value=0.0)
            .to_numpy()
        )
        actual_end = closing_balances(frame, end, accounts)
        predicted_net = last["predicted_balance"].to_numpy() - start
        covered = (last["balance_lower"].to_numpy() <= actual_end + 0.005) & (
            actual_end - 0.005 <= last["balance_upper"].to_numpy()
        )
        out[f"{name}_mae"] = float(np.abs(predicted_net - actual_net).mean())
        out[f"{name}_coverage"] = float(covered.mean())
        out[f"{name}_median_width"] = float(
            np.median(last["balance_upper"].to_numpy() - last["balance_lower"].to_numpy())
        )
        out[f"{name}_fit_seconds"] = fit_seconds
        out[f"{name}_forecast_seconds"] = forecast_seconds
        if name == "model":
            out["accounts"] = len(accounts)
            out["model_over_zero_change"] = out["model_mae"] / float(np.abs(actual_net).mean())
            # short vs long histories: does the model help accounts with little history?
            first = history.groupby(history["Account"].astype(str))["Date"].min()
            age = (origin - first.reindex(accounts)).dt.days.to_numpy()
            error = np.abs(predicted_net - actual_net)
            for label, mask in (("short", age < SHORT_DAYS), ("long", age >= SHORT_DAYS)):
                out[f"{label}_history_accounts"] = int(mask.sum())
                out[f"{label}_history_over_zero_change"] = (
                    float(error[mask].sum() / np.abs(actual_net[mask]).sum())
                    if mask.any()
                    else float("nan")
                )
            out["seasonal_samples"] = model.seasonal_samples_
            out["below_zero_events_in_calibration"] = model.below_zero_events_
            out["zero_change_mae"] = float(np.abs(actual_net).mean())
            recent = history[history["Date"] > origin - pd.Timedelta(days=horizon)]
            previous = (
                recent.groupby(recent["Account"].astype(str))["Amount"]
                .sum()
                .reindex(accounts, fill_value=0.0)
                .to_numpy()
            )
            out["seasonal_naive_mae"] = float(np.abs(previous - actual_net).mean())
            out["start_balance_matches_balance_column"] = float(
                np.isclose(start, closing_balances(frame, origin, accounts)).mean()
            )
            if with_statsforecast:
                nets, seconds = statsforecast_nets(history, origin, horizon, accounts)
                for key, value in nets.items():
                    out[f"{key}_mae"] = float(np.abs(value - actual_net).mean())
                out["statsforecast_fit_seconds"] = seconds
            if brier:
                out.update(below_zero_brier(model, frame, window, origin, horizon, accounts))
            out["calibration_samples"] = model.calibration_samples_
            out["interval_factor"] = model.interval_factor_
    return out


def markdown(rows: list[dict[str, object]]) -> str:
    header = (
        "| origin | accounts | model MAE | structural MAE | zero-change MAE | seasonal-naive MAE "
        "| model / zero | 90% end-balance coverage (model / structural) | fit s (model) |\n"
        "|---|---|---|---|---|---|---|---|---|\n"
    )
    lines = []
    for row in rows:
        lines.append(
            f"| {row['origin']} | {row['accounts']} | {row['model_mae']:,.0f} "
            f"| {row['structural_mae']:,.0f} | {row['zero_change_mae']:,.0f} "
            f"| {row['seasonal_naive_mae']:,.0f} "
            f"| {row['model_mae'] / row['zero_change_mae']:.3f} "  # type: ignore[operator]
            f"| {row['model_coverage']:.3f} / {row['structural_coverage']:.3f} "
            f"| {row['model_fit_seconds']:.1f} |"
        )
    return header + "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--origins", nargs="*", default=DEFAULT_ORIGINS)
    parser.add_argument("--horizon", type=int, default=30)
    parser.add_argument("--n-simulations", type=int, default=500)
    parser.add_argument(
        "--statsforecast",
        action="store_true",
        help="also fit statsforecast AutoETS / HistoricAverage on daily nets (slow)",
    )
    parser.add_argument("--split", choices=["dev", "held-out", "both"], default="both")
    parser.add_argument(
        "--brier",
        action="store_true",
        help="also score P(balance below zero) per account (one forecast call per account)",
    )
    parser.add_argument(
        "--before",
        type=Path,
        default=None,
        help="a result JSON of the code before a change (run from its worktree), kept as 'before'",
    )
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results" / "cashflow.json")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    started = time.perf_counter()
    frame = load_berka(args.data)
    load_seconds = time.perf_counter() - started
    held = held_out_accounts(frame).to_numpy()
    splits = {"dev": frame[~held], "held-out": frame[held]}
    chosen = list(splits) if args.split == "both" else [args.split]
    results = {
        name: run_split(splits[name], args, args.statsforecast and name == "dev") for name in chosen
    }
    first = results[chosen[0]]
    result = {
        "benchmark": "cashflow",
        "command": "uv run python bench/bench_cashflow.py " + " ".join(sys.argv[1:]),
        "load_average": os.getloadavg(),
        "data": str(args.data),
        "rows": len(frame),
        "accounts": int(frame["Account"].nunique()),
        "split": chosen[0],
        "horizon_days": args.horizon,
        "n_simulations": args.n_simulations,
        "load_seconds": load_seconds,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "origins": first["origins"],
        "mean": first["mean"],
    }
    if "held-out" in results and chosen[0] != "held-out":
        result["held_out"] = results["held-out"]
    if args.before is not None:
        result["before"] = json.loads(args.before.read_text())
    result["load_average_end"] = os.getloadavg()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2))


def run_split(frame: pd.DataFrame, args: argparse.Namespace, statsforecast: bool) -> dict:
    """Every origin on one set of accounts; prints the table and the means."""
    rows = []
    for origin in args.origins:
        row = run_origin(
            frame,
            pd.Timestamp(origin),
            args.horizon,
            args.n_simulations,
            statsforecast,
            brier=args.brier,
        )
        rows.append(row)
        print(json.dumps(row), flush=True)
    total = {
        key: float(np.mean([row[key] for row in rows]))  # type: ignore[misc]
        for key in rows[0]
        if key.endswith(("_mae", "_coverage", "_seconds", "_brier", "_base_rate"))
        and all(key in row for row in rows)
    }
    total["model_over_zero_change"] = total["model_mae"] / total["zero_change_mae"]
    total["structural_over_zero_change"] = total["structural_mae"] / total["zero_change_mae"]
    total["model_over_seasonal_naive"] = total["model_mae"] / total["seasonal_naive_mae"]
    for key in ("statsforecast_autoets_mae", "statsforecast_historic_average_mae"):
        if key in total:
            total[key.replace("_mae", "_over_zero_change")] = total[key] / total["zero_change_mae"]
    coverages = [float(row["model_coverage"]) for row in rows]  # type: ignore[arg-type]
    total["model_coverage_min"] = min(coverages)
    total["model_coverage_max"] = max(coverages)
    ratios = [float(row["model_over_zero_change"]) for row in rows]  # type: ignore[arg-type]
    total["model_over_zero_change_max"] = max(ratios)
    print()
    print(f"accounts: {frame['Account'].nunique()} ({len(frame)} rows)")
    print(markdown(rows))
    print()
    if "statsforecast_autoets_mae" in total:
        print(
            "statsforecast (daily nets, all accounts in one fit): AutoETS/zero-change "
            f"{total['statsforecast_autoets_over_zero_change']:.3f}, HistoricAverage/zero-change "
            f"{total['statsforecast_historic_average_over_zero_change']:.3f}, fit "
            f"{total['statsforecast_fit_seconds']:.1f} s per origin"
        )
    print(
        f"mean over origins: model/zero-change {total['model_over_zero_change']:.3f}, "
        f"structural/zero-change {total['structural_over_zero_change']:.3f}, "
        f"model/seasonal-naive {total['model_over_seasonal_naive']:.3f}, "
        f"coverage {total['model_coverage']:.3f} (per origin {min(coverages):.3f}"
        f"..{max(coverages):.3f}), fit {total['model_fit_seconds']:.1f} s"
    )
    return {"accounts": int(frame["Account"].nunique()), "origins": rows, "mean": total}


if __name__ == "__main__":
    main()

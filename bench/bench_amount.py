"""Amount model benchmark: MAE against the per-(account, description) median and interval coverage.

Time-ordered splits only.  Berka: train on 1993-01-01 .. 1993-11-30 (11 months), test on
1993-12-01 .. 1994-03-31 (4 months); reported for all accounts and separately for the accounts
whose id modulo 10 is 5 or 6 (never used while developing the model).  personal-transactions:
first 75% of the dates train, the rest test.  Writes bench/results/amount.json and prints a
markdown table.

    uv run python bench/bench_amount.py [--speed-rows 1000000]
    uv run python bench/bench_amount.py --fit-csv big.csv --label after

``--fit-csv`` only times ``AmountModel().fit`` on a large export (``bench/generate_big.py``):
wall and CPU seconds, peak RSS and the load average, written to bench/results/amount_fit.json
(``--label`` names the run; ``PYTHONPATH=<main's src>`` measures the code before a change).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from pathlib import Path

import numpy as np
import pandas as pd

from berka_split import held_out_accounts
from titans_finance import domain as d
from titans_finance.models.amount import AmountModel

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "bench" / "results"
BERKA_SPLIT = pd.Timestamp("1993-12-01")

_OPERATIONS = {
    "VKLAD": ("Cash deposit", "Cash"),
    "VYBER": ("Cash withdrawal", "Cash"),
    "VYBER KARTOU": ("Card withdrawal", "Card"),
    "PREVOD Z UCTU": ("Transfer from another bank", "Transfer"),
    "PREVOD NA UCET": ("Transfer to another bank", "Transfer"),
}
_SYMBOLS = {
    "SIPO": "Household payment",
    "UVER": "Loan repayment",
    "UROK": "Interest credited",
    "SLUZBY": "Bank fees",
    "POJISTNE": "Insurance",
    "DUCHOD": "Pension",
    "SANKC. UROK": "Penalty interest",
}


def load_berka(path: Path | None = None) -> pd.DataFrame:
    """Berka trans.asc as a canonical frame: the project reader when it works, otherwise a
    direct pandas parse with the same account names and description style."""
    path = path or DATA / "berka" / "trans.asc"
    try:
        from titans_finance.ingest.readers.berka import read_berka

        frame = read_berka(path).frame
        if len(frame):
            return frame
    except Exception as exc:  # the reader is optional for the benchmark
        print(f"(read_berka unavailable: {exc}; parsing trans.asc directly)")
    raw = pd.read_csv(
        path, sep=";", encoding="latin-1", dtype={"k_symbol": str, "bank": str, "operation": str}
    )
    incoming = (raw["type"] == "PRIJEM").to_numpy()
    operation = raw["operation"].fillna("").str.strip()
    symbol = raw["k_symbol"].fillna("").str.strip()
    bank = raw["bank"].fillna("").str.strip()
    op_text = operation.map(lambda v: _OPERATIONS.get(v, ("", ""))[0])
    direction = np.where(incoming, " from bank ", " to bank ")
    sym_text = symbol.map(_SYMBOLS)
    description = np.where(
        symbol != "",
        np.where(
            bank != "",
            sym_text.fillna(symbol) + direction + bank,
            np.where(
                (op_text != "") & ~symbol.isin(["UROK", "SLUZBY", "SANKC. UROK"]),
                sym_text.fillna(symbol) + " (" + op_text.str.lower() + ")",
                sym_text.fillna(symbol),
            ),
        ),
        np.where(
            operation.str.startswith("PREVOD") & (bank != ""),
            "Transfer" + direction + bank,
            np.where(op_text != "", op_text, np.where(incoming, "Credit", "Debit")),
        ),
    )
    category = np.where(
        symbol != "",
        symbol.map(_SYMBOLS).fillna(symbol),
        np.where(op_text.str.startswith("Transfer"), "Transfer", "Cash"),
    )
    sign = np.where(incoming, 1.0, -1.0)
    return pd.DataFrame(
        {
            d.DATE: pd.to_datetime(raw["date"].astype(str), format="%y%m%d"),
            d.TYPE: np.where(incoming, "Income", "Expense"),
            d.DESCRIPTION: description,
            d.AMOUNT: sign * raw["amount"].to_numpy(),
            d.CATEGORY: category,
            d.PAYMENT_METHOD: operation.map(lambda v: _OPERATIONS.get(v, ("", ""))[1]),
            d.ACCOUNT: "berka-" + raw["account_id"].astype(str),
            d.CURRENCY: "CZK",
            d.BALANCE: raw["balance"],
        }
    )


def load_personal(path: Path | None = None) -> pd.DataFrame:
    """personal_transactions.csv as a canonical frame."""
    raw = pd.read_csv(path or DATA / "personal-transactions" / "personal_transactions.csv")
    sign = np.where(raw["Transaction Type"].str.lower() == "credit", 1.0, -1.0)
    return pd.DataFrame(
        {
            d.DATE: pd.to_datetime(raw["Date"], format="%m/%d/%Y"),
            d.TYPE: np.where(sign > 0, "Income", "Expense"),
            d.DESCRIPTION: raw["Description"],
            d.AMOUNT: sign * raw["Amount"].to_numpy(),
            d.CATEGORY: raw["Category"],
            d.PAYMENT_METHOD: "",
            d.ACCOUNT: raw["Account Name"],
            d.CURRENCY: "USD",
        }
    )


def time_split(frame: pd.DataFrame, cut: pd.Timestamp) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows before ``cut`` and rows on or after it."""
    dates = pd.to_datetime(frame[d.DATE])
    return frame[dates < cut], frame[dates >= cut]


def quantile_cut(frame: pd.DataFrame, q: float = 0.75) -> pd.Timestamp:
    """The date at quantile ``q`` of the frame's dates."""
    return pd.Timestamp(pd.to_datetime(frame[d.DATE]).quantile(q)).normalize()


def run_case(name: str, train: pd.DataFrame, test: pd.DataFrame, **params: float) -> dict:
    start = time.perf_counter()
    model = AmountModel(**params).fit(train)
    fit_seconds = time.perf_counter() - start
    metrics = model.evaluate(test)
    metrics.update(
        {"dataset": name, "train_rows": len(train), "fit_seconds": round(fit_seconds, 2)}
    )
    for coverage in (0.8, 0.95):
        other = AmountModel(coverage=coverage).fit(train).evaluate(test)
        metrics[f"coverage_at_{coverage}"] = other["coverage"]
    return metrics


def speed(train: pd.DataFrame, rows: int) -> dict:
    model = AmountModel().fit(train)
    batch = train.sample(rows, replace=True, random_state=0).reset_index(drop=True)
    start = time.perf_counter()
    model.predict(batch)
    seconds = time.perf_counter() - start
    return {"rows": rows, "seconds": round(seconds, 2), "rows_per_second": round(rows / seconds)}


def fit_time(path: Path, label: str) -> dict:
    """Wall and CPU seconds and peak RSS of one ``AmountModel().fit`` on the export at ``path``
    (appended to bench/results/amount_fit.json under ``label``)."""
    import titans_finance.models.amount as amount_module

    frame = load_personal(path)
    wall, cpu = time.perf_counter(), time.process_time()
    AmountModel().fit(frame)
    result = {
        "label": label,
        "code": str(Path(amount_module.__file__).resolve()),
        "rows": len(frame),
        "fit_wall_s": round(time.perf_counter() - wall, 1),
        "fit_cpu_s": round(time.process_time() - cpu, 1),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
        "load_average": [round(v, 1) for v in os.getloadavg()],
    }
    out = RESULTS / "amount_fit.json"
    runs = json.loads(out.read_text())["runs"] if out.exists() else []
    out.write_text(json.dumps({"runs": [*runs, result]}, indent=2))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--speed-rows", type=int, default=1_000_000)
    parser.add_argument("--fit-csv", type=Path, default=None, help="only time a fit on this file")
    parser.add_argument("--label", default="", help="name of the --fit-csv run")
    args = parser.parse_args()
    if args.fit_csv is not None:
        print(json.dumps(fit_time(args.fit_csv, args.label)))
        return

    berka = load_berka()
    train, test = time_split(berka, BERKA_SPLIT)
    personal = load_personal()
    p_train, p_test = time_split(personal, quantile_cut(personal))
    cases = [
        run_case("berka (all accounts)", train, test),
        run_case(
            "berka (held-out ids %10 in 5,6)",
            train[held_out_accounts(train)],
            test[held_out_accounts(test)],
        ),
        run_case("personal-transactions", p_train, p_test),
    ]
    result = {"cases": cases, "speed": speed(train, args.speed_rows)}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "amount.json").write_text(json.dumps(result, indent=2, default=str))

    print(
        "| dataset | train rows | test rows | MAE | baseline MAE | ratio | coverage (90%) "
        "| mean width | coverage at 0.8 / 0.95 |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for m in cases:
        print(
            f"| {m['dataset']} | {m['train_rows']} | {int(m['rows'])} | {m['mae']:.1f} | "
            f"{m['baseline_mae']:.1f} | {m['mae_ratio']:.3f} | {m['coverage']:.3f} | "
            f"{m['mean_interval_width']:.0f} | {m['coverage_at_0.8']:.3f} / "
            f"{m['coverage_at_0.95']:.3f} |"
        )
    s = result["speed"]
    print(f"\nscoring speed: {s['rows']} rows in {s['seconds']} s = {s['rows_per_second']} rows/s")


if __name__ == "__main__":
    main()

"""A large, realistic training file: the shared personal export resampled over many accounts.

    uv run python bench/generate_big.py --rows 1000000 --accounts 200 --years 3 --out big.csv

Rows are drawn with replacement from ``shared/data/personal-transactions`` (so the category of
each descriptor stays the real one), spread over ``--accounts`` accounts (``Account 001``...)
and ``--years`` years ending 2024-12-31; amounts get a log-normal jitter (sd 0.15) and
descriptors bank-style noise (store numbers, city suffixes, processor prefixes, truncation:
``bench_category.add_noise``).  Deterministic for a given ``--seed``.  The output has the
export's own columns (``Date,Description,Amount,Transaction Type,Category,Account Name``),
so ``titans train all --data big.csv`` and ``titans import`` read it like the original.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_category import DATA, add_noise
from titans_finance import domain as d


def generate(rows: int, accounts: int, years: int, seed: int) -> pd.DataFrame:
    """The resampled export as a DataFrame (export column names, dates as MM/DD/YYYY)."""
    rng = np.random.default_rng(seed)
    raw = pd.read_csv(DATA / "personal-transactions" / "personal_transactions.csv")
    pick = rng.integers(0, len(raw), rows)
    sample = raw.iloc[pick].reset_index(drop=True)
    end = pd.Timestamp("2024-12-31")
    days = int(365.25 * years)
    dates = end - pd.to_timedelta(rng.integers(0, days, rows), unit="D")
    amount = np.round(sample["Amount"].to_numpy() * np.exp(rng.normal(0.0, 0.15, rows)), 2)
    noisy = add_noise(pd.DataFrame({d.DESCRIPTION: sample["Description"].astype(str)}), seed)
    account = np.char.add(
        "Account ", np.char.zfill(rng.integers(1, accounts + 1, rows).astype(str), 3)
    )
    frame = pd.DataFrame(
        {
            "Date": dates,
            "Description": noisy[d.DESCRIPTION].to_numpy(),
            "Amount": np.maximum(amount, 0.01),
            "Transaction Type": sample["Transaction Type"].to_numpy(),
            "Category": sample["Category"].to_numpy(),
            "Account Name": account,
        }
    ).sort_values("Date", kind="stable")
    frame["Date"] = frame["Date"].dt.strftime("%m/%d/%Y")
    return frame.reset_index(drop=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    started = time.perf_counter()
    frame = generate(args.rows, args.accounts, args.years, args.seed)
    frame.to_csv(args.out, index=False)
    print(
        f"{len(frame)} rows, {args.accounts} accounts, {args.years} years -> {args.out} "
        f"({time.perf_counter() - started:.1f} s)"
    )


if __name__ == "__main__":
    main()

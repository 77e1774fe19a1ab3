"""Running-balance continuity, as hledger's balance assertions: previous + amount == balance."""

from __future__ import annotations

import numpy as np
import pandas as pd

from titans_finance import domain as d
from titans_finance.domain import BalanceBreak


def _cents(values: pd.Series) -> np.ndarray:
    """Money as whole cents in float64 (exact for equality up to 2**53 cents); NaN if missing."""
    return np.round(pd.to_numeric(values, errors="coerce").to_numpy(dtype=float) * 100)


def _newest_first(accounts: pd.Series, stamps: pd.Series) -> pd.Series:
    """Per row: whether its account's rows run newest to oldest (more backward date steps)."""
    dated = pd.DataFrame({"account": accounts, "day": stamps}).dropna()
    steps = dated.groupby("account", sort=False)["day"].diff()
    direction = np.sign(steps.dt.days.fillna(0)).groupby(dated["account"]).sum()
    return accounts.map(direction < 0).fillna(False).astype(bool)


def _days_that_add_up(work: pd.DataFrame) -> pd.MultiIndex:
    """(account, day) pairs consistent as a whole though their rows may be listed out of order.

    A day adds up when some balance of the previous day plus the day's total equals a balance
    reported that day, and every row's balance minus its amount is a balance that could precede
    it (the previous day's, or another reported that day).
    """
    day_total = work.groupby(["account", "day"], sort=False)["amount"].sum().rename("total")
    days = day_total.reset_index()
    days["next_day"] = days.groupby("account", sort=False)["day"].shift(-1)
    starts = work[["account", "day", "balance"]].dropna().merge(days, on=["account", "day"])
    starts = starts.dropna(subset=["next_day"])[["account", "next_day", "balance"]]
    starts.columns = ["account", "day", "start"]
    targets = starts.merge(days[["account", "day", "total"]], on=["account", "day"])
    targets["balance"] = targets["start"] + targets["total"]
    reported = work[["account", "day", "balance"]].dropna()
    matched = targets.merge(reported, on=["account", "day", "balance"])
    ends = pd.MultiIndex.from_frame(matched[["account", "day"]].drop_duplicates())
    predecessors = pd.concat(
        [reported, starts.rename(columns={"start": "balance"})], ignore_index=True
    )
    known = pd.MultiIndex.from_frame(predecessors[["account", "day", "balance"]])
    rows = work.dropna(subset=["balance", "amount"])
    wanted = pd.MultiIndex.from_arrays(
        [rows["account"], rows["day"], rows["balance"] - rows["amount"]]
    )
    orphan_days = pd.MultiIndex.from_frame(rows.loc[~wanted.isin(known), ["account", "day"]])
    return ends[~ends.isin(orphan_days)]


def check_balance_continuity(frame: pd.DataFrame) -> list[BalanceBreak]:
    """Rows whose reported ``Balance`` differs from the previous balance plus ``Amount``.

    Checked per account, in file order, to the cent; a file listed newest-first is walked
    backwards. Rows without a balance are skipped (the chain restarts at the next balance).
    Banks often list one day's bookings in an order other than the one they were posted in, so
    a row break is not reported when its day as a whole adds up (previous day's balance plus
    the day's total equals a balance reported that day).  Vectorised: no loop per row.
    ``line`` is the row's ``line`` column when present, else its 1-based position.
    """
    if d.BALANCE not in frame or d.AMOUNT not in frame or frame.empty:
        return []
    has_date = d.DATE in frame
    work = pd.DataFrame(
        {
            "line": frame["line"].to_numpy() if "line" in frame else np.arange(1, len(frame) + 1),
            "account": (
                frame[d.ACCOUNT].astype(object).where(frame[d.ACCOUNT].notna(), d.DEFAULT_ACCOUNT)
                if d.ACCOUNT in frame
                else d.DEFAULT_ACCOUNT
            ),
            "amount": _cents(frame[d.AMOUNT]),
            "balance": _cents(frame[d.BALANCE]),
            "day": pd.to_datetime(frame[d.DATE], errors="coerce") if has_date else pd.NaT,
            "position": np.arange(len(frame)),
        }
    )
    work["account"] = work["account"].astype(str)
    if has_date:
        flip = _newest_first(work["account"], work["day"]).to_numpy()
        work["position"] = np.where(flip, -work["position"], work["position"])
    work = work.sort_values(["account", "position"], kind="stable")
    previous = work.groupby("account", sort=False)["balance"].shift(1)
    expected = previous + work["amount"]
    broken = expected.notna() & work["balance"].notna() & (expected != work["balance"])
    if has_date and broken.any():
        consistent = _days_that_add_up(work)
        keys = pd.MultiIndex.from_frame(work[["account", "day"]])
        broken &= ~keys.isin(consistent)
    rows = work[broken]
    return sorted(
        (
            BalanceBreak(int(line), f"{exp / 100:.2f}", f"{found / 100:.2f}")
            for line, exp, found in zip(
                rows["line"], expected[broken], rows["balance"], strict=True
            )
        ),
        key=lambda b: b.line,
    )


__all__ = ["check_balance_continuity"]

"""Running-balance continuity, as hledger's balance assertions: previous + amount == balance."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd

from titans_finance import domain as d
from titans_finance.ingest.readers.base import BalanceBreak


def _decimal(value: object) -> Decimal | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None


def _newest_first(dates: pd.Series) -> bool:
    """Whether the rows run from newest to oldest (more backward steps than forward ones)."""
    stamps = pd.to_datetime(dates, errors="coerce").dropna()
    if len(stamps) < 2:
        return False
    steps = stamps.diff().dropna()
    return int((steps < pd.Timedelta(0)).sum()) > int((steps > pd.Timedelta(0)).sum())


def check_balance_continuity(frame: pd.DataFrame) -> list[BalanceBreak]:
    """Rows whose reported ``Balance`` differs from the previous balance plus ``Amount``.

    Checked per account, in file order, to the cent; a file listed newest-first is walked
    backwards. Rows without a balance are skipped (the chain restarts at the next balance).
    ``line`` is the row's ``line`` column when present, else its 1-based position.
    """
    if d.BALANCE not in frame or d.AMOUNT not in frame or frame.empty:
        return []
    lines = (
        frame["line"] if "line" in frame else pd.Series(range(1, len(frame) + 1), index=frame.index)
    )
    accounts = (
        frame[d.ACCOUNT].astype(object).where(frame[d.ACCOUNT].notna(), d.DEFAULT_ACCOUNT)
        if d.ACCOUNT in frame
        else pd.Series(d.DEFAULT_ACCOUNT, index=frame.index)
    )
    breaks: list[BalanceBreak] = []
    for _account, rows in frame.groupby(accounts.astype(str), sort=False):
        if d.DATE in rows and _newest_first(rows[d.DATE]):
            rows = rows.iloc[::-1]
        previous: Decimal | None = None
        for line, amount, balance in zip(
            lines.loc[rows.index].tolist(),
            rows[d.AMOUNT].tolist(),
            rows[d.BALANCE].tolist(),
            strict=True,
        ):
            found = _decimal(balance)
            value = _decimal(amount)
            if found is None:
                previous = None
                continue
            if previous is not None and value is not None:
                expected = (previous + value).quantize(d.CENT)
                if expected != found.quantize(d.CENT):
                    breaks.append(
                        BalanceBreak(int(line), str(expected), str(found.quantize(d.CENT)))
                    )
            previous = found
    return sorted(breaks, key=lambda b: b.line)


__all__ = ["check_balance_continuity"]

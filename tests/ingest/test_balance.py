from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd
import pytest

from titans_finance.ingest.balance import check_balance_continuity
from titans_finance.ingest.readers.delimited import read_delimited


def rows(
    amounts: list[str], balances: list[str | None], *, newest_first: bool = False
) -> pd.DataFrame:
    dates = [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(len(amounts))]
    frame = pd.DataFrame(
        {
            "Date": dates,
            "Amount": [Decimal(a) for a in amounts],
            "Balance": [Decimal(b) if b else None for b in balances],
            "Account": "A",
            "line": range(2, len(amounts) + 2),
        }
    )
    return frame.iloc[::-1].reset_index(drop=True) if newest_first else frame


def test_continuous_balances_have_no_breaks() -> None:
    assert check_balance_continuity(rows(["100", "-10", "-5.5"], ["100", "90", "84.50"])) == []


def test_break_reported_with_expected_and_found() -> None:
    breaks = check_balance_continuity(rows(["100", "-10", "-5"], ["100", "90", "80"]))
    assert [(b.line, b.expected, b.found) for b in breaks] == [(4, "85.00", "80.00")]


def test_newest_first_files_are_walked_backwards() -> None:
    frame = rows(["100", "-10", "-5"], ["100", "90", "85"], newest_first=True)
    assert check_balance_continuity(frame) == []


def test_rows_without_balance_restart_the_chain() -> None:
    assert check_balance_continuity(rows(["100", "-10", "-5"], ["100", None, "70"])) == []


def test_accounts_are_checked_separately() -> None:
    a = rows(["100", "-10"], ["100", "90"])
    b = rows(["50", "-10"], ["50", "40"]).assign(Account="B", line=[4, 5])
    mixed = pd.concat([a.iloc[:1], b.iloc[:1], a.iloc[1:], b.iloc[1:]], ignore_index=True)
    assert check_balance_continuity(mixed) == []


@pytest.mark.parametrize(("name", "breaks"), [("balance_break.csv", [4]), ("newest_first.csv", [])])
def test_golden_files(csv_dir, name: str, breaks: list[int]) -> None:  # type: ignore[no-untyped-def]
    frame = read_delimited(csv_dir / name).frame
    assert [b.line for b in check_balance_continuity(frame)] == breaks


def test_no_balance_column() -> None:
    assert check_balance_continuity(pd.DataFrame({"Amount": [Decimal(1)]})) == []


def test_bookings_listed_out_of_order_within_a_day_are_not_breaks() -> None:
    # posted -5 (100 -> 95) then -10 (95 -> 85), but listed the other way round
    frame = rows(["100", "-10", "-5", "-1"], ["100", "85", "95", "84"])
    frame["Date"] = [
        dt.date(2024, 1, 1),
        dt.date(2024, 1, 2),
        dt.date(2024, 1, 2),
        dt.date(2024, 1, 3),
    ]
    assert check_balance_continuity(frame) == []
    frame.loc[2, "Balance"] = Decimal("91")  # no order of day 2 explains 91
    assert [b.line for b in check_balance_continuity(frame)] == [3, 4]


def test_real_berka_day_level_breaks_are_few(shared_data) -> None:  # type: ignore[no-untyped-def]
    from titans_finance.ingest.readers.berka import read_berka

    frame = read_berka(shared_data / "berka" / "trans.asc").frame
    breaks = check_balance_continuity(frame)
    # Same-day bookings in Berka are not listed in posting order; only days that do not add up
    # as a whole (mostly month-end interest/fee days) remain.
    assert 0 < len(breaks) < 0.1 * len(frame)

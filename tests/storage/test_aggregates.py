"""The store's GROUP BY reads give the figures the pandas path gives on the same rows."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine
from tests.factories import canonical_frame

from titans_finance import domain as d
from titans_finance import insights
from titans_finance.domain import TransactionFilter
from titans_finance.storage import aggregates, bulk
from titans_finance.storage import repository as repo


def _rows() -> pd.DataFrame:
    """Two accounts, two currencies, a transfer, an uncategorised row, a row without merchant."""
    first = canonical_frame(80, account="checking", seed=1)
    second = canonical_frame(50, account="savings", start=date(2024, 2, 10), seed=2)
    frame = pd.concat([first, second], ignore_index=True)
    frame.loc[3, d.TYPE] = d.TransactionType.TRANSFER.value
    frame.loc[5, d.CATEGORY] = None
    frame.loc[7, d.MERCHANT] = None
    frame.loc[9, d.CURRENCY] = "EUR"
    frame.loc[11, d.AMOUNT] = Decimal("0.00")
    return frame


def _store(engine: Engine, frame: pd.DataFrame) -> None:
    bulk.store_import(
        engine,
        file_name="f.csv",
        sha256="0" * 64,
        file_format="csv",
        frame=frame,
        rejects=[],
        rows_read=len(frame),
    )


@pytest.fixture
def stored(engine: Engine) -> pd.DataFrame:
    _store(engine, _rows())
    return repo.load_transactions(engine)


def _sorted(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    return frame.sort_values(keys, na_position="first").reset_index(drop=True)


@pytest.mark.parametrize(
    ("exclude", "flt"),
    [
        ((), TransactionFilter()),
        (("Groceries",), TransactionFilter()),
        ((), TransactionFilter(accounts=["savings"], date_from=date(2024, 2, 15))),
    ],
)
def test_summary_of_daily_groups_is_the_summary_of_the_rows(
    engine: Engine, stored: pd.DataFrame, exclude: tuple[str, ...], flt: TransactionFilter
) -> None:
    rows = repo.load_transactions(engine, flt)
    from_sql = insights.summary_of_groups(
        insights.month_groups(aggregates.daily_groups(engine, flt)), exclude_categories=exclude
    )
    assert from_sql == insights.summarize(rows, exclude_categories=exclude)
    assert from_sql["transactions"] == len(rows) - (rows[d.TYPE] == "Transfer").sum() - sum(
        rows[d.CATEGORY].isin(exclude)
    )


def test_month_groups_of_the_store_and_of_the_rows_agree(
    engine: Engine, stored: pd.DataFrame
) -> None:
    from_sql = insights.month_groups(aggregates.daily_groups(engine))
    from_rows = insights.month_groups(insights.transaction_groups(stored))
    keys = insights.GROUP_KEYS
    pd.testing.assert_frame_equal(
        _sorted(from_sql, keys)[[*keys, "count", "spend_count"]],
        _sorted(from_rows, keys)[[*keys, "count", "spend_count"]],
        check_dtype=False,
    )
    for column in ("income", "expenses"):
        assert _sorted(from_sql, keys)[column].round(2).tolist() == pytest.approx(
            _sorted(from_rows, keys)[column].round(2).tolist()
        )
    assert insights.currency_of_groups(from_sql) == "USD"
    assert insights.categories_of_groups(from_sql) == sorted(
        str(c) for c in stored[d.CATEGORY].dropna().unique()
    )
    assert int(from_sql["count"].sum()) == len(stored)


def _merchant_groups(frame: pd.DataFrame) -> pd.DataFrame:
    """The oracle of `storage.aggregates.merchant_spending`: the same groups from rows."""
    spend = frame.loc[(frame[d.AMOUNT] < 0) & (frame[d.TYPE] != d.TransactionType.TRANSFER.value)]
    return (
        spend.assign(
            **{
                d.MERCHANT: spend[d.MERCHANT].fillna(spend[d.DESCRIPTION]),
                "spent": -spend[d.AMOUNT],
            }
        )
        .groupby([d.CATEGORY, d.MERCHANT], dropna=False)["spent"]
        .sum()
        .reset_index()
    )


def _balance_moves_of(frame: pd.DataFrame) -> dict[str, Any]:
    """The oracle of `storage.aggregates.balance_moves`: the same moves from rows."""
    work = frame.sort_values([d.DATE, "id"] if "id" in frame else [d.DATE])
    dates = pd.to_datetime(work[d.DATE])
    if d.BALANCE in work and len(work) and work[d.BALANCE].notna().mean() > 0.5:
        last = work.assign(**{d.DATE: dates}).dropna(subset=[d.BALANCE])
        last = last.groupby([d.ACCOUNT, d.DATE])[d.BALANCE].last().reset_index()
        return {"reported": True, "balances": last}
    flows = work.loc[work[d.TYPE] != d.TransactionType.TRANSFER.value]
    net = flows.groupby(dates.loc[flows.index].dt.normalize())[d.AMOUNT].sum().reset_index()
    return {"reported": False, "net": net}


def test_merchant_spending_is_the_merchant_groups_of_the_rows(
    engine: Engine, stored: pd.DataFrame
) -> None:
    from_sql = insights.top_merchants(aggregates.merchant_spending(engine), per_category=1)
    from_rows = insights.top_merchants(_merchant_groups(stored), per_category=1)
    keys = [d.CATEGORY, d.MERCHANT]
    pd.testing.assert_frame_equal(
        _sorted(from_sql, keys), _sorted(from_rows, keys), check_exact=False, atol=0.005
    )
    assert "other merchants" in set(from_sql[d.MERCHANT])
    assert insights.UNCATEGORISED in set(from_sql[d.CATEGORY])


def test_balance_moves_net_and_reported(engine: Engine, stored: pd.DataFrame) -> None:
    from_sql = insights.balance_points(aggregates.balance_moves(engine))
    assert from_sql == insights.balance_points(_balance_moves_of(stored))
    assert from_sql["reported"] is False

    with_balances = canonical_frame(30, account="current", start=date(2025, 1, 1), seed=3)
    with_balances[d.BALANCE] = [Decimal(1000 + i) for i in range(len(with_balances))]
    with_balances["fingerprint"] = "b" + with_balances["fingerprint"].str[1:]
    _store(engine, with_balances)
    _store(engine, _rows().assign(fingerprint=lambda f: "c" + f["fingerprint"].str[1:]))
    everything = repo.load_transactions(engine)
    flt = TransactionFilter(accounts=["current"])
    reported = insights.balance_points(aggregates.balance_moves(engine, flt))
    assert reported["reported"] is True
    assert reported == insights.balance_points(
        _balance_moves_of(everything.loc[everything[d.ACCOUNT] == "current"])
    )
    assert reported["points"][-1]["value"] == 1029.0


def test_overview_of_the_store(engine: Engine, stored: pd.DataFrame) -> None:
    result = insights.overview(engine, recent=5)
    assert result["rows"] == len(stored)
    assert [row[d.DATE] for row in result["recent"]] == [
        day.date().isoformat() for day in stored.nlargest(5, [d.DATE, "id"])[d.DATE]
    ]
    summary = insights.summary_of_groups(pd.DataFrame(result["groups"]))
    assert summary == insights.summarize(stored)


def test_empty_store(engine: Engine) -> None:
    result = insights.overview(engine)
    assert (result["rows"], result["groups"], result["merchants"]) == (0, [], [])
    assert result["balance"] == {"reported": False, "points": []}


def _moves_key(frame: pd.DataFrame) -> list[Any]:
    """account, day, merchant (the description without one), sign: what a move merges."""
    merchant = frame[d.MERCHANT].fillna(frame[d.DESCRIPTION]).rename("merchant_or_description")
    return [frame[d.ACCOUNT], frame[d.DATE], merchant, np.sign(frame[d.AMOUNT]).rename("sign")]


def test_account_day_moves_merge_a_merchants_same_day_rows(
    engine: Engine, stored: pd.DataFrame
) -> None:
    flt = TransactionFilter(date_from=date(2024, 1, 10))
    rows = repo.load_transactions(engine, flt)
    moves = aggregates.account_day_moves(engine, flt)
    expected = rows.groupby(_moves_key(rows))[d.AMOUNT].sum().round(2)
    assert len(moves) == len(expected) < len(rows)  # some same-day rows merged
    pd.testing.assert_series_equal(moves.groupby(_moves_key(moves))[d.AMOUNT].sum(), expected)
    assert moves[d.DATE].is_monotonic_increasing
    assert moves[d.MERCHANT].isna().sum() == rows[d.MERCHANT].isna().sum()
    for column in (d.ACCOUNT, d.MERCHANT, d.CATEGORY):  # one object per distinct string
        assert moves[column].dropna().map(id).nunique() == moves[column].nunique()
    assert aggregates.account_rows(engine, flt) == rows[d.ACCOUNT].value_counts().to_dict()


def test_account_day_moves_keep_rows_of_distinct_balances(engine: Engine) -> None:
    frame = canonical_frame(60, seed=3)
    frame[d.BALANCE] = [Decimal(1000 + i) for i in range(len(frame))]
    _store(engine, frame)
    moves = aggregates.account_day_moves(engine)
    assert len(moves) == len(frame)
    assert sorted(moves[d.BALANCE]) == [1000.0 + i for i in range(len(frame))]
    assert aggregates.account_day_moves(engine, TransactionFilter(date_from=date(2030, 1, 1))).empty


def test_account_day_moves_pick_the_greatest_description_in_byte_order(engine: Engine) -> None:
    frame = canonical_frame(2, seed=4)
    frame[d.DATE] = frame[d.DATE].iloc[0]
    frame[d.MERCHANT] = "Corner Shop"
    frame[d.AMOUNT] = [Decimal("-3.00"), Decimal("-4.00")]
    frame[d.DESCRIPTION] = ["Zebra corner shop", "apple corner shop"]
    frame[d.CATEGORY] = ["Zoo", "apples"]
    _store(engine, frame)
    moves = aggregates.account_day_moves(engine)
    # one move; lower case sorts after upper case byte by byte, whatever the database's locale
    assert moves[[d.DESCRIPTION, d.CATEGORY, d.AMOUNT]].to_dict("records") == [
        {d.DESCRIPTION: "apple corner shop", d.CATEGORY: "apples", d.AMOUNT: -7.0}
    ]

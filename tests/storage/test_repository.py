from __future__ import annotations

from datetime import date
from decimal import Decimal

import pandas as pd
import pytest
from sqlalchemy import Engine
from tests.factories import MERCHANTS, canonical_frame

from titans_finance import domain as d
from titans_finance.domain import RejectedRow
from titans_finance.errors import NotFoundError, ValidationError
from titans_finance.storage import bulk
from titans_finance.storage import repository as repo


def _store(engine: Engine, frame: pd.DataFrame, rejects: list[RejectedRow] | None = None):  # type: ignore[no-untyped-def]
    return bulk.store_import(
        engine,
        file_name="f.csv",
        sha256="0" * 64,
        file_format="csv",
        frame=frame,
        rejects=rejects or [],
        rows_read=len(frame) + len(rejects or []),
    )


def test_store_and_load_round_trip_keeps_money_exact(engine: Engine) -> None:
    frame = canonical_frame(40)
    frame.loc[0, d.AMOUNT] = Decimal("-1234567.89")
    stored = _store(engine, frame, [RejectedRow(99, "bad,row", "line 99: no date")])
    assert (stored.inserted, stored.duplicates, stored.rejected) == (40, 0, 1)
    loaded = repo.load_transactions(engine)
    assert len(loaded) == 40
    assert sorted(loaded[d.AMOUNT].round(2)) == sorted(float(a) for a in frame[d.AMOUNT])
    assert (loaded[d.AMOUNT] == -1234567.89).sum() == 1
    assert set(loaded[d.MERCHANT]) <= {m[1] for m in MERCHANTS}
    imports = repo.list_imports(engine)
    assert imports[0].rows_rejected == 1 and imports[0].rejects[0]["reason"] == "line 99: no date"


def test_reimport_adds_nothing(engine: Engine) -> None:
    frame = canonical_frame(30)
    assert _store(engine, frame).inserted == 30
    again = _store(engine, frame)
    assert (again.inserted, again.duplicates) == (0, 30)
    overlapping = pd.concat([frame.iloc[10:], canonical_frame(5, seed=7)], ignore_index=True)
    third = _store(engine, overlapping)
    assert (third.inserted, third.duplicates) == (5, 20)
    assert repo.count_transactions(engine) == 35


def test_filters_and_paging(engine: Engine) -> None:
    _store(engine, canonical_frame(50, account="checking"))
    _store(engine, canonical_frame(20, account="savings", seed=3))
    assert repo.count_transactions(engine, repo.TransactionFilter(accounts=["savings"])) == 20
    coffee = repo.load_transactions(engine, repo.TransactionFilter(text="starbucks"))
    assert len(coffee) > 0 and set(coffee[d.MERCHANT]) == {"Starbucks"}
    expenses = repo.load_transactions(engine, repo.TransactionFilter(types=["Expense"]))
    assert (expenses[d.AMOUNT] < 0).all()
    window = repo.TransactionFilter(date_from=date(2024, 1, 5), date_to=date(2024, 1, 10))
    dated = repo.load_transactions(engine, window)
    assert dated[d.DATE].between("2024-01-05", "2024-01-10").all()
    page = repo.load_transactions(engine, repo.TransactionFilter(limit=7, offset=7))
    assert len(page) == 7
    big = repo.load_transactions(engine, repo.TransactionFilter(min_amount=Decimal("1000")))
    assert (big[d.AMOUNT] >= 1000).all()
    with pytest.raises(ValidationError):
        repo.load_transactions(engine, repo.TransactionFilter(sort="password"))
    with pytest.raises(ValidationError):
        repo.load_transactions(
            engine, repo.TransactionFilter(date_from=date(2024, 2, 1), date_to=date(2024, 1, 1))
        )


def test_category_correction_is_stored_as_feedback(engine: Engine) -> None:
    _store(engine, canonical_frame(10))
    first = repo.load_transactions(engine).iloc[0]
    version_before = repo.store_version(engine)
    updated = repo.set_category(engine, int(first["id"]), "Dining Out")
    assert updated[d.CATEGORY] == "Dining Out"
    assert (
        repo.load_transactions(engine).set_index("id").loc[first["id"], d.CATEGORY] == "Dining Out"
    )
    assert repo.store_version(engine) != version_before
    with pytest.raises(NotFoundError):
        repo.set_category(engine, 999_999, "X")
    with pytest.raises(ValidationError):
        repo.set_category(engine, int(first["id"]), "   ")


def test_rules_crud_and_validation(engine: Engine) -> None:
    low = repo.add_rule(engine, d.CategoryRule(d.RuleKind.CONTAINS, "Coffee", "starbucks"))
    high = repo.add_rule(
        engine, d.CategoryRule(d.RuleKind.AMOUNT_RANGE, "Big", min_amount=Decimal(1000), priority=5)
    )
    rules = repo.list_rules(engine)
    assert [r.id for r in rules] == [high.id, low.id]
    assert rules[0].min_amount == Decimal("1000.00")
    repo.delete_rule(engine, low.id)  # type: ignore[arg-type]
    assert [r.id for r in repo.list_rules(engine)] == [high.id]
    with pytest.raises(NotFoundError):
        repo.delete_rule(engine, low.id)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="regex"):
        repo.add_rule(engine, d.CategoryRule(d.RuleKind.REGEX, "X", "(unclosed"))
    with pytest.raises(ValidationError):
        repo.add_rule(engine, d.CategoryRule(d.RuleKind.AMOUNT_RANGE, "X"))


def test_anomaly_feedback_and_budgets(engine: Engine) -> None:
    _store(engine, canonical_frame(5))
    tx = repo.load_transactions(engine).iloc[0]
    repo.add_anomaly_feedback(engine, transaction_id=int(tx["id"]), reason_code="amount")
    assert repo.list_anomaly_feedback(engine) == [
        {"account": "checking", "merchant": tx[d.MERCHANT], "reason_code": "amount"}
    ]
    with pytest.raises(NotFoundError):
        repo.add_anomaly_feedback(engine, transaction_id=123456)
    repo.set_budget(engine, "Groceries", Decimal("400"))
    repo.set_budget(engine, "Groceries", Decimal("450"))
    repo.set_budget(engine, "Groceries", Decimal("500"), month="2024-12")
    budgets = repo.list_budgets(engine).sort_values("amount")
    assert budgets["amount"].tolist() == [450.0, 500.0]
    with pytest.raises(ValidationError):
        repo.set_budget(engine, "Groceries", Decimal("-1"))


def test_large_loads_rebuild_secondary_indexes(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import inspect

    monkeypatch.setattr(bulk, "BULK_REBUILD_ROWS", 10)
    monkeypatch.setattr(bulk, "_COPY_CHUNK_ROWS", 7)  # PostgreSQL: COPY in 6 chunks
    monkeypatch.setattr(bulk, "_STORED_CHUNK_IDS", 9)  # stored fingerprints read in 5 ranges
    first = canonical_frame(40)
    assert _store(engine, first).inserted == 40
    assert _store(engine, canonical_frame(40)).inserted == 0
    indexes = {index["name"]: index for index in inspect(engine).get_indexes("transactions")}
    assert set(bulk._SECONDARY_INDEXES) <= indexes.keys()
    unique = indexes[bulk._UNIQUE_INDEX[0]]  # set aside for the first load, built again
    assert unique["unique"] and unique["column_names"] == ["fingerprint"], unique
    _assert_a_stored_fingerprint_cannot_repeat(engine)
    _assert_stored_in_order_with_one_stamp(engine, first)
    grown = canonical_frame(60)  # 20 rows beyond the stored 40: the index is kept this time
    assert _store(engine, grown).inserted == 20
    assert repo.count_transactions(engine, repo.TransactionFilter()) == 60
    filtered = repo.TransactionFilter(categories=["Coffee"], date_from=date(2024, 1, 3))
    assert repo.count_transactions(engine, filtered) == len(
        repo.load_transactions(engine, filtered)
    )


def _assert_stored_in_order_with_one_stamp(engine: Engine, frame: pd.DataFrame) -> None:
    """The import's rows got ids in file order, every chunk of the COPY included; all carry
    the import's time as created_at and updated_at; the columns have no default left over."""
    from sqlalchemy import inspect, text

    with engine.connect() as conn:
        stored = conn.execute(
            text("SELECT fingerprint, created_at, updated_at FROM transactions ORDER BY id")
        ).all()
    assert [row.fingerprint for row in stored] == frame["fingerprint"].tolist()
    assert len({(row.created_at, row.updated_at) for row in stored}) == 1
    assert stored[0].created_at is not None
    columns = {c["name"]: c for c in inspect(engine).get_columns("transactions")}
    assert columns["created_at"]["default"] is None and columns["updated_at"]["default"] is None


def _assert_a_stored_fingerprint_cannot_repeat(engine: Engine) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    columns = "account_id, date, type, description, amount, fingerprint, created_at, updated_at"
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(
            text(
                f"INSERT INTO transactions ({columns}) SELECT {columns} FROM transactions "
                "ORDER BY id LIMIT 1"
            )
        )

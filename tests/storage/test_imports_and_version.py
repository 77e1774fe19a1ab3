"""The store's cache token sees every kind of write; past imports are listed in two queries."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, event
from tests.factories import canonical_frame

from titans_finance import domain as d
from titans_finance.domain import RejectedRow
from titans_finance.errors import NotFoundError, ValidationError
from titans_finance.storage import bulk
from titans_finance.storage import repository as repo


def _store(engine: Engine, seed: int, rows: int = 5, rejects: int = 0) -> int:
    frame = canonical_frame(rows, seed=seed)
    bad = [
        RejectedRow(100 + i, f"raw row {i} " + "y" * 50, f"line {100 + i}: no date")
        for i in range(rejects)
    ]
    return bulk.store_import(
        engine,
        file_name=f"file-{seed}.csv",
        sha256=f"{seed:064d}",
        file_format="csv",
        frame=frame,
        rejects=bad,
        rows_read=rows + rejects,
    ).import_id


@pytest.fixture
def stored(engine: Engine) -> Engine:
    """A store with one import, one rule, one budget."""
    _store(engine, seed=1)
    repo.add_rule(engine, d.CategoryRule(d.RuleKind.CONTAINS, "Coffee", "starbucks"))
    repo.set_budget(engine, "Groceries", Decimal("400"))
    return engine


def _first_id(engine: Engine) -> int:
    return int(repo.load_transactions(engine).iloc[0]["id"])


WRITES: dict[str, Callable[[Engine], Any]] = {
    "new transactions": lambda e: _store(e, seed=2),
    "an import adding nothing": lambda e: _store(e, seed=1),
    "category feedback": lambda e: repo.set_category(e, _first_id(e), "Dining Out"),
    "anomaly feedback": lambda e: repo.add_anomaly_feedback(e, transaction_id=_first_id(e)),
    "a new rule": lambda e: repo.add_rule(e, d.CategoryRule(d.RuleKind.CONTAINS, "Fuel", "shell")),
    "a deleted rule": lambda e: repo.delete_rule(e, repo.list_rules(e)[0].id or 0),
    "a replaced rule (same id again)": lambda e: (
        repo.delete_rule(e, repo.list_rules(e)[0].id or 0),
        repo.add_rule(e, d.CategoryRule(d.RuleKind.CONTAINS, "Fuel", "shell")),
    ),
    "a new budget": lambda e: repo.set_budget(e, "Fuel", Decimal("80")),
    "a changed budget (same id again)": lambda e: repo.set_budget(e, "Groceries", Decimal("450")),
}


@pytest.mark.parametrize("write", list(WRITES))
def test_every_kind_of_write_changes_the_store_version(stored: Engine, write: str) -> None:
    before = repo.store_version(stored)
    assert repo.store_version(stored) == before  # reads alone change nothing
    WRITES[write](stored)
    assert repo.store_version(stored) != before


def test_reads_leave_the_store_version_alone(stored: Engine) -> None:
    before = repo.store_version(stored)
    repo.load_transactions(stored)
    repo.list_imports(stored)
    repo.list_rules(stored)
    repo.list_budgets(stored)
    assert repo.store_version(stored) == before


@pytest.fixture
def statements(engine: Engine) -> Iterator[list[str]]:
    """The SQL statements ``engine`` runs while the test body runs."""
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def test_imports_listed_newest_first_with_first_rejects_in_two_queries(
    engine: Engine, statements: list[str]
) -> None:
    ids = [_store(engine, seed=s, rejects=r) for s, r in ((1, 7), (2, 0), (3, 2))]
    statements.clear()
    records = repo.list_imports(engine, with_rejects=3, raw_chars=10)
    assert len(statements) == 2
    assert [r.id for r in records] == ids[::-1]
    assert [len(r.rejects) for r in records] == [2, 0, 3]
    assert [x["line"] for x in records[2].rejects] == [100, 101, 102]
    assert records[2].rejects[0] == {
        "line": 100,
        "reason": "line 100: no date",
        "raw": "raw row 0 ",
    }
    assert (records[2].rows_read, records[2].rows_inserted, records[2].rows_rejected) == (12, 5, 7)
    assert records[0].created_at.endswith("+00:00")
    assert repo.count_imports(engine) == 3


def test_imports_paged(engine: Engine) -> None:
    ids = [_store(engine, seed=s) for s in range(1, 5)]
    assert [r.id for r in repo.list_imports(engine, limit=2, offset=1)] == [ids[2], ids[1]]
    assert repo.list_imports(engine, limit=2, offset=4) == []
    assert len(repo.list_imports(engine, with_rejects=0)) == 4
    with pytest.raises(ValidationError):
        repo.list_imports(engine, offset=-1)


def test_rejects_of_one_import(engine: Engine) -> None:
    import_id = _store(engine, seed=1, rejects=7)
    total, rows = repo.list_rejects(engine, import_id, limit=3, offset=5)
    assert total == 7 and [r["line"] for r in rows] == [105, 106]
    assert rows[0]["raw"].startswith("raw row 5 yyy") and len(rows[0]["raw"]) == 60
    assert repo.list_rejects(engine, _store(engine, seed=2)) == (0, [])
    with pytest.raises(NotFoundError, match="import 999 does not exist"):
        repo.list_rejects(engine, 999)

"""Concurrent-import helpers shared by the storage and API tests: distinct export files and
the store check after several writers."""

from __future__ import annotations

from titans_finance.storage import repository as repo
from titans_finance.storage.db import get_engine

WRITERS = 3
ROWS = 200


def _word(number: int) -> str:
    """Letters for a number (descriptions are normalised without digits)."""
    return "".join(chr(ord("a") + int(digit)) for digit in str(number)).upper()


def export_bytes(index: int) -> bytes:
    """One file of ``ROWS`` distinct rows (no account column: the import names it)."""
    lines = ["Date,Description,Amount"]
    lines += [
        f"2024-{1 + day % 12:02d}-{1 + day % 28:02d},{_word(index)} {_word(day)},-{1 + day % 97}.50"
        for day in range(ROWS)
    ]
    return ("\n".join(lines) + "\n").encode()


def check_store(database_url: str, accounts: set[str]) -> None:
    """The store holds exactly ``accounts`` and every writer's rows and import."""
    get_engine.cache_clear()
    engine = get_engine(database_url)
    assert set(repo.list_accounts(engine)) == accounts
    assert repo.count_transactions(engine) == WRITERS * ROWS
    assert repo.count_imports(engine) == WRITERS

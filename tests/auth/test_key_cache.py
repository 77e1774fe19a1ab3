"""The stored-key record cache: fresh records without a store read, unknown ids never kept,
forgotten records and a zero TTL read the store again."""

from __future__ import annotations

from datetime import UTC, datetime

from titans_finance.auth.key_cache import KeyRecordCache
from titans_finance.auth.scopes import Scope
from titans_finance.auth.store import KeyRecord


def _record(key_id: str) -> KeyRecord:
    return KeyRecord(
        id=1,
        key_id=key_id,
        name="reader",
        digest="0" * 64,
        scope=Scope.READ,
        accounts=None,
        rate_limit=None,
        created_by="test",
        created_at=datetime.now(UTC),
        expires_at=None,
        last_used_at=None,
        revoked_at=None,
    )


class _Loader:
    """A record source that counts its reads."""

    def __init__(self, known: set[str]) -> None:
        self.known = known
        self.reads = 0

    def __call__(self, key_id: str) -> KeyRecord | None:
        self.reads += 1
        return _record(key_id) if key_id in self.known else None


def test_a_fresh_record_is_read_once() -> None:
    cache, load = KeyRecordCache(ttl_seconds=60), _Loader({"aaaaaaaaaaaa"})
    first = cache.get("aaaaaaaaaaaa", load)
    assert cache.get("aaaaaaaaaaaa", load) is first
    assert load.reads == 1


def test_unknown_ids_are_not_kept() -> None:
    cache, load = KeyRecordCache(ttl_seconds=60), _Loader(set())
    assert cache.get("bbbbbbbbbbbb", load) is None
    assert cache.get("bbbbbbbbbbbb", load) is None
    assert load.reads == 2


def test_forget_and_a_zero_ttl_read_the_store_again() -> None:
    cache, load = KeyRecordCache(ttl_seconds=60), _Loader({"aaaaaaaaaaaa"})
    cache.get("aaaaaaaaaaaa", load)
    cache.forget("aaaaaaaaaaaa")
    cache.get("aaaaaaaaaaaa", load)
    assert load.reads == 2
    off, load_off = KeyRecordCache(ttl_seconds=0), _Loader({"aaaaaaaaaaaa"})
    off.get("aaaaaaaaaaaa", load_off)
    off.get("aaaaaaaaaaaa", load_off)
    assert load_off.reads == 2


class _Clock:
    """A timer the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_record_is_read_again_once_its_ttl_has_passed() -> None:
    clock = _Clock()
    cache, load = KeyRecordCache(ttl_seconds=5, timer=clock), _Loader({"aaaaaaaaaaaa"})
    cache.get("aaaaaaaaaaaa", load)
    clock.now = 4.9
    cache.get("aaaaaaaaaaaa", load)
    assert load.reads == 1
    clock.now = 5.1
    cache.get("aaaaaaaaaaaa", load)
    assert load.reads == 2


def test_a_read_that_spans_a_forget_is_not_kept() -> None:
    cache = KeyRecordCache(ttl_seconds=60)

    def load_then_revoke(key_id: str) -> KeyRecord | None:
        cache.forget(key_id)  # a revocation lands while this read is under way
        return _record(key_id)

    cache.get("aaaaaaaaaaaa", load_then_revoke)
    fresh = _Loader({"aaaaaaaaaaaa"})
    cache.get("aaaaaaaaaaaa", fresh)
    assert fresh.reads == 1  # the stale record was not cached

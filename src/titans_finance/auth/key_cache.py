"""A per-process cache of stored-key records, so a request with a stored key costs no store
read while its record is fresh.

Only the record (its SHA-256 digest, scope, accounts, expiry, revocation) is cached, never a
key: every request still hashes the key it presents and compares the digest in constant time.
Unknown ids are not cached, so random ids cannot evict real keys. A revocation made through
this process drops the record at once (a read that started before it cannot put the old
record back); one made elsewhere (another worker, the CLI) is seen within ``ttl_seconds``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from cachetools import TTLCache

from titans_finance.auth.store import KeyRecord

MAX_CACHED_KEYS = 1024


class KeyRecordCache:
    """Fresh stored-key records by public key id (LRU, ``ttl_seconds``; 0 disables it)."""

    def __init__(
        self,
        ttl_seconds: float,
        maxsize: int = MAX_CACHED_KEYS,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self._records: TTLCache[str, KeyRecord] | None = (
            TTLCache(maxsize=maxsize, ttl=ttl_seconds, timer=timer) if ttl_seconds > 0 else None
        )
        self._lock = threading.Lock()
        self._forgotten = 0  # bumped by every `forget`: a read that spans one is not kept

    def get(self, key_id: str, load: Callable[[str], KeyRecord | None]) -> KeyRecord | None:
        """The record of ``key_id``: cached while fresh, else ``load(key_id)`` (None: unknown)."""
        if self._records is None:
            return load(key_id)
        with self._lock:
            found = self._records.get(key_id)
            generation = self._forgotten
        if found is not None:
            return found
        record = load(key_id)
        if record is not None:
            with self._lock:
                if generation == self._forgotten:
                    self._records[key_id] = record
        return record

    def forget(self, key_id: str) -> None:
        """Drop ``key_id``'s record (after a revocation through this process)."""
        if self._records is not None:
            with self._lock:
                self._forgotten += 1
                self._records.pop(key_id, None)


__all__ = ["MAX_CACHED_KEYS", "KeyRecordCache"]

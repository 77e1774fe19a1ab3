"""Opportunistic micro-batching of single predictions.

While one model call is running, requests that arrive queue up; when it finishes they are
scored together in ONE model call.  An idle service adds no latency (the first request runs at
once); a busy one pays a model call's fixed cost once per batch instead of once per request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable
from typing import Any

from starlette.concurrency import run_in_threadpool

from titans_finance.serving import ModelService


class MicroBatcher:
    """Queues single predictions of one kind and scores them a batch at a time."""

    def __init__(self, service: ModelService, kind: str, max_batch: int = 256) -> None:
        self.service = service
        self.kind = kind
        self.max_batch = max_batch
        self._pending: list[tuple[Hashable, dict[str, Any], asyncio.Future[dict[str, Any]]]] = []
        self._running = False
        self._tasks: set[asyncio.Task[None]] = set()
        self.batches = 0

    async def submit(self, key: Hashable, record: dict[str, Any]) -> dict[str, Any]:
        """The prediction for ``record`` (scored with whatever else is queued)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[dict[str, Any]] = loop.create_future()
        self._pending.append((key, record, future))
        if not self._running:
            self._running = True
            task = loop.create_task(self._drain())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await future

    async def _drain(self) -> None:
        try:
            while self._pending:
                batch = self._pending[: self.max_batch]
                self._pending = self._pending[self.max_batch :]
                await self._score(batch)
        finally:
            self._running = False

    async def _score(
        self, batch: list[tuple[Hashable, dict[str, Any], asyncio.Future[dict[str, Any]]]]
    ) -> None:
        self.batches += 1
        try:
            results = await run_in_threadpool(
                self.service.predict_records,
                self.kind,
                [record for _, record, _ in batch],
                [key for key, _, _ in batch],
            )
        except Exception as exc:  # every waiting request gets the error (mapped to its status)
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, _, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)


__all__ = ["MicroBatcher"]

"""Micro-batching: concurrent single predictions share model calls and get the right answers."""

from __future__ import annotations

import asyncio
from pathlib import Path

from titans_finance.api.batcher import MicroBatcher
from titans_finance.serving import ModelService, records_to_frame


def test_concurrent_requests_share_model_calls(models_dir: Path) -> None:
    service = ModelService(models_dir)
    service.load()
    records = [{"description": f"Amazon order {i % 7}", "amount": -float(i)} for i in range(40)]
    records.append(dict(records[0]))  # a duplicate inside the batch is scored once
    batcher = MicroBatcher(service, "category", max_batch=16)

    async def run() -> list[dict]:
        keys = [service.single_key("category", r) for r in records]
        return await asyncio.gather(
            *(batcher.submit(k, r) for k, r in zip(keys, records, strict=True))
        )

    results = asyncio.run(run())
    expected = service.predict_category(records_to_frame(records))
    assert [r["predicted_category"] for r in results] == list(expected["predicted_category"])
    assert results[-1] == results[0]
    calls = service.stats["category"].snapshot()["model_calls"]
    assert batcher.batches == calls - 1  # the check above is one more call
    assert 3 <= batcher.batches < len(records)  # batched, in chunks of at most 16
    assert len(service.cache) == 40

"""The pipeline's store lock: a lease renewed by a heartbeat while a run (or step) works."""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine

from titans_finance.errors import PipelineBusyError
from titans_finance.storage import pipeline_runs as store

logger = logging.getLogger(__name__)


def holder_name(run_id: int) -> str:
    """Who holds the lock: run id, host and process (shown when another run is refused)."""
    return f"run {run_id} on {socket.gethostname()} pid {os.getpid()}"


@contextmanager
def pipeline_lock(engine: Engine, run_id: int, *, ttl_seconds: float) -> Iterator[str]:
    """Hold the store's pipeline lock for the block; PipelineBusyError when another run has it.

    A heartbeat thread renews the lease every third of ``ttl_seconds``; a run that crashed
    stops renewing, so its lease expires and the next run takes over (marking the crashed run
    failed).
    """
    holder = holder_name(run_id)
    acquired, previous = store.acquire_lock(
        engine, holder=holder, run_id=run_id, ttl_seconds=ttl_seconds
    )
    if not acquired:
        assert previous is not None
        raise PipelineBusyError(
            f"another pipeline run holds the store lock ({previous['holder']}, since "
            f"{previous['acquired_at']:%Y-%m-%d %H:%M:%S} UTC, lease until "
            f"{previous['expires_at']:%H:%M:%S}); try again when it has finished"
        )
    if previous is not None and previous.get("run_id") not in (None, run_id):
        logger.warning("took over the expired lock of %s", previous["holder"])
        store.fail_stale_run(
            engine,
            int(previous["run_id"]),
            "interrupted: the run stopped without finishing (its lock expired); "
            f"run {run_id} took over",
        )
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(ttl_seconds / 3):
            try:
                if not store.renew_lock(engine, holder=holder, ttl_seconds=ttl_seconds):
                    logger.error("the pipeline lock of %s was lost", holder)
                    return
            except Exception:  # a transient store error: the next beat tries again
                logger.exception("renewing the pipeline lock failed")

    thread = threading.Thread(target=beat, name="titans-pipeline-lock", daemon=True)
    thread.start()
    try:
        yield holder
    finally:
        stop.set()
        thread.join(timeout=5)
        store.release_lock(engine, holder=holder)


__all__ = ["holder_name", "pipeline_lock"]

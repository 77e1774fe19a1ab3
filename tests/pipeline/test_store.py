"""The store's pipeline record: runs, decisions, the lease lock (one winner across processes)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine

from titans_finance.pipeline.candidates import KEEP, PROMOTE, decide
from titans_finance.storage import pipeline_runs as store


def test_runs_and_decisions_round_trip(engine: Engine) -> None:
    run_id = store.start_run(engine, trigger="test")
    assert store.start_run(engine, trigger="airflow", external_id="a1") != run_id
    assert store.start_run(engine, trigger="airflow", external_id="a1") == run_id + 1
    store.update_run(engine, run_id, rows_inserted=5, details={"a": 1})
    store.update_run(engine, run_id, details={"b": 2})
    decision = store.add_decision(
        engine,
        run_id,
        model_type="category",
        candidate_version="v2",
        champion_version="v1",
        metric="accuracy",
        higher_is_better=True,
        candidate_value=0.9,
        champion_value=0.8,
        margin=0.01,
        holdout_rows=10,
        decision=PROMOTE,
        status="decided",
        reason="better",
    )
    store.update_decision(engine, decision, status="promoted")
    store.finish_run(engine, run_id)
    run = store.get_run(engine, run_id)
    assert run["status"] == "succeeded" and run["rows_inserted"] == 5
    assert run["details"] == {"a": 1, "b": 2}
    assert [d["status"] for d in run["decisions"]] == ["promoted"]
    assert run["finished_at"] is not None and run["finished_at"].endswith("+00:00")
    assert [r["id"] for r in store.list_runs(engine)] == [run_id + 1, run_id]
    health = store.health(engine)
    assert health["last_run_success"] == 1.0 and health["last_run_end"] is not None
    store.finish_run(engine, run_id + 1, error="boom")
    assert store.health(engine)["last_run_success"] == 0.0


def test_lock_is_exclusive_reentrant_and_taken_over_when_expired(engine: Engine) -> None:
    assert store.acquire_lock(engine, holder="a", run_id=1, ttl_seconds=60) == (True, None)
    assert store.acquire_lock(engine, holder="a", run_id=1, ttl_seconds=60)[0]
    acquired, held = store.acquire_lock(engine, holder="b", run_id=2, ttl_seconds=60)
    assert not acquired and held is not None and held["holder"] == "a"
    assert store.renew_lock(engine, holder="a", ttl_seconds=0.01)
    assert not store.renew_lock(engine, holder="b", ttl_seconds=60)
    time.sleep(0.05)
    acquired, previous = store.acquire_lock(engine, holder="b", run_id=2, ttl_seconds=60)
    assert acquired and previous is not None and previous["run_id"] == 1
    store.release_lock(engine, holder="a")  # not a's any more: no effect
    assert not store.acquire_lock(engine, holder="c", run_id=3, ttl_seconds=60)[0]
    store.release_lock(engine, holder="b")
    assert store.acquire_lock(engine, holder="c", run_id=3, ttl_seconds=60)[0]


_CONTEND = """
import pathlib, sys, time
from titans_finance.storage import pipeline_runs as store
from titans_finance.storage.db import create_db_engine
engine = create_db_engine(sys.argv[1])
engine.connect().close()
print("ready", flush=True)
go = pathlib.Path(sys.argv[3])
while not go.exists():
    time.sleep(0.001)
acquired, _ = store.acquire_lock(engine, holder=sys.argv[2], run_id=None, ttl_seconds=60)
print("won" if acquired else "lost", flush=True)
"""


def test_processes_racing_for_the_lock_get_one_winner(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    go = tmp_path / "go"
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _CONTEND, database_url, f"p{i}", str(go)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(3)
    ]
    for worker in workers:  # every process connected and waiting at the barrier
        assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
    go.touch()
    results = [worker.communicate(timeout=120)[0].strip() for worker in workers]
    assert sorted(results) == ["lost", "lost", "won"], results


@pytest.mark.parametrize(
    ("higher", "candidate", "champion", "margin", "expected"),
    [
        (True, 0.90, 0.80, 0.01, PROMOTE),
        (True, 0.805, 0.80, 0.01, KEEP),  # better, but not by 1%
        (True, 0.80, 0.80, 0.0, KEEP),  # equal is never better
        (True, 0.70, 0.80, 0.01, KEEP),
        (False, 80.0, 100.0, 0.01, PROMOTE),
        (False, 99.5, 100.0, 0.01, KEEP),
        (False, 120.0, 100.0, 0.01, KEEP),
        (True, float("nan"), 0.80, 0.01, KEEP),
        (True, 0.90, float("nan"), 0.01, KEEP),
        (True, 0.90, None, 0.01, KEEP),
    ],
)
def test_decide_needs_the_margin_on_the_models_own_metric(
    higher: bool, candidate: float, champion: float | None, margin: float, expected: str
) -> None:
    decision, reason = decide("metric", higher, candidate, champion, margin)
    assert decision == expected
    assert reason


def test_restore_interrupted_swap(tmp_path: Path) -> None:
    from titans_finance.pipeline.promotion import restore_interrupted_swaps

    (tmp_path / ".category.previous").mkdir()
    (tmp_path / ".category.previous" / "metadata.json").write_text("{}")
    (tmp_path / ".amount.previous").mkdir()
    (tmp_path / "amount").mkdir()
    assert restore_interrupted_swaps(tmp_path) == ["category"]
    assert (tmp_path / "category" / "metadata.json").is_file()
    assert not (tmp_path / ".amount.previous").exists() and (tmp_path / "amount").is_dir()

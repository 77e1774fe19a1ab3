"""The store's record of pipeline runs, model decisions and the lease-based pipeline lock."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from titans_finance.errors import NotFoundError, ValidationError
from titans_finance.storage.tables import (
    CategoryFeedback,
    Import,
    ModelDecision,
    PipelineLock,
    PipelineRun,
    Transaction,
    utcnow,
)

RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"
FINISHED_STATUSES = (SUCCEEDED, FAILED)
LOCK_NAME = "pipeline"


def _aware(value: datetime | None) -> datetime | None:
    """A stored timestamp as timezone-aware UTC (SQLite hands back naive ones)."""
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _iso(value: datetime | None) -> str | None:
    aware = _aware(value)
    return None if aware is None else aware.isoformat()


# -- runs ------------------------------------------------------------------------------------------
def start_run(engine: Engine, *, trigger: str, external_id: str | None = None) -> int:
    """Record a new running run and return its id; an ``external_id`` already recorded (an
    Airflow run whose tasks each call a step) returns the existing run's id instead."""
    with engine.begin() as conn:
        if external_id is not None:
            found = conn.execute(
                select(PipelineRun.c.id).where(PipelineRun.c.external_id == external_id)
            ).scalar_one_or_none()
            if found is not None:
                return int(found)
        try:
            result = conn.execute(
                insert(PipelineRun).values(
                    external_id=external_id,
                    trigger=trigger,
                    status=RUNNING,
                    started_at=utcnow(),
                    files_ingested=0,
                    files_rejected=0,
                    files_skipped=0,
                    rows_inserted=0,
                    retrained=0,
                    promoted=0,
                    details={},
                )
            )
        except IntegrityError:  # the same external id started concurrently
            conn.rollback()
            return start_run(engine, trigger=trigger, external_id=external_id)
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])


def update_run(engine: Engine, run_id: int, **values: Any) -> None:
    """Set columns of a run (``details`` is merged into the stored dict)."""
    details = values.pop("details", None)
    with engine.begin() as conn:
        if details is not None:
            stored = conn.execute(
                select(PipelineRun.c.details).where(PipelineRun.c.id == run_id)
            ).scalar_one_or_none()
            values["details"] = {**(stored or {}), **details}
        if values:
            conn.execute(update(PipelineRun).where(PipelineRun.c.id == run_id).values(**values))


def finish_run(engine: Engine, run_id: int, *, error: str | None = None) -> None:
    """Mark a run succeeded (no ``error``) or failed with the reason."""
    update_run(
        engine,
        run_id,
        status=FAILED if error else SUCCEEDED,
        error=error,
        finished_at=utcnow(),
        stage=None,
    )


def fail_stale_run(engine: Engine, run_id: int, reason: str) -> None:
    """Mark a run that stopped without finishing (its lock expired) as failed."""
    with engine.begin() as conn:
        conn.execute(
            update(PipelineRun)
            .where(PipelineRun.c.id == run_id, PipelineRun.c.status == RUNNING)
            .values(status=FAILED, error=reason, finished_at=utcnow())
        )


def get_run(engine: Engine, run_id: int) -> dict[str, Any]:
    """One run with its decisions; NotFoundError when absent."""
    runs = _runs(engine, select(PipelineRun).where(PipelineRun.c.id == run_id))
    if not runs:
        raise NotFoundError(f"pipeline run {run_id} does not exist")
    return runs[0]


def list_runs(engine: Engine, *, limit: int = 20, offset: int = 0) -> list[dict[str, Any]]:
    """Runs, newest first, each with its model decisions (two queries)."""
    if limit < 0 or offset < 0:
        raise ValidationError("limit and offset must not be negative")
    stmt = select(PipelineRun).order_by(PipelineRun.c.id.desc()).limit(limit).offset(offset)
    return _runs(engine, stmt)


def count_runs(engine: Engine) -> int:
    """How many runs are recorded."""
    with engine.connect() as conn:
        return int(conn.execute(select(func.count(PipelineRun.c.id))).scalar_one())


def _runs(engine: Engine, stmt: Any) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = [dict(row) for row in conn.execute(stmt).mappings().all()]
        ids = [row["id"] for row in rows]
        decisions = (
            conn.execute(
                select(ModelDecision)
                .where(ModelDecision.c.run_id.in_(ids))
                .order_by(ModelDecision.c.id)
            )
            .mappings()
            .all()
            if ids
            else []
        )
    by_run: dict[int, list[dict[str, Any]]] = {}
    for decision in decisions:
        by_run.setdefault(decision["run_id"], []).append(_decision_dict(dict(decision)))
    for row in rows:
        for key in ("started_at", "finished_at"):
            row[key] = _iso(row[key])
        row["retrained"] = bool(row["retrained"])
        row["details"] = row["details"] or {}
        row["decisions"] = by_run.get(row["id"], [])
    return rows


def _decision_dict(row: dict[str, Any]) -> dict[str, Any]:
    for key in ("created_at", "updated_at"):
        row[key] = _iso(row[key])
    row["higher_is_better"] = bool(row["higher_is_better"])
    return row


def last_retrain(engine: Engine) -> dict[str, Any] | None:
    """The newest succeeded run that retrained: its watermarks and finish time, or None."""
    with engine.connect() as conn:
        row = (
            conn.execute(
                select(
                    PipelineRun.c.id,
                    PipelineRun.c.finished_at,
                    PipelineRun.c.last_transaction_id,
                    PipelineRun.c.last_feedback_id,
                )
                .where(PipelineRun.c.status == SUCCEEDED, PipelineRun.c.retrained == 1)
                .order_by(PipelineRun.c.id.desc())
                .limit(1)
            )
            .mappings()
            .one_or_none()
        )
    if row is None:
        return None
    return {**dict(row), "finished_at": _aware(row["finished_at"])}


def change_counts(
    engine: Engine, since_transaction_id: int | None, since_feedback_id: int | None
) -> dict[str, int]:
    """Rows and category corrections stored after the given ids, and the newest ids now."""
    since_tx = since_transaction_id or 0
    since_fb = since_feedback_id or 0
    with engine.connect() as conn:
        new_rows, max_tx = conn.execute(
            select(
                select(func.count(Transaction.c.id))
                .where(Transaction.c.id > since_tx)
                .scalar_subquery(),
                select(func.max(Transaction.c.id)).scalar_subquery(),
            )
        ).one()
        corrections, max_fb = conn.execute(
            select(
                select(func.count(CategoryFeedback.c.id))
                .where(CategoryFeedback.c.id > since_fb)
                .scalar_subquery(),
                select(func.max(CategoryFeedback.c.id)).scalar_subquery(),
            )
        ).one()
    return {
        "new_rows": int(new_rows or 0),
        "corrections": int(corrections or 0),
        "last_transaction_id": int(max_tx or 0),
        "last_feedback_id": int(max_fb or 0),
    }


def import_for_sha256(engine: Engine, sha256: str) -> dict[str, Any] | None:
    """The first import of a file with this content hash, or None."""
    with engine.connect() as conn:
        row = (
            conn.execute(
                select(
                    Import.c.id,
                    Import.c.file_name,
                    Import.c.rows_read,
                    Import.c.rows_inserted,
                    Import.c.rows_duplicate,
                    Import.c.rows_rejected,
                )
                .where(Import.c.sha256 == sha256)
                .order_by(Import.c.id)
                .limit(1)
            )
            .mappings()
            .one_or_none()
        )
    return None if row is None else dict(row)


def health(engine: Engine) -> dict[str, float | None]:
    """What the pipeline alerts need: latest finished run's success and end, latest import."""
    with engine.connect() as conn:
        last = conn.execute(
            select(PipelineRun.c.status, PipelineRun.c.finished_at)
            .where(PipelineRun.c.status.in_(FINISHED_STATUSES))
            .order_by(PipelineRun.c.finished_at.desc(), PipelineRun.c.id.desc())
            .limit(1)
        ).one_or_none()
        last_import = conn.execute(select(func.max(Import.c.created_at))).scalar_one_or_none()
    end = _aware(last[1]) if last is not None else None
    imported = _aware(last_import)
    return {
        "last_run_success": None if last is None else float(last[0] == SUCCEEDED),
        "last_run_end": None if end is None else end.timestamp(),
        "last_import": None if imported is None else imported.timestamp(),
    }


# -- decisions -----------------------------------------------------------------------------------
def add_decision(engine: Engine, run_id: int, **values: Any) -> int:
    """Record a model decision of a run; returns its id."""
    now = utcnow()
    with engine.begin() as conn:
        result = conn.execute(
            insert(ModelDecision).values(run_id=run_id, created_at=now, updated_at=now, **values)
        )
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])


def update_decision(engine: Engine, decision_id: int, **values: Any) -> None:
    """Set columns of a decision (its status as it is carried out, the registry version)."""
    with engine.begin() as conn:
        conn.execute(
            update(ModelDecision)
            .where(ModelDecision.c.id == decision_id)
            .values(updated_at=utcnow(), **values)
        )


def decisions(
    engine: Engine, *, run_id: int | None = None, statuses: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """Decisions of one run and/or in the given statuses, oldest first."""
    stmt = select(ModelDecision).order_by(ModelDecision.c.id)
    if run_id is not None:
        stmt = stmt.where(ModelDecision.c.run_id == run_id)
    if statuses:
        stmt = stmt.where(ModelDecision.c.status.in_(list(statuses)))
    with engine.connect() as conn:
        return [_decision_dict(dict(row)) for row in conn.execute(stmt).mappings().all()]


# -- the lock --------------------------------------------------------------------------------------
def acquire_lock(
    engine: Engine, *, holder: str, run_id: int | None, ttl_seconds: float, name: str = LOCK_NAME
) -> tuple[bool, dict[str, Any] | None]:
    """Take the named lease for ``ttl_seconds`` (re-entrant for the same holder).

    Returns (acquired, previous): ``previous`` is the expired lease taken over (its run was
    interrupted), or, when not acquired, the lease that is held.  One INSERT or one conditional
    UPDATE decides, so two processes can never both get it.
    """
    now = utcnow()
    expires = now + timedelta(seconds=ttl_seconds)
    values = {"holder": holder, "run_id": run_id, "acquired_at": now, "expires_at": expires}
    try:
        with engine.begin() as conn:
            conn.execute(insert(PipelineLock).values(name=name, **values))
        return True, None
    except IntegrityError:
        pass
    with engine.begin() as conn:
        current = (
            conn.execute(select(PipelineLock).where(PipelineLock.c.name == name))
            .mappings()
            .one_or_none()
        )
        if current is None:  # released in between: try again from the start
            return acquire_lock(
                engine, holder=holder, run_id=run_id, ttl_seconds=ttl_seconds, name=name
            )
        previous = dict(current)
        taken = conn.execute(
            update(PipelineLock)
            .where(
                PipelineLock.c.name == name,
                (PipelineLock.c.holder == holder) | (PipelineLock.c.expires_at < now),
            )
            .values(**values)
        ).rowcount
    previous["expires_at"] = _aware(previous["expires_at"])
    previous["acquired_at"] = _aware(previous["acquired_at"])
    if taken == 1:
        return True, None if previous["holder"] == holder else previous
    return False, previous


def renew_lock(engine: Engine, *, holder: str, ttl_seconds: float, name: str = LOCK_NAME) -> bool:
    """Extend the lease held by ``holder``; False when it is no longer theirs."""
    with engine.begin() as conn:
        return (
            conn.execute(
                update(PipelineLock)
                .where(PipelineLock.c.name == name, PipelineLock.c.holder == holder)
                .values(expires_at=utcnow() + timedelta(seconds=ttl_seconds))
            ).rowcount
            == 1
        )


def release_lock(engine: Engine, *, holder: str, name: str = LOCK_NAME) -> None:
    """Give the lease back (only if ``holder`` still has it)."""
    with engine.begin() as conn:
        conn.execute(
            delete(PipelineLock).where(PipelineLock.c.name == name, PipelineLock.c.holder == holder)
        )


__all__ = [
    "FAILED",
    "LOCK_NAME",
    "RUNNING",
    "SUCCEEDED",
    "acquire_lock",
    "add_decision",
    "change_counts",
    "count_runs",
    "decisions",
    "fail_stale_run",
    "finish_run",
    "get_run",
    "health",
    "import_for_sha256",
    "last_retrain",
    "list_runs",
    "release_lock",
    "renew_lock",
    "start_run",
    "update_decision",
    "update_run",
]

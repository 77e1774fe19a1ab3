"""One pipeline run: ingest → train → evaluate → promote → reload, recorded in the store.

``run_pipeline`` does every step under one hold of the store lock (``titans pipeline run``,
cron).  ``run_step`` does one step of a run named by an external id (one Airflow task each);
each step takes the lock for its own duration and the run's state lives in the store and in
its staging folder, so the steps may run in different processes.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from titans_finance import domain as d
from titans_finance.config import Settings
from titans_finance.errors import (
    PipelineBusyError,
    PipelineRunError,
    TitansError,
    ValidationError,
)
from titans_finance.models import drift as drift_stats
from titans_finance.models.base import read_metadata
from titans_finance.models.catalog import available_models
from titans_finance.pipeline import candidates as cand
from titans_finance.pipeline import promotion
from titans_finance.pipeline.inbox import ingest_inbox
from titans_finance.pipeline.lock import pipeline_lock
from titans_finance.storage import pipeline_runs as store

logger = logging.getLogger(__name__)

STEPS: tuple[str, ...] = ("ingest", "train", "evaluate", "promote", "reload")
SKIPPED = "skipped"


@dataclass
class RunContext:
    """What every step of one run needs."""

    settings: Settings
    engine: Engine
    run_id: int
    force: bool = False
    fail_point: Callable[[str], None] | None = None

    @property
    def stage_dir(self) -> Path:
        """The run's staging folder (candidates and hold-out)."""
        return promotion.run_stage_dir(self.settings.pipeline_dir, self.run_id)


@dataclass
class RetrainCheck:
    """Whether to retrain, why, and the store's state it was judged on."""

    needed: bool
    reason: str
    new_rows: int
    corrections: int
    last_transaction_id: int
    last_feedback_id: int


def pipeline_models(settings: Settings) -> list[str]:
    """The model types the pipeline manages (``TITANS_PIPELINE_MODELS``, else all available)."""
    from titans_finance.models.catalog import model_class

    if not settings.pipeline_models:
        return available_models()
    for name in settings.pipeline_models:
        model_class(name)  # a clear error for an unknown or unavailable model
    return list(settings.pipeline_models)


def retrain_check(engine: Engine, settings: Settings, *, force: bool = False) -> RetrainCheck:
    """Retrain when forced, a champion is missing, enough rows or corrections arrived since the
    last retrain, the data a champion never saw drifted from its training reference
    (:func:`drift_reason`), or the champions are older than ``TITANS_RETRAIN_MAX_AGE_DAYS``."""
    last = store.last_retrain(engine)
    counts = store.change_counts(
        engine,
        None if last is None else last["last_transaction_id"],
        None if last is None else last["last_feedback_id"],
    )

    def result(needed: bool, reason: str) -> RetrainCheck:
        return RetrainCheck(needed, reason, **counts)

    if counts["last_transaction_id"] == 0:
        return result(False, "the store has no transactions yet")
    if force:
        return result(True, "forced")
    missing, trained_at = [], []
    references: dict[str, dict[str, Any]] = {}
    for model_type in pipeline_models(settings):
        try:
            meta = read_metadata(Path(settings.models_dir) / model_type, model_type)
        except TitansError:
            missing.append(model_type)
            continue
        trained_at.append(datetime.fromisoformat(meta.trained_at))
        references[model_type] = meta.reference
    if missing:
        return result(True, f"no champion for {', '.join(missing)}")
    if counts["new_rows"] >= settings.retrain_min_new_rows:
        return result(
            True, f"{counts['new_rows']} new rows (threshold {settings.retrain_min_new_rows})"
        )
    if counts["corrections"] >= settings.retrain_min_corrections:
        return result(
            True,
            f"{counts['corrections']} new category corrections "
            f"(threshold {settings.retrain_min_corrections})",
        )
    drifted = drift_reason(engine, settings, references)
    if drifted:
        return result(True, drifted)
    since = last["finished_at"] if last is not None else min(trained_at)
    age_days = (datetime.now(UTC) - since).total_seconds() / 86400
    if age_days >= settings.retrain_max_age_days:
        return result(
            True,
            f"last retrain {age_days:.1f} days ago "
            f"(schedule {settings.retrain_max_age_days:g} days)",
        )
    return result(
        False,
        f"{counts['new_rows']} new rows, {counts['corrections']} corrections, last retrain "
        f"{age_days:.1f} days ago: below every threshold",
    )


def drift_reason(
    engine: Engine, settings: Settings, references: Mapping[str, Mapping[str, Any]]
) -> str | None:
    """Why to retrain for input drift, or None.

    The monitoring window (the last ``TITANS_MONITOR_WINDOW_DAYS`` days of the store, the window
    of the DataDrift alert) is cut to the rows dated after the last day a champion was trained
    on, i.e. data it has never seen, and compared with its training reference
    (``models.drift``).  At least ``TITANS_RETRAIN_DRIFT_MIN_ROWS`` such rows and a PSI above
    ``TITANS_RETRAIN_DRIFT_PSI`` on any feature (amount, category mix, per-account volume)
    trigger a retrain.
    """
    from titans_finance.monitoring.log import window_frame

    window = window_frame(engine, settings.monitor_window_days)
    for model_type, reference in sorted(references.items()):
        date_max = reference.get("date_max")
        if not reference.get("features") or not date_max or window.empty:
            continue
        unseen = window[window[d.DATE] > pd.Timestamp(date_max)]
        if len(unseen) < settings.retrain_drift_min_rows:
            continue
        features = drift_stats.drift(reference, unseen)
        if not features:
            continue
        feature, worst = max(features.items(), key=lambda item: item[1]["psi"])
        if worst["psi"] > settings.retrain_drift_psi:
            return (
                f"input drift: {feature} PSI {worst['psi']:.2f} > {settings.retrain_drift_psi:g} "
                f"on the {len(unseen)} latest rows the {model_type} champion never saw"
            )
    return None


# -- the steps -------------------------------------------------------------------------------------
def step_ingest(ctx: RunContext) -> dict[str, Any]:
    """Import the inbox (each new file once) and record the counts on the run."""
    report = ingest_inbox(ctx.engine, Path(ctx.settings.inbox_dir), run_id=ctx.run_id)
    store.update_run(
        ctx.engine,
        ctx.run_id,
        files_ingested=report.imported,
        files_rejected=report.rejected,
        files_skipped=report.skipped,
        rows_inserted=report.rows_inserted,
        details={"inbox": report.to_dict()},
    )
    return report.to_dict()


def step_train(ctx: RunContext) -> dict[str, Any]:
    """Train candidates when :func:`retrain_check` says so (else record why not)."""
    from titans_finance.training import load_training_data

    check = retrain_check(ctx.engine, ctx.settings, force=ctx.force)
    store.update_run(ctx.engine, ctx.run_id, retrain_reason=check.reason)
    if not check.needed:
        logger.info("no retrain: %s", check.reason)
        return {"retrain": False, "reason": check.reason}
    logger.info("retraining: %s", check.reason)
    models = pipeline_models(ctx.settings)
    data = load_training_data(ctx.settings, models=models)
    trained = cand.train_candidates(data, ctx.stage_dir, models)
    store.update_run(
        ctx.engine,
        ctx.run_id,
        retrained=1,
        last_transaction_id=check.last_transaction_id,
        last_feedback_id=check.last_feedback_id,
        details={"candidates": [asdict(c) for c in trained], "training_rows": len(data.frame)},
    )
    return {"retrain": True, "reason": check.reason, "candidates": [asdict(c) for c in trained]}


def step_evaluate(ctx: RunContext) -> dict[str, Any]:
    """Judge the run's candidates against the champions and record each decision."""
    trained = cand.read_candidates(ctx.stage_dir)
    if not trained:
        return {"decisions": []}
    judgements = cand.judge(
        ctx.stage_dir,
        Path(ctx.settings.models_dir),
        margin=ctx.settings.promotion_margin,
        candidates=trained,
    )
    if store.decisions(ctx.engine, run_id=ctx.run_id, statuses=[promotion.DECIDED]):
        raise ValidationError(f"run {ctx.run_id} has already been evaluated")
    for failed in (c for c in trained if c.error):
        store.add_decision(
            ctx.engine,
            ctx.run_id,
            model_type=failed.model_type,
            candidate_version="",
            decision=cand.KEEP,
            status=promotion.FAILED,
            reason=f"the candidate could not be trained: {failed.error}",
            margin=ctx.settings.promotion_margin,
            higher_is_better=True,
            holdout_rows=0,
        )
    for judgement in judgements:
        store.add_decision(
            ctx.engine,
            ctx.run_id,
            model_type=judgement.model_type,
            candidate_version=judgement.candidate_version,
            champion_version=judgement.champion_version,
            metric=judgement.metric,
            higher_is_better=judgement.higher_is_better,
            candidate_value=judgement.candidate_value,
            champion_value=judgement.champion_value,
            margin=judgement.margin,
            holdout_rows=judgement.holdout_rows,
            decision=judgement.decision,
            status=promotion.DECIDED,
            reason=judgement.reason,
        )
    return {"decisions": [asdict(j) for j in judgements]}


def step_promote(ctx: RunContext) -> dict[str, Any]:
    """Record every decision in MLflow and install the promoted candidates."""
    done = promotion.carry_out(
        ctx.engine,
        ctx.run_id,
        ctx.stage_dir,
        Path(ctx.settings.models_dir),
        tracking_uri=ctx.settings.mlflow_tracking_uri,
        fail_point=ctx.fail_point,
    )
    promoted = [d for d in done if d["status"] == promotion.PROMOTED]
    store.update_run(ctx.engine, ctx.run_id, promoted=len(promoted))
    return {"promoted": [d["model_type"] for d in promoted]}


def step_reload(ctx: RunContext) -> dict[str, Any]:
    """Check the champions load as serving will load them, then clean the staging folder.

    Serving (the API) swaps a new set in by itself within ``TITANS_MODEL_RELOAD_SECONDS``.
    """
    from titans_finance.serving import load_model_set

    loaded = load_model_set(Path(ctx.settings.models_dir))
    promoted = store.decisions(ctx.engine, run_id=ctx.run_id, statuses=[promotion.PROMOTED])
    for decision in promoted:
        version = loaded.version(decision["model_type"])
        if version != decision["candidate_version"]:
            raise PipelineRunError(
                f"the promoted {decision['model_type']} model {decision['candidate_version']} "
                f"does not load from {ctx.settings.models_dir} (found {version}): "
                f"{loaded.errors.get(decision['model_type'], 'another version')}"
            )
    serving = {name: loaded.version(name) for name in sorted(loaded.models)}
    store.update_run(ctx.engine, ctx.run_id, details={"serving": serving})
    shutil.rmtree(ctx.stage_dir, ignore_errors=True)
    return {"serving": serving, "errors": dict(loaded.errors)}


_STEP_FUNCTIONS: dict[str, Callable[[RunContext], dict[str, Any]]] = {
    "ingest": step_ingest,
    "train": step_train,
    "evaluate": step_evaluate,
    "promote": step_promote,
    "reload": step_reload,
}


# -- running ---------------------------------------------------------------------------------------
def _prepare(ctx: RunContext) -> None:
    """Recovery before the first step: interrupted swaps and promotions, old staging folders."""
    notes = promotion.recover(
        ctx.engine,
        ctx.settings.pipeline_dir,
        Path(ctx.settings.models_dir),
        tracking_uri=ctx.settings.mlflow_tracking_uri,
        run_id=ctx.run_id,
    )
    if notes:
        store.update_run(ctx.engine, ctx.run_id, details={"recovered": notes})
    runs_dir = Path(ctx.settings.pipeline_dir) / "runs"
    if runs_dir.is_dir():
        open_runs = {
            r["id"] for r in store.list_runs(ctx.engine, limit=50) if r["status"] == store.RUNNING
        }
        for folder in runs_dir.iterdir():
            if folder.name.isdigit() and int(folder.name) not in open_runs:
                shutil.rmtree(folder, ignore_errors=True)


def _run_steps(ctx: RunContext, steps: tuple[str, ...], timings: dict[str, float]) -> None:
    for name in steps:
        store.update_run(ctx.engine, ctx.run_id, stage=name)
        logger.info("pipeline run %d: %s", ctx.run_id, name)
        started = time.perf_counter()
        _STEP_FUNCTIONS[name](ctx)
        timings[name] = round(time.perf_counter() - started, 3)
        store.update_run(ctx.engine, ctx.run_id, details={"seconds": timings})


def _guarded(ctx: RunContext, steps: tuple[str, ...], *, finish: bool) -> dict[str, Any]:
    """Run ``steps`` under the lock; any failure marks the run failed with the reason."""
    timings: dict[str, float] = dict(
        store.get_run(ctx.engine, ctx.run_id)["details"].get("seconds", {})
    )
    try:
        with pipeline_lock(
            ctx.engine, ctx.run_id, ttl_seconds=ctx.settings.pipeline_lock_ttl_seconds
        ):
            if steps[0] == STEPS[0]:
                _prepare(ctx)
            _run_steps(ctx, steps, timings)
    except PipelineBusyError as exc:  # this run never started its work
        store.update_run(ctx.engine, ctx.run_id, status=SKIPPED, error=exc.message, stage=None)
        raise
    except TitansError as exc:
        store.finish_run(ctx.engine, ctx.run_id, error=exc.message)
        raise
    except BaseException as exc:
        logger.exception("pipeline run %d failed", ctx.run_id)
        reason = f"{type(exc).__name__}: {exc}".strip().rstrip(":")
        store.finish_run(ctx.engine, ctx.run_id, error=f"unexpected failure ({reason})")
        if isinstance(exc, Exception):
            raise PipelineRunError(
                f"pipeline run {ctx.run_id} failed: {reason}; see `titans pipeline runs`"
            ) from exc
        raise
    if finish:
        store.finish_run(ctx.engine, ctx.run_id)
    return store.get_run(ctx.engine, ctx.run_id)


def run_pipeline(
    settings: Settings,
    *,
    force: bool = False,
    trigger: str = "cli",
    fail_point: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """One whole run under one hold of the store lock; returns the stored run record.

    PipelineBusyError (exit 75) when another run holds the lock; any other failure is
    recorded on the run (status failed, with the reason) and raised.
    """
    from titans_finance.storage.db import get_engine

    engine = get_engine(settings.database_url)
    run_id = store.start_run(engine, trigger=trigger)
    ctx = RunContext(settings, engine, run_id, force=force, fail_point=fail_point)
    return _guarded(ctx, STEPS, finish=True)


def run_step(
    step: str,
    settings: Settings,
    *,
    external_id: str,
    force: bool = False,
    trigger: str = "airflow",
) -> dict[str, Any]:
    """One step of the run ``external_id`` (created by its first step); ``reload``, the last,
    marks it succeeded."""
    from titans_finance.storage.db import get_engine

    if step not in STEPS:
        raise ValidationError(f"unknown pipeline step {step!r}; choose one of {', '.join(STEPS)}")
    engine = get_engine(settings.database_url)
    run_id = store.start_run(engine, trigger=trigger, external_id=external_id)
    run = store.get_run(engine, run_id)
    if run["status"] != store.RUNNING:
        raise ValidationError(
            f"pipeline run {run_id} ({external_id}) is already {run['status']}; start a new run"
        )
    ctx = RunContext(settings, engine, run_id, force=force)
    return _guarded(ctx, (step,), finish=step == STEPS[-1])


__all__ = [
    "STEPS",
    "RetrainCheck",
    "RunContext",
    "drift_reason",
    "retrain_check",
    "run_pipeline",
    "run_step",
    "step_evaluate",
    "step_ingest",
    "step_promote",
    "step_reload",
    "step_train",
]

"""Carrying out decisions: MLflow first, then an atomic swap of the folder serving loads.

Order for a promotion: every candidate is registered in MLflow (no alias), the decision is
marked ``promoting`` in the store, the ``champion`` alias moves, the verified folder is swapped
into ``TITANS_MODELS_DIR`` by rename, and the decision becomes ``promoted``.  MLflow being
unreachable stops before anything changes.  A crash after the alias moved leaves the old
folder serving whole and the decision ``promoting``; the next run finishes it
(:func:`recover`).  A crash between the two renames of the swap leaves ``.<model>.previous``,
which :func:`recover` puts back.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from titans_finance.errors import PipelineRunError, TitansError
from titans_finance.models.catalog import MODEL_CLASSES, model_class
from titans_finance.pipeline.candidates import FULL, PROMOTE
from titans_finance.storage import pipeline_runs as store

logger = logging.getLogger(__name__)

DECIDED = "decided"
PROMOTING = "promoting"
PROMOTED = "promoted"
CHALLENGER = "challenger"
FAILED = "failed"
ABANDONED = "abandoned"


def install(candidate: Path, models_dir: Path, model_type: str) -> None:
    """Verify a saved model folder and swap it in as ``models_dir/<model_type>`` by rename."""
    cls = model_class(model_type)
    models_dir = Path(models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    incoming = models_dir / f".{model_type}.incoming"
    previous = models_dir / f".{model_type}.previous"
    target = models_dir / model_type
    shutil.rmtree(incoming, ignore_errors=True)
    shutil.copytree(candidate, incoming / model_type)
    cls.load(incoming)  # checksums verified on the copy that will serve
    shutil.rmtree(previous, ignore_errors=True)
    if target.exists():
        target.rename(previous)
    (incoming / model_type).rename(target)
    shutil.rmtree(previous, ignore_errors=True)
    shutil.rmtree(incoming, ignore_errors=True)


def restore_interrupted_swaps(models_dir: Path) -> list[str]:
    """Put back a ``.<model>.previous`` folder whose swap was cut between its two renames."""
    restored = []
    for model_type in MODEL_CLASSES:
        previous = Path(models_dir) / f".{model_type}.previous"
        target = Path(models_dir) / model_type
        if previous.exists() and not target.exists():
            previous.rename(target)
            restored.append(model_type)
            logger.warning("restored the %s model folder after an interrupted swap", model_type)
        elif previous.exists():
            shutil.rmtree(previous, ignore_errors=True)
    return restored


def carry_out(
    engine: Engine,
    run_id: int,
    stage_dir: Path,
    models_dir: Path,
    *,
    tracking_uri: str,
    fail_point: Any = None,
) -> list[dict[str, Any]]:
    """Register every decided candidate in MLflow, then move aliases and install promotions.

    Any MLflow failure marks the run's open decisions failed and raises PipelineRunError;
    nothing is promoted then.  ``fail_point`` (tests only) is called between the alias move and
    the folder swap, to simulate a crash there.
    """
    from titans_finance import registry

    pending = store.decisions(engine, run_id=run_id, statuses=[DECIDED])
    if not pending:
        return []
    try:
        registry.prepare(tracking_uri).result()
        for decision in pending:
            record = registry.register_candidate(
                decision["model_type"],
                Path(stage_dir) / FULL / decision["model_type"],
                tracking_uri=tracking_uri,
                metrics=_registry_metrics(decision),
                params={"pipeline_run": run_id, "holdout_rows": decision["holdout_rows"]},
                primary_metric=decision["metric"],
                higher_is_better=decision["higher_is_better"],
                model_version=decision["candidate_version"],
                tags={
                    "titans.pipeline_run": str(run_id),
                    "titans.decision": decision["decision"],
                    "titans.decision_reason": decision["reason"][:5000],
                },
            )
            store.update_decision(engine, decision["id"], registry_version=record.version)
            decision["registry_version"] = record.version
    except Exception as exc:
        reason = f"MLflow ({_safe_uri(tracking_uri)}) refused the candidates: {_short(exc)}"
        _fail_open(engine, pending, reason + "; nothing was promoted")
        raise PipelineRunError(reason + "; nothing was promoted, the next run retries") from exc
    for decision in pending:
        _apply(engine, decision, stage_dir, models_dir, tracking_uri, fail_point)
    return store.decisions(engine, run_id=run_id)


def _apply(
    engine: Engine,
    decision: dict[str, Any],
    stage_dir: Path,
    models_dir: Path,
    tracking_uri: str,
    fail_point: Any,
) -> None:
    from titans_finance import registry

    model_type = decision["model_type"]
    try:
        if decision["decision"] != PROMOTE:
            registry.set_alias(
                model_type,
                decision["registry_version"],
                registry.CHALLENGER,
                tracking_uri=tracking_uri,
            )
            store.update_decision(engine, decision["id"], status=CHALLENGER)
            return
        previous = registry.alias_version(model_type, registry.CHAMPION, tracking_uri=tracking_uri)
        store.update_decision(engine, decision["id"], status=PROMOTING)
        registry.set_alias(
            model_type, decision["registry_version"], registry.CHAMPION, tracking_uri=tracking_uri
        )
    except Exception as exc:
        reason = f"MLflow ({_safe_uri(tracking_uri)}) failed: {_short(exc)}"
        _fail_open(engine, [decision], reason + "; not promoted")
        raise PipelineRunError(reason + f"; {model_type} was not promoted") from exc
    if fail_point is not None:
        fail_point(model_type)
    try:
        install(Path(stage_dir) / FULL / model_type, models_dir, model_type)
    except (OSError, TitansError) as exc:
        if previous is not None:
            try:
                registry.set_alias(
                    model_type, previous, registry.CHAMPION, tracking_uri=tracking_uri
                )
            except Exception:
                logger.exception("could not move the %s champion alias back", model_type)
        reason = f"installing the {model_type} candidate failed: {_short(exc)}"
        store.update_decision(engine, decision["id"], status=FAILED, reason=reason)
        raise PipelineRunError(reason + "; the previous champion keeps serving") from exc
    store.update_decision(engine, decision["id"], status=PROMOTED)
    logger.info("%s %s promoted to champion", model_type, decision["candidate_version"])


def recover(
    engine: Engine, pipeline_dir: Path, models_dir: Path, *, tracking_uri: str, run_id: int
) -> list[str]:
    """Finish what a crashed run left: interrupted folder swaps, promotions stuck in
    ``promoting`` (completed when the candidate is still staged, else abandoned)."""
    from titans_finance import registry

    notes = [f"restored {m}" for m in restore_interrupted_swaps(models_dir)]
    for decision in store.decisions(engine, statuses=[PROMOTING]):
        model_type = decision["model_type"]
        staged = run_stage_dir(pipeline_dir, decision["run_id"]) / FULL / model_type
        if not staged.is_dir() or not decision["registry_version"]:
            store.update_decision(
                engine,
                decision["id"],
                status=ABANDONED,
                reason=decision["reason"] + f"; abandoned by run {run_id}: the candidate is gone",
            )
            notes.append(f"abandoned {model_type} of run {decision['run_id']}")
            continue
        registry.set_alias(
            model_type, decision["registry_version"], registry.CHAMPION, tracking_uri=tracking_uri
        )
        install(staged, models_dir, model_type)
        store.update_decision(
            engine,
            decision["id"],
            status=PROMOTED,
            reason=decision["reason"] + f"; completed by run {run_id} after an interruption",
        )
        notes.append(f"completed {model_type} of run {decision['run_id']}")
    for note in notes:
        logger.warning("recovery: %s", note)
    return notes


def run_stage_dir(pipeline_dir: Path, run_id: int) -> Path:
    """Where a run stages its candidates and hold-out."""
    return Path(pipeline_dir) / "runs" / str(run_id)


def _fail_open(engine: Engine, decisions: list[dict[str, Any]], reason: str) -> None:
    for decision in decisions:
        store.update_decision(
            engine, decision["id"], status=FAILED, reason=f"{decision['reason']}; {reason}"
        )


def _registry_metrics(decision: dict[str, Any]) -> dict[str, float]:
    metrics: dict[str, float] = {}
    if decision["candidate_value"] is not None:
        metrics[f"holdout_{decision['metric']}"] = decision["candidate_value"]
        if decision["metric"]:
            metrics[decision["metric"]] = decision["candidate_value"]
    if decision["champion_value"] is not None:
        metrics[f"champion_{decision['metric']}"] = decision["champion_value"]
    metrics["promoted"] = 1.0 if decision["decision"] == PROMOTE else 0.0
    return metrics


def _safe_uri(uri: str) -> str:
    """A tracking URI without credentials, for messages."""
    if "@" in uri and "://" in uri:
        scheme, rest = uri.split("://", 1)
        return f"{scheme}://{rest.split('@', 1)[1]}"
    return uri


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text[:300]}" if text else type(exc).__name__


__all__ = [
    "ABANDONED",
    "CHALLENGER",
    "DECIDED",
    "FAILED",
    "PROMOTED",
    "PROMOTING",
    "carry_out",
    "install",
    "recover",
    "restore_interrupted_swaps",
    "run_stage_dir",
]

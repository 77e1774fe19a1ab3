"""Candidates: trained on the store, judged against the champion on one time-ordered hold-out.

Each model type gets two fits of the same recipe: one on the earlier rows (``eval/``, what is
judged) and one on every row (``full/``, what is promoted).  The champion is the model serving
now (``TITANS_MODELS_DIR``), scored as it is on the same hold-out rows.  The champion may have
seen some of those rows when it was trained, which only favours keeping it.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from titans_finance import domain as d
from titans_finance.errors import ModelNotTrainedError, TitansError, TrainingDataError
from titans_finance.models.base import METADATA_NAME, TitansModel, read_metadata
from titans_finance.models.catalog import available_models, model_class
from titans_finance.models.signing import SIGNATURE_FIELD, SigningPolicy
from titans_finance.training import (
    EVERY_ACCOUNT_MODELS,
    RECENT_ROW_MODELS,
    TrainingData,
    new_model,
    primary_metric,
    time_split,
)

logger = logging.getLogger(__name__)

EVAL = "eval"
FULL = "full"
HOLDOUT_FILE = "holdout.parquet"
#: the hold-out of cash flow and recurring when they learn from every account of the window
#: and the other models from sampled accounts (`TrainingData.history`)
HISTORY_HOLDOUT_FILE = "holdout_history.parquet"
#: the hold-out of amount and anomaly then (every account's recent days, `TrainingData.recent`)
RECENT_HOLDOUT_FILE = "holdout_recent.parquet"
MANIFEST_FILE = "candidates.json"
PROMOTE = "promote"
KEEP = "keep"


@dataclass
class Candidate:
    """One model type's candidate: where its fits are, or why it could not be trained."""

    model_type: str
    version: str | None = None
    training_rows: int = 0
    error: str | None = None


@dataclass
class Judgement:
    """A candidate compared with the champion on the hold-out."""

    model_type: str
    candidate_version: str
    champion_version: str | None
    metric: str | None
    higher_is_better: bool
    candidate_value: float | None
    champion_value: float | None
    margin: float
    holdout_rows: int
    decision: str
    reason: str
    candidate_metrics: dict[str, float]
    champion_metrics: dict[str, float]


def train_candidates(
    data: TrainingData, stage_dir: Path, model_types: list[str] | None = None
) -> list[Candidate]:
    """Fit every model type on the earlier rows and on all rows of the frame it learns from
    (`TrainingData.for_model`), into ``stage_dir``; the hold-out rows of each frame are written
    beside them so the evaluation (maybe another process) scores the same rows.
    """
    stage_dir = Path(stage_dir)
    if stage_dir.exists():
        shutil.rmtree(stage_dir)
    stage_dir.mkdir(parents=True)
    types = model_types or available_models()
    frames: dict[str, pd.DataFrame] = {}
    for model_type in types:  # only the frames a requested model learns from
        frame = data.for_model(model_type)
        frames.setdefault(HOLDOUT_FILE if frame is data.frame else _frame_name(model_type), frame)
    splits = {}
    for name, frame in frames.items():
        train, holdout = time_split(frame)
        if len(holdout) == 0 or len(train) == 0:
            raise TrainingDataError(f"{len(frame)} rows are too few for a hold-out evaluation")
        holdout.reset_index(drop=True).to_parquet(stage_dir / name)
        splits[name] = train, frame
    out = []
    for model_type in types:
        train, frame = splits[_holdout_name(model_type, stage_dir)]
        logger.info("training the %s candidate on %d + %d rows", model_type, len(train), len(frame))
        try:
            new_model(model_type).fit(train).save(stage_dir / EVAL)
            full = new_model(model_type).fit(frame)
            full.save(stage_dir / FULL)
        except TitansError as exc:
            logger.warning("%s candidate not trained: %s", model_type, exc.message)
            out.append(Candidate(model_type, error=exc.message))
            continue
        out.append(Candidate(model_type, full.metadata_.version, len(frame)))
    (stage_dir / MANIFEST_FILE).write_text(json.dumps([asdict(c) for c in out], indent=2))
    return out


def _frame_name(model_type: str) -> str:
    """The hold-out file of ``model_type``'s own frame when accounts were sampled."""
    if model_type in EVERY_ACCOUNT_MODELS:
        return HISTORY_HOLDOUT_FILE
    if model_type in RECENT_ROW_MODELS:
        return RECENT_HOLDOUT_FILE
    return HOLDOUT_FILE


def _holdout_name(model_type: str, stage_dir: Path) -> str:
    """The hold-out file ``model_type``'s candidate is judged on."""
    name = _frame_name(model_type)
    return name if (stage_dir / name).is_file() else HOLDOUT_FILE


def read_candidates(stage_dir: Path) -> list[Candidate]:
    """The candidates a train step wrote (none when it did not train)."""
    manifest = Path(stage_dir) / MANIFEST_FILE
    if not manifest.is_file():
        return []
    return [Candidate(**item) for item in json.loads(manifest.read_text())]


def _score(model: TitansModel, holdout: pd.DataFrame) -> tuple[dict[str, float], str | None]:
    history_end = getattr(model, "history_end_", None)
    if history_end is not None and d.DATE in holdout:
        # sequential models score only rows after their history: none means no comparison
        last = pd.to_datetime(holdout[d.DATE]).max()
        if pd.Timestamp(history_end) >= last:
            return {}, (
                f"its history ends {pd.Timestamp(history_end).date()}, after every hold-out row "
                "(it has seen them all); it can be compared once newer rows arrive"
            )
    try:
        metrics = model.evaluate(holdout)
    except TitansError as exc:
        return {}, exc.message
    return {key: float(value) for key, value in metrics.items()}, None


def _usable(value: float | None) -> bool:
    return value is not None and not math.isnan(value)


def decide(
    metric: str | None,
    higher_is_better: bool,
    candidate_value: float | None,
    champion_value: float | None,
    margin: float,
) -> tuple[str, str]:
    """Promote only when the candidate beats the champion by ``margin`` (relative) on the
    model's own metric; returns (decision, the reason in words)."""
    if metric is None or not _usable(candidate_value):
        return KEEP, f"the candidate has no {metric or 'hold-out'} value to compare"
    assert candidate_value is not None
    if not _usable(champion_value):
        return KEEP, f"the champion has no {metric} on this hold-out to compare with"
    assert champion_value is not None
    needed = abs(champion_value) * margin
    if higher_is_better:
        better = candidate_value > champion_value and candidate_value >= champion_value + needed
        sign = "higher"
    else:
        better = candidate_value < champion_value and candidate_value <= champion_value - needed
        sign = "lower"
    words = (
        f"{metric} {candidate_value:.4f} vs champion {champion_value:.4f} "
        f"({sign} is better, margin {margin:.1%})"
    )
    if better:
        return PROMOTE, f"better: {words}"
    return KEEP, f"not better by the margin: {words}"


def judge(
    stage_dir: Path, models_dir: Path, *, margin: float, candidates: list[Candidate]
) -> list[Judgement]:
    """Score every trained candidate and the champion on the stored hold-out and decide."""
    holdouts: dict[str, pd.DataFrame] = {}
    out = []
    for candidate in candidates:
        if candidate.version is None:
            continue
        name = _holdout_name(candidate.model_type, Path(stage_dir))
        if name not in holdouts:
            holdouts[name] = pd.read_parquet(Path(stage_dir) / name)
        holdout = holdouts[name]
        cls = model_class(candidate.model_type)
        evaluated = cls.load(Path(stage_dir) / EVAL)
        cand_metrics, cand_error = _score(evaluated, holdout)
        metric, higher = primary_metric(cls, cand_metrics)
        champion: TitansModel | None = None
        champion_error: str | None = None
        try:
            champion = cls.load(models_dir)
        except ModelNotTrainedError:
            champion = None
        except TitansError as exc:
            champion_error = f"the champion cannot be loaded ({exc.message})"
        champ_metrics: dict[str, float] = {}
        if champion is not None:
            champ_metrics, champion_error = _score(champion, holdout)
        cand_value = cand_metrics.get(metric) if metric else None
        champ_value = champ_metrics.get(metric) if metric else None
        if cand_error is not None:
            decision, reason = KEEP, f"the candidate could not be evaluated: {cand_error}"
        elif champion is None and champion_error is None:
            decision, reason = PROMOTE, "there is no champion yet"
        elif champion is None:
            decision, reason = PROMOTE, str(champion_error)
        elif champion_error is not None:
            decision = KEEP
            reason = f"the champion could not be scored on this hold-out: {champion_error}"
        else:
            decision, reason = decide(metric, higher, cand_value, champ_value, margin)
        logger.info("%s: %s (%s)", candidate.model_type, decision, reason)
        _write_metrics(Path(stage_dir) / FULL / candidate.model_type, cand_metrics)
        out.append(
            Judgement(
                model_type=candidate.model_type,
                candidate_version=candidate.version,
                champion_version=None if champion is None else champion.metadata_.version,
                metric=metric,
                higher_is_better=higher,
                candidate_value=cand_value,
                champion_value=champ_value,
                margin=margin,
                holdout_rows=len(holdout),
                decision=decision,
                reason=reason,
                candidate_metrics=cand_metrics,
                champion_metrics=champ_metrics,
            )
        )
    return out


def _write_metrics(folder: Path, metrics: dict[str, float]) -> None:
    """Put the hold-out metrics into the promotable fit's metadata and sign it again (the
    signature covers the metadata; with a key, the current signature is verified first, so a
    folder changed since training is never re-signed)."""
    policy = SigningPolicy.current()
    if policy.key is not None:
        read_metadata(folder, folder.name, policy)  # ModelIntegrityError if tampered with
    path = folder / METADATA_NAME
    data: dict[str, Any] = json.loads(path.read_text())
    data["metrics"] = {k: v for k, v in metrics.items() if _usable(v)}
    data[SIGNATURE_FIELD] = policy.sign(data)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2))
    tmp.replace(path)


__all__ = [
    "EVAL",
    "FULL",
    "KEEP",
    "PROMOTE",
    "Candidate",
    "Judgement",
    "decide",
    "judge",
    "read_candidates",
    "train_candidates",
]

"""Training: time-ordered hold-out evaluation, refit on everything, save, record in MLflow.

``train_model`` is what the CLI, the API and the demo call; the model directory it writes is
what serving loads, and the registry (MLflow) is the record of every run.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from titans_finance import domain as d
from titans_finance.config import Settings, get_settings
from titans_finance.errors import TrainingDataError
from titans_finance.models.base import TitansModel
from titans_finance.models.catalog import model_class
from titans_finance.models.signing import SigningPolicy

if TYPE_CHECKING:
    from sqlalchemy import Engine

logger = logging.getLogger(__name__)

HOLDOUT_FRACTION = 0.25
_LOWER_IS_BETTER_HINTS = ("error", "mae", "rmse", "mse", "mape", "loss", "ece", "pinball")

StageCallback = Callable[[str], None]
#: constructor options for training on a user's whole history: scheduled or pending payments
#: (dated after today, which ingest accepts) are left out of a cash-flow model, with a warning,
#: rather than failing `titans train all`
_TRAINING_OPTIONS: dict[str, dict[str, Any]] = {"cashflow": {"drop_future_rows": True}}


@dataclass
class TrainResult:
    """What one training run produced."""

    model_type: str
    model_dir: Path
    version: str
    training_rows: int
    holdout_rows: int
    metrics: dict[str, float]
    alias: str | None = None
    registry_version: str | None = None
    run_id: str | None = None
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    registry_seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        data = asdict(self)
        data["model_dir"] = str(self.model_dir)
        return data


def new_model(model_type: str) -> TitansModel:
    """An unfitted model of ``model_type`` with the options used for training on a whole
    history (the one recipe `titans train` and the pipeline share)."""
    return model_class(model_type)(**_TRAINING_OPTIONS.get(model_type, {}))


def time_split(
    frame: pd.DataFrame, holdout_fraction: float = HOLDOUT_FRACTION
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Earlier ``1 - holdout_fraction`` of the rows (by Date, ties in input order) and the rest.

    Without a Date column the input order is taken as time order.
    """
    ordered = frame
    if d.DATE in frame:
        dates = pd.to_datetime(frame[d.DATE], errors="coerce")
        if getattr(dates.dt, "tz", None) is not None:
            dates = dates.dt.tz_localize(None)
        key = dates.fillna(pd.Timestamp.max).to_numpy()
        ordered = frame.iloc[np.argsort(key, kind="stable")]
    cut = round(len(ordered) * (1.0 - holdout_fraction))
    return ordered.iloc[:cut], ordered.iloc[cut:]


def primary_metric(cls: type[TitansModel], metrics: dict[str, float]) -> tuple[str | None, bool]:
    """The metric champions are compared on and whether higher is better.

    A model class may declare ``primary_metric`` and ``higher_is_better`` class attributes;
    otherwise the first reported metric is used, lower-is-better when its name says error/loss.
    """
    declared = getattr(cls, "primary_metric", None)
    if declared:
        return str(declared), bool(getattr(cls, "higher_is_better", True))
    candidates = [key for key in metrics if key not in ("rows", "n", "holdout_rows")]
    if not candidates:
        return None, True
    name = candidates[0]
    return name, not any(hint in name.lower() for hint in _LOWER_IS_BETTER_HINTS)


def _holdout_metrics(
    cls: type[TitansModel], frame: pd.DataFrame, holdout_fraction: float
) -> tuple[dict[str, float], int, list[str]]:
    train, holdout = time_split(frame, holdout_fraction)
    if not callable(getattr(cls, "evaluate", None)):
        return {}, len(holdout), [f"{cls.model_type} model has no evaluate(); no hold-out metrics"]
    if len(holdout) == 0:
        return {}, 0, ["too few rows for a hold-out evaluation"]
    try:
        model = new_model(cls.model_type).fit(train)
    except TrainingDataError as exc:
        return {}, len(holdout), [f"hold-out evaluation skipped: {exc.message}"]
    metrics = model.evaluate(holdout)
    return {k: float(v) for k, v in metrics.items()}, len(holdout), []


def evaluate_model(
    model_type: str, frame: pd.DataFrame, holdout_fraction: float = HOLDOUT_FRACTION
) -> dict[str, float]:
    """Hold-out metrics of ``model_type`` trained on the earlier rows of ``frame`` (no save)."""
    cls = model_class(model_type)
    if not callable(getattr(cls, "evaluate", None)):
        raise TrainingDataError(f"the {model_type} model does not define an evaluation")
    train, holdout = time_split(frame, holdout_fraction)
    if len(holdout) == 0:
        raise TrainingDataError(f"{len(frame)} rows are too few for a hold-out evaluation")
    model = new_model(model_type).fit(train)
    metrics = model.evaluate(holdout)
    return {k: float(v) for k, v in metrics.items()}


def train_model(
    model_type: str,
    frame: pd.DataFrame,
    models_dir: Path,
    *,
    settings: Settings | None = None,
    log_to_registry: bool = True,
    holdout_fraction: float = HOLDOUT_FRACTION,
    on_stage: StageCallback | None = None,
) -> TrainResult:
    """Evaluate on a time-ordered hold-out, refit on all rows, save to ``models_dir``, then log
    the run to MLflow and register it (``champion`` if it beats the current one).

    An MLflow failure does not fail training: the model is saved and a warning is returned.
    """
    started = time.perf_counter()
    settings = settings or get_settings()
    signing = SigningPolicy.from_settings(settings)
    signing.check_can_sign()  # before minutes of fitting, not after
    stage = on_stage or (lambda _name: None)
    cls = model_class(model_type)
    if log_to_registry:
        from titans_finance import registry

        registry.prepare(settings.mlflow_tracking_uri)  # mlflow imports while we fit
    stage("evaluating on the hold-out")
    metrics, holdout_rows, warnings = _holdout_metrics(cls, frame, holdout_fraction)
    stage("fitting on all rows")
    model = new_model(model_type).fit(frame)
    dropped = int(getattr(model, "dropped_future_rows_", 0))
    if dropped:
        warnings.append(f"{dropped} row(s) dated after today were left out (scheduled payments)")
    model.metadata_.metrics = metrics
    stage("saving")
    target = model.save(Path(models_dir), signing)
    result = TrainResult(
        model_type=model_type,
        model_dir=target,
        version=model.metadata_.version,
        training_rows=len(frame),
        holdout_rows=holdout_rows,
        metrics=metrics,
        warnings=warnings,
    )
    if log_to_registry:
        stage("recording in MLflow")
        registry_started = time.perf_counter()
        try:
            _record(result, cls, model, settings)
        except Exception as exc:  # MLflow is the record, not the product: keep the model
            message = f"MLflow logging failed ({type(exc).__name__}: {exc}); model saved anyway"
            logger.warning(message)
            result.warnings.append(message)
        result.registry_seconds = time.perf_counter() - registry_started
    result.seconds = time.perf_counter() - started
    for warning in result.warnings:
        logger.warning("%s: %s", model_type, warning)
    return result


def _record(
    result: TrainResult, cls: type[TitansModel], model: TitansModel, settings: Settings
) -> None:
    from titans_finance import registry

    metric, higher = primary_metric(cls, result.metrics)
    record = registry.log_training_run(
        result.model_type,
        result.model_dir,
        tracking_uri=settings.mlflow_tracking_uri,
        metrics=result.metrics,
        params={**model.metadata_.params, "training_rows": result.training_rows},
        primary_metric=metric,
        higher_is_better=higher,
        model_version=result.version,
    )
    result.alias = record.alias
    result.registry_version = record.version
    result.run_id = record.run_id


#: models that learn per-account streams and balances: they read every account of the window
#: (the others learn from the accounts sampled when the window holds more than the cap)
EVERY_ACCOUNT_MODELS = frozenset({"cashflow", "recurring"})
#: models that keep per-account statistics of recent rows (an account missing from them is one
#: with no past): when accounts are sampled they read every account's most recent days within
#: the cap instead (`TrainingData.recent`)
RECENT_ROW_MODELS = frozenset({"amount", "anomaly"})


@dataclass
class TrainingData:
    """The rows training reads, and how many the source held.

    ``frame`` is what category learns from (and every model, unless accounts were sampled);
    ``history`` what cash flow and recurring learn from: the same window with every account (from
    the store one row per account x day x merchant x sign, `storage.aggregates.account_day_moves`);
    ``recent`` what amount and anomaly learn from: every account's most recent whole days within
    the cap (their per-account statistics must know every account).
    """

    frame: pd.DataFrame
    source_rows: int
    #: first date of the window when rows were left out (the source held more than the cap)
    since: str | None = None
    history: pd.DataFrame | None = None
    #: accounts in ``frame`` and in the window, when accounts were sampled
    sampled_accounts: int | None = None
    window_accounts: int | None = None
    recent: pd.DataFrame | None = None

    def for_model(self, model_type: str) -> pd.DataFrame:
        """The frame ``model_type`` learns from."""
        if model_type in EVERY_ACCOUNT_MODELS and self.history is not None:
            return self.history
        if model_type in RECENT_ROW_MODELS and self.recent is not None:
            return self.recent
        return self.frame


def recent_start(days: np.ndarray, max_rows: int) -> np.datetime64:
    """First day of the most recent whole days holding at most ``max_rows`` of ``days`` (day
    values, one per row; at least the latest day); ``days`` holds more than ``max_rows``."""
    # the (max_rows + 1)-th most recent day: every row dated after it fits in the window
    beyond = np.partition(days, len(days) - max_rows - 1)[len(days) - max_rows - 1]
    after = days[days > beyond]
    first: np.datetime64 = after.min() if len(after) else days.max()
    return first


def sample_accounts(rows: Mapping[str, int], max_rows: int) -> list[str]:
    """Whole accounts holding at most ``max_rows`` rows together, taken in the order of a hash
    of their names (an account that would overflow the cap is passed over): the same accounts
    on every run and from every source (a file or the store), none favoured by its name.
    Empty when no account fits whole."""

    def key(name: str) -> bytes:
        return hashlib.blake2b(name.encode(), digest_size=8).digest()

    chosen: list[str] = []
    total = 0
    for name in sorted(rows, key=key):
        if total + rows[name] <= max_rows:  # else a smaller account further on may still fit
            chosen.append(name)
            total += rows[name]
    return chosen


def _iso_day(day: np.datetime64) -> str:
    """A day value as YYYY-MM-DD."""
    return pd.Timestamp(day).date().isoformat()


def _read_training_file(path: Path, max_rows: int, min_days: int) -> TrainingData:
    """A file as a model frame (`read_model_frame`: nothing is stored), cut to the window of
    :func:`load_training_data`, then merchants named for the kept rows only."""
    from titans_finance.frame import text_column
    from titans_finance.ingest.pipeline import read_model_frame
    from titans_finance.merchants import normalize_merchants

    frame = read_model_frame(path)
    if max_rows <= 0 or len(frame) <= max_rows:
        frame[d.MERCHANT] = normalize_merchants(frame[d.DESCRIPTION])
        return TrainingData(frame, len(frame))
    days = frame[d.DATE].dt.normalize().to_numpy()
    start = start_of_recent = recent_start(days, max_rows)
    if min_days > 0:
        start = min(start, days.max() - np.timedelta64(min_days - 1, "D"))
    window = frame.loc[days >= start].reset_index(drop=True)
    # the first day of the window, as the store path reports it (not its first row's date)
    since = None if len(window) == len(frame) else _iso_day(start)
    window[d.MERCHANT] = normalize_merchants(window[d.DESCRIPTION])
    if len(window) <= max_rows:
        return TrainingData(window, len(frame), since)
    accounts = text_column(window, d.ACCOUNT, d.DEFAULT_ACCOUNT)
    counts = accounts.value_counts()
    rows = dict(zip(counts.index.astype(str), counts.to_numpy(int).tolist(), strict=True))
    chosen = sample_accounts(rows, max_rows)
    is_recent = (window[d.DATE] >= start_of_recent).to_numpy()
    recent = window.loc[is_recent].reset_index(drop=True)
    if not chosen:  # no whole account fits the cap: every model reads the recent days
        since = _iso_day(start_of_recent)
        return TrainingData(recent, len(frame), since, window, None, len(counts))
    sampled = window.loc[accounts.isin(chosen).to_numpy()].reset_index(drop=True)
    return TrainingData(sampled, len(frame), since, window, len(chosen), len(counts), recent)


def _store_window(engine: Engine, max_rows: int, min_days: int) -> tuple[date | None, date | None]:
    """First days of the store's most recent days within ``max_rows`` and of the training
    window (None: from the first day).  The window starts earlier when ``min_days`` widens it
    (then it holds more than ``max_rows`` rows)."""
    from titans_finance.storage.repository import recent_days_start, transaction_dates

    recent = recent_days_start(engine, max_rows)
    if recent is None or min_days <= 0:
        return recent, recent
    first, last = transaction_dates(engine)
    if first is None or last is None:  # emptied since: nothing to widen
        return recent, recent
    earliest = max(first, last - timedelta(days=min_days - 1))
    if earliest >= recent:
        return recent, recent
    return recent, (None if earliest == first else earliest)


def load_training_data(
    settings: Settings,
    data: Path | None = None,
    max_rows: int | None = None,
    min_days: int | None = None,
    models: Collection[str] | None = None,
) -> TrainingData:
    """Training data: a file in any supported layout (``data``) or the store's transactions
    (with user category corrections applied).

    The window is the most recent whole days holding at most ``max_rows`` rows (default
    ``settings.train_max_rows``; 0: every row), widened to the ``min_days`` most recent days
    (default ``settings.train_min_days``; 0: no minimum).  When those days hold more than
    ``max_rows`` rows, ``frame`` keeps the whole accounts `sample_accounts` picks, ``history``
    every account of the window and ``recent`` every account's recent days within the cap (see
    :class:`TrainingData`).  From the store only the window is
    read, so memory follows the cap and the window, not the store's size; and of ``history``
    and ``recent`` only what ``models`` (the model types that will read this; default: every
    one) need is read, so `titans train category` does not pay for cash flow's account-day
    moves."""
    cap = settings.train_max_rows if max_rows is None else max_rows
    days = settings.train_min_days if min_days is None else min_days
    if data is not None:
        return _read_training_file(Path(data), cap, days)
    from titans_finance.domain import TransactionFilter
    from titans_finance.storage.aggregates import account_day_moves, account_rows
    from titans_finance.storage.db import get_engine
    from titans_finance.storage.repository import count_transactions, load_transactions

    engine = get_engine(settings.database_url)
    recent, start = _store_window(engine, cap, days) if cap > 0 else (None, None)
    window = TransactionFilter(date_from=start)
    if start == recent:  # the recent days within the cap span the minimum: read them
        frame = load_transactions(engine, window)
        if frame.empty:
            raise TrainingDataError(
                "the store has no transactions to train on; import some with `titans ingest "
                "FILE` or train from a file with `--data FILE`"
            )
        if start is None:
            return TrainingData(frame, len(frame))
        return TrainingData(frame, count_transactions(engine), start.isoformat())
    rows = account_rows(engine, window)
    chosen = sample_accounts(rows, cap)

    def wanted(group: frozenset[str]) -> bool:
        return models is None or not group.isdisjoint(models)

    latest = (
        load_transactions(engine, TransactionFilter(date_from=recent))
        if wanted(RECENT_ROW_MODELS) or not chosen
        else None
    )
    history = account_day_moves(engine, window) if wanted(EVERY_ACCOUNT_MODELS) else None
    if latest is not None and not chosen:  # no whole account fits: the recent days for all
        since = recent.isoformat() if recent is not None else None
        return TrainingData(latest, count_transactions(engine), since, history, None, len(rows))
    frame = load_transactions(engine, TransactionFilter(date_from=start, accounts=chosen))
    return TrainingData(
        frame,
        count_transactions(engine),
        start.isoformat() if start is not None else None,
        history,
        len(chosen),
        len(rows),
        latest,
    )


def load_training_frame(
    settings: Settings, data: Path | None = None, model_type: str | None = None
) -> pd.DataFrame:
    """The frame of :func:`load_training_data` that ``model_type`` learns from (default:
    ``frame``, the category model's)."""
    if model_type is None:
        return load_training_data(settings, data).frame
    return load_training_data(settings, data, models=[model_type]).for_model(model_type)


__all__ = [
    "EVERY_ACCOUNT_MODELS",
    "HOLDOUT_FRACTION",
    "RECENT_ROW_MODELS",
    "TrainResult",
    "TrainingData",
    "evaluate_model",
    "load_training_data",
    "load_training_frame",
    "new_model",
    "primary_metric",
    "recent_start",
    "sample_accounts",
    "time_split",
    "train_model",
]

"""`titans train | predict | evaluate | models`: train, score and evaluate the models."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.table import Table

from titans_finance.errors import TitansError, ValidationError
from titans_finance.models.catalog import PREDICTABLE

if TYPE_CHECKING:
    import pandas as pd
    from rich.progress import Progress

    from titans_finance.config import Settings
    from titans_finance.domain import CategoryRule
    from titans_finance.ingest.pipeline import PreparedFile
    from titans_finance.training import TrainingData, TrainResult

logger = logging.getLogger(__name__)
console = Console()
err_console = Console(stderr=True)

_ALL = "all"


def _progress(target: Console) -> Progress:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=target,
    )


def _settings_and_dir(models_dir: Path | None) -> tuple[Settings, Path]:
    from titans_finance.config import get_settings

    settings = get_settings()
    return settings, Path(models_dir) if models_dir is not None else settings.models_dir


def _model_names(model: str) -> list[str]:
    from titans_finance.models.catalog import available_models, model_class

    if model == _ALL:
        return available_models()
    model_class(model)  # a clear error for an unknown or unavailable model
    return [model]


# -- train ----------------------------------------------------------------------------------------
def train(
    model: str = typer.Argument(
        _ALL, help="all | category | amount | anomaly | recurring | cashflow"
    ),
    data: Path | None = typer.Option(
        None, "--data", help="Train from this export file (any supported layout), not the store."
    ),
    models_dir: Path | None = typer.Option(
        None, "--models-dir", help="Where trained models are written (default: settings)."
    ),
) -> None:
    """Train models on a time-ordered hold-out, refit on all rows, save and record in MLflow."""
    from titans_finance.training import load_training_data, train_model

    settings, target = _settings_and_dir(models_dir)
    names = _model_names(model)
    results: list[TrainResult] = []
    failures: list[tuple[str, TitansError]] = []
    with _progress(console) as progress:
        task = progress.add_task("loading training data", total=None)
        clock = _StageLines(progress.console, "data")
        clock("loading")
        loaded = load_training_data(settings, data, models=names)
        clock.finish()
        _print_window(progress.console, loaded)
        progress.update(task, description="training", total=len(names), completed=0)
        for name in names:
            clock = _StageLines(progress.console, name)

            def on_stage(stage: str, name: str = name, clock: _StageLines = clock) -> None:
                clock(stage)
                progress.update(task, description=f"{name}: {stage}")

            try:
                results.append(
                    train_model(
                        name, loaded.for_model(name), target, settings=settings, on_stage=on_stage
                    )
                )
            except TitansError as exc:
                if model != _ALL:
                    raise
                failures.append((name, exc))
            except Exception as exc:  # one broken model must not stop `train all`
                if model != _ALL:
                    raise
                logger.debug("training %s failed", name, exc_info=True)
                failures.append((name, TitansError(f"{type(exc).__name__}: {exc}")))
            clock.finish()
            progress.advance(task)
        progress.remove_task(task)
    _print_training(results, failures, len(loaded.frame))
    if failures and not results:
        raise typer.Exit(failures[0][1].exit_code)


class _StageLines:
    """Prints ``<model>: <stage> <seconds> s`` as each stage of one model ends (what a log or
    a bench reads when no live progress bar is shown)."""

    def __init__(self, target: Console, name: str) -> None:
        self.target, self.name = target, name
        self.stage: str | None = None
        self.started = self.model_started = time.perf_counter()

    def __call__(self, stage: str) -> None:
        self._end_stage()
        self.stage, self.started = stage, time.perf_counter()

    def _end_stage(self) -> None:
        if self.stage is not None:
            seconds = time.perf_counter() - self.started
            self.target.print(f"{self.name}: {self.stage} {seconds:.1f} s", highlight=False)

    def finish(self) -> None:
        """End the current stage and print the model's total."""
        self._end_stage()
        self.stage = None
        total = time.perf_counter() - self.model_started
        self.target.print(f"{self.name}: total {total:.1f} s", highlight=False)


def _print_window(target: Console, loaded: TrainingData) -> None:
    rows = len(loaded.frame)
    if loaded.since is None and loaded.sampled_accounts is None:
        target.print(f"training on all {rows} transactions", highlight=False)
        return
    since = f"since {loaded.since}" if loaded.since else "every day"
    history = (
        ""
        if loaded.history is None
        else f"; recurring and cashflow on every account ({len(loaded.history)} rows)"
    )
    if loaded.sampled_accounts is None:
        target.print(
            f"training on the {rows} most recent of {loaded.source_rows} transactions ({since}; "
            f"TITANS_TRAIN_MAX_ROWS){history}",
            highlight=False,
        )
        return
    recent = "" if loaded.recent is None else f" ({len(loaded.recent)} rows)"
    target.print(
        f"training on {rows} of {loaded.source_rows} transactions ({since}, "
        f"TITANS_TRAIN_MIN_DAYS; {loaded.sampled_accounts} of {loaded.window_accounts} whole "
        f"accounts, TITANS_TRAIN_MAX_ROWS){history}; amount and anomaly on every account's most "
        f"recent days within the cap{recent}",
        highlight=False,
    )


def _print_training(
    results: list[TrainResult], failures: list[tuple[str, TitansError]], rows: int
) -> None:
    from titans_finance.models.catalog import model_class
    from titans_finance.training import primary_metric

    table = Table(title=f"Training on {rows} transactions")
    for column in ("model", "version", "hold-out metric", "alias", "saved to"):
        table.add_column(column)
    for result in results:
        metric, _ = primary_metric(model_class(result.model_type), result.metrics)
        shown = (
            f"{metric} {result.metrics[metric]:.3f}" if metric and metric in result.metrics else "-"
        )
        alias = result.alias or "[yellow]not recorded[/]"
        table.add_row(result.model_type, result.version, shown, alias, str(result.model_dir))
    for name, _exc in failures:
        table.add_row(name, "[red]failed[/]", "-", "-", "-")
    console.print(table)
    for result in results:
        for warning in result.warnings:
            console.print(f"[yellow]warning[/] {result.model_type}: {warning}", highlight=False)
    for name, exc in failures:
        console.print(f"[bold red]not trained[/] {name}: {exc.message}", highlight=False)


# -- predict --------------------------------------------------------------------------------------
def predict(
    model: str = typer.Argument(..., help="category | amount | anomaly"),
    input_path: Path = typer.Option(..., "--input", "-i", help="Transactions to score."),
    output: Path = typer.Option(..., "--output", "-o", help="CSV to write."),
    models_dir: Path | None = typer.Option(None, "--models-dir", help="Trained models folder."),
    cold_start: bool = typer.Option(
        False,
        "--cold-start",
        help="category only: use the default keyword taxonomy, no trained model needed.",
    ),
    use_rules: bool = typer.Option(
        True, "--rules/--no-rules", help="category only: apply the user rules in the store."
    ),
) -> None:
    """Score a file: the input's columns plus prediction columns, one row per input row."""
    from titans_finance.ingest.pipeline import prepare_file, to_model_frame

    if model not in PREDICTABLE:
        raise ValidationError(f"cannot predict with {model!r}; choose one of {PREDICTABLE}")
    if cold_start and model != "category":
        raise ValidationError("--cold-start applies to the category model only")
    settings, target = _settings_and_dir(models_dir)
    with _progress(err_console) as progress:
        task = progress.add_task(f"reading {input_path.name}", total=None)
        # the amount is what the amount model predicts: a file may come without one
        prepared = prepare_file(input_path, require_amount=model != "amount")
        frame = to_model_frame(prepared.frame)
        progress.update(task, description=f"{model}: scoring {len(frame)} rows")
        predictions = _predict_frame(model, frame, target, settings, cold_start, use_rules)
        progress.update(task, description=f"writing {output.name}")
        result = _join_predictions(prepared, predictions)
        from titans_finance.export import write_csv

        write_csv(result, output)
        progress.remove_task(task)
    label = " (cold start: default taxonomy, low confidence)" if cold_start else ""
    console.print(f"wrote {len(result)} rows to {output}{label}", highlight=False)
    if prepared.rejects:
        console.print(
            f"[yellow]{len(prepared.rejects)} input rows were invalid and have no prediction "
            "(see the reject_reason column)[/]"
        )


def _predict_frame(
    model: str,
    frame: pd.DataFrame,
    models_dir: Path,
    settings: Settings,
    cold_start: bool,
    use_rules: bool,
) -> pd.DataFrame:
    from titans_finance.models.catalog import model_class

    if cold_start:
        from titans_finance.models.cold_start import cold_start_predict

        return cold_start_predict(frame)
    loaded = model_class(model).load(models_dir)
    if model == "category":
        from titans_finance.models.category import CategoryModel

        assert isinstance(loaded, CategoryModel)
        rules = _store_rules(settings) if use_rules else []
        return loaded.predict_with_rules(frame, rules)
    return loaded.predict(frame)


def _store_rules(settings: Settings) -> list[CategoryRule]:
    """User rules from the store; none when there is no store yet or it cannot be read."""
    from sqlalchemy.engine import make_url

    try:
        url = make_url(settings.database_url)
        if url.get_backend_name() == "sqlite" and (
            not url.database or not Path(url.database).is_file()
        ):
            return []
        from titans_finance.storage.db import get_engine
        from titans_finance.storage.repository import list_rules

        return list_rules(get_engine(settings.database_url))
    except Exception as exc:  # rules are an enhancement; scoring still works without them
        logger.warning("user rules not applied (cannot read the store: %s)", exc)
        return []


def _join_predictions(prepared: PreparedFile, predictions: pd.DataFrame) -> pd.DataFrame:
    """Input rows in source-line order with their prediction columns, joined by ``line``.

    The base columns are the file's own (delimited text) or the canonical ones (other formats);
    rows that validation or the reader refused keep empty predictions and a ``reject_reason``.
    """
    import pandas as pd

    out = predictions.reset_index(drop=True).copy()
    if "alternatives" in out:
        out["alternatives"] = [json.dumps(a) for a in out["alternatives"]]
    lines = prepared.frame["line"].to_numpy()
    if prepared.source_rows is not None:
        base = prepared.source_rows()
    else:
        base = prepared.frame.drop(columns=["fingerprint", "line"]).set_axis(
            pd.Index(lines, name="line")
        )
    reasons = pd.Series({int(r.line): r.reason for r in prepared.rejects}, dtype=object)
    order = base.index.union(reasons.index).rename("line")
    base = base.reindex(order)
    clash = {c: f"{c}_predicted" for c in out.columns if c in base.columns}
    out = out.rename(columns=clash).set_axis(pd.Index(lines, name="line"))
    result = pd.concat([base, out.reindex(order)], axis=1)
    if len(reasons):
        result["reject_reason"] = reasons.reindex(order).fillna("")
    if prepared.source_rows is None:
        return result.reset_index()
    return result.reset_index(drop=True)


# -- evaluate -------------------------------------------------------------------------------------
def evaluate(
    model: str = typer.Argument(_ALL, help="all | category | amount | anomaly | ..."),
    data: Path | None = typer.Option(
        None, "--data", help="Evaluate on this export file instead of the store."
    ),
) -> None:
    """Hold-out metrics (earlier 75% train, later 25% test) as JSON on stdout."""
    from titans_finance.config import get_settings
    from titans_finance.training import evaluate_model, load_training_data

    settings = get_settings()
    names = _model_names(model)
    report: dict[str, Any] = {}
    with _progress(err_console) as progress:
        task = progress.add_task("loading data", total=None)
        loaded = load_training_data(settings, data, models=names)
        for name in names:
            progress.update(task, description=f"{name}: evaluating")
            try:
                report[name] = evaluate_model(name, loaded.for_model(name))
            except TitansError as exc:
                if model != _ALL:
                    raise
                report[name] = {"error": exc.message}
            except Exception as exc:  # one broken model must not hide the others' metrics
                if model != _ALL:
                    raise
                logger.debug("evaluating %s failed", name, exc_info=True)
                report[name] = {"error": f"{type(exc).__name__}: {exc}"}
        progress.remove_task(task)
    typer.echo(json.dumps(report, indent=2, sort_keys=True))


# -- models (registry) ----------------------------------------------------------------------------
models_app = typer.Typer(help="Registered model versions: list, promote, roll back.")


@models_app.command("versions")
def versions(model: str = typer.Argument(..., help="category | amount | ...")) -> None:
    """Registered versions of a model with aliases and hold-out metric (JSON)."""
    from titans_finance import registry
    from titans_finance.config import get_settings

    _model_names(model)
    rows = registry.list_versions(model, tracking_uri=get_settings().mlflow_tracking_uri)
    typer.echo(json.dumps(rows, indent=2))


@models_app.command("promote")
def promote(
    model: str = typer.Argument(..., help="category | amount | ..."),
    version: str = typer.Argument(..., help="Registered version number."),
    models_dir: Path | None = typer.Option(None, "--models-dir", help="Trained models folder."),
) -> None:
    """Make a version the champion and install it in the models folder."""
    from titans_finance import registry

    settings, target = _settings_and_dir(models_dir)
    _model_names(model)
    record = registry.promote(
        model, version, tracking_uri=settings.mlflow_tracking_uri, models_dir=target
    )
    _audit(settings, "model.promote", model, {"version": record.version})
    console.print(f"{record.model_name} version {record.version} is champion and installed")


@models_app.command("rollback")
def rollback(
    model: str = typer.Argument(..., help="category | amount | ..."),
    models_dir: Path | None = typer.Option(None, "--models-dir", help="Trained models folder."),
) -> None:
    """Return to the previous champion version and install it."""
    from titans_finance import registry

    settings, target = _settings_and_dir(models_dir)
    _model_names(model)
    record = registry.rollback(model, tracking_uri=settings.mlflow_tracking_uri, models_dir=target)
    _audit(
        settings,
        "model.rollback",
        model,
        {"version": record.version, "previous": record.previous_champion},
    )
    console.print(
        f"{record.model_name}: champion rolled back from version {record.previous_champion} "
        f"to {record.version}"
    )


def _audit(settings: Settings, action: str, model: str, detail: dict[str, Any]) -> None:
    """Record a model change made from the command line in the store's audit log."""
    from titans_finance.auth.store import record_audit
    from titans_finance.cli.access import cli_actor
    from titans_finance.storage.db import get_engine

    record_audit(
        get_engine(settings.database_url),
        actor=cli_actor(),
        action=action,
        target=model,
        detail=detail,
    )


def register(app: typer.Typer) -> None:
    """Add the train, predict and evaluate commands and the `models` group."""
    app.command("train")(train)
    app.command("predict")(predict)
    app.command("evaluate")(evaluate)
    app.add_typer(models_app, name="models")


__all__ = ["register"]

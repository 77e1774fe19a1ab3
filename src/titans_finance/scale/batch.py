"""Dask batch scoring: score canonical CSV files too large for memory, partition by partition.

Each partition is scored with one vectorised ``model.predict`` call; Dask runs partitions in
parallel (threads by default, or processes) and streams the results to CSV part files.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from titans_finance import domain as d
from titans_finance.errors import InputFileError, ValidationError
from titans_finance.export import escape_formulas
from titans_finance.models.base import TitansModel

logger = logging.getLogger(__name__)
SCHEDULERS = ("threads", "processes", "synchronous")


def _score_partition(partition: pd.DataFrame, model: TitansModel) -> pd.DataFrame:
    from titans_finance.merchants import normalize_merchants

    frame = partition.copy()
    frame[d.DATE] = pd.to_datetime(frame[d.DATE], errors="coerce")
    frame[d.AMOUNT] = pd.to_numeric(frame[d.AMOUNT], errors="coerce")
    if d.MERCHANT not in frame:
        frame[d.MERCHANT] = normalize_merchants(frame[d.DESCRIPTION].fillna(""))
    predictions = model.predict(frame)
    for column in predictions.columns:
        if predictions[column].dtype == object:
            predictions[column] = predictions[column].map(
                lambda v: v if isinstance(v, str | type(None)) else str(v)
            )
    return pd.concat([partition, predictions.add_prefix("pred_")], axis=1)


def score_files(
    model: TitansModel,
    inputs: str | list[str],
    output_dir: Path,
    *,
    blocksize: str = "64MB",
    scheduler: str = "threads",
) -> int:
    """Score canonical CSV files (a path, glob or list) into ``output_dir/part-*.csv``.

    Returns the number of rows scored.  Input needs at least Date, Description and Amount.
    """
    import dask
    import dask.dataframe as dd

    if scheduler not in SCHEDULERS:
        raise ValidationError(f"scheduler must be one of {', '.join(SCHEDULERS)}")
    try:
        frame = dd.read_csv(inputs, dtype=str, blocksize=blocksize, keep_default_na=False)
    except (OSError, ValueError) as exc:
        raise InputFileError(f"cannot read {inputs}: {exc}") from exc
    missing = [c for c in d.REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise InputFileError(
            f"batch scoring needs canonical columns; missing {', '.join(missing)} "
            f"(found {', '.join(frame.columns)}); export with `titans transactions export`"
        )
    sample = _score_partition(frame.head(5), model)
    scored = frame.map_partitions(_score_partition, model, meta=sample.iloc[:0])
    output_dir.mkdir(parents=True, exist_ok=True)
    with dask.config.set(scheduler=scheduler):
        scored.map_partitions(escape_formulas, meta=sample.iloc[:0]).to_csv(
            str(output_dir / "part-*.csv"), index=False
        )
        rows = int(frame.map_partitions(len).sum().compute())
    logger.info("scored %d rows into %s", rows, output_dir)
    return rows

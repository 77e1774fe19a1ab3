"""Small helpers shared by the feature transformers: tolerant column access."""

from __future__ import annotations

import numpy as np
import pandas as pd

from titans_finance import domain as d


def text_column(frame: pd.DataFrame, name: str, default: str = "") -> pd.Series:
    """Column ``name`` as clean strings ('' for missing); a constant column when absent."""
    if name not in frame:
        return pd.Series(default, index=frame.index, dtype=object)
    values = frame[name]
    return values.astype(object).where(values.notna(), default).astype(str)


def amount_column(frame: pd.DataFrame) -> np.ndarray:
    """Signed amounts as float64 (Decimal and strings converted; missing -> 0)."""
    if d.AMOUNT not in frame:
        return np.zeros(len(frame), dtype=np.float64)
    values = frame[d.AMOUNT]
    if values.dtype == object:
        values = pd.to_numeric(values.astype(str), errors="coerce")
    return np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.0)


def date_column(frame: pd.DataFrame) -> pd.Series:
    """Dates as datetime64 (NaT when missing or absent)."""
    if d.DATE not in frame:
        return pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")
    values = frame[d.DATE]
    if not pd.api.types.is_datetime64_any_dtype(values):
        values = pd.to_datetime(values, errors="coerce")
    if getattr(values.dt, "tz", None) is not None:
        values = values.dt.tz_localize(None)
    return values

"""The canonical checks every reader's output goes through before it is stored."""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from titans_finance import domain as d
from titans_finance.frame import clean_text, expand, factorize_objects, per_distinct
from titans_finance.ingest.normalize import parse_amounts, parse_dates, parse_mcc_codes

logger = logging.getLogger(__name__)

EXAMPLE_DATE = "2024-01-31"

_CURRENCY_SYMBOLS = {"€": "EUR", "$": "USD", "US$": "USD", "£": "GBP", "¥": "JPY", "KČ": "CZK"}


class _Distinct:
    """A column as codes into its distinct non-missing values (code -1: missing), so every
    check and parse runs once per distinct value and is spread back to rows in one take."""

    def __init__(self, frame: pd.DataFrame, column: str) -> None:
        values = frame[column] if column in frame else pd.Series(None, index=frame.index)
        self.index = frame.index
        self.codes, self.uniques = factorize_objects(values)

    def rows(self, table: list[Any], missing: object = None) -> pd.Series:
        """Per-row values from one entry per distinct value (``missing`` for missing rows)."""
        return expand(self.codes, [*table, missing], self.index)

    def raw_text(self) -> pd.Series:
        """Stripped strings per row; missing or empty values become None."""
        return self.rows([str(u).strip() or None for u in self.uniques])


def _dates(values: pd.Series) -> pd.Series:
    """Dates as datetime.date, parsing strings and converting timestamps; None where invalid."""
    out = pd.Series(None, index=values.index, dtype=object)
    objects = values.astype(object)
    if pd.api.types.infer_dtype(objects, skipna=False) == "date":
        return objects
    if pd.api.types.infer_dtype(objects, skipna=True) == "date":
        is_date = objects.notna()
    else:
        is_date = objects.map(lambda v: isinstance(v, dt.date), na_action="ignore").eq(True)
    if is_date.any():
        out[is_date] = [
            v.date() if isinstance(v, dt.datetime) else v for v in objects[is_date].tolist()
        ]
    rest = ~is_date & objects.notna()
    if rest.any():
        out[rest] = parse_dates(objects[rest].astype(str))
    return out


def _amounts(values: pd.Series) -> pd.Series:
    """Amounts as Decimal; floats via their shortest repr, strings parsed; None where invalid."""
    objects = values.astype(object)
    if pd.api.types.infer_dtype(objects, skipna=False) == "decimal":
        return objects
    is_decimal = objects.map(lambda v: isinstance(v, Decimal), na_action="ignore").eq(True)
    out = objects.where(is_decimal, None)
    rest = ~is_decimal & objects.notna()
    if rest.any():
        numeric = objects[rest].map(lambda v: isinstance(v, int | float | np.number)).astype(bool)
        floats = objects[rest][numeric]
        out[floats.index] = [
            Decimal(repr(float(v))) if math.isfinite(float(v)) else None for v in floats.tolist()
        ]
        strings = objects[rest][~numeric]
        if len(strings):
            out[strings.index] = parse_amounts(strings.astype(str))
    return out


def _type_value(label: str) -> str | None:
    found = d.parse_type(label)
    return found.value if found else None


def _currency_code(text: str) -> str | None:
    code = str(text).upper()
    code = _CURRENCY_SYMBOLS.get(code, code)
    return code if len(code) == 3 and code.isascii() and code.isalpha() else None


def _raw(frame: pd.DataFrame, index: Any) -> str:
    row = frame.loc[index]
    return ",".join("" if v is None or v != v else str(v) for k, v in row.items() if k != "line")


def validate_frame(
    frame: pd.DataFrame, *, default_currency: str | None = None, require_amount: bool = True
) -> tuple[pd.DataFrame, list[d.RejectedRow]]:
    """Check and tidy a reader's canonical frame; return (accepted rows, rejected rows).

    Rejects rows whose date is missing or outside 1900-01-01 .. today + 1 year, whose amount is
    missing, not finite or not below 1e12 in size, or whose description is longer than 500
    characters. A row with a date and an amount is never rejected for lacking text: an empty
    description falls back to Reference, then merchant, then Category, else stays the empty
    string. Fills Type from the amount sign
    when missing or unrecognised and maps synonyms (debit, credit, withdrawal, ...) to
    Income/Expense/Transfer. Currency becomes a 3-letter upper-case code, else
    ``default_currency``. Strings are stripped; empty strings become None.  With
    ``require_amount=False`` a missing amount is kept (and Type left empty when not given). The
    accepted frame is a new frame (the caller may add columns to it); ``frame`` itself is not
    changed.
    """
    frame = frame.copy(deep=False)  # columns are replaced, never written into
    lines = (
        pd.to_numeric(frame["line"], errors="coerce").fillna(0).astype(int)
        if "line" in frame
        else pd.Series(np.arange(1, len(frame) + 1), index=frame.index)
    )
    reasons = pd.Series(None, index=frame.index, dtype=object)
    accepted = np.ones(len(frame), dtype=bool)  # no reason yet (cheaper than reasons.isna())

    def reject(mask: pd.Series, message: Callable[[pd.Index], pd.Series] | str) -> None:
        hit = np.asarray(mask, dtype=bool) & accepted
        if hit.any():
            rows = frame.index[hit]
            reasons[rows] = message(rows) if callable(message) else message
            accepted[hit] = False

    date_column = _Distinct(frame, d.DATE)
    raw_date = date_column.raw_text()
    date_table = _dates(pd.Series(date_column.uniques, dtype=object)).tolist()
    date_missing = pd.isna(np.asarray(date_table, dtype=object)).tolist()
    dates = date_column.rows(date_table)
    no_date = date_column.rows(date_missing, True).astype(bool)
    reject(raw_date.isna() & no_date, "date is missing")
    reject(
        no_date,
        lambda rows: (
            "date '"
            + raw_date[rows].astype(str)
            + f"' is not a date (expected e.g. {EXAMPLE_DATE})"
        ),
    )
    latest = dt.date.today() + dt.timedelta(days=366)
    out_of_range = date_column.rows(
        [
            not m and not (d.MIN_DATE <= v <= latest)
            for v, m in zip(date_table, date_missing, strict=True)
        ],
        False,
    ).astype(bool)
    reject(
        out_of_range,
        lambda rows: "date " + dates[rows].astype(str) + f" is outside {d.MIN_DATE} .. {latest}",
    )

    amount_column = _Distinct(frame, d.AMOUNT)
    raw_amount = amount_column.raw_text()
    amount_table = _amounts(pd.Series(amount_column.uniques, dtype=object)).tolist()
    amount_missing = pd.isna(np.asarray(amount_table, dtype=object)).tolist()
    amounts = amount_column.rows(amount_table)
    no_amount = amount_column.rows(amount_missing, True).astype(bool)
    if require_amount:
        reject(raw_amount.isna() & no_amount, "amount is missing")
    reject(
        no_amount & raw_amount.notna(),
        lambda rows: "amount '" + raw_amount[rows].astype(str) + "' is not a number",
    )
    bad_size = amount_column.rows(
        [
            not m and (not v.is_finite() or abs(v) >= d.MAX_ABS_AMOUNT)
            for v, m in zip(amount_table, amount_missing, strict=True)
        ],
        False,
    ).astype(bool)
    reject(
        bad_size,
        lambda rows: (
            "amount " + amounts[rows].astype(str) + " is not finite or too large (>= 1e12)"
        ),
    )

    description = clean_text(frame, d.DESCRIPTION, None)
    for fallback in (d.REFERENCE, d.MERCHANT, d.CATEGORY):
        if fallback in frame and description.isna().any():
            description = description.where(description.notna(), clean_text(frame, fallback, None))
    # Money without text is still money: the ledger keeps it with an empty description.
    description = description.where(description.notna(), "")
    length = per_distinct(description, len, 0).astype(int)
    reject(
        length > d.MAX_DESCRIPTION,
        lambda rows: (
            "description is "
            + length[rows].astype(str)
            + f" characters long (at most {d.MAX_DESCRIPTION})"
        ),
    )

    given_type = clean_text(frame, d.TYPE, None)
    mapped = per_distinct(given_type, lambda t: _type_value(str(t)), None)
    unknown = given_type.notna() & mapped.isna()
    if unknown.any():
        logger.info(
            "%d rows have an unrecognised Type (e.g. %r); using the amount sign",
            int(unknown.sum()),
            given_type[unknown].iloc[0],
        )
    if mapped.isna().any():
        from_sign = amount_column.rows(
            [
                None if m else d.type_from_amount(v).value
                for v, m in zip(amount_table, amount_missing, strict=True)
            ]
        )
        types = mapped.where(mapped.notna(), from_sign)
    else:
        types = mapped

    currency = per_distinct(clean_text(frame, d.CURRENCY, None), _currency_code, None)
    currency = currency.where(currency.notna(), default_currency)

    frame[d.DATE] = dates
    frame[d.AMOUNT] = amounts
    frame[d.DESCRIPTION] = description
    frame[d.TYPE] = types
    frame[d.CURRENCY] = currency
    for column in (
        d.CATEGORY,
        d.PAYMENT_METHOD,
        d.STATUS,
        d.REFERENCE,
        d.RECEIPT_URL,
        d.ACCOUNT,
    ):
        frame[column] = clean_text(frame, column, None)
    frame[d.ACCOUNT] = frame[d.ACCOUNT].where(frame[d.ACCOUNT].notna(), d.DEFAULT_ACCOUNT)
    if d.BALANCE in frame:
        frame[d.BALANCE] = _amounts(frame[d.BALANCE])
    if d.MCC in frame:
        frame[d.MCC] = parse_mcc_codes(frame[d.MCC])
    frame["line"] = lines

    bad = ~accepted
    rejects = [
        d.RejectedRow(int(lines[i]), _raw(frame, i), f"line {int(lines[i])}: {reasons[i]}")
        for i in frame.index[bad]
    ]
    columns = [*d.CANONICAL_COLUMNS]
    columns += [c for c in (d.BALANCE, d.MCC, d.MERCHANT) if c in frame]
    columns.append("line")
    return (frame.loc[accepted, columns] if bad.any() else frame[columns]), rejects


__all__ = ["validate_frame"]

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
from titans_finance.frame import (
    clean_text,
    expand,
    factorize_objects,
    factorize_text,
    missing_values,
)
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

    def flags(self, table: list[bool], missing: bool) -> np.ndarray:
        """Per-row booleans from one per distinct value (``missing`` for missing rows)."""
        return np.asarray(np.append(np.asarray(table, dtype=bool), missing)[self.codes], dtype=bool)

    def at(self, table: list[Any], positions: np.ndarray) -> list[Any]:
        """The entries of ``table`` for the rows at ``positions`` (None for missing rows)."""
        return [None if c < 0 else table[c] for c in self.codes[positions].tolist()]

    def blank(self) -> np.ndarray:
        """Per row: missing, or text that is empty once stripped."""
        kind = pd.api.types.infer_dtype(self.uniques, skipna=True)
        if kind in ("decimal", "floating", "integer", "mixed-integer-float", "date", "datetime"):
            return self.codes < 0  # numbers and dates always spell something
        return self.flags([not str(u).strip() for u in self.uniques], True)

    def raw_at(self, positions: np.ndarray) -> list[str]:
        """The stripped text of the rows at ``positions`` (for messages)."""
        return [str(u).strip() for u in self.at(list(self.uniques), positions)]


class _Text:
    """A text column as codes into its distinct stripped spellings ('' for missing or blank;
    an absent column is all '')."""

    def __init__(self, frame: pd.DataFrame, column: str) -> None:
        if column in frame:
            self.codes, uniques = factorize_text(frame[column])
            self.table: list[str] = uniques.tolist()
        else:
            self.codes, self.table = np.zeros(len(frame), dtype=np.intp), [""]

    def flags(self, table: list[bool]) -> np.ndarray:
        """Per-row booleans from one per distinct spelling."""
        return np.asarray(np.asarray(table, dtype=bool)[self.codes], dtype=bool)

    def empty(self) -> np.ndarray:
        return self.flags([not u for u in self.table])

    def fill(self, other: _Text) -> None:
        """Rows without text take ``other``'s text."""
        self.codes = np.where(self.empty(), other.codes + len(self.table), self.codes)
        self.table = [*self.table, *other.table]

    def rows(self, table: list[Any]) -> np.ndarray:
        """Per-row values from one entry per distinct spelling."""
        return expand(self.codes, table).to_numpy()


def _too_large(table: list[Any], missing: list[bool]) -> list[bool]:
    """Per amount: not finite, or at least ``MAX_ABS_AMOUNT`` in size (False where missing).

    Floats find the few candidates in one pass; those are then checked exactly.
    """

    def approximate(value: Decimal) -> float:
        try:
            return float(value)
        except ValueError:  # signalling NaN
            return math.nan

    near = float(d.MAX_ABS_AMOUNT) * (1 - 1e-9)
    numbers = np.array([0.0 if m else approximate(v) for v, m in zip(table, missing, strict=True)])
    out = [False] * len(table)
    for i in np.flatnonzero(~(np.abs(numbers) < near)).tolist():
        v = table[i]
        out[i] = not v.is_finite() or abs(v) >= d.MAX_ABS_AMOUNT
    return out


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


def _raw(frame: pd.DataFrame, position: int) -> str:
    row = frame.iloc[position]
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
    reasons = np.full(len(frame), None, dtype=object)
    accepted = np.ones(len(frame), dtype=bool)

    def reject(mask: np.ndarray, message: Callable[[np.ndarray], list[str]] | str) -> None:
        """Reject the rows of ``mask`` not rejected yet, with ``message`` (or the messages
        ``message`` gives for their positions)."""
        hit = mask & accepted
        if hit.any():
            at = np.flatnonzero(hit)
            if callable(message):
                reasons[at] = np.array(message(at), dtype=object)
            else:
                reasons[at] = message
            accepted[hit] = False

    date_column = _Distinct(frame, d.DATE)
    date_table = _dates(pd.Series(date_column.uniques, dtype=object)).tolist()
    date_missing = missing_values(date_table).tolist()
    dates = date_column.rows(date_table)
    no_date = date_column.flags(date_missing, True)
    reject(date_column.blank() & no_date, "date is missing")
    reject(
        no_date,
        lambda at: [
            f"date '{text}' is not a date (expected e.g. {EXAMPLE_DATE})"
            for text in date_column.raw_at(at)
        ],
    )
    latest = dt.date.today() + dt.timedelta(days=366)
    out_of_range = date_column.flags(
        [
            not m and not (d.MIN_DATE <= v <= latest)
            for v, m in zip(date_table, date_missing, strict=True)
        ],
        False,
    )
    reject(
        out_of_range,
        lambda at: [
            f"date {v} is outside {d.MIN_DATE} .. {latest}" for v in date_column.at(date_table, at)
        ],
    )

    amount_column = _Distinct(frame, d.AMOUNT)
    amount_table = _amounts(pd.Series(amount_column.uniques, dtype=object)).tolist()
    amount_missing = missing_values(amount_table).tolist()
    amounts = amount_column.rows(amount_table)
    no_amount = amount_column.flags(amount_missing, True)
    blank_amount = amount_column.blank()
    if require_amount:
        reject(blank_amount & no_amount, "amount is missing")
    reject(
        no_amount & ~blank_amount,
        lambda at: [f"amount '{text}' is not a number" for text in amount_column.raw_at(at)],
    )
    reject(
        amount_column.flags(_too_large(amount_table, amount_missing), False),
        lambda at: [
            f"amount {v} is not finite or too large (>= 1e12)"
            for v in amount_column.at(amount_table, at)
        ],
    )

    description = _Text(frame, d.DESCRIPTION)
    for fallback in (d.REFERENCE, d.MERCHANT, d.CATEGORY):
        if fallback in frame and description.empty().any():
            description.fill(_Text(frame, fallback))
    # Money without text is still money: the ledger keeps it with an empty description.
    length = description.flags([len(u) > d.MAX_DESCRIPTION for u in description.table])
    reject(
        length,
        lambda at: [
            f"description is {len(description.table[c])} characters long "
            f"(at most {d.MAX_DESCRIPTION})"
            for c in description.codes[at].tolist()
        ],
    )

    given_type = _Text(frame, d.TYPE)
    mapped_table = [_type_value(u) if u else None for u in given_type.table]
    unmapped = given_type.flags([m is None for m in mapped_table])
    unknown = unmapped & ~given_type.empty()
    if unknown.any():
        logger.info(
            "%d rows have an unrecognised Type (e.g. %r); using the amount sign",
            int(unknown.sum()),
            given_type.table[given_type.codes[np.argmax(unknown)]],
        )
    types = given_type.rows(mapped_table)
    if unmapped.any():
        from_sign = amount_column.rows(
            [
                None if m else d.type_from_amount(v).value
                for v, m in zip(amount_table, amount_missing, strict=True)
            ]
        ).to_numpy()
        types = np.where(unmapped, from_sign, types)

    currency = _Text(frame, d.CURRENCY)
    currency_table = [
        (_currency_code(u) if u else None) or default_currency for u in currency.table
    ]

    frame[d.DATE] = dates
    frame[d.AMOUNT] = amounts
    frame[d.DESCRIPTION] = description.rows(description.table)
    frame[d.TYPE] = types
    frame[d.CURRENCY] = currency.rows(currency_table)
    for column in (d.CATEGORY, d.PAYMENT_METHOD, d.STATUS, d.REFERENCE, d.RECEIPT_URL):
        frame[column] = clean_text(frame, column, None)
    frame[d.ACCOUNT] = clean_text(frame, d.ACCOUNT, d.DEFAULT_ACCOUNT)
    if d.BALANCE in frame:
        frame[d.BALANCE] = _amounts(frame[d.BALANCE])
    if d.MCC in frame:
        frame[d.MCC] = parse_mcc_codes(frame[d.MCC])
    if d.MERCHANT in frame:
        frame[d.MERCHANT] = frame[d.MERCHANT].copy()  # the one column kept as given
    frame["line"] = lines

    numbers = lines.to_numpy()
    rejects = [
        d.RejectedRow(int(numbers[i]), _raw(frame, i), f"line {int(numbers[i])}: {reasons[i]}")
        for i in np.flatnonzero(~accepted).tolist()
    ]
    columns = [*d.CANONICAL_COLUMNS]
    columns += [c for c in (d.BALANCE, d.MCC, d.MERCHANT) if c in frame]
    columns.append("line")
    if rejects:
        return frame.loc[accepted, columns], rejects
    # Every column is new (or copied) here: a new frame of them shares nothing with ``frame``.
    return pd.DataFrame({c: frame[c] for c in columns}, copy=False), rejects


__all__ = ["validate_frame"]

"""The canonical checks every reader's output goes through before it is stored."""

from __future__ import annotations

import datetime as dt
import logging
import math
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from titans_finance import domain as d
from titans_finance.ingest.normalize import parse_amounts, parse_dates
from titans_finance.ingest.readers.base import RejectedRow

logger = logging.getLogger(__name__)

MIN_DATE = dt.date(1900, 1, 1)
MAX_ABS_AMOUNT = Decimal("1e12")
MAX_DESCRIPTION = 500
EXAMPLE_DATE = "2024-01-31"

TYPE_SYNONYMS: dict[str, d.TransactionType] = {
    **{
        word: d.TransactionType.EXPENSE
        for word in (
            "expense",
            "expenses",
            "debit",
            "dr",
            "db",
            "d",
            "withdrawal",
            "out",
            "outflow",
            "payment",
            "purchase",
            "spend",
            "af",
            "soll",
            "s",
            "debet",
            "débit",
            "debito",
            "débito",
            "cargo",
            "addebito",
            "uscita",
            "ausgabe",
            "dépense",
            "gasto",
            "vydaj",
            "vyber",
            "výdaj",
        )
    },
    **{
        word: d.TransactionType.INCOME
        for word in (
            "income",
            "credit",
            "cr",
            "c",
            "deposit",
            "in",
            "inflow",
            "refund",
            "bij",
            "haben",
            "h",
            "crédit",
            "credito",
            "crédito",
            "abono",
            "accredito",
            "entrata",
            "einnahme",
            "revenu",
            "ingreso",
            "prijem",
            "příjem",
        )
    },
    **{word: d.TransactionType.TRANSFER for word in ("transfer", "xfer", "virement", "umbuchung")},
}
_CURRENCY_SYMBOLS = {"€": "EUR", "$": "USD", "US$": "USD", "£": "GBP", "¥": "JPY", "KČ": "CZK"}


def _text(frame: pd.DataFrame, column: str) -> pd.Series:
    """Stripped strings; missing or empty values become None."""
    if column not in frame:
        return pd.Series(None, index=frame.index, dtype=object)
    values = frame[column].astype(object)
    text = values.where(values.notna(), "").astype(str).str.strip()
    return text.where(text != "", None)


def _dates(values: pd.Series) -> pd.Series:
    """Dates as datetime.date, parsing strings and converting timestamps; None where invalid."""
    out = pd.Series(None, index=values.index, dtype=object)
    objects = values.astype(object)
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


def _raw(frame: pd.DataFrame, index: Any) -> str:
    row = frame.loc[index]
    return ",".join("" if v is None or v != v else str(v) for k, v in row.items() if k != "line")


def validate_frame(
    frame: pd.DataFrame, *, default_currency: str | None = None
) -> tuple[pd.DataFrame, list[RejectedRow]]:
    """Check and tidy a reader's canonical frame; return (accepted rows, rejected rows).

    Rejects rows whose date is missing or outside 1900-01-01 .. today + 1 year, whose amount is
    missing, not finite or not below 1e12 in size, whose description is empty (after trying
    Reference, then merchant) or longer than 500 characters. Fills Type from the amount sign
    when missing or unrecognised and maps synonyms (debit, credit, withdrawal, ...) to
    Income/Expense/Transfer. Currency becomes a 3-letter upper-case code, else
    ``default_currency``. Strings are stripped; empty strings become None.
    """
    frame = frame.copy()
    lines = (
        pd.to_numeric(frame["line"], errors="coerce").fillna(0).astype(int)
        if "line" in frame
        else pd.Series(np.arange(1, len(frame) + 1), index=frame.index)
    )
    reasons = pd.Series(None, index=frame.index, dtype=object)

    def reject(mask: pd.Series, messages: pd.Series | str) -> None:
        mask = mask & reasons.isna()
        if mask.any():
            reasons[mask] = messages[mask] if isinstance(messages, pd.Series) else messages

    raw_date = _text(frame, d.DATE)
    dates = _dates(frame[d.DATE]) if d.DATE in frame else pd.Series(None, index=frame.index)
    reject(raw_date.isna() & dates.isna(), "date is missing")
    reject(
        dates.isna(),
        "date '"
        + raw_date.fillna("").astype(str)
        + f"' is not a date (expected e.g. {EXAMPLE_DATE})",
    )
    latest = dt.date.today() + dt.timedelta(days=366)
    codes, uniques = pd.factorize(dates, use_na_sentinel=True)
    outside = np.array([not (MIN_DATE <= v <= latest) for v in uniques] + [False], dtype=bool)
    out_of_range = pd.Series(outside[codes], index=frame.index)
    reject(
        out_of_range,
        "date " + dates.astype(str) + f" is outside {MIN_DATE} .. {latest}",
    )

    raw_amount = _text(frame, d.AMOUNT)
    amounts = _amounts(frame[d.AMOUNT]) if d.AMOUNT in frame else pd.Series(None, index=frame.index)
    reject(raw_amount.isna() & amounts.isna(), "amount is missing")
    reject(amounts.isna(), "amount '" + raw_amount.fillna("").astype(str) + "' is not a number")
    bad_size = amounts.map(
        lambda v: not v.is_finite() or abs(v) >= MAX_ABS_AMOUNT, na_action="ignore"
    ).eq(True)
    reject(bad_size, "amount " + amounts.astype(str) + " is not finite or too large (>= 1e12)")

    description = _text(frame, d.DESCRIPTION)
    for fallback in (d.REFERENCE, d.MERCHANT):
        description = description.where(description.notna(), _text(frame, fallback))
    reject(description.isna(), "description is empty (and no reference or merchant to use)")
    length = description.astype("string").str.len().fillna(0).astype(int)
    too_long = length > MAX_DESCRIPTION
    reject(
        too_long,
        "description is " + length.astype(str) + f" characters long (at most {MAX_DESCRIPTION})",
    )

    given_type = _text(frame, d.TYPE)
    mapped = given_type.astype("string").str.lower().astype(object).map(TYPE_SYNONYMS)
    unknown = given_type.notna() & mapped.isna()
    if unknown.any():
        logger.info(
            "%d rows have an unrecognised Type (e.g. %r); using the amount sign",
            int(unknown.sum()),
            given_type[unknown].iloc[0],
        )
    from_sign = amounts.map(lambda v: d.type_from_amount(v).value, na_action="ignore")
    types = mapped.map(lambda t: t.value, na_action="ignore").fillna(from_sign)

    currency = _text(frame, d.CURRENCY).astype("string").str.upper().astype(object)
    currency = currency.where(currency.notna(), None)
    currency = currency.replace(_CURRENCY_SYMBOLS)
    valid_code = currency.astype("string").str.fullmatch(r"[A-Z]{3}").fillna(False).astype(bool)
    currency = currency.where(valid_code, default_currency)

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
        frame[column] = _text(frame, column)
    frame[d.ACCOUNT] = frame[d.ACCOUNT].fillna(d.DEFAULT_ACCOUNT)
    if d.BALANCE in frame:
        frame[d.BALANCE] = _amounts(frame[d.BALANCE])
    frame["line"] = lines

    bad = reasons.notna()
    rejects = [
        RejectedRow(int(lines[i]), _raw(frame, i), f"line {int(lines[i])}: {reasons[i]}")
        for i in frame.index[bad]
    ]
    columns = [*d.CANONICAL_COLUMNS]
    columns += [c for c in (d.BALANCE, d.MERCHANT) if c in frame]
    columns.append("line")
    return frame.loc[~bad, columns], rejects


__all__ = ["TYPE_SYNONYMS", "validate_frame"]

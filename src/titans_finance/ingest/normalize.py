"""Vectorised parsers for the money and date strings found in bank exports.

Both parsers work on the distinct values of a column (exports repeat dates and amounts a lot),
classify them with regular expressions and convert each class in one pandas call, so a
million-row column costs a handful of vectorised passes.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from decimal import Decimal, InvalidOperation
from typing import Literal

import numpy as np
import pandas as pd

from titans_finance.frame import expand, factorize_text, per_distinct

logger = logging.getLogger(__name__)

Decimal_ = Literal[".", ","]

# Characters used as thousands separators besides "," and ".".
_GROUP_CHARS = " \u00a0\u202f\u2009'’"
_SIMPLE_AMOUNT = re.compile(r"-?\d+(?:\.\d{1,2})?")
_CURRENCY_SYMBOLS = "$€£¥₹₽₩₪₺฿₴₦₱¢₫₡₲₵"
_MINUSES = re.escape("-−–")  # ascii hyphen-minus, unicode minus, en dash


def arrow_strings(values: pd.Series) -> pd.Series:
    """Arrow-backed strings (regexes then run in C++)."""
    return values.astype("string[pyarrow]")


# --------------------------------------------------------------------------- amounts

_GROUP_CLASS = re.escape(_GROUP_CHARS)
_CORE = re.compile(rf"(\d[\d.,{_GROUP_CLASS}]*\d|\d)")
_SPACED_GROUPS = re.compile(rf"^\d{{1,3}}(?:[{_GROUP_CLASS}]\d{{3}})+(?:[.,]\d+)?$")
_REMAINDER_NOISE = re.compile(
    rf"(?:\b(?:CR|DR|DB|CREDIT|DEBIT)\b\.?|[^\W\d_]{{1,3}}\$|\b[^\W\d_]{{1,3}}\b\.?"
    rf"|[{re.escape(_CURRENCY_SYMBOLS)}]|[\s(){_MINUSES}+])"
)

# Patterns on the core with group spaces/apostrophes removed.
_P_INT = r"^\d+$"
_P_POINT = r"^(?:\d+\.\d{1,2}|\d+\.\d{4,}|\d{1,3}(?:,\d{3})+\.\d+|\d{4,}\.\d{3}|0\.\d{3})$"
_P_COMMA = r"^(?:\d+,\d{1,2}|\d+,\d{4,}|\d{1,3}(?:\.\d{3})+,\d+|\d{4,},\d{3}|0,\d{3})$"
_P_THOUSANDS_COMMA = r"^\d{1,3}(?:,\d{3}){2,}$"
_P_THOUSANDS_DOT = r"^\d{1,3}(?:\.\d{3}){2,}$"
_P_AMBIGUOUS_COMMA = r"^[1-9]\d{0,2},\d{3}$"
_P_AMBIGUOUS_DOT = r"^[1-9]\d{0,2}\.\d{3}$"


def infer_decimal_separator(values: pd.Series) -> Decimal_ | None:
    """'.' or ',' as the column's decimal separator from its unambiguous values, else None."""
    _codes, uniques = factorize_text(values)
    core = _amount_cores(uniques)[0]
    return _column_decimal(core)


def _amount_cores(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(numeric core without group spaces, whether the core is well-formed) per value."""
    core = text.str.extract(_CORE, expand=False).fillna("")
    spaced = core.str.contains(rf"[{_GROUP_CLASS}]", regex=True)
    well_spaced = ~spaced | core.str.match(_SPACED_GROUPS)
    compact = core.str.replace(rf"[{_GROUP_CLASS}]", "", regex=True)
    return compact, well_spaced


def _column_decimal(core: pd.Series) -> Decimal_ | None:
    comma = int(core.str.match(_P_COMMA).sum() + core.str.match(_P_THOUSANDS_DOT).sum())
    point = int(core.str.match(_P_POINT).sum() + core.str.match(_P_THOUSANDS_COMMA).sum())
    if comma == point == 0:
        return None
    return "," if comma > point else "."


def parse_amounts(values: pd.Series, *, decimal: Decimal_ | None = None) -> pd.Series:
    """Parse money strings into ``decimal.Decimal`` (object dtype), None where unparseable.

    Handles signs (leading/trailing minus, parentheses, ``CR``/``DR`` suffixes, leading ``+``),
    currency symbols and codes, and thousands separators (``,`` ``.`` space, no-break spaces,
    apostrophe). Whether ``,`` or ``.`` is the decimal separator is decided per value when the
    value says so (``12,50``, ``1.234,56``) and from the whole column otherwise (``1,234``);
    pass ``decimal`` to force it.
    """
    if len(values) == 0:
        return pd.Series([], index=values.index, dtype=object)
    codes, uniques = factorize_text(values)
    return expand(codes, amount_table(uniques, decimal=decimal), values.index)


def amount_table(uniques: pd.Series, *, decimal: Decimal_ | None = None) -> list[object]:
    """``parse_amounts`` on distinct stripped strings: one Decimal or None per value."""
    # Arrow-backed strings run the regex in C++: the common all-plain column costs one pass.
    simple = arrow_strings(uniques).str.fullmatch(_SIMPLE_AMOUNT.pattern)
    simple = simple.fillna(False).astype(bool)
    simple |= (uniques == "").to_numpy()
    parsed: list[object] = [None] * len(uniques)
    if decimal != "," and bool(simple.all()):
        return [Decimal(v) if v else None for v in uniques.tolist()]

    upper = uniques.str.upper()
    core, well_spaced = _amount_cores(upper)
    remainder = upper.str.replace(_CORE, "#", n=1, regex=True)
    noise_free = remainder.str.replace(_REMAINDER_NOISE, "", regex=True) == "#"
    negative = (
        upper.str.match(rf"^[^\d]*[{_MINUSES}]")
        | upper.str.match(r"^\s*\(.*\)\s*$")
        | upper.str.contains(rf"\d[^\d]*[{_MINUSES}][^\d]*$", regex=True)
        | upper.str.contains(r"\b(?:DR|DB|DEBIT)\b\.?\s*$", regex=True)
    )
    column = decimal or _column_decimal(core) or "."
    is_comma = core.str.match(_P_COMMA) | core.str.match(_P_THOUSANDS_DOT)
    is_point = core.str.match(_P_POINT) | core.str.match(_P_THOUSANDS_COMMA)
    ambiguous = core.str.match(_P_AMBIGUOUS_COMMA) | core.str.match(_P_AMBIGUOUS_DOT)
    if decimal is not None:
        use_comma = pd.Series(decimal == ",", index=core.index)
        # A forced separator still yields to values that can only be read the other way.
        use_comma = use_comma & ~(is_point & ~is_comma & ~ambiguous)
        use_comma = use_comma | (is_comma & ~is_point & ~ambiguous)
    else:
        use_comma = is_comma | (ambiguous & (column == ","))
        use_comma &= ~(is_point & ~ambiguous)
    as_point = core.where(~use_comma, core.str.replace(".", "", regex=False))
    as_point = as_point.where(~use_comma, as_point.str.replace(",", ".", regex=False))
    as_point = as_point.where(use_comma, as_point.str.replace(",", "", regex=False))
    valid = as_point.str.fullmatch(r"\d+(?:\.\d+)?") & well_spaced & noise_free
    signed = as_point.where(~negative, "-" + as_point)
    for i, (ok, text) in enumerate(zip(valid.tolist(), signed.tolist(), strict=True)):
        if ok:
            try:
                parsed[i] = Decimal(text)
            except InvalidOperation:  # pragma: no cover - the regex admits only digits
                parsed[i] = None
    return parsed


# --------------------------------------------------------------------------- dates

_TIME_SUFFIX = (
    r"(?:[ T]+\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:[AaPp][Mm])?"
    r"\s*(?:Z|[+-]\d{2}:?\d{2}|[A-Z]{3,4})?)?"
)
_ISO = re.compile(rf"^(\d{{4}})[-/.](\d{{1,2}})[-/.](\d{{1,2}}){_TIME_SUFFIX}$")
_DMY = re.compile(rf"^(\d{{1,2}})([/.\-])(\d{{1,2}})[/.\-](\d{{2}}|\d{{4}}){_TIME_SUFFIX}$")
_COMPACT8 = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_COMPACT6 = re.compile(r"^(\d{2})(\d{2})(\d{2})$")


def _build_dates(year: pd.Series, month: pd.Series, day: pd.Series) -> pd.Series:
    """datetime.date objects (None where impossible) from numeric year/month/day series."""
    frame = pd.DataFrame(
        {
            "year": pd.to_numeric(year, errors="coerce"),
            "month": pd.to_numeric(month, errors="coerce"),
            "day": pd.to_numeric(day, errors="coerce"),
        }
    )
    stamps = pd.to_datetime(frame, errors="coerce")
    out = pd.Series(None, index=year.index, dtype=object)
    ok = stamps.notna()
    if ok.any():
        out[ok] = stamps[ok].dt.date
    return out


def _century(two_digit: pd.Series) -> pd.Series:
    """Two-digit years: 00..68 -> 2000s, 69..99 -> 1900s (as strptime's %y)."""
    years = pd.to_numeric(two_digit, errors="coerce")
    return years + np.where(years < 69, 2000, 1900)


def infer_dayfirst(values: pd.Series) -> bool | None:
    """Whether ``a/b/yyyy`` dates are day-first (True), month-first (False) or undecided (None)."""
    _codes, uniques = factorize_text(values)
    parts = uniques.str.extract(_DMY)
    return _dayfirst_from_parts(parts)


def _dayfirst_from_parts(parts: pd.DataFrame) -> bool | None:
    parts = parts[parts[1] != "."]
    first = pd.to_numeric(parts[0], errors="coerce")
    second = pd.to_numeric(parts[2], errors="coerce")
    if bool((first > 12).any()) and not bool((second > 12).any()):
        return True
    if bool((second > 12).any()) and not bool((first > 12).any()):
        return False
    return None


def parse_dates(values: pd.Series, *, dayfirst: bool | None = None) -> pd.Series:
    """Parse date strings into ``datetime.date`` (object dtype), None where unparseable.

    Formats may be mixed within a column: ISO dates with or without a time (the written date
    is kept), ``D/M/Y``, ``M/D/Y``, ``D.M.Y`` and ``D-M-Y`` with 2- or 4-digit years and an
    optional time, ``YYYYMMDD`` and ``YYMMDD``. For ``a/b/y`` dates the order comes from
    ``dayfirst`` when given, else from the column (a first field above 12 means day-first,
    dots mean day-first), else month-first. Anything else goes through pandas' mixed parser.
    """
    if len(values) == 0:
        return pd.Series([], index=values.index, dtype=object)
    codes, uniques = factorize_text(values)
    return expand(codes, date_table(uniques, dayfirst=dayfirst), values.index)


def date_table(uniques: pd.Series, *, dayfirst: bool | None = None) -> list[object]:
    """``parse_dates`` on distinct stripped strings: one date or None per value."""
    out = pd.Series(None, index=uniques.index, dtype=object)
    done = uniques == ""

    iso = uniques.str.extract(_ISO)
    m = iso[0].notna()
    if m.any():
        out[m] = _build_dates(iso.loc[m, 0], iso.loc[m, 1], iso.loc[m, 2])
        done |= m

    dmy = uniques.str.extract(_DMY)
    m = dmy[0].notna() & ~done
    if m.any():
        parts = dmy[m]
        order = dayfirst if dayfirst is not None else _dayfirst_from_parts(parts)
        # Dots are day-first in every locale that writes them; slashes follow the column.
        first, second = parts[0], parts[2]
        # Per value when the value decides it (a field above 12), else the column's order;
        # dots are day-first in every locale that writes them.
        day_first = (parts[1] == ".") | bool(order)
        day_first = (day_first | (pd.to_numeric(first) > 12)) & ~(pd.to_numeric(second) > 12)
        day = first.where(day_first, second)
        month = second.where(day_first, first)
        year = parts[3]
        year = year.where(year.str.len() == 4, _century(year).astype("Int64").astype(str))
        out[m] = _build_dates(year, month, day)
        done |= m

    for pattern, two_digit in ((_COMPACT8, False), (_COMPACT6, True)):
        parts = uniques.str.extract(pattern)
        m = parts[0].notna() & ~done
        if m.any():
            year = _century(parts.loc[m, 0]) if two_digit else parts.loc[m, 0]
            out[m] = _build_dates(year, parts.loc[m, 1], parts.loc[m, 2])
            done |= m

    rest = ~done & uniques.str.contains(r"\d", regex=True)
    if rest.any():
        out[rest] = _parse_free_form(uniques[rest], dayfirst=bool(dayfirst))
    return [v if isinstance(v, dt.date) else None for v in out.tolist()]


def _parse_free_form(text: pd.Series, *, dayfirst: bool) -> pd.Series:
    """Fallback for rarer spellings (``31 Jan 2024``, ``Jan 31, 2024``); distinct values only."""
    out = pd.Series(None, index=text.index, dtype=object)
    plausible = text.str.contains(r"[A-Za-z]{3}", regex=True) & text.str.contains(
        r"\d{4}", regex=True
    )
    if not plausible.any():
        return out
    candidates = text[plausible]
    stamps = pd.to_datetime(candidates, format="mixed", errors="coerce", dayfirst=dayfirst)
    ok = stamps.notna()
    if ok.any():
        out.loc[ok[ok].index] = [ts.date() for ts in stamps[ok]]
    return out


_MCC = re.compile(r"^(?:mcc\s*)?(\d{3,4})(?:\.0+)?$", re.IGNORECASE)


def parse_mcc_codes(values: pd.Series) -> pd.Series:
    """Merchant category codes (ISO 18245) as four-digit strings ("5411"; "742" and 742.0 ->
    "0742"); None where a value is missing or not a code.  Parses each distinct value once."""

    def parse(value: object) -> str | None:
        found = _MCC.match(str(value).strip())
        return found.group(1).zfill(4) if found else None

    return per_distinct(values, parse)


__all__ = [
    "amount_table",
    "date_table",
    "infer_dayfirst",
    "infer_decimal_separator",
    "parse_amounts",
    "parse_dates",
    "parse_mcc_codes",
]

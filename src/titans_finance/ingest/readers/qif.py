"""Reader for Quicken Interchange Format (QIF) bank, credit-card and cash registers.

Hand-parsed: no maintained Python library for QIF exists (the old ``qifparse`` package is
unmaintained and rejects common variants), and the format is a simple line-per-field text.
Records are ``D`` date, ``T``/``U`` amount, ``P`` payee, ``M`` memo, ``L`` category (``[Account]``
means a transfer), ``N`` number, ``C`` cleared status, ended by ``^``.  ``!Type:Bank``,
``!Type:CCard``, ``!Type:Cash`` and the other register types (``Oth A``, ``Oth L``) are read;
lists (categories, classes, memorised payees) and investment registers are skipped.

Dates come as ``M/D/YY``, ``M/D'YY`` (apostrophe: 2000s), ``M/D/YYYY`` or ``D/M/YYYY``, with
``/``, ``-`` or ``.`` separators; day-first is chosen for the whole file when a first field
exceeds 12 and no second field does.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from titans_finance import domain as d
from titans_finance.domain import RejectedRow
from titans_finance.errors import InputFileError
from titans_finance.ingest.readers._common import build_frame, decode_text, parse_money, read_bytes
from titans_finance.ingest.readers.base import ReadResult

logger = logging.getLogger(__name__)

FORMAT = "qif"
_REGISTERS = {"bank", "ccard", "cash", "oth a", "oth l"}
_REGISTER_METHODS = {"ccard": "Card", "cash": "Cash"}
_NUMBER_METHODS = {
    "ATM": "Cash",
    "POS": "Card",
    "EFT": "Transfer",
    "XFER": "Transfer",
    "TXFR": "Transfer",
    "DEP": "Deposit",
}
_HEADER = re.compile(r"(?im)^[ \t]*!(?:Type:|Account|Option:|Clear:)")
_DATE = re.compile(r"^\s*(\d{1,4})\s*[/.-]\s*(\d{1,2})\s*(['/.-])\s*(\d{1,4})\s*$")


@dataclass
class _Record:
    line: int
    fields: dict[str, str] = field(default_factory=dict)
    raw: list[str] = field(default_factory=list)
    splits: list[str] = field(default_factory=list)


def _records(text: str) -> tuple[list[tuple[str, str | None, _Record]], set[str]]:
    """Transaction records as (register type, account name, record) and skipped sections."""
    out: list[tuple[str, str | None, _Record]] = []
    skipped: set[str] = set()
    section: str | None = None
    account_name: str | None = None
    in_account_block = False
    current: _Record | None = None
    for number, raw_line in enumerate(text.splitlines(), start=1):
        line = raw_line.rstrip()
        if not line.strip():
            continue
        if line.startswith("!"):
            header = line[1:].strip()
            lower = header.lower()
            if lower.startswith("type:"):
                section = lower[5:].strip()
                in_account_block = False
                if section not in _REGISTERS:
                    skipped.add(header[5:].strip())
            elif lower == "account":
                in_account_block = True
                section = None
            # !Option:AutoSwitch / !Clear:AutoSwitch only toggle account-list mode
            current = None
            continue
        if in_account_block:
            if line.startswith("N"):
                account_name = line[1:].strip() or account_name
            elif line.startswith("^"):
                in_account_block = False
            continue
        if section is None or section not in _REGISTERS:
            continue
        if line.startswith("^"):
            if current is not None and current.fields:
                out.append((section, account_name, current))
            current = None
            continue
        if current is None:
            current = _Record(line=number)
        current.raw.append(line)
        code, value = line[0], line[1:].strip()
        if code == "$":  # split amounts: the total on T is what moved; they stand in without T
            current.splits.append(value)
            continue
        if code in "SE":  # split category and memo
            continue
        if code not in current.fields:
            current.fields[code] = value
    if current is not None and current.fields:  # a last record without ^
        out.append((section or "bank", account_name, current))
    return out, skipped


def _day_first(dates: list[str]) -> bool:
    """Whether ambiguous dates in this file are D/M: some first field > 12, no second field."""
    firsts, seconds = [], []
    for text in dates:
        match = _DATE.match(text)
        if match and len(match.group(1)) <= 2:
            firsts.append(int(match.group(1)))
            seconds.append(int(match.group(2)))
    return any(f > 12 for f in firsts) and not any(s > 12 for s in seconds)


def _parse_date(text: str, day_first: bool) -> date:
    match = _DATE.match(text)
    if not match:
        raise ValueError(f"date {text!r} is not a date like M/D/YY, M/D'YY or M/D/YYYY")
    first, second, separator, year_text = match.groups()
    if len(first) == 4:  # YYYY-MM-DD
        year, month, day = int(first), int(second), int(year_text)
    else:
        year = int(year_text)
        if len(year_text) <= 2:
            year += 2000 if separator == "'" or year < 50 else 1900
        month, day = (int(second), int(first)) if day_first else (int(first), int(second))
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise ValueError(f"date {text!r} is not a valid date ({exc})") from None


def _category(value: str | None) -> tuple[str | None, bool]:
    """Category without its ``/class`` suffix, and whether it is a transfer ``[Account]``."""
    if not value:
        return None, False
    value = value.split("/", 1)[0].strip()
    if value.startswith("[") and value.endswith("]"):
        return "Transfer", True
    return value or None, False


def read_qif(
    path: Path,
    *,
    account: str | None = None,
    mapping: Mapping[str, Any] | None = None,
) -> ReadResult:
    """Read a QIF file: one row per bank, credit-card or cash register record.

    ``Account`` is ``account`` when given, else the name from a preceding ``!Account`` block.
    Lines before the first header (comments, a banner) are ignored. Description is payee
    (with memo), else memo, else the category line, else empty; a record without ``T`` takes
    the sum of its split amounts. A record whose date or amount cannot be read is rejected;
    ``line`` is the record's first line. ``mapping`` is not used. Raises ``InputFileError``
    when the file has no QIF header or no register section.
    """
    del mapping
    path = Path(path)
    text = decode_text(read_bytes(path, "a QIF file"))
    # Comment lines, blank lines or a bank's banner may stand before the first header.
    if not _HEADER.search(text):
        raise InputFileError(
            f"{path}: not a QIF file: no header line such as !Type:Bank or !Account"
        )
    records, skipped = _records(text)
    if skipped:
        logger.info("%s: skipped QIF sections %s", path, ", ".join(sorted(skipped)))
    if not records and skipped:
        raise InputFileError(
            f"{path}: the QIF file has no bank, credit-card or cash register "
            f"(found only: {', '.join(sorted(skipped))})"
        )
    day_first = _day_first([r.fields.get("D", "") for _, _, r in records])
    rows: list[dict[str, Any]] = []
    lines: list[int] = []
    rejects: list[RejectedRow] = []
    for register, account_name, record in records:
        fields = record.fields
        try:
            if "D" not in fields:
                raise ValueError("the record has no date (D line)")
            when = _parse_date(fields["D"], day_first)
            amount_text = fields.get("T") or fields.get("U")
            amount: Decimal | None
            if amount_text is None and record.splits:
                parts = [parse_money(v) for v in record.splits]
                amount_text = " + ".join(record.splits)
                amount = None if None in parts else sum((p for p in parts if p), Decimal(0))
            elif amount_text is None:
                raise ValueError("the record has no amount (T line)")
            else:
                amount = parse_money(amount_text)
            if amount is None:
                raise ValueError(f"amount {amount_text!r} is not a number")
        except ValueError as exc:
            rejects.append(RejectedRow(record.line, "\n".join(record.raw), str(exc)))
            continue
        category, transfer = _category(fields.get("L"))
        number = fields.get("N") or None
        if number and number.isdigit():
            method: str | None = "Check"
        else:
            method = _NUMBER_METHODS.get((number or "").upper()) or _REGISTER_METHODS.get(register)
        if transfer:
            method = "Transfer"
        payee, memo = fields.get("P") or None, fields.get("M") or None
        if payee and memo and memo.lower() not in payee.lower():
            description = f"{payee} - {memo}"
        else:
            # No payee: the memo, else the category line as written, else no text at all.
            written = (fields.get("L") or "").split("/", 1)[0].strip().strip("[]").strip()
            description = payee or memo or written
        kind = d.TransactionType.TRANSFER if transfer else d.type_from_amount(amount)
        rows.append(
            {
                d.DATE: when,
                d.TYPE: kind.value,
                d.DESCRIPTION: description,
                d.AMOUNT: amount,
                d.CATEGORY: category,
                d.PAYMENT_METHOD: method,
                d.REFERENCE: number,
                d.ACCOUNT: account or account_name,
            }
        )
        lines.append(record.line)
    columns = {name: [row.get(name) for row in rows] for name in d.CANONICAL_COLUMNS}
    return ReadResult(frame=build_frame(columns, lines), rejects=rejects, format=FORMAT)


__all__ = ["read_qif"]

"""Reader for ISO 20022 cash-management statements: CAMT.053 (and CAMT.052 / CAMT.054).

Parsed with the standard library's ``xml.etree.ElementTree``; namespaces are stripped so every
``camt.05x.001.xx`` version reads the same way.  No maintained third-party CAMT parser is needed
for the handful of elements used here.  Security: ``defusedxml`` is not installed; the bundled
expat (>= 2.4) refuses billion-laughs entity expansion and ElementTree never fetches external
entities, and on top of that any document declaring a DTD (which CAMT never does) is refused.
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from titans_finance import domain as d
from titans_finance.domain import BalanceBreak, RejectedRow
from titans_finance.errors import InputFileError
from titans_finance.ingest.readers._common import build_frame, read_bytes
from titans_finance.ingest.readers.base import ReadResult

logger = logging.getLogger(__name__)

FORMAT = "camt"
# Message containers: CAMT.053 statements, CAMT.052 reports, CAMT.054 notifications.
_CONTAINERS = {
    "BkToCstmrStmt": "Stmt",
    "BkToCstmrAcctRpt": "Rpt",
    "BkToCstmrDbtCdtNtfctn": "Ntfctn",
}
_NTRY_TAG = re.compile(rb"<(?:[\w.-]+:)?Ntry[\s>/]")
_STATUS = {"BOOK": "posted", "PDNG": "pending", "INFO": "information"}
# Bank transaction codes (Domain / Family / SubFamily) to payment methods.
_FAMILY_METHODS = {
    "ICDT": "Transfer",
    "RCDT": "Transfer",
    "IRCT": "Transfer",
    "RRCT": "Transfer",
    "IDDT": "Direct Debit",
    "RDDT": "Direct Debit",
    "CCRD": "Card",
    "RCCN": "Card",
    "ICCN": "Card",
    "CNTR": "Cash",
    "ICHQ": "Check",
    "RCHQ": "Check",
    "DRFT": "Check",
}
_SUBFAMILY_METHODS = {"CWDL": "Cash", "CDPT": "Cash", "POSD": "Card", "POSC": "Card"}
_PROPRIETARY_METHODS = {
    "card": "Card",
    "cash": "Cash",
    "transfer": "Transfer",
    "debit": "Direct Debit",
}


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _strip_namespaces(root: ET.Element) -> None:
    for element in root.iter():
        element.tag = _local(element.tag)


def _text(element: ET.Element | None, path: str) -> str | None:
    """Stripped text at ``path`` below ``element``, or None when absent or blank."""
    if element is None:
        return None
    found = element.find(path)
    if found is None or found.text is None:
        return None
    return found.text.strip() or None


def _date(element: ET.Element | None) -> date | None:
    """A CAMT date group (``Dt`` or ``DtTm``) as a date."""
    text = _text(element, "Dt") or _text(element, "DtTm")
    if text is None:
        return None
    return date.fromisoformat(text[:10])


def _signed(amount: ET.Element | None, indicator: str | None, where: str) -> Decimal:
    if amount is None or not (amount.text or "").strip():
        raise ValueError(f"{where}: amount (Amt) is missing")
    text = (amount.text or "").strip()
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{where}: amount {text!r} is not a number") from None
    if indicator not in ("CRDT", "DBIT"):
        raise ValueError(f"{where}: credit/debit indicator {indicator!r} is not CRDT or DBIT")
    return -abs(value) if indicator == "DBIT" else abs(value)


def _payment_method(entry: ET.Element) -> str | None:
    code = entry.find("BkTxCd")
    if code is None:
        return None
    family = _text(code, "Domn/Fmly/Cd")
    subfamily = _text(code, "Domn/Fmly/SubFmlyCd")
    if subfamily in _SUBFAMILY_METHODS:
        return _SUBFAMILY_METHODS[subfamily]
    if family in _FAMILY_METHODS:
        return _FAMILY_METHODS[family]
    proprietary = (_text(code, "Prtry/Cd") or "").lower()
    return next((m for k, m in _PROPRIETARY_METHODS.items() if k in proprietary), None)


def _party_name(details: ET.Element | None, role: str) -> str | None:
    """Counterparty name in both the pre-2019 (``Cdtr/Nm``) and later (``Cdtr/Pty/Nm``) forms."""
    if details is None:
        return None
    return _text(details, f"RltdPties/{role}/Nm") or _text(details, f"RltdPties/{role}/Pty/Nm")


def _description(entry: ET.Element, amount: Decimal) -> str | None:
    details = entry.find("NtryDtls/TxDtls")
    counterparty = _party_name(details, "Cdtr" if amount < 0 else "Dbtr")
    remittance = [(u.text or "").strip() for u in entry.iterfind("NtryDtls/TxDtls/RmtInf/Ustrd")]
    remittance_text = " ".join(r for r in remittance if r) or None
    extra = _text(entry, "AddtlNtryInf") or _text(details, "AddtlTxInf")
    parts = [p for p in (counterparty, remittance_text or extra) if p]
    return " - ".join(parts) or None


def _reference(entry: ET.Element) -> str | None:
    candidates = (
        _text(entry, "AcctSvcrRef"),
        _text(entry, "NtryDtls/TxDtls/Refs/AcctSvcrRef"),
        _text(entry, "NtryDtls/TxDtls/Refs/EndToEndId"),
        _text(entry, "NtryRef"),
    )
    return next((c for c in candidates if c and c.upper() != "NOTPROVIDED"), None)


def _balance(statement: ET.Element, codes: tuple[str, ...]) -> Decimal | None:
    for bal in statement.iterfind("Bal"):
        code = _text(bal, "Tp/CdOrPrtry/Cd")
        if code in codes:
            return _signed(bal.find("Amt"), _text(bal, "CdtDbtInd"), f"balance {code}")
    return None


def _parse(data: bytes, path: Path) -> ET.Element:
    head = data[:4096]
    if b"<!DOCTYPE" in head or b"<!ENTITY" in data:
        raise InputFileError(
            f"{path}: XML with a DTD or entities is refused (CAMT files have none)"
        )
    try:
        root = ET.fromstring(data)  # noqa: S314 (DTDs refused above; expat >= 2.4 limits expansion)
    except ET.ParseError as exc:
        line, column = exc.position
        raise InputFileError(
            f"{path}: not well-formed XML at line {line}, column {column} ({exc}); "
            "the file is probably truncated or damaged: export it again"
        ) from None
    _strip_namespaces(root)
    return root


def read_camt(
    path: Path,
    *,
    account: str | None = None,
    mapping: Mapping[str, Any] | None = None,
) -> ReadResult:
    """Read an ISO 20022 CAMT.053/052/054 file: one row per ``Ntry``.

    ``Account`` is the statement's IBAN (or other id) unless ``account`` is given; ``line`` is
    the source line of the ``<Ntry>`` tag.  When a statement has opening (OPBD/PRCD) and closing
    (CLBD) balances, opening + booked entries must equal closing, else a ``BalanceBreak`` is
    reported.  ``mapping`` is not used.  Raises ``InputFileError`` for malformed XML or a
    document that is not a CAMT statement.
    """
    del mapping
    path = Path(path)
    data = read_bytes(path, "an ISO 20022 CAMT XML file")
    root = _parse(data, path)
    container = next((el for el in root.iter() if el.tag in _CONTAINERS), None)
    if container is None:
        raise InputFileError(
            f"{path}: XML but not a CAMT statement: no BkToCstmrStmt, BkToCstmrAcctRpt or "
            f"BkToCstmrDbtCdtNtfctn element (root is <{root.tag}>)"
        )
    entry_lines = [line_of_bytes(data, m.start()) for m in _NTRY_TAG.finditer(data)]
    rows: list[dict[str, Any]] = []
    lines: list[int] = []
    rejects: list[RejectedRow] = []
    breaks: list[BalanceBreak] = []
    ordinal = {id(el): k for k, el in enumerate(root.iter("Ntry"))}
    for statement in container.iterfind(_CONTAINERS[container.tag]):
        iban = _text(statement, "Acct/Id/IBAN") or _text(statement, "Acct/Id/Othr/Id")
        statement_currency = _text(statement, "Acct/Ccy")
        booked_total = Decimal(0)
        last_line = 0
        for entry in statement.iterfind("Ntry"):
            k = ordinal[id(entry)]
            line = entry_lines[k] if k < len(entry_lines) else k + 1
            last_line = line
            raw = ET.tostring(entry, encoding="unicode")[:500]
            try:
                amount_el = entry.find("Amt")
                amount = _signed(amount_el, _text(entry, "CdtDbtInd"), "entry")
                when = _date(entry.find("BookgDt")) or _date(entry.find("ValDt"))
                if when is None:
                    raise ValueError("entry: booking date (BookgDt) and value date are missing")
            except ValueError as exc:
                rejects.append(RejectedRow(line, raw, str(exc).removeprefix("entry: ")))
                continue
            status = _text(entry, "Sts") or _text(entry, "Sts/Cd")
            if status in (None, "BOOK"):
                booked_total += amount
            rows.append(
                {
                    d.DATE: when,
                    d.TYPE: d.type_from_amount(amount).value,
                    d.DESCRIPTION: _description(entry, amount),
                    d.AMOUNT: amount,
                    d.PAYMENT_METHOD: _payment_method(entry),
                    d.STATUS: _STATUS.get(status or "BOOK", status),
                    d.REFERENCE: _reference(entry),
                    d.ACCOUNT: account or iban,
                    d.CURRENCY: (amount_el.get("Ccy") if amount_el is not None else None)
                    or statement_currency,
                }
            )
            lines.append(line)
        breaks.extend(_check_closing(statement, booked_total, last_line, path))
    columns = {name: [row.get(name) for row in rows] for name in d.CANONICAL_COLUMNS}
    frame = build_frame(columns, lines)
    return ReadResult(frame=frame, rejects=rejects, format=FORMAT, balance_breaks=breaks)


def _check_closing(
    statement: ET.Element, booked_total: Decimal, line: int, path: Path
) -> list[BalanceBreak]:
    try:
        opening = _balance(statement, ("OPBD", "PRCD"))
        closing = _balance(statement, ("CLBD",))
    except ValueError as exc:
        logger.warning("%s: statement balance unreadable: %s", path, exc)
        return []
    if opening is None or closing is None:
        return []
    expected = opening + booked_total
    if expected == closing:
        return []
    return [BalanceBreak(line=line, expected=str(expected), found=str(closing))]


def line_of_bytes(data: bytes, offset: int) -> int:
    """1-based line number of a byte offset."""
    return data.count(b"\n", 0, offset) + 1


__all__ = ["read_camt"]

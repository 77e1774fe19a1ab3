"""Reader for OFX 1.x (SGML), OFX 2.x (XML) and Quicken QFX statements, using ``ofxtools``.

``ofxtools`` turns the tag soup (unclosed SGML elements included) into an element tree and
validates each transaction against the OFX specification.  Common bank quirks are repaired
before it sees the text: a missing or non-standard header (e.g. ``CHARSET:UTF-8``), lower-case
tags, transaction elements out of spec order, and amounts with thousands separators.  Each
``STMTTRN`` is converted on its own, so one bad transaction is rejected with a reason while the
rest of the file loads.  Bank (``STMTRS``) and credit-card (``CCSTMTRS``) statements are read;
a file may hold several statements for several accounts.
"""

from __future__ import annotations

import logging
import re
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from ofxtools.models.bank.stmt import STMTTRN, TRNTYPES
from ofxtools.models.base import Aggregate
from ofxtools.Parser import ParseError, TreeBuilder

from titans_finance import domain as d
from titans_finance.domain import RejectedRow
from titans_finance.errors import InputFileError
from titans_finance.ingest.readers._common import (
    build_frame,
    decode_text,
    line_of,
    parse_money,
    read_bytes,
)
from titans_finance.ingest.readers.base import ReadResult

logger = logging.getLogger(__name__)

FORMAT = "ofx"
PAYMENT_METHODS: dict[str, str] = {
    "POS": "Card",
    "ATM": "Cash",
    "CASH": "Cash",
    "CHECK": "Check",
    "XFER": "Transfer",
    "DIRECTDEBIT": "Direct Debit",
    "DIRECTDEP": "Direct Deposit",
    "REPEATPMT": "Standing Order",
    "PAYMENT": "Electronic Payment",
    "DEP": "Deposit",
}
CATEGORIES: dict[str, str] = {
    "INT": "Interest",
    "DIV": "Dividends",
    "FEE": "Bank Fees",
    "SRVCHG": "Bank Fees",
}
_STATEMENTS = ("STMTRS", "CCSTMTRS")
_ACCOUNT_PATHS = {"STMTRS": "BANKACCTFROM/ACCTID", "CCSTMTRS": "CCACCTFROM/ACCTID"}
_CHARSET = re.compile(r"CHARSET:\s*([\w-]+)", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"<\?xml[^>]*encoding=[\"']([\w-]+)[\"']", re.IGNORECASE)
_OFX_START = re.compile(r"<OFX>", re.IGNORECASE)
_OFX_END = re.compile(r"</OFX>\s*\Z")
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9._]*)\s*(/?)>")
_PI_OR_COMMENT = re.compile(r"<\?.*?\?>|<!--.*?-->", re.DOTALL)
_STMTTRN_TAG = re.compile(r"<STMTTRN>", re.IGNORECASE)
_SPEC_ORDER = {name.upper(): i for i, name in enumerate(STMTTRN.spec)}
_TRNTYPES = frozenset(TRNTYPES)
_NO_FITID = "\x00no-fitid"  # placeholder for ofxtools' required FITID; never stored
_CHARSETS = {"1252": "cp1252", "ISO-8859-1": "latin-1", "8859-1": "latin-1", "NONE": None}


def _decode(data: bytes) -> str:
    """Text of the file using the OFX v1 CHARSET or the XML encoding declaration."""
    head = data[:1024]
    declared: str | None = None
    match = _XML_ENCODING.search(head)
    if match:
        declared = match.group(1).decode("ascii")
    else:
        charset = _CHARSET.search(head.decode("ascii", "replace"))
        if charset:
            name = charset.group(1).upper()
            declared = _CHARSETS.get(name, name)
    return decode_text(data, declared)


def _body(text: str, path: Path) -> tuple[str, int]:
    """The markup from ``<OFX>`` on with upper-case tags, and its offset in ``text``."""
    start = _OFX_START.search(text)
    if start is None:
        raise InputFileError(
            f"{path}: not an OFX/QFX file: no <OFX> element found "
            "(export the statement again as OFX, QFX, QIF, CAMT or CSV)"
        )
    body = text[start.start() :]
    body = _PI_OR_COMMENT.sub(lambda m: "\n" * m.group(0).count("\n"), body)
    # ofxtools only knows upper-case tags without attributes; <X/> is an empty element.
    body = _TAG.sub(
        lambda m: (
            f"<{m.group(2).upper()}></{m.group(2).upper()}>"
            if m.group(3)
            else f"<{m.group(1)}{m.group(2).upper()}>"
        ),
        body,
    )
    return body, start.start()


def _tree(body: str, path: Path) -> ET.Element:
    if not _OFX_END.search(body):
        raise InputFileError(
            f"{path}: the OFX file ends before its closing </OFX> tag; it is probably "
            "truncated: export it again"
        )
    builder = TreeBuilder()
    try:
        builder.feed(body)
        root = builder.close()
    except (ParseError, IndexError) as exc:
        raise InputFileError(f"{path}: malformed OFX markup: {exc}") from None
    if root is None or root.tag != "OFX":
        raise InputFileError(f"{path}: malformed OFX: the document root is not <OFX>")
    return root


def _text(element: ET.Element, path: str) -> str | None:
    found = element.find(path)
    if found is None or found.text is None:
        return None
    return found.text.strip() or None


def _groom(transaction: ET.Element) -> ET.Element:
    """A copy in spec order, unknown tags dropped, amount separators normalised."""
    copy = ET.Element(transaction.tag)
    children = [c for c in transaction if c.tag in _SPEC_ORDER]
    for child in sorted(children, key=lambda c: _SPEC_ORDER[c.tag]):
        if child.tag == "TRNAMT" and child.text:
            money = parse_money(child.text)
            new = ET.SubElement(copy, child.tag)
            new.text = str(money) if money is not None else child.text
            continue
        if child.tag == "TRNTYPE" and child.text:
            ET.SubElement(copy, child.tag).text = child.text.strip().upper()
            continue
        copy.append(child)
    return copy


def _precheck(transaction: ET.Element) -> None:
    """Readable reasons for the commonest defects, before ofxtools' own validation."""
    missing = [t for t in ("DTPOSTED", "TRNAMT") if _text(transaction, t) is None]
    if missing:
        raise ValueError(f"the transaction has no {', '.join(missing)}")
    posted = _text(transaction, "DTPOSTED") or ""
    try:
        if not posted[:8].isdigit():
            raise ValueError(posted)
        date(int(posted[0:4]), int(posted[4:6]), int(posted[6:8]))
    except ValueError:
        raise ValueError(f"posting date {posted!r} is not an OFX date (YYYYMMDD[HHMMSS])") from None
    amount = _text(transaction, "TRNAMT")
    if parse_money(amount) is None:
        raise ValueError(f"amount {amount!r} is not a number")


def _completed(transaction: ET.Element) -> ET.Element:
    """A copy with what ofxtools requires but a row does not need filled in: a TRNTYPE from
    the amount's sign when missing or not an OFX type, and a placeholder FITID when missing
    (the row then gets no Reference, and its fingerprint is the documented content one)."""
    groomed = _groom(transaction)
    # PAYEE is an address block whose many required parts banks leave out; only its NAME is
    # used (read from the source element), so the block is not validated.
    for element in groomed.findall("PAYEE"):
        groomed.remove(element)
    trntype = (_text(groomed, "TRNTYPE") or "").upper()
    if trntype not in _TRNTYPES:
        money = parse_money(_text(groomed, "TRNAMT"))
        fallback = "DEBIT" if money is not None and money < 0 else "CREDIT"
        for element in groomed.findall("TRNTYPE"):
            groomed.remove(element)
        element = ET.Element("TRNTYPE")
        element.text = fallback
        groomed.insert(0, element)
    if _text(groomed, "FITID") is None:
        for element in groomed.findall("FITID"):
            groomed.remove(element)
        element = ET.Element("FITID")
        element.text = _NO_FITID
        after = [i for i, c in enumerate(groomed) if _SPEC_ORDER[c.tag] < _SPEC_ORDER["FITID"]]
        groomed.insert(after[-1] + 1 if after else 0, element)
    return groomed


def _convert(transaction: ET.Element) -> Any:
    """The ofxtools model of one transaction; ValueError with a readable reason if invalid."""
    _precheck(transaction)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return Aggregate.from_etree(_completed(transaction))
    except Exception as exc:  # ofxtools raises ValueError/TypeError/KeyError subclasses
        message = str(exc).strip() or type(exc).__name__
        raise ValueError(f"invalid OFX transaction: {message}") from None


def _posted_date(transaction: ET.Element) -> date:
    """The posting date as the bank wrote it (its local date, not shifted to UTC)."""
    text = _text(transaction, "DTPOSTED") or ""
    return date(int(text[0:4]), int(text[4:6]), int(text[6:8]))


def _description(model: Any, transaction: ET.Element) -> str:
    """NAME (with MEMO when it adds something), else MEMO, else PAYEE's name, else empty."""
    name = (model.name or "").strip()
    memo = (model.memo or "").strip()
    payee = _text(transaction, "PAYEE/NAME") or ""
    if name and memo and memo.lower() not in name.lower():
        return f"{name} - {memo}"
    return name or memo or payee


def _ledger_balance(statement: ET.Element) -> tuple[Decimal, date] | None:
    """The statement's closing (ledger) balance and its date, when both are readable."""
    amount = parse_money(_text(statement, "LEDGERBAL/BALAMT"))
    as_of = _text(statement, "LEDGERBAL/DTASOF") or ""
    if amount is None or not as_of[:8].isdigit():
        return None
    try:
        return Decimal(str(amount)), date(int(as_of[0:4]), int(as_of[4:6]), int(as_of[6:8]))
    except ValueError:
        return None


def _running_balances(rows: list[dict[str, Any]], closing: Decimal) -> list[Decimal]:
    """The balance after each row, counted back from the closing balance: the last row (by
    posting date, file order within a day) ends at ``closing``."""
    order = sorted(range(len(rows)), key=lambda k: (rows[k][d.DATE], k))
    balances: list[Decimal] = [Decimal(0)] * len(rows)
    balance = closing
    for k in reversed(order):
        balances[k] = balance
        balance -= rows[k][d.AMOUNT]
    return balances


def read_ofx(
    path: Path,
    *,
    account: str | None = None,
    mapping: Mapping[str, Any] | None = None,
) -> ReadResult:
    """Read an OFX/QFX file: one row per ``STMTTRN`` of every bank or credit-card statement.

    Description is NAME + MEMO (else MEMO, else PAYEE, else empty), Reference the FITID (none
    for a transaction without one: its fingerprint is then account + date + amount +
    description), Payment Method from TRNTYPE, Account the
    ACCTID (or ``account`` when given), Currency the statement's CURDEF (or the transaction's
    CURRENCY).  ``line`` is the source line of the ``<STMTTRN>`` tag.  ``mapping`` is not used.
    Balance is counted back from the statement's ``LEDGERBAL`` when every transaction of the
    statement was read and none is posted after the balance's date (otherwise it stays empty).
    Raises ``InputFileError`` when the file is empty, has no ``<OFX>`` element, or its markup is
    malformed or truncated.
    """
    del mapping
    path = Path(path)
    data = read_bytes(path, "an OFX or QFX file")
    text = _decode(data)
    body, offset = _body(text, path)
    root = _tree(body, path)
    # The n-th <STMTTRN> tag is the n-th STMTTRN element; the body keeps the text's line breaks.
    first_line = line_of(text, offset)
    tag_lines = [first_line + body.count("\n", 0, m.start()) for m in _STMTTRN_TAG.finditer(body)]
    ordinal = {id(el): k for k, el in enumerate(root.iter("STMTTRN"))}

    rows: list[dict[str, Any]] = []
    lines: list[int] = []
    rejects: list[RejectedRow] = []
    statements = [el for el in root.iter() if el.tag in _STATEMENTS]
    if not statements:
        found = sorted({el.tag for el in root.iter() if el.tag.endswith("STMTRS")})
        raise InputFileError(
            f"{path}: the OFX file holds no bank or credit-card statement"
            + (
                f" (found {', '.join(found)}; investment statements are not supported)"
                if found
                else ""
            )
        )
    for statement in statements:
        acctid = _text(statement, _ACCOUNT_PATHS[statement.tag])
        currency = _text(statement, "CURDEF")
        first_row, rejects_before = len(rows), len(rejects)
        for transaction in statement.iterfind("BANKTRANLIST/STMTTRN"):
            k = ordinal[id(transaction)]
            line = tag_lines[k] if k < len(tag_lines) else k + 1
            try:
                model = _convert(transaction)
                posted = _posted_date(transaction)
            except ValueError as exc:
                raw = ET.tostring(transaction, encoding="unicode")[:500]
                rejects.append(RejectedRow(line, raw, str(exc)))
                continue
            amount: Decimal = model.trnamt
            trntype = str(model.trntype)
            rows.append(
                {
                    d.DATE: posted,
                    d.TYPE: d.type_from_amount(amount).value,
                    d.DESCRIPTION: _description(model, transaction),
                    d.AMOUNT: amount,
                    d.CATEGORY: CATEGORIES.get(trntype),
                    d.PAYMENT_METHOD: PAYMENT_METHODS.get(trntype)
                    or ("Card" if statement.tag == "CCSTMTRS" else None),
                    d.STATUS: "posted",
                    d.REFERENCE: None if model.fitid == _NO_FITID else model.fitid,
                    d.ACCOUNT: account or acctid,
                    d.CURRENCY: _text(transaction, "CURRENCY/CURSYM") or currency,
                }
            )
            lines.append(line)
        ledger = _ledger_balance(statement)
        statement_rows = rows[first_row:]
        if (
            ledger is not None
            and statement_rows
            and len(rejects) == rejects_before
            and max(row[d.DATE] for row in statement_rows) <= ledger[1]
        ):
            for row, balance in zip(
                statement_rows, _running_balances(statement_rows, ledger[0]), strict=True
            ):
                row[d.BALANCE] = balance
    with_balance = any(d.BALANCE in row for row in rows)
    names = [*d.CANONICAL_COLUMNS, *([d.BALANCE] if with_balance else [])]
    columns = {name: [row.get(name) for row in rows] for name in names}
    frame = build_frame(columns, lines, with_balance=with_balance)
    return ReadResult(frame=frame, rejects=rejects, format=FORMAT)


__all__ = ["read_ofx"]

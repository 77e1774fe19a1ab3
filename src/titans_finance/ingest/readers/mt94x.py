"""Reader for SWIFT MT940 (customer statement) and MT942 (interim report) files, with ``mt-940``.

The ``mt-940`` package (import name ``mt940``) parses the tags; this module turns each ``:61:``
statement line into a canonical row. The amount is signed by the debit/credit mark (``D`` and
``RC``, a reversed credit, take money out; ``C`` and ``RD`` put it in: the package's
``Options.all()`` fixes, which its next major release makes the default). The date is the entry
(booking) date when the line carries one, else the value date. The description is the ``:86:``
counterparty name (``?32``/``?33``) and purpose (``?20``..``?29``), or ``/NAME/`` and ``/REMI/``
of the Dutch banks' slash layout, or the unstructured ``:86:`` text, or the ``:61:``
supplementary details. The bank reference (after ``//``), else the
customer reference, is the row's Reference when it identifies one transaction (``NONREF`` and
references repeated for different bookings are not used). Opening and closing balance lines
(``:60F:``/``:60M:``, ``:62F:``/``:62M:``) are not transactions: they are checked against the
statement's lines as CAMT balances are, and a difference is a ``BalanceBreak``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from titans_finance import domain as d
from titans_finance.domain import BalanceBreak, RejectedRow
from titans_finance.errors import InputFileError
from titans_finance.ingest.readers._common import build_frame, decode_text, line_of, read_bytes
from titans_finance.ingest.readers.base import ReadResult

if TYPE_CHECKING:
    import mt940

logger = logging.getLogger(__name__)

FORMAT = "mt940"
# A tag at the start of a line, as SWIFT writes them; a statement starts with :20:.
_STATEMENT_START = re.compile(r"(?m)^:20:")
_LINE_TAG = re.compile(r"(?m)^:61:")
_STATEMENT_TAG = re.compile(r"(?m)^:(?:25|28C?|60[FM]|61|62[FM]|34F|13D?):")
_SUBFIELD = re.compile(r"\?(\d{2})")
_SLASH_KEY = re.compile(r"/(?:NAME|REMI)/")
_NO_REFERENCE = frozenset({"", "NONREF", "NOREF", "NOTPROVIDED", "NONE"})
# SWIFT transaction type codes (the 3 letters after N/F/S in :61:) to payment methods.
_METHODS = {
    "TRF": "Transfer",
    "DDT": "Direct Debit",
    "STO": "Standing Order",
    "CHK": "Check",
    "CMI": "Transfer",
    "CMT": "Transfer",
    "SAL": "Transfer",
    "CMZ": "Cash",
    "ATM": "Cash",
    "POS": "Card",
}
_CATEGORIES = {"CHG": "Bank Fees", "COM": "Bank Fees", "INT": "Interest", "DIV": "Dividends"}
_OPENING = ("final_opening_balance", "intermediate_opening_balance", "opening_balance")
_CLOSING = ("final_closing_balance", "intermediate_closing_balance", "closing_balance")


def looks_like_mt940(text: str) -> bool:
    """Whether text is SWIFT MT940/MT942: a ``:20:`` reference tag and a statement tag."""
    return bool(_STATEMENT_START.search(text) and _STATEMENT_TAG.search(text))


def _transactions_class() -> type[mt940.models.Transactions]:
    """``mt940`` collections whose ``:86:`` subfields are joined with spaces."""
    import mt940  # imported on first use: it costs ~0.1 s, and the sniff needs none of it
    from mt940 import processors as mt940_processors

    class Transactions(mt940.models.Transactions):
        DEFAULT_PROCESSORS: ClassVar[dict[str, list[Any]]] = {
            **mt940.models.Transactions.DEFAULT_PROCESSORS,
            "post_transaction_details": [
                mt940_processors.transaction_details_post_processor_with_space
            ],
        }

    return Transactions


def _parse_block(block: str, path: Path, first_line: int) -> mt940.models.Transactions:
    """One statement (``:20:`` up to the next one); InputFileError naming the broken tag."""
    import mt940

    transactions = _transactions_class()(options=mt940.Options.all())
    try:
        transactions.parse(block)
    except Exception as exc:  # the package raises RuntimeError(msg, tag, value) and others
        value = exc.args[2] if len(exc.args) > 2 else ""
        tag = getattr(exc.args[1], "id", "?") if len(exc.args) > 1 else "?"
        offset = block.find(str(value)) if value else -1
        where = f"line {first_line + block.count(chr(10), 0, offset)}" if offset >= 0 else ""
        raise InputFileError(
            f"{path}: looks like MT940/MT942 but tag :{tag}: {where} does not follow the "
            f"SWIFT layout ({str(value)[:80]!r}); export the statement again, or as CAMT.053"
        ) from None
    return transactions


def _subfields(details: str) -> dict[str, str]:
    """``?NN`` subfields of a structured ``:86:`` the package left unparsed (no GVC prefix)."""
    parts = _SUBFIELD.split(details)
    fields: dict[str, str] = {}
    for key, value in zip(parts[1::2], parts[2::2], strict=False):
        fields[key] = f"{fields[key]} {value.strip()}".strip() if key in fields else value.strip()
    return fields


def _slash_field(text: str, key: str) -> str:
    """The value after ``/KEY/`` up to the next ``/CODE/`` (upper-case code) or the end."""
    found = re.search(rf"/{key}/(.*?)(?=/[A-Z]{{2,9}}/|\Z)", text)
    return _clean(found.group(1).strip("/")) if found else ""


def _clean(text: object) -> str:
    return re.sub(r"\s+", " ", str(text or "")).strip()


def _description(data: Mapping[str, Any]) -> str:
    """Counterparty and purpose from ``:86:``, else its free text, else :61: details."""
    name, purpose = _clean(data.get("applicant_name")), _clean(data.get("purpose"))
    posting = _clean(data.get("posting_text"))
    free = str(data.get("transaction_details") or "")
    if free and _SUBFIELD.search(free):
        fields = _subfields(free.replace("\n", ""))
        name = name or _clean(" ".join(fields.get(k, "") for k in ("32", "33")))
        purpose = purpose or _clean(" ".join(fields.get(f"2{i}", "") for i in range(10)))
        posting = posting or _clean(fields.get("00"))
        free = ""
    elif _SLASH_KEY.search(free):
        # Dutch banks' /CODE/value layout: the counterparty's NAME and the remittance REMI.
        flat = free.replace("\n", "")
        name = name or _slash_field(flat, "NAME")
        purpose = purpose or _slash_field(flat, "REMI")
        free = "" if (name or purpose) else free
    parts = [p for p in (name, purpose or _clean(free)) if p]
    text = " - ".join(parts) or posting or _clean(data.get("extra_details"))
    return text[: d.MAX_DESCRIPTION]


def _reference(data: Mapping[str, Any]) -> str | None:
    for key in ("bank_reference", "customer_reference"):
        value = _clean(data.get(key))
        if value.upper() not in _NO_REFERENCE:
            return value
    return None


def _balance(statement: mt940.models.Transactions, names: tuple[str, ...]) -> Decimal | None:
    for name in names:
        balance = statement.data.get(name)
        if balance is not None:
            return Decimal(balance.amount.amount)
    return None


def _check(statement: mt940.models.Transactions, total: Decimal, line: int) -> list[BalanceBreak]:
    opening, closing = _balance(statement, _OPENING), _balance(statement, _CLOSING)
    if opening is None or closing is None or opening + total == closing:
        return []
    return [BalanceBreak(line=line, expected=str(opening + total), found=str(closing))]


def read_mt940(
    path: Path,
    *,
    account: str | None = None,
    mapping: Mapping[str, Any] | None = None,
) -> ReadResult:
    """Read an MT940/MT942 file: one row per ``:61:`` statement line of every statement.

    ``Account`` is ``account`` when given, else the statement's ``:25:`` account id; Currency the
    balance's currency; ``line`` the source line of the ``:61:`` tag. ``mapping`` is not used
    (the format has no columns to map). Raises ``InputFileError`` when the file has no
    statement or a tag does not follow the SWIFT layout.
    """
    del mapping
    path = Path(path)
    text = decode_text(read_bytes(path, "an MT940/MT942 statement"), source=path)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    starts = [m.start() for m in _STATEMENT_START.finditer(text)]
    if not starts or not looks_like_mt940(text):
        raise InputFileError(
            f"{path}: not an MT940/MT942 statement: no :20: reference and :61: statement lines"
        )
    rows: list[dict[str, Any]] = []
    lines: list[int] = []
    rejects: list[RejectedRow] = []
    breaks: list[BalanceBreak] = []
    for start, end in zip(starts, [*starts[1:], len(text)], strict=True):
        block = text[start:end]
        first_line = line_of(text, start)
        statement = _parse_block(block, path, first_line)
        tag_lines = [
            first_line + block.count("\n", 0, m.start()) for m in _LINE_TAG.finditer(block)
        ]
        account_id = _clean(statement.data.get("account_identification")) or None
        total = Decimal(0)
        for k, transaction in enumerate(statement):
            data = transaction.data
            line = tag_lines[k] if k < len(tag_lines) else (tag_lines[-1] if tag_lines else 0)
            amount_model = data.get("amount")
            when = data.get("entry_date") or data.get("date")
            if amount_model is None or when is None:
                rejects.append(
                    RejectedRow(line, block[:500], f"line {line}: the :61: line has no amount")
                )
                continue
            amount = Decimal(amount_model.amount)
            total += amount
            code = str(data.get("id") or "")[1:].upper()
            rows.append(
                {
                    d.DATE: date(when.year, when.month, when.day),
                    d.TYPE: d.type_from_amount(amount).value,
                    d.DESCRIPTION: _description(data),
                    d.AMOUNT: amount,
                    d.CATEGORY: _CATEGORIES.get(code),
                    d.PAYMENT_METHOD: _METHODS.get(code),
                    d.STATUS: "posted",
                    d.REFERENCE: _reference(data),
                    d.ACCOUNT: account or account_id,
                    d.CURRENCY: amount_model.currency or data.get("currency"),
                }
            )
            lines.append(line)
        breaks.extend(_check(statement, total, tag_lines[-1] if tag_lines else first_line))
    _drop_shared_references(rows)
    columns = {name: [row.get(name) for row in rows] for name in d.CANONICAL_COLUMNS}
    return ReadResult(
        frame=build_frame(columns, lines), rejects=rejects, format=FORMAT, balance_breaks=breaks
    )


def _drop_shared_references(rows: list[dict[str, Any]]) -> None:
    """Forget a reference that several different bookings share: it names a batch or a
    statement, not a transaction, and would make their fingerprints collide across files."""
    seen: dict[tuple[str | None, str], set[tuple[date, Decimal]]] = {}
    for row in rows:
        if row[d.REFERENCE]:
            key = (row[d.ACCOUNT], row[d.REFERENCE])
            seen.setdefault(key, set()).add((row[d.DATE], row[d.AMOUNT]))
    shared = {key for key, bookings in seen.items() if len(bookings) > 1}
    for row in rows:
        if (row[d.ACCOUNT], row[d.REFERENCE]) in shared:
            row[d.REFERENCE] = None


__all__ = ["looks_like_mt940", "read_mt940"]

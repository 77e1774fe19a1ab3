"""File readers, one module per format, and the dispatcher that picks one by sniffing content."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from titans_finance.domain import BalanceBreak, RejectedRow
from titans_finance.errors import InputFileError, ValidationError
from titans_finance.ingest.readers.base import Reader, ReadResult

SUPPORTED_FORMATS: tuple[str, ...] = ("csv", "ofx", "qif", "camt", "berka")
FORMAT_CHOICES: tuple[str, ...] = ("auto", *SUPPORTED_FORMATS)
_ALIASES = {"qfx": "ofx", "txt": "csv", "tsv": "csv", "camt053": "camt", "camt.053": "camt"}
_EXTENSIONS = {".ofx": "ofx", ".qfx": "ofx", ".qif": "qif", ".asc": "berka", ".xml": "camt"}
_SNIFF_BYTES = 8192
_OFX = re.compile(r"OFXHEADER\s*[:=]|<\?OFX\s|<OFX>", re.IGNORECASE)
_CAMT = re.compile(
    r"urn:iso:std:iso:20022:tech:xsd:camt\.05[234]|<(?:\w+:)?BkToCstmr(?:Stmt|AcctRpt|DbtCdtNtfctn)\b"
)
_QIF = re.compile(r"^!(?:Type:|Account|Option:|Clear:)", re.IGNORECASE)
_BERKA = re.compile(r'^"?trans_id"?\s*;\s*"?account_id"?\s*;', re.IGNORECASE)


def detect_format(path: Path) -> str:
    """The format of a file from its content: ``ofx``, ``camt``, ``qif``, ``berka`` or ``csv``.

    The first few kilobytes decide; the extension only breaks ties for files whose content says
    nothing (e.g. empty), so the chosen reader can explain what is wrong.
    """
    path = Path(path)
    try:
        with path.open("rb") as handle:
            head = handle.read(_SNIFF_BYTES)
    except FileNotFoundError:
        raise InputFileError(f"{path}: no such file") from None
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read the file ({exc.strerror or exc})") from exc
    text = head.decode("latin-1").lstrip("\ufeff\xef\xbb\xbf \t\r\n")
    if not text.strip():
        return _EXTENSIONS.get(path.suffix.lower(), "csv")
    if _OFX.search(text):
        return "ofx"
    if _CAMT.search(text):
        return "camt"
    if _QIF.match(text):
        return "qif"
    if _BERKA.match(text):
        return "berka"
    return "csv"


def _reader(name: str) -> Reader:
    # Imported on use so that `titans --help` does not pay for ofxtools and friends.
    if name == "csv":
        from titans_finance.ingest.readers.delimited import read_delimited

        return read_delimited
    if name == "ofx":
        from titans_finance.ingest.readers.ofx import read_ofx

        return read_ofx
    if name == "qif":
        from titans_finance.ingest.readers.qif import read_qif

        return read_qif
    if name == "camt":
        from titans_finance.ingest.readers.camt import read_camt

        return read_camt
    from titans_finance.ingest.readers.berka import read_berka

    return read_berka


def resolve_format(format: str, path: Path | None = None) -> str:
    """The reader name for a ``--format`` value; ``auto`` sniffs ``path``.

    Raises ``ValidationError`` listing the valid names for an unknown format.
    """
    name = (format or "auto").strip().lower()
    name = _ALIASES.get(name, name)
    if name not in FORMAT_CHOICES:
        raise ValidationError(
            f"unknown format {format!r}; valid formats: {'|'.join(FORMAT_CHOICES)}"
        )
    if name == "auto":
        if path is None:
            raise ValidationError("format 'auto' needs a file to inspect")
        return detect_format(path)
    return name


def read_file(
    path: Path,
    *,
    format: str = "auto",
    account: str | None = None,
    mapping: Mapping[str, Any] | None = None,
) -> ReadResult:
    """Read any supported export into canonical rows, rejected rows and balance breaks.

    ``format`` is one of auto|csv|ofx|qif|camt|berka (``auto`` sniffs the content).  Raises
    ``ValidationError`` for an unknown format name and ``InputFileError`` when the file cannot
    be read at all.
    """
    path = Path(path)
    name = resolve_format(format, path)
    if not path.is_file():
        raise InputFileError(f"{path}: no such file")
    result = _reader(name)(path, account=account, mapping=mapping)
    result.format = name
    return result


__all__ = [
    "FORMAT_CHOICES",
    "SUPPORTED_FORMATS",
    "BalanceBreak",
    "ReadResult",
    "Reader",
    "RejectedRow",
    "detect_format",
    "read_file",
    "resolve_format",
]

"""File readers, one module per format, and the registry that picks one by sniffing content.

Every format is one ``ReaderSpec`` in ``REGISTRY``: its name, where its reader lives, the file
extensions and ``--format`` aliases it answers to, and a sniff on the first kilobytes.
``detect_format`` asks the sniffs in registry order; ``csv`` (no sniff) is the fallback. A new
format is a new module plus one entry here; nothing else dispatches on format names.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from titans_finance.domain import BalanceBreak, RejectedRow
from titans_finance.errors import InputFileError, ValidationError
from titans_finance.ingest.readers.base import Reader, ReadResult

_SNIFF_BYTES = 8192


@dataclass(frozen=True)
class ReaderSpec:
    """One registered format: name, reader location, extensions, aliases and content sniff.

    ``sniff`` gets the first kilobytes decoded as Latin-1 (so any byte survives) with a BOM and
    leading blanks removed, and says whether the content is this format. ``reader`` is
    ``module:function``, imported on first use so that ``titans --help`` stays fast.
    """

    name: str
    reader: str
    extensions: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    sniff: Callable[[str], bool] | None = None
    label: str = ""

    def load(self) -> Reader:
        """The reader function."""
        module, function = self.reader.split(":")
        return cast(Reader, getattr(importlib.import_module(module), function))


def _matches(pattern: str, *, anywhere: bool = True, flags: int = 0) -> Callable[[str], bool]:
    compiled = re.compile(pattern, flags)
    if anywhere:
        return lambda text: compiled.search(text) is not None
    return lambda text: compiled.match(text) is not None


def _sniff_with(function: str, text: str) -> bool:
    """A sniff that lives in its reader module (``module:function``), imported on first use."""
    module, name = function.split(":")
    return bool(getattr(importlib.import_module(module), name)(text))


_PKG = "titans_finance.ingest.readers"
# Sniff order matters: the first matching spec wins; csv, with no sniff, is the fallback.
REGISTRY: tuple[ReaderSpec, ...] = (
    ReaderSpec(
        "ofx",
        f"{_PKG}.ofx:read_ofx",
        (".ofx", ".qfx"),
        ("qfx",),
        _matches(r"OFXHEADER\s*[:=]|<\?OFX\s|<OFX>", flags=re.IGNORECASE),
        "OFX/QFX",
    ),
    ReaderSpec(
        "qif",
        f"{_PKG}.qif:read_qif",
        (".qif",),
        (),
        # A header line within the first lines: comments or a banner may precede it.
        _matches(
            r"^(?:[^\n]*\n){0,30}?[ \t]*!(?:Type:|Account|Option:|Clear:)",
            anywhere=False,
            flags=re.IGNORECASE,
        ),
        "Quicken QIF",
    ),
    ReaderSpec(
        "camt",
        f"{_PKG}.camt:read_camt",
        (".xml",),
        ("camt052", "camt053", "camt054", "camt.052", "camt.053", "camt.054"),
        _matches(
            r"urn:iso:std:iso:20022:tech:xsd:camt\.05[234]"
            r"|<(?:\w+:)?BkToCstmr(?:Stmt|AcctRpt|DbtCdtNtfctn)\b"
        ),
        "ISO 20022 CAMT.052/053/054 XML",
    ),
    ReaderSpec(
        "mt940",
        f"{_PKG}.mt94x:read_mt940",
        (".sta", ".mt940", ".940", ".942", ".mt942"),
        ("mt942", "sta", "swift"),
        # Sniffed before csv, which would take the colon-separated tag lines for a table.
        lambda text: _sniff_with(f"{_PKG}.mt94x:looks_like_mt940", text),
        "SWIFT MT940/MT942 statement",
    ),
    ReaderSpec(
        "xlsx",
        f"{_PKG}.spreadsheet:read_spreadsheet",
        (".xlsx", ".xlsm", ".xls", ".ods"),
        ("xls", "xlsm", "ods", "excel", "spreadsheet"),
        lambda text: _sniff_with(f"{_PKG}.spreadsheet:looks_like_spreadsheet", text),
        "spreadsheet (XLSX/XLS/ODS)",
    ),
    ReaderSpec(
        "pdf",
        f"{_PKG}.pdf:read_pdf",
        (".pdf",),
        (),
        _matches(r"%PDF-", anywhere=False),
        "PDF statement (text layer)",
    ),
    ReaderSpec(
        "berka",
        f"{_PKG}.berka:read_berka",
        (".asc",),
        (),
        _matches(r'^"?trans_id"?\s*;\s*"?account_id"?\s*;', anywhere=False, flags=re.IGNORECASE),
        "Berka (PKDD'99) trans.asc",
    ),
    ReaderSpec(
        "csv",
        f"{_PKG}.delimited:read_delimited",
        (".csv", ".txt", ".tsv"),
        ("txt", "tsv"),
        None,
        "delimited text (CSV/TSV)",
    ),
)
_BY_NAME: dict[str, ReaderSpec] = {spec.name: spec for spec in REGISTRY}
_ALIASES: dict[str, str] = {alias: spec.name for spec in REGISTRY for alias in spec.aliases}
_EXTENSIONS: dict[str, str] = {ext: spec.name for spec in REGISTRY for ext in spec.extensions}
# csv first: it is the default and the fallback.
SUPPORTED_FORMATS: tuple[str, ...] = tuple(
    spec.name for spec in sorted(REGISTRY, key=lambda spec: spec.name != "csv")
)
FORMAT_CHOICES: tuple[str, ...] = ("auto", *SUPPORTED_FORMATS)
SUPPORTED_EXTENSIONS: frozenset[str] = frozenset(_EXTENSIONS)


# Binary files that are not exports, by their magic bytes: what they are and what to do. No
# column mapping helps with these, so the message never suggests one.
_NOT_EXPORTS: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "a ZIP archive, not a bank export: unzip it and import the files inside"),
    (b"\x1f\x8b", "a gzip-compressed file: decompress it and import the file inside"),
    (b"\x89PNG", "a PNG image: a picture of a statement has no data to import"),
    (b"\xff\xd8\xff", "a JPEG image: a picture of a statement has no data to import"),
    (b"Rar!", "a RAR archive, not a bank export: extract it and import the files inside"),
    (b"7z\xbc\xaf", "a 7-Zip archive, not a bank export: extract it and import the files inside"),
)
_EXPORT_HINT = "download the statement as CSV, OFX, QIF, CAMT, MT940, XLSX or PDF"


def _refuse_non_export(path: Path) -> None:
    """InputFileError naming what a file that no reader recognised actually is, if known."""
    with path.open("rb") as handle:
        head = handle.read(16)
    for magic, what in _NOT_EXPORTS:
        if head.startswith(magic):
            raise InputFileError(f"{path}: {what}; {_EXPORT_HINT}")


def spec_of(name: str) -> ReaderSpec:
    """The registered spec of a format name (``KeyError`` for an unknown one)."""
    return _BY_NAME[name]


def sniff_text(head: bytes) -> str:
    """The sniffable text of a file's first bytes: Latin-1, without BOM or leading blanks."""
    return head.decode("latin-1").lstrip("\ufeff\xef\xbb\xbf\xff\xfe \t\r\n")


def detect_format(path: Path) -> str:
    """The registered format name of a file, from its content.

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
    text = sniff_text(head)
    if not text.strip():
        return _EXTENSIONS.get(path.suffix.lower(), "csv")
    for spec in REGISTRY:
        if spec.sniff is not None and spec.sniff(text):
            return spec.name
    return "csv"


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
    require_amount: bool = True,
) -> ReadResult:
    """Read any supported export into canonical rows, rejected rows and balance breaks.

    ``format`` is ``auto`` (sniff the content) or one of ``FORMAT_CHOICES``.  Raises
    ``ValidationError`` for an unknown format name and ``InputFileError`` when the file cannot
    be read at all.  ``require_amount=False`` lets a delimited file without an amount column
    through (bank formats always carry amounts).
    """
    path = Path(path)
    name = resolve_format(format, path)
    if not path.is_file():
        raise InputFileError(f"{path}: no such file")
    if name == "csv" and (format or "auto").strip().lower() == "auto":
        _refuse_non_export(path)
    if not require_amount and name == "csv":
        from titans_finance.ingest.readers.delimited import read_delimited

        result = read_delimited(path, account=account, mapping=mapping, require_amount=False)
    else:
        result = _BY_NAME[name].load()(path, account=account, mapping=mapping)
    result.format = name
    return result


__all__ = [
    "FORMAT_CHOICES",
    "REGISTRY",
    "SUPPORTED_EXTENSIONS",
    "SUPPORTED_FORMATS",
    "BalanceBreak",
    "ReadResult",
    "Reader",
    "ReaderSpec",
    "RejectedRow",
    "detect_format",
    "read_file",
    "resolve_format",
    "sniff_text",
    "spec_of",
]

"""Ingest pipeline: read a file, validate, normalise merchants, fingerprint, store."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from titans_finance import domain as d
from titans_finance.domain import BalanceBreak, RejectedRow
from titans_finance.errors import InputFileError, PermissionDeniedError
from titans_finance.ingest.balance import check_balance_continuity
from titans_finance.ingest.dedupe import fingerprints
from titans_finance.ingest.mapping import load_mapping
from titans_finance.ingest.readers import read_file
from titans_finance.ingest.validate import validate_frame
from titans_finance.merchants import normalize_merchants
from titans_finance.storage.bulk import store_import

logger = logging.getLogger(__name__)

StageCallback = Callable[[str], None]


@dataclass
class PreparedFile:
    """A file read, validated and fingerprinted, ready to store."""

    path: Path
    sha256: str
    format: str
    frame: pd.DataFrame
    rejects: list[RejectedRow]
    balance_breaks: list[BalanceBreak]
    source_rows: Callable[[], pd.DataFrame] | None = None
    """The file's own columns by source line, where the format has them (see ``ReadResult``)."""
    skipped: list[RejectedRow] = field(default_factory=list)
    """Summary lines (opening/closing balance, totals) left out, each with its reason."""
    warnings: list[str] = field(default_factory=list)
    layout: dict[str, Any] | None = None
    """What the reader detected (delimited text): see ``ReadResult.layout``."""
    mapping_source: str | None = None
    """``"given"`` (a mapping was passed), ``"remembered"`` (saved for this layout) or None."""

    @property
    def rows_read(self) -> int:
        """Rows seen in the file: accepted plus rejected plus skipped."""
        return len(self.frame) + len(self.rejects) + len(self.skipped)


@dataclass
class FileSummary:
    """What one file's import did."""

    file: str
    format: str
    read: int
    inserted: int
    duplicates: int
    rejected: int
    import_id: int | None = None
    rejects: list[RejectedRow] = field(default_factory=list)
    balance_breaks: list[BalanceBreak] = field(default_factory=list)
    skipped_rows: list[RejectedRow] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    mapping_source: str | None = None

    @property
    def skipped(self) -> int:
        """Summary lines left out on purpose (not transactions, not errors)."""
        return len(self.skipped_rows)

    def counts(self) -> dict[str, Any]:
        """File, format and row counts: what the audit log records of an import."""
        return {
            "file": self.file,
            "format": self.format,
            "read": self.read,
            "inserted": self.inserted,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "skipped": self.skipped,
        }

    def to_dict(self, max_rejects: int = 20) -> dict[str, Any]:
        """JSON-ready summary with the first rejects, skipped rows and balance breaks."""
        return {
            **self.counts(),
            "import_id": self.import_id,
            "rejects": [r.__dict__ for r in self.rejects[:max_rejects]],
            "skipped_rows": [r.__dict__ for r in self.skipped_rows[:max_rejects]],
            "balance_breaks": [b.__dict__ for b in self.balance_breaks[:max_rejects]],
            "warnings": list(self.warnings),
            "mapping_source": self.mapping_source,
        }


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def prepare_file(
    path: Path,
    *,
    file_format: str = "auto",
    account: str | None = None,
    mapping: Path | Mapping[str, Any] | None = None,
    on_stage: StageCallback | None = None,
    engine: Engine | None = None,
    require_amount: bool = True,
) -> PreparedFile:
    """Read, validate, normalise and fingerprint one file; raises InputFileError if unreadable.

    With ``engine`` and no ``mapping``, a delimited file whose layout has a remembered mapping
    (``titans_finance.storage.mappings``) is read with it (``mapping_source="remembered"``).
    ``require_amount=False`` accepts rows without an amount (files to predict amounts for).
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"{path}: no such file")
    stage = on_stage or (lambda _name: None)
    mapping_spec: Any = load_mapping(mapping) if isinstance(mapping, Path | str) else mapping
    source = "given" if mapping is not None else None
    if mapping_spec is None and engine is not None:
        mapping_spec = _remembered(engine, path, file_format, account)
        source = "remembered" if mapping_spec is not None else None
    stage("reading")
    result = read_file(
        path,
        format=file_format,
        account=account,
        mapping=mapping_spec,
        require_amount=require_amount,
    )
    stage("validating")
    frame, invalid = validate_frame(result.frame, require_amount=require_amount)
    rejects = sorted([*result.rejects, *invalid], key=lambda r: r.line)
    frame[d.MERCHANT] = normalize_merchants(frame[d.DESCRIPTION])
    frame["fingerprint"] = fingerprints(frame)
    breaks = list(result.balance_breaks)
    if d.BALANCE in frame and frame[d.BALANCE].notna().any():
        breaks.extend(check_balance_continuity(frame))
    return PreparedFile(
        path,
        _sha256(path),
        result.format,
        frame,
        rejects,
        breaks,
        result.source_rows,
        skipped=list(result.skipped),
        warnings=list(result.warnings),
        layout=result.layout,
        mapping_source=source,
    )


def _remembered(
    engine: Engine, path: Path, file_format: str, account: str | None
) -> dict[str, Any] | None:
    """The mapping remembered for a delimited file's layout, or None."""
    from titans_finance.ingest.readers import resolve_format
    from titans_finance.ingest.readers.delimited import file_signature
    from titans_finance.storage.mappings import remembered_mapping

    if resolve_format(file_format, path) != "csv":
        return None
    signature = file_signature(path)
    try:
        return remembered_mapping(engine, signature, account)
    except SQLAlchemyError as exc:  # a store not yet upgraded (``titans db upgrade``)
        logger.warning(
            "remembered mappings unavailable (%s); detecting the layout", type(exc).__name__
        )
        return None


def remember_layout(engine: Engine, prepared: PreparedFile, account: str | None) -> bool:
    """Save the mapping a delimited file was read with under its layout signature, so the next
    file of that layout is read the same way; False when the file has no layout."""
    from titans_finance.ingest.readers.delimited import file_signature
    from titans_finance.storage.mappings import remember_mapping

    if prepared.layout is None:
        return False
    remember_mapping(engine, file_signature(prepared.path), prepared.layout["mapping"], account)
    return True


def read_model_frame(
    path: Path,
    *,
    file_format: str = "auto",
    account: str | None = None,
    mapping: Path | Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """A file read and validated as an import reads it, as a model frame without merchants
    (no database involved, and none of what only storing needs: fingerprints, balance checks,
    the file's digest).  Rejected rows are dropped (logged); raises InputFileError if
    unreadable."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"{path}: no such file")
    mapping_spec: Any = load_mapping(mapping) if isinstance(mapping, Path | str) else mapping
    result = read_file(path, format=file_format, account=account, mapping=mapping_spec)
    frame, invalid = validate_frame(result.frame)
    rejected = len(result.rejects) + len(invalid)
    if rejected:
        logger.warning("%s: %d rows rejected", path, rejected)
    return to_model_frame(frame)


def load_frame(
    path: Path,
    *,
    file_format: str = "auto",
    account: str | None = None,
    mapping: Path | Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """A file as a canonical frame for training or scoring (no database involved): the rows of
    `read_model_frame` with their merchants named.

    Date becomes datetime64, Amount and Balance floats; rejected rows are dropped (logged).
    """
    frame = read_model_frame(path, file_format=file_format, account=account, mapping=mapping)
    frame[d.MERCHANT] = normalize_merchants(frame[d.DESCRIPTION])
    return frame


def to_model_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Canonical frame with Date as datetime64 and money as float, as models expect."""
    out = frame.copy()
    out[d.DATE] = pd.to_datetime(out[d.DATE])
    for column in (d.AMOUNT, d.BALANCE):
        if column in out:
            out[column] = pd.to_numeric(out[column], errors="coerce").astype(float)
    return out.reset_index(drop=True)


def check_accounts(prepared: PreparedFile, allowed_accounts: Collection[str] | None) -> None:
    """PermissionDeniedError when the file holds rows of accounts outside ``allowed_accounts``
    (None: any account)."""
    if allowed_accounts is None:
        return
    named = prepared.frame[d.ACCOUNT] if d.ACCOUNT in prepared.frame else pd.Series([None])
    outside = sorted(
        {"(no account)" if pd.isna(v) else str(v) for v in named.unique()} - set(allowed_accounts)
    )
    if outside:
        shown = ", ".join(map(repr, outside[:5]))
        raise PermissionDeniedError(
            f"file: rows of accounts this caller may not change: {shown}; nothing was stored"
        )


def ingest_file(
    engine: Engine,
    path: Path,
    *,
    file_format: str = "auto",
    account: str | None = None,
    mapping: Path | Mapping[str, Any] | None = None,
    on_stage: StageCallback | None = None,
    display_name: str | None = None,
    allowed_accounts: Collection[str] | None = None,
) -> FileSummary:
    """Import one file into the store in a single database transaction.

    With ``allowed_accounts``, a file holding rows of any other account is refused
    (PermissionDeniedError) before anything is written.
    """
    prepared = prepare_file(
        path,
        file_format=file_format,
        account=account,
        mapping=mapping,
        on_stage=on_stage,
        engine=engine,
    )
    check_accounts(prepared, allowed_accounts)
    if on_stage:
        on_stage("storing")
    stored = store_import(
        engine,
        file_name=display_name or prepared.path.name,
        sha256=prepared.sha256,
        file_format=prepared.format,
        frame=prepared.frame,
        rejects=prepared.rejects,
        rows_read=prepared.rows_read,
        balance_breaks=len(prepared.balance_breaks),
        skipped=len(prepared.skipped),
    )
    if prepared.mapping_source == "given":
        # A mapping the user chose is remembered for the next file of this layout.
        remember_layout(engine, prepared, account)
    logger.info(
        "%s: read %d, inserted %d, duplicates %d, rejected %d",
        prepared.path.name,
        prepared.rows_read,
        stored.inserted,
        stored.duplicates,
        stored.rejected,
    )
    return FileSummary(
        file=display_name or str(prepared.path),
        format=prepared.format,
        read=prepared.rows_read,
        inserted=stored.inserted,
        duplicates=stored.duplicates,
        rejected=stored.rejected,
        import_id=stored.import_id,
        rejects=prepared.rejects,
        balance_breaks=prepared.balance_breaks,
        skipped_rows=prepared.skipped,
        warnings=prepared.warnings,
        mapping_source=prepared.mapping_source,
    )


__all__ = [
    "FileSummary",
    "PreparedFile",
    "check_accounts",
    "ingest_file",
    "load_frame",
    "prepare_file",
    "read_model_frame",
    "remember_layout",
    "to_model_frame",
]

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

from titans_finance import domain as d
from titans_finance.domain import BalanceBreak, RejectedRow
from titans_finance.errors import InputFileError, PermissionDeniedError
from titans_finance.ingest.balance import check_balance_continuity
from titans_finance.ingest.dedupe import fingerprints
from titans_finance.ingest.mapping import load_mapping
from titans_finance.ingest.merchants import normalize_merchants
from titans_finance.ingest.readers import read_file
from titans_finance.ingest.validate import validate_frame
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

    @property
    def rows_read(self) -> int:
        """Rows seen in the file: accepted plus rejected."""
        return len(self.frame) + len(self.rejects)


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

    def to_dict(self, max_rejects: int = 20) -> dict[str, Any]:
        """JSON-ready summary with the first rejects and balance breaks."""
        return {
            "file": self.file,
            "format": self.format,
            "read": self.read,
            "inserted": self.inserted,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "import_id": self.import_id,
            "rejects": [r.__dict__ for r in self.rejects[:max_rejects]],
            "balance_breaks": [b.__dict__ for b in self.balance_breaks[:max_rejects]],
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
) -> PreparedFile:
    """Read, validate, normalise and fingerprint one file; raises InputFileError if unreadable."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"{path}: no such file")
    stage = on_stage or (lambda _name: None)
    mapping_spec: Any = load_mapping(mapping) if isinstance(mapping, Path | str) else mapping
    stage("reading")
    result = read_file(path, format=file_format, account=account, mapping=mapping_spec)
    stage("validating")
    frame, invalid = validate_frame(result.frame)
    rejects = sorted([*result.rejects, *invalid], key=lambda r: r.line)
    frame[d.MERCHANT] = normalize_merchants(frame[d.DESCRIPTION])
    frame["fingerprint"] = fingerprints(frame)
    breaks = list(result.balance_breaks)
    if d.BALANCE in frame and frame[d.BALANCE].notna().any():
        breaks.extend(check_balance_continuity(frame))
    return PreparedFile(
        path, _sha256(path), result.format, frame, rejects, breaks, result.source_rows
    )


def load_frame(
    path: Path,
    *,
    file_format: str = "auto",
    account: str | None = None,
    mapping: Path | Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """A file as a canonical frame for training or scoring (no database involved).

    Date becomes datetime64, Amount and Balance floats; rejected rows are dropped (logged).
    """
    prepared = prepare_file(path, file_format=file_format, account=account, mapping=mapping)
    if prepared.rejects:
        logger.warning("%s: %d rows rejected", path, len(prepared.rejects))
    return to_model_frame(prepared.frame)


def to_model_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Canonical frame with Date as datetime64 and money as float, as models expect."""
    out = frame.copy()
    out[d.DATE] = pd.to_datetime(out[d.DATE])
    for column in (d.AMOUNT, d.BALANCE):
        if column in out:
            out[column] = pd.to_numeric(out[column], errors="coerce").astype(float)
    return out.reset_index(drop=True)


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
        path, file_format=file_format, account=account, mapping=mapping, on_stage=on_stage
    )
    if allowed_accounts is not None:
        named = prepared.frame[d.ACCOUNT] if d.ACCOUNT in prepared.frame else pd.Series([None])
        outside = sorted(
            {"(no account)" if pd.isna(v) else str(v) for v in named.unique()}
            - set(allowed_accounts)
        )
        if outside:
            shown = ", ".join(map(repr, outside[:5]))
            raise PermissionDeniedError(
                f"file: rows of accounts this caller may not change: {shown}; nothing was stored"
            )
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
    )
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
    )


__all__ = [
    "FileSummary",
    "PreparedFile",
    "ingest_file",
    "load_frame",
    "prepare_file",
    "to_model_frame",
]

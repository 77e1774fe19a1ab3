"""Import preview: what an import of a file would store, without storing anything.

Shows the detected layout (columns -> fields, sign convention, date order, decimal separator,
encoding), the rows it would skip or reject and why, and the first rows as they would be
stored; the mapping it used can be written to an editable file and passed back as
``--mapping``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from titans_finance import domain as d
from titans_finance.domain import RejectedRow
from titans_finance.ingest.pipeline import check_accounts, prepare_file

PREVIEW_COLUMNS = (
    d.DATE,
    d.DESCRIPTION,
    d.AMOUNT,
    d.TYPE,
    d.CATEGORY,
    d.ACCOUNT,
    d.CURRENCY,
    d.BALANCE,
    d.MERCHANT,
)


@dataclass
class ImportPreview:
    """A file read and validated as an import would, with nothing stored."""

    file: str
    format: str
    rows: int
    """Transactions an import would store (before de-duplication against the store)."""
    rows_preview: pd.DataFrame
    rejects: list[RejectedRow] = field(default_factory=list)
    skipped: list[RejectedRow] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    layout: dict[str, Any] | None = None
    mapping_source: str | None = None

    @property
    def mapping(self) -> dict[str, Any] | None:
        """The mapping (``ColumnMapping`` keys) that reproduces this read; None for formats
        without columns of their own (OFX, QIF, CAMT...)."""
        return None if self.layout is None else dict(self.layout["mapping"])

    def to_dict(self, max_rows: int = 20) -> dict[str, Any]:
        """JSON-ready preview: layout, counts, first rows, skipped and rejected rows."""
        from titans_finance.serving.records import frame_records

        head = self.rows_preview.head(max_rows).copy()
        if d.DATE in head:
            head[d.DATE] = head[d.DATE].astype(str)
        return {
            "file": self.file,
            "format": self.format,
            "rows": self.rows,
            "rejected": len(self.rejects),
            "skipped": len(self.skipped),
            "layout": self.layout,
            "mapping": self.mapping,
            "mapping_source": self.mapping_source,
            "warnings": list(self.warnings),
            "preview": frame_records(head),
            "rejects": [r.__dict__ for r in self.rejects[:max_rows]],
            "skipped_rows": [r.__dict__ for r in self.skipped[:max_rows]],
        }


def preview_file(
    path: Path,
    *,
    file_format: str = "auto",
    account: str | None = None,
    mapping: Path | Mapping[str, Any] | None = None,
    engine: Engine | None = None,
    display_name: str | None = None,
    allowed_accounts: Collection[str] | None = None,
) -> ImportPreview:
    """Read and validate ``path`` as ``ingest_file`` would (applying a remembered mapping when
    ``engine`` is given and no mapping is), store nothing, and describe the result.

    Raises InputFileError when the file cannot be read at all, and PermissionDeniedError when
    it holds rows of accounts outside ``allowed_accounts``, as an import would.
    """
    prepared = prepare_file(
        Path(path), file_format=file_format, account=account, mapping=mapping, engine=engine
    )
    check_accounts(prepared, allowed_accounts)
    shown = [c for c in PREVIEW_COLUMNS if c in prepared.frame]
    return ImportPreview(
        file=display_name or str(path),
        format=prepared.format,
        rows=len(prepared.frame),
        rows_preview=prepared.frame[shown].reset_index(drop=True),
        rejects=prepared.rejects,
        skipped=prepared.skipped,
        warnings=prepared.warnings,
        layout=prepared.layout,
        mapping_source=prepared.mapping_source,
    )


__all__ = ["PREVIEW_COLUMNS", "ImportPreview", "preview_file"]

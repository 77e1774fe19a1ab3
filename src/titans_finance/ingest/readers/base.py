"""The contract every reader fulfils: a file in, canonical rows plus rejected rows out."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from titans_finance.domain import BalanceBreak, RejectedRow


@dataclass
class ReadResult:
    """What a reader returns.

    ``frame`` holds one row per accepted transaction with the canonical columns of
    ``titans_finance.domain.CANONICAL_COLUMNS`` (``Date`` as ``datetime.date``, ``Amount`` and
    ``Balance`` as ``decimal.Decimal`` signed with negative = money out, strings or None
    elsewhere), an optional ``Balance`` column, and ``line``: the 1-based source line (or record
    number) the row came from.  ``rejects`` lists rows that could not be parsed.
    ``source_rows``, where the format has columns of its own (delimited text), builds the file's
    own columns as stripped text (None where empty), one row per parsed record, indexed by the
    same ``line``; it is called only by those who need it (``titans predict``).
    ``skipped`` lists rows left out on purpose (opening/closing balance and total lines), each
    with its reason; they are neither transactions nor errors. ``warnings`` are messages for
    the user about the whole file (e.g. ``--account`` overriding the file's own accounts).
    ``layout``, where the reader detects one (delimited text), describes what it detected:
    columns -> fields, sign convention, date order, decimal separator, encoding, and the
    mapping (``ColumnMapping`` keys) that reproduces the read.
    """

    frame: pd.DataFrame
    rejects: list[RejectedRow] = field(default_factory=list)
    format: str = "csv"
    balance_breaks: list[BalanceBreak] = field(default_factory=list)
    source_rows: Callable[[], pd.DataFrame] | None = None
    skipped: list[RejectedRow] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    layout: dict[str, Any] | None = None


class Reader(Protocol):
    """A format reader: raises ``InputFileError`` when the file cannot be read at all."""

    def __call__(
        self,
        path: Path,
        *,
        account: str | None = None,
        mapping: Mapping[str, Any] | None = None,
    ) -> ReadResult: ...

"""The inbox: every new export dropped in a folder is imported once, identified by content hash.

An imported file moves to ``archive/`` beside a JSON receipt (import id and counts); a file
whose content was imported before moves there too, its receipt naming that import.  A file
that cannot be read moves to ``rejected/`` beside a receipt giving the reason; it never stops
the other files.  A file the pipeline imported but could not move (a crash) is recognised by
its hash on the next run and archived without importing it again.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from titans_finance.errors import InboxError, InputFileError, StorageError, ValidationError
from titans_finance.ingest.pipeline import ingest_file
from titans_finance.models.base import sha256_file
from titans_finance.storage.pipeline_runs import import_for_sha256

logger = logging.getLogger(__name__)

ARCHIVE = "archive"
REJECTED = "rejected"
#: names of files still being written by a copy or download, left for the next run
_IN_PROGRESS_SUFFIXES = (".part", ".tmp", ".crdownload", ".partial")


@dataclass
class InboxFile:
    """What happened to one inbox file."""

    file: str
    sha256: str
    outcome: str  # imported | already_imported | rejected
    moved_to: str
    import_id: int | None = None
    read: int = 0
    inserted: int = 0
    duplicates: int = 0
    rejected_rows: int = 0
    skipped_rows: int = 0
    """Summary lines (opening/closing balance, totals) left out on purpose."""
    reason: str | None = None


@dataclass
class InboxReport:
    """One pass over the inbox."""

    inbox: str
    files: list[InboxFile] = field(default_factory=list)

    @property
    def imported(self) -> int:
        """Files imported by this pass."""
        return sum(f.outcome == "imported" for f in self.files)

    @property
    def skipped(self) -> int:
        """Files whose content was imported before."""
        return sum(f.outcome == "already_imported" for f in self.files)

    @property
    def rejected(self) -> int:
        """Files that could not be read."""
        return sum(f.outcome == "rejected" for f in self.files)

    @property
    def rows_inserted(self) -> int:
        """New transactions stored by this pass."""
        return sum(f.inserted for f in self.files)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {"inbox": self.inbox, "files": [asdict(f) for f in self.files]}


def pending_files(inbox: Path) -> list[Path]:
    """Files waiting in the inbox, oldest first (dotfiles and partial downloads left alone)."""
    found = [
        path
        for path in inbox.iterdir()
        if path.is_file()
        and not path.name.startswith(".")
        and not path.name.lower().endswith(_IN_PROGRESS_SUFFIXES)
    ]
    return sorted(found, key=lambda p: (p.stat().st_mtime_ns, p.name))


def check_inbox(inbox: Path) -> None:
    """Create the inbox and its archive/rejected folders and prove they are writable, so no
    file is imported that could not then be moved; InboxError says what to fix."""
    try:
        inbox.mkdir(parents=True, exist_ok=True)
        for sub in (ARCHIVE, REJECTED):
            (inbox / sub).mkdir(exist_ok=True)
        for folder in (inbox, inbox / ARCHIVE, inbox / REJECTED):
            with tempfile.NamedTemporaryFile(dir=folder, prefix=".titans-probe-"):
                pass
    except OSError as exc:
        raise InboxError(
            f"the inbox {inbox} is not usable ({exc.strerror or exc}): the pipeline must be able "
            "to create files and move them to archive/ and rejected/; fix TITANS_INBOX_DIR or "
            "its permissions"
        ) from exc


def ingest_inbox(engine: Engine, inbox: Path, *, run_id: int) -> InboxReport:
    """Import every pending inbox file once and file it away (see the module docstring).

    The caller holds the pipeline lock, so two runs never import the same file.
    """
    inbox = Path(inbox)
    check_inbox(inbox)
    report = InboxReport(inbox=str(inbox))
    for path in pending_files(inbox):
        report.files.append(_process(engine, inbox, path, run_id))
    logger.info(
        "inbox %s: %d imported, %d already imported, %d rejected, %d new rows",
        inbox,
        report.imported,
        report.skipped,
        report.rejected,
        report.rows_inserted,
    )
    return report


def _process(engine: Engine, inbox: Path, path: Path, run_id: int) -> InboxFile:
    try:
        sha = sha256_file(path)
    except OSError as exc:
        raise InboxError(f"cannot read inbox file {path}: {exc.strerror or exc}") from exc
    previous = import_for_sha256(engine, sha)
    if previous is not None:
        entry = InboxFile(
            file=path.name,
            sha256=sha,
            outcome="already_imported",
            moved_to="",
            import_id=previous["id"],
            reason=f"the same content was imported as import {previous['id']}",
        )
        return _file_away(inbox / ARCHIVE, path, entry, run_id)
    try:
        summary = ingest_file(engine, path, display_name=path.name)
    except (InputFileError, ValidationError) as exc:
        entry = InboxFile(path.name, sha, "rejected", "", reason=exc.message)
        return _file_away(inbox / REJECTED, path, entry, run_id)
    except StorageError:
        raise
    except Exception as exc:  # an unreadable file must not block the others
        logger.exception("importing %s failed", path)
        entry = InboxFile(
            path.name, sha, "rejected", "", reason=f"the file could not be read ({exc})"
        )
        return _file_away(inbox / REJECTED, path, entry, run_id)
    entry = InboxFile(
        file=path.name,
        sha256=sha,
        outcome="imported",
        moved_to="",
        import_id=summary.import_id,
        read=summary.read,
        inserted=summary.inserted,
        duplicates=summary.duplicates,
        rejected_rows=summary.rejected,
        skipped_rows=summary.skipped,
    )
    return _file_away(inbox / ARCHIVE, path, entry, run_id)


def _file_away(folder: Path, path: Path, entry: InboxFile, run_id: int) -> InboxFile:
    """Move ``path`` into ``folder`` under a unique name and write its receipt beside it."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    target = folder / f"{stamp}-{entry.sha256[:8]}-{path.name}"
    entry.moved_to = str(target.relative_to(folder.parent))
    receipt = {**asdict(entry), "run_id": run_id, "filed_at": datetime.now(UTC).isoformat()}
    suffix = ".reason.json" if folder.name == REJECTED else ".receipt.json"
    try:
        receipt_path = target.with_name(target.name + suffix)
        tmp = receipt_path.with_name("." + receipt_path.name + ".tmp")
        tmp.write_text(json.dumps(receipt, indent=2, default=str))
        os.replace(tmp, receipt_path)
        os.replace(path, target)
    except OSError as exc:
        raise InboxError(
            f"cannot move {path} to {folder} ({exc.strerror or exc}); it will be recognised by "
            "its content hash and filed on the next run"
        ) from exc
    logger.info("%s: %s -> %s", path.name, entry.outcome, entry.moved_to)
    return entry


__all__ = ["ARCHIVE", "REJECTED", "InboxFile", "InboxReport", "check_inbox", "ingest_inbox"]

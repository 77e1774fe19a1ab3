"""Serving follows the champions: a watcher reloads the models when their folder changes.

The pipeline (another process) swaps a promoted model's folder in by rename; the watcher sees
a new signature (each model's metadata file: version, size, mtime) within one period and calls
``ModelService.reload``, which swaps the whole set atomically or, when a model fails to load,
keeps the old set serving.  A refused signature is not retried until the folder changes again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from titans_finance.models.base import METADATA_NAME

logger = logging.getLogger(__name__)

Signature = tuple[tuple[str, int, int], ...]


def folder_signature(models_dir: Path, names: Sequence[str]) -> Signature:
    """Per model: (name, mtime_ns, size) of its metadata file; (name, 0, 0) when absent."""
    out = []
    for name in names:
        try:
            stat = (Path(models_dir) / name / METADATA_NAME).stat()
        except OSError:
            out.append((name, 0, 0))
            continue
        out.append((name, stat.st_mtime_ns, stat.st_size))
    return tuple(out)


class ModelWatcher:
    """A daemon thread checking ``models_dir`` every ``period`` seconds and calling ``reload``
    (which returns True when the new set was swapped in) after a change."""

    def __init__(
        self,
        models_dir: Path,
        names: Sequence[str],
        reload: Callable[[], bool],
        *,
        period: float,
    ) -> None:
        self.models_dir = Path(models_dir)
        self.names = tuple(names)
        self.period = period
        self._reload = reload
        self._seen = folder_signature(self.models_dir, self.names)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.reloads = 0

    def check(self) -> bool | None:
        """One check: None when nothing changed, else whether the reload was accepted."""
        current = folder_signature(self.models_dir, self.names)
        if current == self._seen:
            return None
        try:
            accepted = self._reload()
        except Exception:  # the watcher must survive anything a reload raises
            logger.exception("model reload failed; the previous models keep serving")
            accepted = False
        self._seen = current
        self.reloads += 1
        logger.info("model folder changed: reload %s", "accepted" if accepted else "refused")
        return accepted

    def start(self) -> None:
        """Start checking in the background (no-op when ``period`` is 0)."""
        if self.period <= 0 or self._thread is not None:
            return

        def loop() -> None:
            while not self._stop.wait(self.period):
                self.check()

        self._thread = threading.Thread(target=loop, name="titans-model-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the background checks."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.period + 5)
            self._thread = None


__all__ = ["ModelWatcher", "folder_signature"]

"""Per-format exact/wrong/refused counts of auto-detected imports on the development corpus.

A file is *exact* when the stored row count and signed sum match ``expected.json``, *wrong*
when it imports with other figures, *refused* when the reader raises a ``TitansError``.

    uv run python bench/bench_formats.py [CORPUS_DIR]
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

from titans_finance import domain as d
from titans_finance.errors import TitansError
from titans_finance.ingest.readers import detect_format, read_file

DEFAULT = Path(__file__).resolve().parent.parent / "tests" / "data" / "formats"


def evaluate(corpus: Path) -> dict[str, dict[str, int]]:
    """{format: {exact, wrong, refused}} over the files listed in ``corpus/expected.json``."""
    expected = json.loads((corpus / "expected.json").read_text())
    counts: dict[str, dict[str, int]] = defaultdict(lambda: {"exact": 0, "wrong": 0, "refused": 0})
    for name, want in expected.items():
        path = corpus / name
        try:
            fmt = detect_format(path)
            result = read_file(path, account="bench")
        except TitansError as exc:
            counts[want["format"]]["refused"] += 1
            print(f"refused  {name}: {exc}")
            continue
        rows = len(result.frame)
        total = sum(result.frame[d.AMOUNT], Decimal(0))
        ok = fmt == want["format"] and rows == want["rows"] and total == Decimal(want["sum"])
        counts[want["format"]]["exact" if ok else "wrong"] += 1
        if not ok:
            print(f"wrong    {name}: {fmt} {rows} rows, sum {total} (want {want})")
    return dict(counts)


def main() -> None:
    corpus = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    counts = evaluate(corpus)
    print(f"{'format':8} {'exact':>5} {'wrong':>5} {'refused':>7}")
    for fmt, c in sorted(counts.items()):
        print(f"{fmt:8} {c['exact']:>5} {c['wrong']:>5} {c['refused']:>7}")


if __name__ == "__main__":
    main()

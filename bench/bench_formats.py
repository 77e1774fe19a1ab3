"""Per-format exact/wrong/refused/crashed counts of auto-detected imports on the development corpus.

A file is *exact* when the detected format, the stored row count and the signed sum match
``expected.json``, *wrong* when it imports with other figures, *refused* when the reader raises
a ``TitansError`` (a clear message), *crashed* on any other exception. Each file that reads is
then imported twice through the real pipeline into a fresh SQLite database (``--account
bench``): the second import must add nothing.

    uv run python bench/bench_formats.py [CORPUS_DIR] [--out bench/results/formats.json]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

from titans_finance import domain as d
from titans_finance.errors import TitansError
from titans_finance.ingest.pipeline import ingest_file
from titans_finance.ingest.readers import detect_format, read_file
from titans_finance.storage.db import create_db_engine, migrate

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / "tests" / "data" / "formats"
OUTCOMES = ("exact", "wrong", "refused", "crashed")


def _reimport_adds_nothing(path: Path, folder: Path) -> bool:
    """Import ``path`` twice into a new SQLite database; True when the second adds no row."""
    engine = create_db_engine(f"sqlite:///{folder / (path.name + '.db')}")
    try:
        migrate(engine)
        ingest_file(engine, path, account="bench")
        return ingest_file(engine, path, account="bench").inserted == 0
    finally:
        engine.dispose()


def evaluate(corpus: Path) -> dict[str, Any]:
    """{"formats": {format: counts}, "files": {name: outcome}} over ``corpus/expected.json``."""
    expected = json.loads((corpus / "expected.json").read_text())
    counts: dict[str, dict[str, int]] = defaultdict(
        lambda: {**dict.fromkeys(OUTCOMES, 0), "reimport_adds_nothing": 0}
    )
    files: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as folder:
        for name, want in expected.items():
            path = corpus / name
            fmt = want["format"]
            try:
                detected = detect_format(path)
                result = read_file(path, account="bench")
            except TitansError as exc:
                counts[fmt]["refused"] += 1
                files[name] = {"outcome": "refused", "message": str(exc)}
                continue
            except Exception as exc:  # a crash is what the bench exists to catch
                counts[fmt]["crashed"] += 1
                files[name] = {"outcome": "crashed", "error": f"{type(exc).__name__}: {exc}"}
                continue
            rows = len(result.frame)
            total = sum(result.frame[d.AMOUNT], Decimal(0))
            ok = detected == fmt and rows == want["rows"] and total == Decimal(str(want["sum"]))
            outcome = "exact" if ok else "wrong"
            counts[fmt][outcome] += 1
            again = _reimport_adds_nothing(path, Path(folder))
            counts[fmt]["reimport_adds_nothing"] += again
            files[name] = {
                "outcome": outcome,
                "format": detected,
                "rows": rows,
                "sum": str(total),
                "reimport_adds_nothing": again,
            }
    return {"formats": dict(sorted(counts.items())), "files": files}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "formats.json")
    args = parser.parse_args()
    report = evaluate(args.corpus)
    for name, info in report["files"].items():
        if info["outcome"] != "exact" or not info.get("reimport_adds_nothing", True):
            print(f"{info['outcome']:8} {name}: {info}")
    header = f"{'format':8} {'files':>5} " + " ".join(f"{o:>7}" for o in OUTCOMES)
    print(header + "  re-import adds nothing")
    for fmt, c in report["formats"].items():
        n = sum(c[o] for o in OUTCOMES)
        cells = " ".join(f"{c[o]:>7}" for o in OUTCOMES)
        print(f"{fmt:8} {n:>5} {cells}  {c['reimport_adds_nothing']}/{c['exact'] + c['wrong']}")
    report["command"] = "uv run python bench/bench_formats.py"
    report["load_average"] = [round(x, 2) for x in os.getloadavg()]
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

"""Same results as a reference tree: every file imported (twice: the second adds nothing) into
one fresh store (SQLite, or the PostgreSQL database ``--postgres``, its public schema dropped)
by this tree's code and by ``--reference`` (another checkout's ``src``, e.g. main's), each in
its own process, then the stored transactions (every column but the timestamps), imports,
rejected rows and the import summaries compared line by line.

    uv run python bench/compare_ingest.py --reference /tmp/ingest_ref/src [--postgres URL]
        [FILE ...]

Without files: every bank file under tests/data (CSV, OFX, QIF, CAMT, MT940, XLS(X), PDF,
Berka), a file of validation edge cases and 200,000 rows resampled from the personal export
(``--rows``). Exits 1 and prints the first differences when the two trees disagree.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_TIMESTAMPS = {"created_at", "updated_at", "imported_at"}


def dump(files: list[Path], store: str, out: Path) -> None:
    """Import ``files`` twice each into a fresh store at URL ``store`` (a PostgreSQL schema is
    dropped first) and write what was stored and reported to ``out``, one line per row (run
    with the tree under test on the path)."""
    from sqlalchemy import inspect, text

    from titans_finance.errors import TitansError
    from titans_finance.ingest.pipeline import ingest_file
    from titans_finance.storage.db import create_db_engine, migrate

    engine = create_db_engine(store)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    migrate(engine)
    with out.open("w") as handle:
        for path in [*files, *files]:
            try:
                summary = ingest_file(engine, path, display_name=path.name).to_dict(10**9)
            except TitansError as exc:
                summary = {"error": f"{type(exc).__name__}: {exc}"}
            handle.write(json.dumps(summary, sort_keys=True, default=str) + "\n")
        with engine.connect() as conn:
            for table in ("transactions", "imports", "rejected_rows", "accounts"):
                columns = [
                    c["name"]
                    for c in inspect(conn).get_columns(table)
                    if c["name"] not in _TIMESTAMPS
                ]
                query = f"SELECT {', '.join(columns)} FROM {table} ORDER BY id"
                for row in conn.execute(text(query)):
                    handle.write(f"{table} {json.dumps(list(row), default=str)}\n")


def run_tree(src: Path, files: list[Path], tmp: Path, name: str, postgres: str | None) -> Path:
    """``dump`` in a new process with ``src`` first on the path, into SQLite in ``tmp`` or
    the PostgreSQL database ``postgres``; the dump's path."""
    out = tmp / f"{name}.txt"
    env = {**os.environ, "PYTHONPATH": str(src)}
    store = postgres or f"sqlite:///{tmp / f'{name}.db'}"
    subprocess.run(
        [sys.executable, __file__, "--dump", str(out), "--store", store] + [str(f) for f in files],
        check=True,
        env=env,
    )
    return out


_EDGES = """Date,Description,Amount,Type,Currency,Reference,Category,Account
1899-12-31,too early,1.00,debit,EUR,,Food,A
2999-01-01,too late,1.00,debit,eur,,Food,A
2024-01-02,too large,1000000000000,credit,$,,,A
2024-01-03,nearly too large,-999999999999.99,,usd,,,
2024-01-04,{long},2.50,Transfer,EURO,,,B
2024-01-05,,3.00,refund,€,R-1,,B
2024-01-05,, 3.00 ,  ,,,Groceries, B
2024-01-06,  same  ,NaN,debit,,,,B
2024-01-06,same,4.00,debit,,,,B
2024-01-06,same,4.00,debit,,,,B
2024-01-07,same,4,withdrawal,,R-1,,B
"""


def default_files(tmp: Path, rows: int) -> list[Path]:
    """Every bank file under tests/data, a file of validation edge cases and ``rows`` rows
    resampled from the personal export."""
    sys.path.insert(0, str(ROOT / "bench"))
    from bench_ingest import generate

    edges = tmp / "edges.csv"
    edges.write_text(_EDGES.format(long="x" * 501))
    resampled = tmp / "resampled.csv"
    generate(rows, resampled)
    found = sorted((ROOT / "tests" / "data").rglob("*.*"))
    return [*(f for f in found if f.suffix not in (".md", ".json", ".py")), edges, resampled]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--reference", type=Path, help="the other tree's src folder")
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--dump", type=Path, help=argparse.SUPPRESS)
    parser.add_argument(
        "--postgres", metavar="URL", help="import into this PostgreSQL database (dropped first)"
    )
    parser.add_argument("--store", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.dump:
        dump(args.files, args.store, args.dump)
        return
    if args.reference is None:
        parser.error("--reference SRC is required")
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        files = args.files or default_files(tmp, args.rows)
        ours = run_tree(ROOT / "src", files, tmp, "ours", args.postgres).read_text().splitlines()
        theirs = run_tree(args.reference, files, tmp, "reference", args.postgres)
        theirs = theirs.read_text().splitlines()
    differ = [(i, a, b) for i, (a, b) in enumerate(zip(ours, theirs, strict=False)) if a != b]
    print(f"{len(files)} files, {len(ours)} lines here, {len(theirs)} in the reference")
    for i, a, b in differ[:10]:
        print(f"line {i}:\n  here:      {a[:300]}\n  reference: {b[:300]}")
    if differ or len(ours) != len(theirs):
        print(f"DIFFERENT: {len(differ)} lines differ")
        sys.exit(1)
    print("identical: stored rows, fingerprints, imports, rejected rows and summaries")


if __name__ == "__main__":
    main()

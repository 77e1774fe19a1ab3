"""Small-command speed: `titans --help` and `titans transactions export` on an empty store,
this checkout against a reference source tree (``--reference``, e.g. a `git worktree` of the
commit before), in the same run, alternating, each run a fresh process.

    uv run python bench/bench_cli.py [--runs 7] [--reference /tmp/base/src]

Each is measured two ways (``BYTECODE``): ``cached``, Python's compiled bytecode kept between
runs as an install keeps it after its first run (in a temporary ``PYTHONPYCACHEPREFIX``, filled
by a warm-up run), and ``source``, every module compiled from source in every run
(``PYTHONDONTWRITEBYTECODE=1`` and an empty cache: the condition of an environment that sets
that variable over a venv installed without ``--compile-bytecode``, as the figures before
2026-12-04 were taken).

Writes bench/results/cli.json: per bytecode mode, command and tree the median / min / max wall
seconds and the median CPU seconds (user + system of the child), with the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
BYTECODE = ("cached", "source")
COMMANDS = {
    "titans --help": ["--help"],
    "titans transactions export (empty store)": ["transactions", "export", "--output", "out.csv"],
}


def _run_once(src: Path, args: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", "from titans_finance.cli.main import app; app()", *args],
        env={**env, "PYTHONPATH": str(src)},
        cwd=cwd,
        check=True,
        capture_output=True,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def bytecode_env(mode: str, cache: Path) -> dict[str, str]:
    """The environment of a child that keeps its bytecode in ``cache`` (``cached``) or compiles
    every module from source (``source``: nothing written, nothing cached read)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(cache)
    if mode == "source":
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _measure(
    trees: dict[str, Path], work: Path, mode: str, runs: int
) -> dict[str, dict[str, dict[str, float]]]:
    """Every command in every tree, ``runs`` times alternating, in bytecode ``mode``."""
    # one empty store per tree: a store migrated by a newer tree is refused by an older one
    cwds = {tree: work / str(i) for i, tree in enumerate(trees)}
    envs = {
        tree: {
            **bytecode_env(mode, work / f"pycache{i}"),
            "TITANS_DATABASE_URL": f"sqlite:///{cwd / 'empty.db'}",
        }
        for i, (tree, cwd) in enumerate(cwds.items())
    }
    for tree, src in trees.items():  # create (migrate) the empty store, warm the caches
        cwds[tree].mkdir(parents=True)
        _run_once(src, COMMANDS["titans transactions export (empty store)"], envs[tree], cwds[tree])
    results: dict[str, dict[str, dict[str, float]]] = {}
    for name, command in COMMANDS.items():
        samples: dict[str, list[tuple[float, float]]] = {tree: [] for tree in trees}
        for _ in range(runs):
            for tree, src in trees.items():
                samples[tree].append(_run_once(src, command, envs[tree], cwds[tree]))
        results[name] = {
            tree: {
                "median_wall_s": round(statistics.median(w for w, _ in runs_), 3),
                "min_wall_s": round(min(w for w, _ in runs_), 3),
                "max_wall_s": round(max(w for w, _ in runs_), 3),
                "median_cpu_s": round(statistics.median(c for _, c in runs_), 3),
            }
            for tree, runs_ in samples.items()
        }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--reference", type=Path, required=True, help="src/ of the reference")
    args = parser.parse_args()
    trees = {"this checkout": ROOT / "src", "reference": args.reference}
    out: dict[str, object] = {
        "command": f"uv run python bench/bench_cli.py --runs {args.runs} --reference REF/src",
        "load_average_before": os.getloadavg(),
    }
    results: dict[str, dict[str, dict[str, dict[str, float]]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for mode in BYTECODE:
            results[mode] = _measure(trees, Path(tmp) / mode, mode, args.runs)
    out["results"] = results
    out["runs"] = args.runs
    out["load_average_after"] = os.getloadavg()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "cli.json").write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print("| bytecode | command | tree | median wall s | min | max | median CPU s |")
    print("|---|---|---|---|---|---|---|")
    for mode, commands in results.items():
        for name, trees_out in commands.items():
            for tree, r in trees_out.items():
                print(
                    f"| {mode} | {name} | {tree} | {r['median_wall_s']} | {r['min_wall_s']} | "
                    f"{r['max_wall_s']} | {r['median_cpu_s']} |"
                )


if __name__ == "__main__":
    main()

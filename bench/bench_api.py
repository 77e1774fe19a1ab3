"""API speed: throughput and latency of /predict/category vs /livez, and batch scoring rows/s.

Trains real models on the personal-transactions export, starts `titans serve` (uvicorn) on
127.0.0.1 and loads it with ONE client for every scenario: `wrk` when installed (C, negligible
client overhead), else an asyncio httpx client.  Scenarios:

* /livez (the floor: auth-free, trivial handler);
* /predict/category cycling the 808 real transactions (after the first pass each body is
  answered from the cache: the response bytes kept for it, before routing — the steady state
  of a categoriser seeing known merchants);
* /predict/category with a random amount in every request (the cache off: every request
  misses it and runs the model, micro-batched with whatever else is waiting);
* /predict/batch with N rows, category only and category + anomaly (one call per model).

Each at 16, 64 and 128 connections, ``--repeats`` times, /livez right before the category runs
of the same connection count (the ratio is taken per repeat).  ``--reference-src`` serves a
second copy of the code (e.g. ``git worktree add /tmp/main main`` -> ``/tmp/main/src``) beside
this one and loads both in the same runs, interleaved, for a before/after under the same load.
Server CPU per request (psutil, all worker processes) is reported beside wall figures.

Writes bench/results/api.json and prints a markdown table.

    uv run python bench/bench_api.py [--duration 8] [--workers 2] [--connections 16,64,128]
        [--repeats 3] [--batch-rows 20000] [--reference-src /tmp/main/src] [--redis-url URL]
        [--rewarm]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psutil

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "personal-transactions" / "personal_transactions.csv"
RESULTS = Path(__file__).resolve().parent / "results" / "api.json"
KEY = "bench-key-0123456789abcdef"
GOALS = {
    "p50_ms_at_128": 50.0,
    "p99_ms_at_128": 150.0,
    "ratio_vs_livez_at_16": 0.7,
    "batch_rows_per_s": 50_000,
}

WRK_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\\nBENCH {"requests": %d, "duration_us": %d, "socket_errors": %d, "non_2xx": %d, '
    .. '"p50_us": %d, "p99_us": %d, "mean_us": %.1f}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99), latency.mean))
end
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def train(models_dir: Path) -> tuple[list[str], list[dict[str, Any]]]:
    """Fit the serving models on the real export; returns (trained names, request records)."""
    from threadpoolctl import threadpool_limits

    from titans_finance.ingest.pipeline import load_frame
    from titans_finance.models.catalog import model_class

    frame = load_frame(DATA)
    trained = []
    with threadpool_limits(limits=1):
        for name in ("category", "anomaly"):
            try:
                model_class(name)().fit(frame).save(models_dir)
                trained.append(name)
            except Exception as exc:  # report and bench what trains
                print(f"warning: {name} model failed to train: {exc}", file=sys.stderr)
    records = [
        {
            "description": str(row.Description),
            "amount": round(float(row.Amount), 2),
            "date": row.Date.date().isoformat(),
            "account": str(row.Account),
        }
        for row in frame.itertuples()
    ]
    return trained, records


def start_server(
    port: int,
    workers: int,
    tmp: Path,
    models_dir: Path,
    src: Path | None = None,
    redis_url: str | None = None,
) -> subprocess.Popen[bytes]:
    """`titans serve` of this code (or of the code in ``src``) on 127.0.0.1:``port``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TITANS_")}
    if src is not None:  # ahead of the editable install of this checkout
        env["PYTHONPATH"] = str(src)
    if redis_url:
        env["TITANS_REDIS_URL"] = redis_url
    env.update(
        {
            "TITANS_ENVIRONMENT": "development",
            "TITANS_API_KEYS": KEY,
            "TITANS_MODELS_DIR": str(models_dir),
            "TITANS_DATABASE_URL": f"sqlite:///{tmp / 'bench.db'}",
            "TITANS_RATE_LIMIT": str(10**9),
            "TITANS_RATE_LIMIT_BURST": str(10**9),
            "TITANS_MAX_BODY_BYTES": str(200 * 1024 * 1024),
            "TITANS_LOG_LEVEL": "WARNING",
        }
    )
    log = (tmp / "server.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "titans_finance",
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        env=env,
        cwd=tmp,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 600  # a loaded 2-core machine starts slowly
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {(tmp / 'server.log').read_text()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/livez", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.5)
    proc.terminate()
    raise RuntimeError("server did not start within 600 s")


# -- wrk -------------------------------------------------------------------------------------
def _lua_bodies(bodies: list[str]) -> str:
    items = ",\n".join(f"[==[{b}]==]" for b in bodies)
    return f"local bodies = {{\n{items}\n}}\nlocal i = 0\n"


def wrk_script(tmp: Path, name: str, kind: str, records: list[dict[str, Any]]) -> Path:
    auth = f'wrk.headers["Authorization"] = "Bearer {KEY}"\n'
    if kind == "get":
        lua = auth
    elif kind == "cycle":
        bodies = [json.dumps(r) for r in records]
        lua = (
            auth
            + 'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
            + _lua_bodies(bodies)
            + "request = function()\n  i = i % #bodies + 1\n"
            + "  return wrk.format(nil, nil, nil, bodies[i])\nend\n"
        )
    else:  # unique: random amount, so every request misses the cache
        descs = ",\n".join(f"[==[{json.dumps(r['description'])}]==]" for r in records)
        lua = (
            auth
            + 'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
            + f"local descs = {{\n{descs}\n}}\nlocal i = 0\n"
            + "request = function()\n  i = i % #descs + 1\n"
            + '  local body = string.format(\'{"description": %s, "amount": %.4f}\', '
            + "descs[i], -math.random() * 1000)\n"
            + "  return wrk.format(nil, nil, nil, body)\nend\n"
        )
    path = tmp / f"{name}.lua"
    path.write_text(lua + WRK_DONE)
    return path


def run_wrk(url: str, script: Path, connections: int, duration: float) -> dict[str, float]:
    threads = 1 if connections <= 16 else 2
    out = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{int(duration)}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(ln for ln in out.splitlines() if ln.startswith("BENCH "))
    raw = json.loads(line[len("BENCH ") :])
    seconds = raw["duration_us"] / 1e6
    return {
        "requests": raw["requests"],
        "rps": raw["requests"] / seconds,
        "p50_ms": raw["p50_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "mean_ms": raw["mean_us"] / 1000,
        "errors": raw["socket_errors"] + raw["non_2xx"],
    }


# -- httpx fallback ----------------------------------------------------------------------------
async def _httpx_load(
    url: str, method: str, bodies: list[dict[str, Any]] | None, connections: int, duration: float
) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    stop = time.perf_counter() + duration
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    headers = {"Authorization": f"Bearer {KEY}"}
    rng = np.random.default_rng(0)
    async with httpx.AsyncClient(limits=limits, headers=headers, timeout=10) as client:

        async def worker(offset: int) -> None:
            nonlocal errors
            i = offset
            while time.perf_counter() < stop:
                body = None
                if bodies is not None:
                    body = dict(bodies[i % len(bodies)])
                    if "unique" in url:
                        body["amount"] = -float(rng.random() * 1000)
                i += connections
                t0 = time.perf_counter()
                r = await client.request(method, url.replace("?unique", ""), json=body)
                latencies.append(time.perf_counter() - t0)
                errors += r.status_code >= 300

        start = time.perf_counter()
        await asyncio.gather(*(worker(k) for k in range(connections)))
        elapsed = time.perf_counter() - start
    lat = np.array(latencies) * 1000
    return {
        "requests": len(lat),
        "rps": len(lat) / elapsed,
        "p50_ms": float(np.percentile(lat, 50)),
        "p99_ms": float(np.percentile(lat, 99)),
        "mean_ms": float(lat.mean()),
        "errors": errors,
    }


def measure_batch(
    base: str, records: list[dict[str, Any]], rows: int, repeats: int, models: list[str]
) -> dict:
    reps = -(-rows // len(records))
    payload = {
        "transactions": (records * reps)[:rows],
        "predict_categories": "category" in models,
        "detect_anomalies": "anomaly" in models,
    }
    body = json.dumps(payload).encode()
    # No gzip: compressing megabytes for a loopback client only measures zlib.
    headers = {
        "Authorization": f"Bearer {KEY}",
        "Content-Type": "application/json",
        "Accept-Encoding": "identity",
    }
    times, server_ms = [], []
    with httpx.Client(timeout=300) as client:
        for _ in range(repeats + 1):
            t0 = time.perf_counter()
            r = client.post(f"{base}/predict/batch", content=body, headers=headers)
            elapsed = time.perf_counter() - t0
            r.raise_for_status()
            result = r.json()
            assert result["count"] == rows
            times.append(elapsed)
            server_ms.append(result["processing_time_ms"])
    times, server_ms = times[1:], server_ms[1:]  # first call warms caches and pages
    best = statistics.median(times)
    return {
        "rows": rows,
        "models": sorted(result["model_versions"]),
        "request_bytes": len(body),
        "median_seconds": round(best, 3),
        "rows_per_s": round(rows / best),
        "scoring_only_rows_per_s": round(rows / (statistics.median(server_ms) / 1000)),
    }


def warm(base: str, records: list[dict[str, Any]]) -> None:
    """One pass over the real requests, so the category caches hold every one of them."""
    with httpx.Client(headers={"Authorization": f"Bearer {KEY}"}, timeout=30) as client:
        for record in records:
            client.post(f"{base}/predict/category", json=record).raise_for_status()


SCENARIOS = (
    ("livez", "/livez", "get"),
    ("category (cached, real requests)", "/predict/category", "cycle"),
    ("category (cache off: unique amounts)", "/predict/category", "unique"),
)


def _server_cpu_seconds(proc: subprocess.Popen[bytes]) -> float:
    """CPU seconds (user + system) of the server and its worker processes so far."""
    root = psutil.Process(proc.pid)
    total = 0.0
    for p in [root, *root.children(recursive=True)]:
        try:
            times = p.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def load_scenario(
    client: str,
    base: str,
    tmp: Path,
    kind: str,
    path: str,
    connections: int,
    duration: float,
    records: list[dict[str, Any]],
) -> dict[str, float]:
    """One load run with the bench's one client."""
    if client == "wrk":
        script = wrk_script(tmp, f"{kind}-{connections}", kind, records)
        return run_wrk(base + path, script, connections, duration)
    bodies = None if kind == "get" else records
    url = base + path + ("?unique" if kind == "unique" else "")
    method = "GET" if kind == "get" else "POST"
    return asyncio.run(_httpx_load(url, method, bodies, connections, duration))


def _spread(values: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), 3),
        "min": round(min(values), 3),
        "max": round(max(values), 3),
    }


def summarise(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Median and spread over the repeats of every (code, scenario, connections)."""
    groups: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    for run in runs:
        groups.setdefault((run["code"], run["scenario"], run["connections"]), []).append(run)
    table = []
    for (code, scenario, connections), group in groups.items():
        row: dict[str, Any] = {"code": code, "scenario": scenario, "connections": connections}
        for figure in ("rps", "p50_ms", "p99_ms", "server_cpu_ms_per_request"):
            row[figure] = _spread([g[figure] for g in group])
        row["errors"] = sum(g["errors"] for g in group)
        row["requests"] = sum(g["requests"] for g in group)
        if scenario != "livez":
            ratios = [g["ratio_vs_livez"] for g in group]
            row["ratio_vs_livez"] = _spread(ratios)
        table.append(row)
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per scenario")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", default="16,64,128", help="comma-separated")
    parser.add_argument("--repeats", type=int, default=3, help="runs of every scenario")
    parser.add_argument("--batch-rows", type=int, default=20_000, help="0: no batch runs")
    parser.add_argument("--client", choices=["auto", "wrk", "httpx"], default="auto")
    parser.add_argument(
        "--reference-src",
        type=Path,
        help="a src/ folder of other code (e.g. a `git worktree` of main) served beside this "
        "code and loaded in the same runs, interleaved",
    )
    parser.add_argument("--redis-url", help="TITANS_REDIS_URL for the servers (default: none)")
    parser.add_argument(
        "--rewarm",
        action="store_true",
        help="pass over the real requests again before every repeat's cached run (the cache-off "
        "run's unique bodies evict them from the caches; without it, later cached runs begin "
        "with up to 808 misses, as in the runs before this option)",
    )
    args = parser.parse_args()
    client = args.client
    if client == "auto":
        client = "wrk" if shutil.which("wrk") else "httpx"
    connection_counts = [int(c) for c in args.connections.split(",")]

    tmp = Path(tempfile.mkdtemp(prefix="titans-bench-api-"))
    models_dir = tmp / "models"
    t0 = time.perf_counter()
    trained, records = train(models_dir)
    print(f"trained {trained} in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    codes: dict[str, Path | None] = {"this": None}
    if args.reference_src is not None:
        codes["reference"] = args.reference_src.resolve()
    servers: dict[str, tuple[str, subprocess.Popen[bytes]]] = {}
    runs: list[dict[str, Any]] = []
    batches: list[dict[str, Any]] = []
    try:
        for code, src in codes.items():
            port = _free_port()
            workdir = tmp / code
            workdir.mkdir()
            proc = start_server(port, args.workers, workdir, models_dir, src, args.redis_url)
            base = f"http://127.0.0.1:{port}"
            servers[code] = (base, proc)
            warm(base, records)
        for repeat in range(args.repeats):
            for connections in connection_counts:
                for code, (base, proc) in servers.items():
                    livez_rps = 0.0
                    for label, path, kind in SCENARIOS:
                        if kind == "cycle" and args.rewarm and repeat > 0:
                            warm(base, records)  # the cache-off run before evicted them
                        cpu0 = _server_cpu_seconds(proc)
                        figures = load_scenario(
                            client, base, tmp, kind, path, connections, args.duration, records
                        )
                        cpu = _server_cpu_seconds(proc) - cpu0
                        figures["server_cpu_ms_per_request"] = (
                            1000 * cpu / max(1, figures["requests"])
                        )
                        if kind == "get":
                            livez_rps = figures["rps"]
                        else:
                            figures["ratio_vs_livez"] = figures["rps"] / livez_rps
                        runs.append(
                            {
                                "code": code,
                                "repeat": repeat,
                                "scenario": label,
                                "connections": connections,
                                "load_average": os.getloadavg()[0],
                                **figures,
                            }
                        )
                        print(
                            f"[{repeat}] {code} {label} c={connections}: "
                            f"{figures['rps']:.0f} req/s p50 {figures['p50_ms']:.1f} "
                            f"p99 {figures['p99_ms']:.1f} ms errors {figures['errors']}",
                            file=sys.stderr,
                        )
        base = servers["this"][0]
        if args.batch_rows:
            batches = [
                measure_batch(base, records, args.batch_rows, repeats=3, models=models)
                for models in (["category"], trained)
                if all(m in trained for m in models)
            ]
        perf = httpx.get(
            f"{base}/models/performance", headers={"Authorization": f"Bearer {KEY}"}
        ).json()["models"]["category"]
    finally:
        for _base, proc in servers.values():
            proc.terminate()
            proc.wait(timeout=30)

    table = summarise(runs)
    this = [r for r in table if r["code"] == "this"]

    cached_128 = next(
        (
            r
            for r in this
            if r["scenario"].startswith("category (cached") and r["connections"] == 128
        ),
        None,
    )
    cached_16 = next(
        (
            r
            for r in this
            if r["scenario"].startswith("category (cached") and r["connections"] == 16
        ),
        None,
    )
    goals_met = {
        "p50_ms_at_128": cached_128 is not None
        and cached_128["p50_ms"]["median"] <= GOALS["p50_ms_at_128"],
        "p99_ms_at_128": cached_128 is not None
        and cached_128["p99_ms"]["median"] <= GOALS["p99_ms_at_128"],
        "errors_at_128": cached_128 is not None and cached_128["errors"] == 0,
        "ratio_vs_livez_at_16": cached_16 is not None
        and cached_16["ratio_vs_livez"]["median"] >= GOALS["ratio_vs_livez_at_16"],
    }
    if batches:
        goals_met["batch_rows_per_s"] = batches[0]["rows_per_s"] >= GOALS["batch_rows_per_s"]
    summary = {
        "command": "uv run python bench/bench_api.py " + " ".join(sys.argv[1:]),
        "client": client,
        "workers": args.workers,
        "redis": bool(args.redis_url),
        "duration_s": args.duration,
        "rewarm": args.rewarm,
        "repeats": args.repeats,
        "cpu_count": os.cpu_count(),
        "load_average_at_end": os.getloadavg(),
        "reference_src": str(args.reference_src) if args.reference_src else None,
        "summary": table,
        "runs": runs,
        "batch": batches,
        "category_server_stats": {
            k: perf[k] for k in ("predictions_served", "model_calls", "cache_hits", "latency_ms")
        },
        "goals": GOALS,
        "goals_met": goals_met,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(summary, indent=2))
    shutil.rmtree(tmp, ignore_errors=True)

    print(
        f"\n### API speed ({client}, {args.workers} worker(s), {args.duration:.0f} s x "
        f"{args.repeats}, medians, [min-max])\n"
    )
    print("| code | scenario | conns | req/s | × livez | p50 ms | p99 ms | CPU ms/req | errors |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in table:
        ratio = r.get("ratio_vs_livez")
        ratio_text = (
            f"{ratio['median']:.2f} [{ratio['min']:.2f}-{ratio['max']:.2f}]" if ratio else ""
        )
        print(
            f"| {r['code']} | {r['scenario']} | {r['connections']} "
            f"| {r['rps']['median']:.0f} [{r['rps']['min']:.0f}-{r['rps']['max']:.0f}] "
            f"| {ratio_text} | {r['p50_ms']['median']:.1f} "
            f"| {r['p99_ms']['median']:.1f} [{r['p99_ms']['min']:.0f}-{r['p99_ms']['max']:.0f}] "
            f"| {r['server_cpu_ms_per_request']['median']:.2f} | {r['errors']} |"
        )
    if batches:
        print(
            "\n| batch (one call per model) | rows | seconds | rows/s end to end | rows/s scoring |"
        )
        print("|---|---:|---:|---:|---:|")
        for b in batches:
            print(
                f"| {' + '.join(b['models'])} | {b['rows']} | {b['median_seconds']} "
                f"| {b['rows_per_s']:,} | {b['scoring_only_rows_per_s']:,} |"
            )
    print(f"goals met: {goals_met}\nwrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

"""Stored-key authentication cost: `Authenticator.authenticate` of a stored key with the record
cache on (``TITANS_KEY_CACHE_SECONDS`` = 5, the default) and off (0: one store read per
request), on a real SQLite store and, with ``--postgres-url``, a real PostgreSQL one.
Environment keys (no store) are the reference of the same run. Rounds alternate between the
settings; each figure is CPU microseconds per call of this process (the store's server
process is not counted for PostgreSQL, so its read is under-counted there).

    uv run python bench/bench_key_auth.py [--calls 5000] [--rounds 5] [--postgres-url URL]

Writes bench/results/key_auth.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from titans_finance.auth.authenticator import Authenticator
from titans_finance.auth.scopes import Scope
from titans_finance.auth.store import create_key
from titans_finance.config import Settings
from titans_finance.storage.db import get_engine

RESULTS = Path(__file__).resolve().parent / "results" / "key_auth.json"
ENV_KEY = "bench-env-key-0123456789abcdef0123"


def _cpu_us_per_call(authenticator: Authenticator, token: bytes, calls: int) -> float:
    start = time.process_time()
    for _ in range(calls):
        authenticator.authenticate(token)
    return (time.process_time() - start) / calls * 1e6


def _measure(url: str, calls: int, rounds: int) -> dict[str, Any]:
    engine = get_engine(url)
    _, stored = create_key(engine, name=f"bench-{os.getpid()}", scope=Scope.READ, created_by="b")
    cases: dict[str, tuple[Authenticator, bytes]] = {}
    for label, seconds in (("stored key, cache on (5 s)", 5.0), ("stored key, cache off", 0.0)):
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None, database_url=url, key_cache_seconds=seconds, api_keys=[]
        )
        cases[label] = (Authenticator(settings, (), lambda: engine), stored.encode())
    env_settings = Settings(_env_file=None, database_url=url, api_keys=[SecretStr(ENV_KEY)])  # type: ignore[call-arg]
    cases["environment key (reference)"] = (
        Authenticator(env_settings, (ENV_KEY.encode(),), lambda: engine),
        ENV_KEY.encode(),
    )
    samples: dict[str, list[float]] = {label: [] for label in cases}
    for _ in range(rounds):
        for label, (authenticator, token) in cases.items():
            samples[label].append(_cpu_us_per_call(authenticator, token, calls))
    return {
        label: {
            "cpu_us_per_call_median": round(statistics.median(values), 1),
            "min": round(min(values), 1),
            "max": round(max(values), 1),
        }
        for label, values in samples.items()
    }


def main() -> None:
    """Measure and write bench/results/key_auth.json."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=5000, help="calls per round and case")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--postgres-url", help="also measure on this (empty) PostgreSQL store")
    args = parser.parse_args()
    stores: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        stores["sqlite"] = f"sqlite:///{tmp}/keys.db"
        if args.postgres_url:
            stores["postgresql"] = args.postgres_url
        result = {
            "command": "uv run python bench/bench_key_auth.py "
            f"--calls {args.calls} --rounds {args.rounds}"
            + (" --postgres-url URL" if args.postgres_url else ""),
            "load_average_before": os.getloadavg(),
            "stores": {
                name: _measure(url, args.calls, args.rounds) for name, url in stores.items()
            },
            "load_average_after": os.getloadavg(),
        }
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    for name, cases in result["stores"].items():
        for label, figures in cases.items():
            print(f"{name:10} {label:30} {figures['cpu_us_per_call_median']:8.1f} CPU µs/call")


if __name__ == "__main__":
    main()

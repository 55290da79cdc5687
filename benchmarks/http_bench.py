"""HTTP benchmark of the actor server: getEpoch and sendMessage on SQLite and PostgreSQL.

Starts the real server (as the tests do), then for each operation keeps CONCURRENCY
requests in flight for SECONDS and reports requests/s and client-side p50/p95/p99,
next to the server's own actor_message_duration_p95 and the runbook 000 expectation
("fast < 10 ms" for GetEpoch, "normal 10-50 ms" for SendMessage). Prints markdown.

    .venv/bin/python benchmarks/http_bench.py [--seconds 10] [--concurrency 8] [--no-postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.server.helpers import metric
from tests.support.postgres import fresh_database
from tests.support.server_process import ServerProcess, running_server

XRPC = "/xrpc/blue.catbird.mls."
MEMBERS = ["did:plc:bench-a", "did:plc:bench-b", "did:plc:bench-c"]
EXPECTED = {
    "getEpoch": ("get_epoch", "fast < 10 ms", 10.0),
    "sendMessage": ("send_message", "normal 10-50 ms", 50.0),
}


def pct(values: list[float], q: float) -> float:
    return values[max(math.ceil(q * len(values)) - 1, 0)] if values else float("nan")


async def hammer(server: ServerProcess, op: str, seconds: float, concurrency: int) -> dict:
    headers = server.user_headers(MEMBERS[0])
    latencies: list[float] = []
    failures = 0
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=server.url, headers=headers, limits=limits, timeout=30
    ) as client:
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal failures
            n = 0
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                if op == "getEpoch":
                    r = await client.get(XRPC + "getEpoch", params={"convo_id": "bench"})
                else:
                    n += 1
                    r = await client.post(
                        XRPC + "sendMessage", json={"convo_id": "bench", "ciphertext": "x" * 64}
                    )
                latencies.append((time.perf_counter() - started) * 1000)
                failures += r.status_code != 200

        begin = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - begin
    latencies.sort()
    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "failures": failures,
        "p50": pct(latencies, 0.5),
        "p95": pct(latencies, 0.95),
        "p99": pct(latencies, 0.99),
    }


def bench(db_name: str, url: str, seconds: float, concurrency: int) -> list[str]:
    rows = []
    env = {"LOG_LEVEL": "info", "GC_HEARTBEAT_INTERVAL": "5"}
    with running_server(url, env=env) as server:
        with server.client(MEMBERS[0]) as c:
            c.post(
                XRPC + "createConvo", json={"convo_id": "bench", "did_list": MEMBERS[1:]}
            ).raise_for_status()
        for op, (message_type, expectation, limit) in EXPECTED.items():
            result = asyncio.run(hammer(server, op, seconds, concurrency))
            actor_p95 = metric(server, "actor_message_duration_p95", message_type=message_type)
            verdict = "meets" if actor_p95 < limit else "exceeds"
            rows.append(
                f"| {db_name} | {op} | {result['requests']} | {result['rps']:.0f} | "
                f"{result['p50']:.1f} | {result['p95']:.1f} | {result['p99']:.1f} | "
                f"{actor_p95:.2f} | {expectation}: {verdict} | {result['failures']} |"
            )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    lines = [
        f"HTTP benchmark: {args.concurrency} clients in flight, {args.seconds:g} s per row; "
        "latency columns in ms (client round trip; actor p95 = server-side handling)",
        "",
        "| database | operation | requests | req/s | p50 | p95 | p99 | actor p95 | "
        "runbook 000 | non-200 |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="mcops-bench-")))
        lines += bench(
            "SQLite", f"sqlite:///{workdir / 'bench.db'}", args.seconds, args.concurrency
        )
        if not args.no_postgres:
            pg = stack.enter_context(fresh_database(prefix="mcops_bench"))
            lines += bench("PostgreSQL", pg, args.seconds, args.concurrency)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())

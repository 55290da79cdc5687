"""A bounded load generator: conversation and meeting traffic at a fixed rate.

Bounded in both count (rate × duration requests at most) and time (in-flight
requests are cancelled a short grace after the duration), so the lab can never leave
it running. Used by ``mcops-server load`` and importable as `run_load`.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from server.auth import user_token

__all__ = ["LoadReport", "run_load", "run_load_sync"]

XRPC = "/xrpc/blue.catbird.mls."
GRACE_SECONDS = 5.0
OPS_WEIGHTS = {
    "send_message": 35,
    "get_epoch": 25,
    "meeting_message": 15,
    "add_members": 8,
    "get_unread_count": 8,
    "update_read": 5,
    "create_convo": 4,
}


@dataclass(frozen=True)
class LoadReport:
    """What a run did: counts by status and by operation, latency percentiles (ms)."""

    requests: int
    seconds: float
    by_status: dict[str, int]
    by_op: dict[str, dict[str, int]]
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> int:
        return sum(n for status, n in self.by_status.items() if status.startswith("2"))

    def table(self) -> str:
        """Markdown: one row per operation and status, then the latency line."""
        lines = ["| operation | status | count |", "|---|---|---|"]
        for op in sorted(self.by_op):
            for status, count in sorted(self.by_op[op].items()):
                lines.append(f"| {op} | {status} | {count} |")
        rate = self.requests / self.seconds if self.seconds else 0.0
        lines.append("")
        lines.append(
            f"{self.requests} requests in {self.seconds:.1f} s ({rate:.1f}/s); "
            f"p50 {self.p50_ms:.1f} ms, p95 {self.p95_ms:.1f} ms, p99 {self.p99_ms:.1f} ms"
        )
        return "\n".join(lines)


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    rank = max(math.ceil(q * len(sorted_values)) - 1, 0)
    return sorted_values[rank]


class _Run:
    def __init__(self, client: httpx.AsyncClient, secret: str, rng: random.Random) -> None:
        self.client = client
        self.secret = secret
        self.rng = rng
        self.latencies: list[float] = []
        self.by_op: dict[str, Counter[str]] = {}
        self.errors: list[str] = []
        self.convos: list[tuple[str, list[str]]] = []  # (convo_id, member dids)
        self.meetings: list[tuple[str, list[tuple[str, str]]]] = []  # (id, [(did, conn)])
        self.prefix = f"load-{rng.getrandbits(32):08x}"
        self.counter = 0

    def headers(self, did: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {user_token(did, self.secret)}"}

    def new_did(self) -> str:
        self.counter += 1
        return f"did:plc:{self.prefix}-u{self.counter}"

    async def call(
        self, op: str, method: str, path: str, did: str, body: dict[str, Any] | None = None
    ) -> Any:
        started = time.perf_counter()
        try:
            response = await self.client.request(
                method,
                path,
                headers=self.headers(did),
                json=body if method == "POST" else None,
                params=body if method == "GET" else None,
            )
            status = str(response.status_code)
        except httpx.HTTPError as err:
            status = f"error:{type(err).__name__}"
            if len(self.errors) < 20:
                self.errors.append(f"{op}: {err!r}")
            response = None
        self.latencies.append((time.perf_counter() - started) * 1000)
        self.by_op.setdefault(op, Counter())[status] += 1
        if response is not None and response.status_code == 200:
            return response.json()
        return None

    async def create_convo(self) -> None:
        members = [self.new_did() for _ in range(3)]
        convo_id = f"{self.prefix}-c{len(self.convos) + 1}"
        reply = await self.call(
            "create_convo",
            "POST",
            XRPC + "createConvo",
            members[0],
            {"convo_id": convo_id, "did_list": members[1:]},
        )
        if reply is not None:
            self.convos.append((convo_id, members))

    async def create_meeting(self) -> None:
        meeting_id = f"{self.prefix}-m{len(self.meetings) + 1}"
        host = self.new_did()
        if (
            await self.call("create_meeting", "POST", "/meetings", host, {"meeting_id": meeting_id})
            is None
        ):
            return
        connections = []
        for did in (host, self.new_did()):
            joined = await self.call("join_meeting", "POST", f"/meetings/{meeting_id}/join", did)
            if joined is not None:
                connections.append((did, joined["connection_id"]))
        self.meetings.append((meeting_id, connections))

    async def one(self, op: str) -> None:
        if op == "create_convo" or not self.convos:
            await self.create_convo()
            return
        convo_id, members = self.rng.choice(self.convos)
        did = self.rng.choice(members)
        if op == "send_message":
            await self.call(
                op,
                "POST",
                XRPC + "sendMessage",
                did,
                {"convo_id": convo_id, "ciphertext": "x" * 64},
            )
        elif op == "get_epoch":
            await self.call(op, "GET", XRPC + "getEpoch", did, {"convo_id": convo_id})
        elif op == "get_unread_count":
            await self.call(op, "GET", XRPC + "getUnreadCount", did, {"convo_id": convo_id})
        elif op == "update_read":
            await self.call(op, "POST", XRPC + "updateRead", did, {"convo_id": convo_id})
        elif op == "add_members":
            new = self.new_did()
            if (
                await self.call(
                    op, "POST", XRPC + "addMembers", did, {"convo_id": convo_id, "did_list": [new]}
                )
                is not None
            ):
                members.append(new)
        elif op == "meeting_message" and self.meetings:
            meeting_id, connections = self.rng.choice(self.meetings)
            if connections:
                sender, connection_id = self.rng.choice(connections)
                await self.call(
                    op,
                    "POST",
                    f"/meetings/{meeting_id}/messages",
                    sender,
                    {"connection_id": connection_id, "body": {"n": self.counter}},
                )


async def run_load(
    url: str,
    *,
    rate: float,
    duration: float,
    auth_secret: str,
    conversations: int = 10,
    meetings: int = 2,
    concurrency: int = 64,
    seed: int | None = None,
    request_timeout: float = 10.0,
) -> LoadReport:
    """Send about ``rate`` requests/s for ``duration`` s (at most rate × duration)."""
    if rate <= 0 or duration <= 0:
        raise ValueError(f"rate and duration must be > 0 (got rate={rate}, duration={duration})")
    rng = random.Random(seed)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=url, timeout=request_timeout, limits=limits) as client:
        run = _Run(client, auth_secret, rng)
        for _ in range(conversations):
            await run.create_convo()
        for _ in range(meetings):
            await run.create_meeting()
        ops = [op for op in OPS_WEIGHTS if op != "meeting_message" or meetings > 0]
        weights = [OPS_WEIGHTS[op] for op in ops]
        total = int(rate * duration)
        gate = asyncio.Semaphore(concurrency)
        tasks: set[asyncio.Task[None]] = set()

        async def guarded(op: str) -> None:
            try:
                await run.one(op)
            finally:
                gate.release()

        begin = time.perf_counter()
        for i in range(total):
            delay = begin + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if time.perf_counter() - begin > duration:
                break
            await gate.acquire()
            task = asyncio.get_running_loop().create_task(guarded(rng.choices(ops, weights)[0]))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if tasks:
            _, pending = await asyncio.wait(set(tasks), timeout=GRACE_SECONDS)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
    seconds = time.perf_counter() - started
    latencies = sorted(run.latencies)
    by_status: Counter[str] = Counter()
    for counts in run.by_op.values():
        by_status.update(counts)
    return LoadReport(
        requests=sum(by_status.values()),
        seconds=seconds,
        by_status=dict(by_status),
        by_op={op: dict(counts) for op, counts in run.by_op.items()},
        p50_ms=_percentile(latencies, 0.50),
        p95_ms=_percentile(latencies, 0.95),
        p99_ms=_percentile(latencies, 0.99),
        errors=run.errors,
    )


def run_load_sync(
    url: str,
    *,
    rate: float,
    duration: float,
    auth_secret: str,
    conversations: int = 10,
    meetings: int = 2,
    concurrency: int = 64,
    seed: int | None = None,
) -> LoadReport:
    """`run_load` on a fresh event loop (for the CLI and notebooks without a loop)."""
    return asyncio.run(
        run_load(
            url,
            rate=rate,
            duration=duration,
            auth_secret=auth_secret,
            conversations=conversations,
            meetings=meetings,
            concurrency=concurrency,
            seed=seed,
        )
    )

"""The fault suite: the real server under load through the faults production brings.

Each fault runs against a fresh database while writers send messages and add members
to a few conversations, then the database is read back: every write the server
acknowledged (HTTP 2xx) must be there, no epoch or sequence number twice. Figures per
fault and database: requests sent, answered (any HTTP status), acknowledged, never
answered, data lost, duplicates, the slowest answer (nothing hangs) and the time from
the fault's end to the first acknowledged write (time to recover).

    .venv/bin/python -m benchmarks.fault_suite [--seconds 4] [--no-postgres]

`tests/faults/` runs the same faults, shorter, and asserts lost = 0; the README keeps
the figures of a full run.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import signal
import socket
import sqlite3
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.postgres import ADMIN_URL, fresh_database
from tests.support.server_process import ServerProcess, running_server

XRPC = "/xrpc/blue.catbird.mls."
CREATOR = "did:plc:fault-alice"
CONVERSATIONS = [f"fault-convo-{i}" for i in range(4)]
#: The server's HTTP_REQUEST_TIMEOUT (10 s) and a margin: idle clients closed by then.
CLOSE_WITHIN = 15.0
#: Longer than the server's 30 s message timeout: the server answers first, or it hung.
CLIENT_TIMEOUT = 45.0


@dataclass(frozen=True)
class Sent:
    """One request of the traffic: what it wrote and what came back."""

    kind: str  # "message" | "member"
    key: str  # the ciphertext or the did written
    convo: str
    started: float
    finished: float
    status: int | None  # None: no HTTP answer (refused, reset, timed out)


@dataclass
class Traffic:
    """Writers that keep ``concurrency`` requests in flight until stopped."""

    server: ServerProcess
    concurrency: int = 6
    targets: list[str] = field(default_factory=list)
    """Base URLs to spread requests over in turn (replicas); default: the server's."""
    sent: list[Sent] = field(default_factory=list)
    _ids: Iterator[int] = field(default_factory=itertools.count)

    async def run(self, stop: asyncio.Event) -> None:
        headers = self.server.user_headers(CREATOR)
        self.targets = self.targets or [self.server.url]
        limits = httpx.Limits(max_connections=self.concurrency * len(self.targets))
        async with httpx.AsyncClient(
            headers=headers, timeout=CLIENT_TIMEOUT, limits=limits
        ) as client:
            await asyncio.gather(*(self._worker(client, stop) for _ in range(self.concurrency)))

    async def _worker(self, client: httpx.AsyncClient, stop: asyncio.Event) -> None:
        while not stop.is_set():
            n = next(self._ids)
            convo = CONVERSATIONS[n % len(CONVERSATIONS)]
            if n % 8 == 7:
                kind, key = "member", f"did:plc:fault-member-{n}"
                path, body = "addMembers", {"convo_id": convo, "did_list": [key]}
            else:
                kind, key = "message", f"fault-message-{n}"
                path, body = "sendMessage", {"convo_id": convo, "ciphertext": key}
            base = self.targets[n % len(self.targets)]
            started = time.monotonic()
            try:
                status: int | None = (await client.post(base + XRPC + path, json=body)).status_code
            except httpx.HTTPError:
                status = None
                await asyncio.sleep(0.05)  # a refused connection returns at once
            self.sent.append(Sent(kind, key, convo, started, time.monotonic(), status))

    def acknowledged(self, kind: str) -> set[str]:
        return {s.key for s in self.sent if s.kind == kind and s.status and s.status < 300}


@dataclass(frozen=True)
class FaultOutcome:
    """One fault's figures; ``lost`` and ``duplicates`` must be 0."""

    fault: str
    database: str
    sent: int
    answered: int
    acknowledged: int
    unanswered: int
    lost: int
    duplicates: int
    slowest_answer_s: float
    recovered_s: float | None  # None: no write was acknowledged after the fault ended
    statuses: dict[str, int]
    note: str = ""

    def row(self) -> str:
        recovered = "never" if self.recovered_s is None else f"{self.recovered_s:.1f}"
        return (
            f"| {self.fault} | {self.database} | {self.sent:,} | {self.answered:,} | "
            f"{self.acknowledged:,} | {self.unanswered:,} | {self.lost} | {self.duplicates} | "
            f"{self.slowest_answer_s:.1f} | {recovered} | {self.note} |"
        )


HEADER = (
    "| fault | database | requests | answered | acknowledged | no answer | lost "
    "| duplicates | slowest answer s | recovered in s | note |\n"
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
)


@dataclass(frozen=True)
class FaultEnd:
    """When a fault was over (recovery is measured from it) and what it saw."""

    at: float
    note: str = ""


#: A fault: given the server and its database URL, break something, return when over.
Fault = Callable[[ServerProcess, str], Awaitable[FaultEnd]]


async def under_load(
    name: str, server: ServerProcess, db_url: str, fault: Fault, *, after: float
) -> FaultOutcome:
    """Run traffic, apply ``fault``, keep the traffic ``after`` seconds more, judge."""
    traffic, stop = Traffic(server), asyncio.Event()
    writers = asyncio.create_task(traffic.run(stop))
    await asyncio.sleep(1.0)  # traffic before the fault
    ended = await fault(server, db_url)
    await asyncio.sleep(after)
    stop.set()
    await writers
    return judge(name, db_url, traffic, ended)


def judge(name: str, db_url: str, traffic: Traffic, end: FaultEnd) -> FaultOutcome:
    """Read the database back: what was acknowledged and is missing, what is there twice."""
    engine = sa.create_engine(_sync_url(db_url))
    try:
        with engine.connect() as conn:
            stored = {r[0] for r in conn.execute(sa.text("SELECT ciphertext FROM messages"))}
            members = {r[0] for r in conn.execute(sa.text("SELECT member_did FROM members"))}
            duplicates = conn.execute(
                sa.text(
                    "SELECT COUNT(*) FROM (SELECT convo_id FROM messages "
                    "GROUP BY convo_id, message_type, CASE WHEN message_type = 'commit' "
                    "THEN epoch ELSE seq END HAVING COUNT(*) > 1) d"
                )
            ).scalar_one()
    finally:
        engine.dispose()
    lost = len(traffic.acknowledged("message") - stored)
    lost += len(traffic.acknowledged("member") - members)
    sent = traffic.sent
    answered = [s for s in sent if s.status is not None]
    acked_after = [s.finished for s in answered if s.status < 300 and s.started >= end.at]
    statuses: dict[str, int] = {}
    for s in sent:
        statuses[str(s.status or "none")] = statuses.get(str(s.status or "none"), 0) + 1
    return FaultOutcome(
        fault=name,
        database="PostgreSQL" if db_url.startswith("postgres") else "SQLite",
        sent=len(sent),
        answered=len(answered),
        acknowledged=sum(1 for s in answered if s.status < 300),
        unanswered=len(sent) - len(answered),
        lost=lost,
        duplicates=int(duplicates),
        slowest_answer_s=max((s.finished - s.started for s in answered), default=0.0),
        recovered_s=min(acked_after) - end.at if acked_after else None,
        statuses=statuses,
        note=end.note,
    )


# -- the faults -------------------------------------------------------------------------


def kill9(down: float = 0.5) -> Fault:
    """SIGKILL mid-load, then the supervisor's restart ``down`` seconds later."""

    async def fault(server: ServerProcess, _db_url: str) -> FaultEnd:
        assert server.proc is not None
        os.kill(server.proc.pid, signal.SIGKILL)
        server.proc.wait()
        server.proc = None
        await asyncio.sleep(down)
        ended = time.monotonic()
        await asyncio.to_thread(server.start)
        return FaultEnd(ended, f"restarted {down:g} s after the kill")

    return fault


def database_down(seconds: float) -> Fault:
    """PostgreSQL refuses connections and drops the server's for ``seconds``."""

    async def fault(_server: ServerProcess, db_url: str) -> FaultEnd:
        name = db_url.rsplit("/", 1)[1]
        await asyncio.to_thread(allow_connections, name, False)
        try:
            await asyncio.sleep(seconds)
        finally:
            await asyncio.to_thread(allow_connections, name, True)
        return FaultEnd(time.monotonic(), f"down {seconds:g} s")

    return fault


def locked_rows(seconds: float) -> Fault:
    """Another session holds the conversations' rows (PostgreSQL ``FOR UPDATE``) or the
    database's write lock (SQLite ``BEGIN IMMEDIATE``) for ``seconds``."""

    async def fault(_server: ServerProcess, db_url: str) -> FaultEnd:
        with _row_lock(db_url):
            await asyncio.sleep(seconds)
        return FaultEnd(time.monotonic(), f"locked {seconds:g} s")

    return fault


def slow_and_idle_clients(idle: int, slow: int, seconds: float) -> Fault:
    """``idle`` connections that never send, ``slow`` ones stuck mid-request, while the
    writers go on. The server must close them itself (it is watched up to ``seconds``);
    recovery counts from the attack's start: the writers are never to be starved."""

    async def fault(server: ServerProcess, _db_url: str) -> FaultEnd:
        began = time.monotonic()
        socks = await asyncio.to_thread(_open_attackers, server.port, idle, slow)
        try:
            while time.monotonic() < began + seconds and any(s.fileno() >= 0 for s in socks):
                await asyncio.to_thread(_reap_closed, socks)
                await asyncio.sleep(0.2)
            still_open = sum(s.fileno() >= 0 for s in socks)
            took = time.monotonic() - began
        finally:
            for s in socks:
                s.close()
        note = f"server closed all {idle + slow} in {took:.1f} s"
        if still_open:
            note = f"{still_open} of {idle + slow} still open after {seconds:g} s"
        return FaultEnd(began, note)

    return fault


def _open_attackers(port: int, idle: int, slow: int) -> list[socket.socket]:
    socks = []
    for i in range(idle + slow):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        if i >= idle:  # headers begun, never finished
            s.sendall(b"POST /xrpc/blue.catbird.mls.sendMessage HTTP/1.1\r\nHost: x\r\n")
        s.setblocking(False)
        socks.append(s)
    return socks


def _reap_closed(socks: list[socket.socket]) -> None:
    """Close our end of every connection the server has closed (read gives EOF)."""
    for s in socks:
        if s.fileno() < 0:
            continue
        try:
            if s.recv(4096) == b"":
                s.close()
        except BlockingIOError:
            pass
        except OSError:
            s.close()


def allow_connections(name: str, allowed: bool) -> None:
    """PostgreSQL accepts connections to database ``name`` again, or refuses them and
    drops the ones it has: the database as its clients see it when it is down."""
    engine = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {allowed!s}'))
            if not allowed:
                conn.execute(
                    sa.text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :name"
                    ),
                    {"name": name},
                )
    finally:
        engine.dispose()


@contextmanager
def _row_lock(db_url: str) -> Iterator[None]:
    if db_url.startswith("sqlite"):
        conn = sqlite3.connect(db_url.split("sqlite:///", 1)[1], isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            yield
            conn.execute("ROLLBACK")
        finally:
            conn.close()
        return
    engine = sa.create_engine(_sync_url(db_url))
    try:
        with engine.connect() as conn:
            # every write touches one of these: the epoch (conversations), unread (members)
            conn.execute(sa.text("SELECT id FROM conversations FOR UPDATE"))
            conn.execute(sa.text("SELECT member_did FROM members FOR UPDATE"))
            yield
            conn.rollback()
    finally:
        engine.dispose()


# -- running ----------------------------------------------------------------------------


def _sync_url(db_url: str) -> str:
    return db_url.replace("postgresql://", "postgresql+psycopg://")


def prepare(server: ServerProcess, conversations: list[str] = CONVERSATIONS) -> None:
    """The conversations the writers use."""
    with server.client(CREATOR) as client:
        for convo in conversations:
            r = client.post(XRPC + "createConvo", json={"convo_id": convo, "did_list": []})
            r.raise_for_status()


@contextmanager
def database(kind: str) -> Iterator[str]:
    if kind == "postgres":
        with fresh_database("mcops_fault") as url:
            yield url
        return
    with tempfile.TemporaryDirectory(prefix="mcops-fault-") as tmp:
        yield f"sqlite:///{tmp}/mcops.db"


def run_fault(
    name: str, kind: str, fault: Fault, *, after: float, env: dict[str, str] | None = None
) -> FaultOutcome:
    """One fault against a fresh server and database of ``kind`` (sqlite, postgres)."""
    with ExitStack() as stack:
        db_url = stack.enter_context(database(kind))
        server = stack.enter_context(running_server(db_url, env=env))
        prepare(server)
        return asyncio.run(under_load(name, server, db_url, fault, after=after))


def suite(seconds: float, *, postgres: bool) -> Iterator[FaultOutcome]:
    """Every fault on every database it applies to, each held for ``seconds``."""
    kinds = ["sqlite", "postgres"] if postgres else ["sqlite"]
    for kind in kinds:
        yield run_fault("kill -9 mid-load", kind, kill9(), after=seconds)
    if postgres:
        yield run_fault("database down and back", "postgres", database_down(seconds), after=3)
    for kind in kinds:
        yield run_fault("locked rows", kind, locked_rows(seconds), after=3)
    for kind in kinds:
        yield run_fault(
            "600 idle + 50 half-sent clients",
            kind,
            slow_and_idle_clients(600, 50, seconds=CLOSE_WITHIN),
            after=2,
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="how long each fault lasts")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args(argv)
    print(HEADER, flush=True)
    failed = False
    for outcome in suite(args.seconds, postgres=not args.no_postgres):
        print(outcome.row(), flush=True)
        failed |= bool(outcome.lost or outcome.duplicates)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

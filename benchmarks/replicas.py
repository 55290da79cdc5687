"""Three replicas on one PostgreSQL, no sticky sessions, one killed with SIGKILL mid-run.

Runbook 000 FM3 is "multiple server instances without sticky sessions": each ran its own
actor for a conversation and wrote the same commit epoch twice. Here the writers of
`benchmarks.fault_suite` spread every conversation's addMembers and sendMessage over all
replicas in turn; one replica is killed (and the load balancer stops sending to it, as
its readiness would make it); the others go on. Then the database is read back. With the
actor system the conversations are leased (server/ownership.py): 0 duplicates, 0 lost.
With the legacy path (ENABLE_ACTOR_SYSTEM=false) the incident comes back, on purpose.

    .venv/bin/python -m benchmarks.replicas [--seconds 6] [--replicas 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.fault_suite import (
    CONVERSATIONS,
    HEADER,
    FaultEnd,
    FaultOutcome,
    Traffic,
    database,
    judge,
    prepare,
)
from tests.support.server_process import ServerProcess, running_server

#: Short leases, so a killed replica's conversations move within seconds here.
LEASE_SECONDS = 2.0


async def _spread(
    replicas: list[ServerProcess], db_url: str, *, seconds: float, kill_after: float
) -> tuple[Traffic, FaultEnd]:
    traffic = Traffic(replicas[0], targets=[r.url for r in replicas])
    stop = asyncio.Event()
    writers = asyncio.create_task(traffic.run(stop))
    await asyncio.sleep(kill_after)
    victim = replicas[1]
    assert victim.proc is not None
    traffic.targets.remove(victim.url)  # the load balancer sees it gone
    os.kill(victim.proc.pid, signal.SIGKILL)
    victim.proc.wait()
    victim.proc = None
    killed = time.monotonic()
    await asyncio.sleep(seconds)
    stop.set()
    await writers
    # its conversations: writes to them acknowledged again once their leases moved
    orphans = {c for i, c in enumerate(CONVERSATIONS) if i % len(replicas) == 1}
    acked = [
        s.finished
        for s in traffic.sent
        if s.convo in orphans and s.started >= killed and s.status and s.status < 300
    ]
    moved = f"its conversations moved in {min(acked) - killed:.1f} s" if acked else "never moved"
    return traffic, FaultEnd(killed, f"replica {victim.env['SERVER_ID']} killed; {moved}")


def run_replicas(
    *,
    legacy: bool,
    replicas: int = 3,
    seconds: float = 6.0,
    kill_after: float = 2.0,
    inspect: Callable[[str, list[ServerProcess]], None] | None = None,
) -> FaultOutcome:
    """The run above; ``seconds`` after the kill, longer than a lease. ``inspect`` sees
    the database and the surviving replicas before they are gone."""
    env = {"CONVERSATION_LEASE_SECONDS": str(LEASE_SECONDS), "DATABASE_MAX_CONNECTIONS": "8"}
    if legacy:
        env["ENABLE_ACTOR_SYSTEM"] = "false"
    with ExitStack() as stack:
        db_url = stack.enter_context(database("postgres"))
        started = [
            stack.enter_context(running_server(db_url, env={**env, "MC_ID": f"mc-replica-{i}"}))
            for i in range(replicas)
        ]
        for i, convo in enumerate(CONVERSATIONS):  # each replica owns some at the start
            prepare(started[i % replicas], [convo])
        traffic, end = asyncio.run(_spread(started, db_url, seconds=seconds, kill_after=kill_after))
        path = "legacy path" if legacy else "actor system"
        outcome = judge(f"{replicas} replicas, {path}", db_url, traffic, end)
        if inspect is not None:
            inspect(db_url, [r for r in started if r.proc is not None])
        return outcome


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="traffic after the kill")
    parser.add_argument("--replicas", type=int, default=3)
    args = parser.parse_args(argv)
    print(HEADER, flush=True)
    leased = run_replicas(legacy=False, replicas=args.replicas, seconds=args.seconds)
    print(leased.row(), flush=True)
    print(run_replicas(legacy=True, replicas=args.replicas, seconds=args.seconds).row())
    return 1 if leased.lost or leased.duplicates else 0


if __name__ == "__main__":
    sys.exit(main())

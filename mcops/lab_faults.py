"""What `mcops lab inject` can reproduce: every lab fault with the runbook failure mode and
the scenario notebook that investigates it, declared once (`LAB_FAULTS`).

`lab inject --help` is written from this table, and a test holds it to the server's own
list (`server.faults.FAULTS`) and to the registry's scenarios, so a fault cannot be added
without saying what it reproduces. Most faults are server state set over the admin API;
three are driven from here (`DRIVERS`), because no server switch makes them:
``epoch_race`` needs concurrent writers (with the actor system off, concurrent
addMembers write two commits at one epoch: runbook 000 Failure Mode 3),
``lost_meetings`` needs meetings the MC forgot while the GC still counts them (004
Scenario 3), and ``outage`` needs the server gone (004 Scenario 4).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # `mcops lab --help` is built from this module: it imports nothing heavy
    import httpx

    from mcops.lab import Lab

__all__ = [
    "DRIVEN",
    "DRIVERS",
    "LAB_FAULTS",
    "LabFault",
    "fault_listing",
    "kill_server",
    "lose_meetings",
    "race_epochs",
]


@dataclass(frozen=True)
class LabFault:
    """One thing `mcops lab inject` does, and what it reproduces."""

    name: str
    scenarios: tuple[str, ...]
    """The scenario notebooks (mcops.registry.SCENARIOS) that investigate it, first first."""
    reproduces: str
    """The runbook failure mode, in the runbook's words."""
    example: str = ""
    """The ``--param`` arguments of a typical injection."""


LAB_FAULTS: tuple[LabFault, ...] = (
    LabFault("crash_loop", ("crash_loop",), "000 FM1 actor crash loop", "--param convo_id=c1"),
    LabFault(
        "slow_handling",
        ("mailbox_backlog", "high_latency"),
        "000 FM2 mailbox backlog; 004 Scenario 1",
        "--param actor_type=conversation --param delay_ms=200",
    ),
    LabFault(
        "pool_exhaustion",
        ("mailbox_backlog", "performance_profile"),
        "000 FM2 cause: database pool exhausted",
        "--param hold=10",
    ),
    LabFault(
        "epoch_race",
        ("epoch_conflicts", "db_consistency"),
        "000 FM3 epoch conflicts: concurrent addMembers with the actor system off",
        "[--param convo_id=ID --param writers=8]",
    ),
    LabFault(
        "actor_system_disabled",
        ("epoch_conflicts",),
        "000 FM3 cause: actor system disabled (legacy path)",
    ),
    LabFault("no_cleanup", ("memory_leak", "actor_health"), "000 FM4 leak: idle actors stay"),
    LabFault(
        "slow_db",
        ("performance_profile", "high_latency"),
        "000 Performance Profiling; 004 Scenario 5 high latency",
        "--param latency_ms=50",
    ),
    LabFault(
        "meeting_panic",
        ("actor_panics",),
        "004 Scenario 2 actor panics",
        "[--param meeting_id=ID]",
    ),
    LabFault(
        "gc_heartbeat_failure",
        ("gc_integration",),
        "004 Scenario 6 GC heartbeat failures",
        "--param rate=0.5",
    ),
    LabFault(
        "memory_pressure",
        ("resource_pressure", "memory_leak"),
        "004 Scenario 7 memory pressure",
        "--param mb=256",
    ),
    LabFault("cpu_burn", ("resource_pressure",), "004 Scenario 7 high CPU", "--param duty=0.8"),
    LabFault(
        "lost_meetings",
        ("meeting_lifecycle",),
        "004 Scenario 3: meetings the MC lost, stale in the GC; one nobody joined",
        "[--param count=2]",
    ),
    LabFault(
        "outage",
        ("service_outage", "service_restart"),
        "004 Scenario 4 complete outage: the server is killed (clear: mcops lab restart)",
    ),
)


def kill_server(lab: Lab) -> dict[str, Any]:
    """Runbook 004 Scenario 4: SIGKILL the lab's server; `mcops lab clear outage` or
    `mcops lab restart` starts it again on the same port, database and log."""
    state = lab.kill_server()
    return {
        "killed": state.server_pid,
        "service_url": state.server_url,
        "investigate": "mcops run --lab service_outage",
        "recover": "mcops lab restart",
    }


def lose_meetings(lab: Lab, *, count: int = 2) -> dict[str, Any]:
    """Runbook 004 Scenario 3 in the running lab: one meeting with a participant, one
    nobody joined, and ``count`` the MC lost (actors stopped, as after an MC restart)
    whose rows the GC still calls active, last updated two hours ago."""
    import httpx

    from mcops.lab_processes import LabError

    if not 1 <= count <= 20:
        raise LabError("lost_meetings needs a count of 1..20 — fix: --param count=2")
    tag = secrets.token_hex(3)
    joined, empty = f"meeting-ok-{tag}", f"meeting-empty-{tag}"
    lost = [f"meeting-lost-{tag}-{i}" for i in range(1, count + 1)]
    url = lab.state().server_url
    with httpx.Client(base_url=url, timeout=15) as client:
        for meeting in (joined, empty, *lost):
            headers = {"Authorization": f"Bearer {lab.user_token(f'did:plc:{meeting}')}"}
            calls = [("/meetings", {"meeting_id": meeting})]
            if meeting != empty:
                calls.append((f"/meetings/{meeting}/join", {}))
            for path, body in calls:
                answer = client.post(path, json=body, headers=headers)
                if answer.status_code >= 400:
                    raise LabError(f"POST {path} answered {answer.status_code}: {answer.text}")
    for meeting in lost:
        lab.admin("DELETE", f"/admin/actors/meeting/{meeting}")
    _execute(
        lab.state().database_url,
        "UPDATE meetings SET updated_at = :at WHERE meeting_id = :meeting",
        [{"at": datetime.now(UTC) - timedelta(hours=2), "meeting": m} for m in lost],
    )
    return {
        "joined": joined,
        "nobody_joined": empty,
        "lost": lost,
        "investigate": "mcops run --lab meeting_lifecycle",
    }


def fault_listing() -> str:
    """The faults as `lab inject --help` lists them: name, scenario, failure mode, example."""
    width = max(len(f.name) for f in LAB_FAULTS)
    lines = ["faults (FAULT → scenario notebook: runbook failure mode):"]
    for fault in LAB_FAULTS:
        lines.append(f"  {fault.name:<{width}}  → {', '.join(fault.scenarios)}: {fault.reproduces}")
        if fault.example:
            lines.append(f"  {'':<{width}}    e.g. mcops lab inject {fault.name} {fault.example}")
    lines.append("Each server fault stays on until `mcops lab clear FAULT`.")
    return "\n".join(lines)


_DUPLICATES = (
    "SELECT epoch, COUNT(*) FROM messages WHERE convo_id = :convo AND message_type = 'commit' "
    "GROUP BY epoch HAVING COUNT(*) > 1"
)


def race_epochs(
    lab: Lab, *, convo_id: str = "", writers: int = 8, rounds: int = 10
) -> dict[str, Any]:
    """Reproduce runbook 000 FM3 in the running lab: switch the actor system off, send
    ``writers`` concurrent addMembers to one new conversation until its commits share an
    epoch (at most ``rounds`` times), switch it back on. Returns the conversation and its
    duplicate epochs; LabError when no round raced (the duplicates are the point)."""
    import httpx

    from mcops.lab_processes import LabError

    if not 2 <= writers <= 64 or not 1 <= rounds <= 50:
        raise LabError("epoch_race needs 2..64 writers and 1..50 rounds — fix: --param writers=8")
    convo = convo_id or f"epoch-race-{secrets.token_hex(3)}"
    state = lab.state()
    headers = {"Authorization": f"Bearer {lab.user_token('did:plc:alice')}"}
    xrpc = f"{state.server_url}/xrpc/blue.catbird.mls."
    with httpx.Client(headers=headers, timeout=15) as client:
        created = client.post(xrpc + "createConvo", json={"convo_id": convo})
        if created.status_code >= 400:
            raise LabError(
                f"createConvo {convo!r} answered {created.status_code}: {created.text[:200]} "
                "— fix: --param convo_id=<a new id>"
            )
        lab.inject("actor_system_disabled")
        try:
            duplicates: list[tuple[int, int]] = []
            for done in range(1, rounds + 1):
                _add_concurrently(client, xrpc, convo, writers, done)
                duplicates = _duplicate_epochs(state.database_url, convo)
                if duplicates:
                    break
        finally:
            lab.clear("actor_system_disabled")
    if not duplicates:
        raise LabError(
            f"{rounds} rounds of {writers} concurrent addMembers wrote no duplicate epoch — "
            "fix: retry with more writers, e.g. --param writers=16"
        )
    return {
        "convo_id": convo,
        "rounds": done,
        "writers": writers,
        "duplicate_epochs": [{"epoch": e, "commits": n} for e, n in duplicates],
        "investigate": "mcops run --lab epoch_conflicts",
    }


def _add_concurrently(client: httpx.Client, xrpc: str, convo: str, writers: int, n: int) -> None:
    def add(i: int) -> int:
        body = {"convo_id": convo, "did_list": [f"did:plc:race{n}x{i}"]}
        return client.post(xrpc + "addMembers", json=body).status_code

    with ThreadPoolExecutor(max_workers=writers) as pool:
        list(pool.map(add, range(writers)))


def _execute(database_url: str, statement: str, rows: list[Mapping[str, Any]]) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(statement), rows)
    finally:
        engine.dispose()


#: Faults the CLI drives itself (the server has no switch for them), by name.
DRIVERS: Mapping[str, Callable[..., dict[str, Any]]] = {
    "epoch_race": race_epochs,
    "lost_meetings": lose_meetings,
    "outage": kill_server,
}
DRIVEN = frozenset(DRIVERS)


def _duplicate_epochs(database_url: str, convo: str) -> list[tuple[int, int]]:
    import sqlalchemy as sa

    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text(_DUPLICATES), {"convo": convo}).all()
    finally:
        engine.dispose()
    return [(int(epoch), int(count)) for epoch, count in rows]

"""For every fault the lab can inject, triage's first suggestion and its severity are the
runbooks' answer for that failure mode.

Real parts only: for each fault in `server.faults.FAULTS` a fresh server process (SQLite)
gets the fault through its admin API and the traffic that makes the symptom visible;
then `mcops run triage` executes the real notebook headless, without Prometheus (it
scrapes ``/metrics`` twice), reading the server's own log file, with
``severity_scheme=P`` (runbook 004). The SEV verdict (runbook 000) is computed from the
same findings with `mcops.severity.assess`, so each fault costs one notebook run. The
table below says, per fault, which scenario the runbooks open first and how severe it
is; a fault added to the server without a row fails here.

One number is the user's and not the runbooks': the leak (``no_cleanup``) is shown with
60 actors, so that run passes a thresholds file moving the active-actor bands down
(the runbook's "Critical: 10,000+" becomes "critical above 40"), as a user with a
smaller service would.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from mcops.findings import Finding, Level
from mcops.severity import assess
from server.faults import FAULTS
from tests.notebooks.support import run_against
from tests.notebooks.test_epoch_conflicts import race_add_members
from tests.notebooks.test_triage import crash_a_conversation
from tests.server.helpers import concurrent
from tests.support.server_process import ServerProcess, running_server

pytestmark = pytest.mark.slow

XRPC = "/xrpc/blue.catbird.mls."
ALICE = "did:plc:alice"


@dataclass(frozen=True)
class Expect:
    """Where triage should send the engineer first, and how bad it is, in both schemes."""

    sev_first: str
    p_first: str
    sev: str
    p: str


# fault -> branch -> expectation. A fault with one outcome has the branch "". Where the
# outcome legitimately varies, the branch is read from the server's /metrics.
EXPECTED: dict[str, dict[str, Expect]] = {
    # 000 FM1 "Actor Crash Loop": crashes and respawns of one conversation's actor.
    "crash_loop": {"": Expect("crash_loop", "crash_loop", "SEV2", "P2")},
    # 000 Alert ActorUnresponsive "p95 > 1 second" (SEV: profile the bottleneck); 004
    # Severity Classification "High latency (p95 > 1s)" is P2 (Scenario 5).
    "slow_db": {"": Expect("performance_profile", "high_latency", "SEV2", "P2")},
    # 000 FM2 "Database pool exhausted" → Clearing Mailbox Backlog; /ready 503 is a
    # partial outage, not the service down.
    "pool_exhaustion": {"": Expect("mailbox_backlog", "mailbox_backlog", "SEV2", "P2")},
    # 000 FM3 "Epoch Conflicts" and Alert EpochConflictDetected (critical).
    "actor_system_disabled": {"": Expect("epoch_conflicts", "epoch_conflicts", "SEV2", "P2")},
    # 000 Key Metrics 1 "Critical: 10,000+ (potential leak)" → FM4 Memory Leak
    # (with the user's own, smaller actor bands; see the module docstring).
    "no_cleanup": {"": Expect("memory_leak", "memory_leak", "SEV2", "P2")},
    # 004 Scenario 2; Severity Classification "Any actor panic detected → Upgrade to P1".
    "meeting_panic": {"": Expect("actor_panics", "actor_panics", "SEV2", "P1")},
    # 004 Scenario 1: MCHighMailboxDepthWarning (> 100) is P3 "warning-level mailbox
    # depth"; MCHighMailboxDepthCritical (> 500) is P2; 000 FM2 for the SEV route.
    "slow_handling": {
        "warning": Expect("mailbox_backlog", "mailbox_backlog", "SEV3", "P3"),
        "critical": Expect("mailbox_backlog", "mailbox_backlog", "SEV2", "P2"),
    },
    # 004 Scenario 6: every heartbeat failing; P1 "Complete GC registration failure" only
    # when mc_gc_registered drops to 0, else P2 "GC heartbeat intermittent/failing".
    "gc_heartbeat_failure": {
        "registered": Expect("gc_integration", "gc_integration", "SEV2", "P2"),
        "unregistered": Expect("gc_integration", "gc_integration", "SEV2", "P1"),
    },
    # 004 Scenario 7 MCHighMemory (> 85 % of the limit): P3; runbook 000 sends memory
    # trouble to FM4 Memory Leak.
    "memory_pressure": {"": Expect("memory_leak", "resource_pressure", "SEV3", "P3")},
    # 004 Scenario 7 MCHighCPU: "High CPU (non-critical)" is P3.
    "cpu_burn": {"": Expect("resource_pressure", "resource_pressure", "SEV3", "P3")},
}


# ------------------------------------------------------------------------ /metrics


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """One scrape of ``url/metrics``: (sample name, sorted labels) -> value."""
    text = httpx.get(f"{url}/metrics", timeout=10).text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def metric(url: str, name: str, **labels: str) -> float:
    """The value of one series, e.g. ``metric(url, "mc_actor_mailbox_depth",
    actor_type="meeting")``; fails naming the series when it is absent."""
    key = (name, tuple(sorted(labels.items())))
    values = scrape(url)
    assert key in values, f"{name}{labels} not in /metrics"
    return values[key]


def wait_until(what: str, probe: Callable[[], object], *, timeout: float) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout:g}s waiting for {what}")


def set_fault(server: ServerProcess, name: str, params: dict[str, object]) -> None:
    with server.client() as admin:
        answer = admin.put("/admin/faults", json={name: params})
        assert answer.status_code == 200, answer.text


def idle_rss(sqlite_url: str) -> float:
    """RSS of an idle server, read from a throwaway server on the same kind of database."""
    with running_server(sqlite_url.replace(".db", "-probe.db")) as probe:
        time.sleep(0.5)
        return metric(probe.url, "process_resident_memory_bytes")


# ------------------------------------------------------------------------ showing a fault


@dataclass
class Shown:
    """What a reproduction hands the triage run: extra notebook parameters, and the
    branch of `EXPECTED` the metrics showed (may be filled in after the run)."""

    params: tuple[str, ...] = ()
    branch: str = ""
    notes: list[str] = field(default_factory=list)


@contextmanager
def show_crash_loop(server: ServerProcess, tmp_path: Path) -> Iterator[Shown]:
    crash_a_conversation(server, "convo-crash", messages=8)
    assert metric(server.url, "actor_errors_total", error_type="crash") > 0
    yield Shown()


def _create_convos(server: ServerProcess, ids: list[str]) -> None:
    calls = [("did:plc:alice", "POST", XRPC + "createConvo", {"convo_id": i}) for i in ids]
    assert {r.status_code for r in concurrent(server, calls)} == {200}


@contextmanager
def show_slow_db(server: ServerProcess, tmp_path: Path) -> Iterator[Shown]:
    ids = [f"convo-slow-{i}" for i in range(8)]
    _create_convos(server, ids)  # before the fault, so only the traffic below is slow
    set_fault(server, "slow_db", {"latency_ms": 1100})
    calls = [(ALICE, "POST", XRPC + "sendMessage", {"convo_id": i, "ciphertext": "x"}) for i in ids]
    calls += [(ALICE, "GET", XRPC + "getEpoch", {"convo_id": i}) for i in ids]
    assert {r.status_code for r in concurrent(server, calls, timeout=60)} == {200}
    p95 = metric(server.url, "actor_message_duration_p95", message_type="send_message")
    assert p95 > 1000, f"send_message p95 is {p95} ms"
    yield Shown()


@contextmanager
def show_pool_exhaustion(server: ServerProcess, tmp_path: Path) -> Iterator[Shown]:
    size = int(metric(server.url, "db_pool_connections_max"))
    assert size == 10  # DATABASE_MAX_CONNECTIONS' default
    set_fault(server, "pool_exhaustion", {"hold": size})
    assert metric(server.url, "db_pool_connections_active") == size
    assert httpx.get(f"{server.url}/ready", timeout=10).status_code == 503
    yield Shown()


@contextmanager
def show_actor_system_disabled(server: ServerProcess, tmp_path: Path) -> Iterator[Shown]:
    set_fault(server, "actor_system_disabled", {})
    race_add_members(server, "convo-race")
    wait_until(
        "actor_epoch_conflicts_1h > 0",
        lambda: metric(server.url, "actor_epoch_conflicts_1h") > 0,
        timeout=10,
    )
    yield Shown()


LEAKED = 60


@contextmanager
def show_no_cleanup(server: ServerProcess, tmp_path: Path) -> Iterator[Shown]:
    set_fault(server, "no_cleanup", {})
    _create_convos(server, [f"convo-leak-{i}" for i in range(LEAKED)])
    time.sleep(1.5)  # three sweeps that would have stopped them all (INACTIVITY_TIMEOUT=1)
    assert metric(server.url, "actor_registry_active_actors") >= LEAKED
    thresholds = tmp_path / "thresholds.yaml"
    thresholds.write_text(
        "# this service's own actor bands: 60 idle actors that never go away is its leak\n"
        "metrics:\n"
        "  active_actors:\n"
        "    bands:\n"
        "      normal: {level: ok, upto: 20}\n"
        "      high: {level: warning, upto: 30}\n"
        "      elevated: {level: warning, upto: 40, inclusive: false}\n"
    )
    yield Shown(params=(f"thresholds_file={thresholds}",))


@contextmanager
def show_meeting_panic(server: ServerProcess, tmp_path: Path) -> Iterator[Shown]:
    with server.client(ALICE) as alice:
        assert alice.post("/meetings", json={"meeting_id": "meeting-panic"}).status_code == 200
        joined = alice.post("/meetings/meeting-panic/join", json={})
        assert joined.status_code == 200, joined.text
        set_fault(server, "meeting_panic", {})
        sent = alice.post(
            "/meetings/meeting-panic/messages",
            json={"connection_id": joined.json()["connection_id"], "body": "hello"},
        )
        assert sent.status_code == 500 and sent.json()["error"] == "ActorCrashed", sent.text
    assert metric(server.url, "mc_actor_panics_total", actor_type="meeting") > 0
    yield Shown()


#: slow_handling: messages kept queued behind a 200 ms handler (between 004's 100 and 500)
QUEUED = 250
BURST_SECONDS = 90
BURST_MAX = 800


def _keep_queued(server: ServerProcess, connection: str, stop: threading.Event) -> None:
    """Keep about QUEUED meeting messages in flight until ``stop`` (bounded in count
    and time); the outstanding requests are cancelled on the way out."""

    async def go() -> None:
        deadline = time.monotonic() + BURST_SECONDS
        limits = httpx.Limits(max_connections=QUEUED + 10)
        headers = server.user_headers(ALICE)
        async with httpx.AsyncClient(
            base_url=server.url, headers=headers, timeout=120, limits=limits
        ) as client:
            pending: set[asyncio.Task] = set()
            sent = 0
            while not stop.is_set() and time.monotonic() < deadline and sent < BURST_MAX:
                pending = {t for t in pending if not t.done()}
                while len(pending) < QUEUED and sent < BURST_MAX:
                    body = {"connection_id": connection, "body": f"m{sent}"}
                    pending.add(
                        asyncio.create_task(
                            client.post("/meetings/meeting-slow/messages", json=body)
                        )
                    )
                    sent += 1
                await asyncio.sleep(0.05)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    asyncio.run(go())


@contextmanager
def show_slow_handling(server: ServerProcess, tmp_path: Path) -> Iterator[Shown]:
    with server.client(ALICE) as alice:
        assert alice.post("/meetings", json={"meeting_id": "meeting-slow"}).status_code == 200
        joined = alice.post("/meetings/meeting-slow/join", json={})
        assert joined.status_code == 200, joined.text
    set_fault(server, "slow_handling", {"actor_type": "meeting", "delay_ms": 200})
    stop = threading.Event()
    burst = threading.Thread(
        target=_keep_queued, args=(server, joined.json()["connection_id"], stop), daemon=True
    )
    burst.start()
    depths: list[float] = []

    def depth() -> float:
        return metric(server.url, "mc_actor_mailbox_depth", actor_type="meeting")

    def sample() -> None:
        while not stop.is_set():
            depths.append(depth())
            time.sleep(0.25)

    sampler = threading.Thread(target=sample, daemon=True)
    try:
        wait_until(
            f"{QUEUED - 50}+ queued meeting messages", lambda: depth() > QUEUED - 50, timeout=20
        )
        sampler.start()
        shown = Shown()
        yield shown
    finally:
        stop.set()
        burst.join(timeout=30)
        if sampler.is_alive():
            sampler.join(timeout=5)
        with server.client() as admin:  # the queue drains at once, the server stops quickly
            admin.delete("/admin/faults/slow_handling")
    # the branch is what the mailbox showed while triage scraped it
    assert depths, "no depth sample during the triage run"
    if all(100 < d <= 500 for d in depths):
        shown.branch = "warning"
    elif all(d > 500 for d in depths):
        shown.branch = "critical"
    else:
        pytest.fail(f"the meeting mailbox depth crossed a band during the run: {depths}")
    shown.notes.append(f"mailbox depth during triage: {min(depths):g}..{max(depths):g}")


@contextmanager
def show_gc_heartbeat_failure(server: ServerProcess, tmp_path: Path) -> Iterator[Shown]:
    set_fault(server, "gc_heartbeat_failure", {"rate": 1.0})
    before = metric(server.url, "mc_gc_heartbeats_total", result="failure")
    wait_until(
        "failed heartbeats",
        lambda: metric(server.url, "mc_gc_heartbeats_total", result="failure") >= before + 3,
        timeout=10,
    )
    before_run = metric(server.url, "mc_gc_registered")
    shown = Shown()
    yield shown
    registered = metric(server.url, "mc_gc_registered")
    assert registered == before_run, "mc_gc_registered changed while triage ran"
    shown.branch = "registered" if registered == 1 else "unregistered"
    shown.notes.append(f"mc_gc_registered = {registered:g}")


@contextmanager
def show_memory_pressure(server: ServerProcess, tmp_path: Path) -> Iterator[Shown]:
    limit = metric(server.url, "mc_memory_limit_bytes")
    rss = metric(server.url, "process_resident_memory_bytes")
    mb = int((0.95 * limit - rss) / 2**20) + 16  # past 95 % of the limit, well over 85 %
    set_fault(server, "memory_pressure", {"mb": mb})
    ratio = metric(server.url, "process_resident_memory_bytes") / limit
    assert ratio > 0.85, f"RSS is {ratio:.0%} of the limit"
    yield Shown(notes=[f"RSS / limit = {ratio:.2f}"])


@contextmanager
def show_cpu_burn(server: ServerProcess, tmp_path: Path) -> Iterator[Shown]:
    set_fault(server, "cpu_burn", {"duty": 1.0})
    # the symptom must be visible first: more than 85 % of a core over one second (on a
    # busy host the burning thread may get less, and then triage rightly sees less)
    wait_until(
        "the CPU burn above 85 % of a core", lambda: cpu_share(server, 1.0) > 0.85, timeout=10
    )
    started, cpu = time.monotonic(), metric(server.url, "process_cpu_seconds_total")
    shown = Shown()
    yield shown
    share = (metric(server.url, "process_cpu_seconds_total") - cpu) / (time.monotonic() - started)
    shown.notes.append(f"CPU share of one core during triage: {share:.0%}")


def cpu_share(server: ServerProcess, seconds: float) -> float:
    """The server's CPU seconds per second over ``seconds``."""
    before = metric(server.url, "process_cpu_seconds_total")
    time.sleep(seconds)
    return (metric(server.url, "process_cpu_seconds_total") - before) / seconds


#: headroom above the idle RSS for MEMORY_LIMIT_BYTES
MEMORY_HEADROOM = 48 * 2**20


@dataclass(frozen=True)
class How:
    show: Callable[[ServerProcess, Path], AbstractContextManager[Shown]]
    env: Callable[[str], dict[str, str]] = lambda sqlite_url: {}


HOW: dict[str, How] = {
    "crash_loop": How(show_crash_loop),
    "slow_db": How(show_slow_db),
    "pool_exhaustion": How(show_pool_exhaustion),
    "actor_system_disabled": How(
        show_actor_system_disabled, lambda _: {"EPOCH_CONFLICT_INTERVAL": "0.5"}
    ),
    # sweeps every 0.5 s that would stop an actor idle for 1 s: only the fault keeps them
    "no_cleanup": How(
        show_no_cleanup, lambda _: {"INACTIVITY_TIMEOUT": "1", "CLEANUP_INTERVAL": "0.5"}
    ),
    "meeting_panic": How(show_meeting_panic),
    # queued messages wait up to QUEUED × 200 ms: longer than the 30 s message timeout
    "slow_handling": How(show_slow_handling, lambda _: {"MESSAGE_TIMEOUT": "120"}),
    "gc_heartbeat_failure": How(
        show_gc_heartbeat_failure, lambda _: {"GC_HEARTBEAT_INTERVAL": "0.5"}
    ),
    "memory_pressure": How(
        show_memory_pressure,
        lambda url: {"MEMORY_LIMIT_BYTES": str(int(idle_rss(url) + MEMORY_HEADROOM))},
    ),
    "cpu_burn": How(show_cpu_burn),
}


def sev_verdict(summary: dict) -> tuple[str, tuple[str, ...]]:
    """Runbook 000's verdict on the same findings the P run recorded."""
    findings = [
        Finding(
            check=f["check"],
            level=Level.parse(f["level"]),
            title=f["title"],
            count=f["count"],
            checked=f["checked"],
            affected_meetings=f["affected_meetings"],
        )
        for f in summary["findings"]
    ]
    verdict = assess(findings, scheme="SEV")
    return verdict.level, verdict.next_scenarios


# the CPU burn must get most of a core: it runs after the parallel tests (marker serial)
@pytest.mark.parametrize(
    "fault",
    [pytest.param(f, marks=pytest.mark.serial) if f == "cpu_burn" else f for f in sorted(FAULTS)],
)
def test_triage_routes_each_fault_to_its_runbook_scenario(fault, sqlite_url, tmp_path):
    assert fault in EXPECTED and fault in HOW, (
        f"fault {fault!r} has no row here: add how to show it and the runbooks' first "
        "scenario and severity for it"
    )
    how = HOW[fault]
    with (
        running_server(sqlite_url, env=how.env(sqlite_url)) as server,
        how.show(server, tmp_path) as shown,
    ):
        run = run_against(
            "triage",
            tmp_path / "triage",
            server,
            f"log_source=file:{server.log_file}",
            "window=10m",
            "severity_scheme=P",
            *shown.params,
        )
    assert run.exit_code == 0, run.output
    summary = run.summary
    expect = EXPECTED[fault][shown.branch]
    sev, sev_next = sev_verdict(summary)
    got = Expect(
        sev_first=sev_next[0] if sev_next else "",
        p_first=(summary["severity"]["next_scenarios"] or [""])[0],
        sev=sev,
        p=summary["severity"]["level"],
    )
    findings = {f["check"]: (f["level"], f["title"]) for f in summary["findings"]}
    assert got == expect, (
        f"{fault} ({', '.join(shown.notes) or 'no notes'}):\n"
        f"  P: {summary['severity']['level']} next {summary['severity']['next_scenarios']}"
        f" — {summary['severity']['reason']}\n"
        f"  SEV: {sev} next {list(sev_next)}\n"
        f"  findings: {findings}"
    )

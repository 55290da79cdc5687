"""`mcops lab demo` (what `make demo` runs): reproduce two incidents, then investigate.

1. Start the lab (server on SQLite, Prometheus when installed) and drive normal load.
2. Reproduce runbook 000 FM3: the actor system is switched off and concurrent
   addMembers write duplicate commit epochs.
3. Reproduce runbook 000 FM1: one conversation's actor crashes on every message.
4. Run `triage` and `db_consistency` headless against the lab and print their verdicts
   and where the evidence (executed notebook, HTML, summary.json) is.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx

from mcops.lab import ADMIN_TOKEN_ENV, Lab

__all__ = ["run_demo"]

SCENARIOS = ("triage", "db_consistency")


def _say(text: str) -> None:
    print(f"\n==> {text}", flush=True)


def _user(lab: Lab, did: str) -> httpx.Client:
    from server.auth import user_token

    token = user_token(did, lab._auth_secret())
    return httpx.Client(
        base_url=lab.state().server_url, headers={"Authorization": f"Bearer {token}"}, timeout=15
    )


def reproduce_epoch_conflicts(lab: Lab, *, convo_id: str = "convo-race", writers: int = 8) -> None:
    """FM3: with the actor system off, concurrent addMembers race to the same epoch."""
    lab.inject("actor_system_disabled")
    with _user(lab, "did:plc:alice") as alice:
        alice.post("/xrpc/blue.catbird.mls.createConvo", json={"convo_id": convo_id})

        def add(i: int) -> int:
            body = {"convo_id": convo_id, "did_list": [f"did:plc:member{i}"]}
            return alice.post("/xrpc/blue.catbird.mls.addMembers", json=body).status_code

        for _ in range(3):
            with ThreadPoolExecutor(max_workers=writers) as pool:
                list(pool.map(add, range(writers)))
    lab.clear("actor_system_disabled")


def reproduce_crash_loop(lab: Lab, *, convo_id: str = "convo-abc123", messages: int = 12) -> None:
    """FM1: every message to one conversation crashes its actor, which respawns."""
    with _user(lab, "did:plc:alice") as alice:
        alice.post("/xrpc/blue.catbird.mls.createConvo", json={"convo_id": convo_id})
        lab.inject("crash_loop", {"convo_id": convo_id})
        for _ in range(messages):
            alice.post(
                "/xrpc/blue.catbird.mls.sendMessage",
                json={"convo_id": convo_id, "ciphertext": "hello"},
            )
    lab.clear("crash_loop")


def run_demo(lab: Lab, *, out_root: Path = Path("evidence"), keep: bool = False) -> int:
    """The whole demo; returns 0 when every investigation ran (whatever it found)."""
    from mcops.display import findings_table_text
    from mcops.runner import ScenarioRun, run_many

    _say("Starting the lab (actor server on SQLite, Prometheus if installed)")
    state = lab.up()
    print(f"server {state.server_url}   prometheus {state.prometheus_url or '(not installed)'}")
    try:
        _say("Normal traffic for 5 s")
        lab.load(rate=20, duration=5, conversations=10)
        _say("Reproducing runbook 000 FM3 (actor system off -> duplicate epochs)")
        reproduce_epoch_conflicts(lab)
        _say("Reproducing runbook 000 FM1 (crash loop on convo-abc123)")
        reproduce_crash_loop(lab)
        time.sleep(3)  # let Prometheus scrape the aftermath

        os.environ[ADMIN_TOKEN_ENV] = lab.admin_token()
        parameters = {**lab.parameters(), "admin_token": f"env:{ADMIN_TOKEN_ENV}"}
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        runs = [
            ScenarioRun(name, dict(parameters), out_root / f"{stamp}-demo-{name}")
            for name in SCENARIOS
        ]
        _say(f"Investigating: {', '.join(SCENARIOS)}")
        results = run_many(runs)
        for result in results:
            summary = result.summary
            severity = summary.get("severity") or {}
            _say(f"{result.scenario}: {result.status} in {result.seconds:.1f} s")
            if severity:
                print(f"severity {severity['level']}: {severity['reason']}")
                if severity.get("next_scenarios"):
                    print(f"next: {', '.join(severity['next_scenarios'])}")
            print(findings_table_text(summary.get("findings", [])))
            print(f"evidence: {result.out_dir}/{result.scenario}.html")
        print(
            "\nOpen the notebooks interactively: .venv/bin/jupyter lab notebooks/  "
            f"(lab parameters: .venv/bin/mcops lab --root {lab.root} status)"
        )
        return 0 if all(r.exit_code != 2 for r in results) else 2
    finally:
        if keep:
            print(f"\nThe lab keeps running; stop it with: mcops lab --root {lab.root} down")
        else:
            lab.down()

"""MCHighMemory / MCCapacityWarning open resource_pressure, which finds what is pressed.

The real server on SQLite with a 256 MiB MEMORY_LIMIT_BYTES and a capacity of 10
meetings: the `memory_pressure` fault allocates 240 MiB (really resident), and nine
meetings fill 90 % of the capacity. No Prometheus: the run scrapes /metrics, as on the
embedded default. Plan first, then apply option 4 (mark the MC draining), then again.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.notebooks.support import Run, run_against
from tests.support.server_process import ADMIN_TOKEN, running_server

pytestmark = pytest.mark.slow

ENV = {"MEMORY_LIMIT_BYTES": str(256 * 2**20), "MC_CAPACITY": "10"}


def controller_status(url: str, mc_id: str) -> str:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(
                sa.text("SELECT status FROM meeting_controllers WHERE id = :id"), {"id": mc_id}
            ).scalar_one()
    finally:
        engine.dispose()


def resource_pressure(server, url: str, out: Path, *extra: str) -> Run:
    return run_against(
        "resource_pressure", out, server, f"database_url={url}", "window=10m", *extra
    )


def test_memory_and_capacity_pressure_are_found_and_the_mc_drained(sqlite_url, tmp_path):
    with running_server(sqlite_url, env=ENV) as server:
        with server.client("did:plc:alice") as alice, server.client() as admin:
            for i in range(9):
                assert alice.post("/meetings", json={"meeting_id": f"m{i}"}).status_code == 200
            ballast = admin.put("/admin/faults", json={"memory_pressure": {"mb": 240}})
            assert ballast.status_code == 200, ballast.text
            mc_id = admin.get("/admin/config").json()["mc_id"]

        plan = resource_pressure(server, sqlite_url, tmp_path / "plan")
        assert plan.exit_code == 0, plan.output
        memory = plan.finding("memory_usage")
        assert memory["level"] == "warning", memory
        assert memory["data"][0]["now_percent"] > 85
        load = plan.finding("capacity")
        assert load["level"] == "warning", load
        assert load["data"][0]["now_percent"] == 90.0
        assert plan.finding("cpu_usage")["level"] in {"ok", "info"}
        assert plan.finding("mailbox_depth")["level"] == "ok"
        assert not plan.finding("memory_trend")["title"].startswith("not checked")
        for check in ("resource_limits", "oom_events", "node_pressure"):  # read a cluster
            assert "platform is 'local'" in plan.finding(check)["title"]
        assert [(r["action"], r["mode"], r["changes"]) for r in plan.summary["remediations"]] == [
            ("mark_controller", "plan", 1)
        ]
        assert controller_status(sqlite_url, mc_id) == "active"
        severity = plan.summary["severity"]
        assert (severity["scheme"], severity["level"]) == ("P", "P3"), severity

        applied = resource_pressure(
            server, sqlite_url, tmp_path / "apply", "apply_remediation=True"
        )
        assert applied.exit_code == 0, applied.output
        assert controller_status(sqlite_url, mc_id) == "draining"
        [done] = applied.summary["remediations"]
        assert (done["mode"], done["changes"]) == ("apply", 1)
        audit = [
            json.loads(line)
            for line in (tmp_path / "apply" / "audit.jsonl").read_text().splitlines()
        ]
        assert [(r["action"], r["result"]) for r in audit] == [
            ("mark_controller", "intent"),  # write-ahead: before the change
            ("mark_controller", "ok"),
        ]

        again = resource_pressure(server, sqlite_url, tmp_path / "again", "apply_remediation=True")
        assert again.exit_code == 0, again.output
        assert [(r["mode"], r["changes"]) for r in again.summary["remediations"]] == [("apply", 0)]
        assert controller_status(sqlite_url, mc_id) == "draining"

    for run in (plan, applied, again):
        assert ADMIN_TOKEN.encode() not in run.evidence_bytes()

"""On a healthy service, the notebooks and the scheduled reports find no problem.

A false alarm costs an on-call engineer as much as a missed one. These tests only read,
so they share one lab (tests/support/shared_lab.py: the real server on SQLite with trace
logging, a real Prometheus scraping it every second, seeded traffic) instead of starting
a server and waiting for Prometheus's first scrape each; the ``shared_lab`` fixture fails
a test that leaves a fault behind or stops the server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa

from mcops.findings import Level
from mcops.report_sets import SETS
from mcops.severity import assess
from server.load import run_load_sync
from tests.notebooks.support import ROOT, TOKEN_VARIABLE, mcops_run, relaxed_latency_file
from tests.notebooks.test_nbval import nbval
from tests.support.server_process import ADD_MEMBERS, ADMIN_TOKEN, AUTH_SECRET, CREATE

pytestmark = pytest.mark.slow

TOKEN = f"admin_token=env:{TOKEN_VARIABLE}"
TOKEN_ENV = {TOKEN_VARIABLE: ADMIN_TOKEN}


def lowest_severity(scheme: str) -> str:
    """The level `mcops.severity` gives when no check found anything, in ``scheme``."""
    return assess([], scheme=scheme).level  # type: ignore[arg-type]


def test_actor_health_on_a_healthy_server_is_all_ok(shared_lab, tmp_path):
    server = shared_lab.server
    report = run_load_sync(server.url, rate=30, duration=3, auth_secret=AUTH_SECRET)
    assert report.by_status.get("200", 0) > 0
    with server.client("did:plc:alice") as alice:  # the request to follow
        assert alice.post(CREATE, json={"convo_id": "traced"}).status_code == 200
        added = {"convo_id": "traced", "did_list": ["did:plc:member1"]}
        assert alice.post(ADD_MEMBERS, json=added).status_code == 200
    time.sleep(2)  # two more scrapes, so rates have samples
    run = mcops_run(
        "actor_health",
        tmp_path / "health",
        *shared_lab.params(
            TOKEN,
            "window=5m",
            "convo_id=traced",
            f"thresholds_file={relaxed_latency_file(tmp_path)}",
        ),
        env=TOKEN_ENV,
    )

    assert run.exit_code == 0, run.output
    levels = {f["check"]: f["level"] for f in run.summary["findings"]}
    assert all(
        f["title"] and not f["title"].startswith("not checked") for f in run.summary["findings"]
    )
    # p95 may be "info": an operation slower than its class (increment_unread at 20 ms on a
    # busy 2-core test machine) is noted, not a problem
    assert levels == {
        "active_actors": "ok",
        "spawn_rate": "ok",
        "p95_latency": levels["p95_latency"],
        "error_rate": "ok",
        "db_pool": "ok",
        "request_trace": "ok",
    }, run.summary["findings"]
    assert levels["p95_latency"] in {"ok", "info"}
    # 000 Tracing Message Flow: the add_members request, START → ... → COMPLETE
    trace = run.finding("request_trace")
    assert "traced end to end: start → processing → complete" in trace["title"], trace
    assert trace["data"][-1]["msg"].startswith("[add_members] COMPLETE")
    assert run.finding("active_actors")["data"][0]["value"] > 0
    assert run.summary["severity"]["level"] == lowest_severity("SEV")


def test_nbval_runs_triage(shared_lab, tmp_path):
    server = shared_lab.server
    params = {"service_url": server.url, "log_source": f"file:{server.log_file}"}
    result = nbval("triage", params, tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout


def lab_indexes(database_url: str) -> set[str]:
    """Every index the lab's database has, on any table."""
    engine = sa.create_engine(database_url)
    try:
        inspector = sa.inspect(engine)
        return {i["name"] for t in inspector.get_table_names() for i in inspector.get_indexes(t)}
    finally:
        engine.dispose()


def test_every_scheduled_report_on_a_healthy_lab_finds_no_problem(shared_lab, tmp_path):
    """`mcops report daily weekly monthly --no-png`, every scenario the runbooks'
    maintenance tasks schedule, into one indexed report: each at its runbook's lowest
    severity, no check at warning or above but the runbook's indexes that the lab's
    schema lacks."""
    out = tmp_path / "reports" / "scheduled"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mcops.cli",
            "report",
            *SETS,
            "--out",
            str(out),
            "--fail-on",
            "critical",
            "--no-progress",
            "--no-png",
            *shared_lab.params(TOKEN),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **TOKEN_ENV},
        timeout=280,
        check=False,
    )
    output = proc.stdout + proc.stderr
    index = json.loads((out / "index.json").read_text())
    entries = {e["scenario"]: e for e in index["scenarios"]}
    scheduled = list(dict.fromkeys(s for name in SETS for s in SETS[name].scenarios))
    assert list(entries) == scheduled, output
    summaries = {name: json.loads((out / name / "summary.json").read_text()) for name in entries}
    assert {name: s["status"] for name, s in summaries.items()} == dict.fromkeys(entries, "ok")
    assert proc.returncode == index["exit_code"] == 0, output

    for name, summary in summaries.items():
        severity = summary["severity"]
        assert severity["level"] == lowest_severity(severity["scheme"]), (name, severity)
        alarming = {
            f["check"] for f in summary["findings"] if Level.parse(f["level"]) >= Level.WARNING
        }
        assert alarming <= {"missing_indexes"}, (name, summary["findings"])
    # the one warning is true of the lab: its schema lacks the indexes the runbook adds
    missing = next(
        f for f in summaries["performance_profile"]["findings"] if f["check"] == "missing_indexes"
    )
    named = {row["index"] for row in missing["data"]} if missing["level"] != "ok" else set()
    assert named and not named & lab_indexes(shared_lab.database_url), missing

    page = (out / "index.html").read_text()
    for name, summary in summaries.items():
        assert (out / name / f"{name}.html").is_file()
        assert f'href="{name}/{name}.html"' in page
        assert entries[name]["severity"]["level"] == summary["severity"]["level"]
        assert summary["severity"]["level"] in page
    # no PNGs asked for (each figure is a Chromium start, ~40 s for these six scenarios;
    # tests/mcops/evidence/test_bundle_figures.py draws them with the real Chromium)
    assert not (out / "triage" / "figures").exists()
    assert ADMIN_TOKEN not in page + (out / "index.json").read_text()
    assert f"index: {out / 'index.html'}" in proc.stdout

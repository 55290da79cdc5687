"""A postmortem of a real incident: triage during a fault, triage after it was cleared.

A real server (SQLite) gets runbook 000's exhausted pool (``pool_exhaustion``: /ready
answers 503); `mcops run triage` investigates with the alert's start passed as
``incident_started``; the fault is cleared and a second `mcops run triage` sees the
service ready again. `mcops postmortem` drafts from both evidence directories, and the
`postmortem` notebook (papermill, no `mcops run`) drafts the same. Every expected value
is read from the two summaries, not restated here. Two `mcops run` in all.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

import httpx
import papermill
import pytest

from mcops.cli import main
from mcops.postmortem import build
from mcops.postmortem_evidence import parse_time
from mcops.utc import now
from tests.notebooks.support import ROOT, Run, run_against
from tests.notebooks.test_triage_faults import set_fault, wait_until
from tests.support.server_process import running_server

pytestmark = pytest.mark.slow

OVERVIEW = {"key_metrics"}  # restates other findings: never an event of its own


def _firing(run: Run) -> list[str]:
    return [
        f["check"]
        for f in run.summary["findings"]
        if f["checked"] and f["level"] in ("warning", "critical") and f["check"] not in OVERVIEW
    ]


def _peak(runs: list[Run], *keys: str) -> float | None:
    """The largest key_metrics value of ``keys`` either run measured."""
    values = [
        row["value"]
        for run in runs
        for f in run.summary["findings"]
        if f["check"] == "key_metrics" and f["checked"]
        for row in f["data"]
        if row.get("key") in keys
    ]
    return max(values, default=None)


@pytest.fixture(scope="module")
def incident(tmp_path_factory) -> tuple[Run, Run, str]:
    tmp = tmp_path_factory.mktemp("incident")
    started = (now() - timedelta(minutes=3)).isoformat(timespec="seconds")
    with running_server(f"sqlite:///{tmp / 'mcops.db'}") as server:
        set_fault(server, "pool_exhaustion", {"hold": 10})
        assert httpx.get(f"{server.url}/ready", timeout=10).status_code == 503
        during = run_against(
            "triage",
            tmp / "1-during",
            server,
            "severity_scheme=P",
            f"incident_started={started}",
        )
        with server.client() as admin:
            assert admin.delete("/admin/faults/pool_exhaustion").status_code == 200
        wait_until(
            "/ready 200",
            lambda: httpx.get(f"{server.url}/ready", timeout=10).status_code == 200,
            timeout=20,
        )
        after = run_against("triage", tmp / "2-after", server, "severity_scheme=P")
    assert during.exit_code == 0, during.output
    assert after.exit_code == 0, after.output
    return during, after, started


def test_the_postmortem_tells_the_incident_the_runs_saw(incident, tmp_path):
    during, after, started = incident
    fired = _firing(during)
    assert "readiness" in fired, during.summary["findings"]
    assert _firing(after) == [], "the fault was cleared: the second run must see no trouble"
    ok_after = {f["check"] for f in after.summary["findings"] if f["level"] == "ok"}
    assert set(fired) <= ok_after

    out = tmp_path / "pm.md"
    assert main(["postmortem", str(after.out_dir), str(during.out_dir), "--out", str(out)]) == 0
    draft = build([during.out_dir, after.out_dir])
    assert out.read_text() == draft.markdown
    assert out.with_suffix(".html").read_text().startswith("<!DOCTYPE html>")

    # duration: from the alert to the end of the run that verified recovery
    assert draft.template == "004" and draft.status == "Resolved"
    assert draft.started == parse_time(started)
    assert draft.ended == parse_time(after.summary["finished_at"])
    assert draft.recovery.fired == tuple(fired)

    # the timeline, in order, each event at the time the summaries give
    t = {
        "during": parse_time(during.summary["started_at"]),
        "during_end": parse_time(during.summary["finished_at"]),
        "after": parse_time(after.summary["started_at"]),
        "after_end": parse_time(after.summary["finished_at"]),
    }
    expected = [
        ("alert", parse_time(started)),
        ("run", t["during"]),
        *[("finding", t["during"]) for _ in fired],
        ("run_end", t["during_end"]),
        ("run", t["after"]),
        ("run_end", t["after_end"]),
        *[("recovered_check", t["after_end"]) for _ in fired],
        ("recovered", t["after_end"]),
    ]
    assert [(e.kind, e.at) for e in draft.events] == expected
    findings = [e.text for e in draft.events if e.kind == "finding"]
    for check, text in zip(fired, findings, strict=True):
        title = next(f["title"] for f in during.summary["findings"] if f["check"] == check)
        assert f"`{check}` first seen" in text and title.split(":")[0] in text

    # severity: the worst the runs recorded, in the P scheme they used
    levels = [during.summary["severity"]["level"], after.summary["severity"]["level"]]
    assert draft.severity.level == min(levels)

    # impact: the peaks of what the runs measured
    figures = draft.figures
    for name, keys in {
        "peak_mailbox_depth": ("mc_mailbox_depth", "actor_mailbox_size"),
        "peak_drop_rate": ("drop_rate",),
        "peak_error_rate": ("error_rate",),
    }.items():
        assert figures[name].value == _peak([during, after], *keys), name
    panics = _peak([during, after], "actor_panics")
    if panics is not None:
        assert figures["actor_panics"].value >= panics

    # root causes from the critical findings; every evidence file hashed
    critical = [
        f["check"]
        for f in during.summary["findings"]
        if f["level"] == "critical" and f["check"] not in OVERVIEW
    ]
    assert {c.check for c in draft.causes} == set(critical)
    for run in (during, after):
        for path in sorted(p for p in run.out_dir.rglob("*") if p.is_file()):
            assert hashlib.sha256(path.read_bytes()).hexdigest() in draft.markdown


def test_the_notebook_drafts_the_same(incident, tmp_path):
    during, after, _ = incident
    out = tmp_path / "nb" / "pm.md"
    papermill.execute_notebook(
        str(ROOT / "notebooks" / "postmortem.ipynb"),
        str(tmp_path / "postmortem.ipynb"),
        parameters={"evidence_dirs": [str(during.out_dir), str(after.out_dir)], "out": str(out)},
        kernel_name="python3",
        progress_bar=False,
        cwd=str(ROOT / "notebooks"),
    )
    assert out.read_text() == build([during.out_dir, after.out_dir]).markdown
    assert out.with_suffix(".html").is_file()

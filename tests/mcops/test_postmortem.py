"""`mcops postmortem` on hand-written evidence directories: duration, recovery, severity,
action items, impact figures, hashes, the timeline's order and bad input."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from mcops.cli import main
from mcops.errors import ParameterError
from mcops.postmortem import build, out_path, write

T0 = "2026-03-01T10:00:00+00:00"


def finding(check: str, level: str, title: str = "", **extra: Any) -> dict[str, Any]:
    return {
        "check": check,
        "level": level,
        "title": title or f"{check} is {level}",
        "detail": "",
        "count": extra.pop("count", 0),
        "data": extra.pop("data", []),
        "checked": extra.pop("checked", True),
        "affected_meetings": extra.pop("affected_meetings", None),
        **extra,
    }


def evidence(
    root: Path,
    name: str,
    *,
    started: str,
    finished: str,
    findings: list[dict[str, Any]],
    scenario: str = "triage",
    severity: tuple[str, str] | None = ("P", "P4"),
    next_scenarios: tuple[str, ...] = (),
    parameters: dict[str, Any] | None = None,
    remediations: list[dict[str, Any]] | None = None,
    audit: list[dict[str, Any]] | None = None,
) -> Path:
    """An evidence directory as `mcops run` leaves it (summary.json, notebook, audit)."""
    out = root / name
    out.mkdir(parents=True)
    summary = {
        "scenario": scenario,
        "status": "ok",
        "started_at": started,
        "finished_at": finished,
        "parameters": {"incident_started": "", **(parameters or {})},
        "severity": None
        if severity is None
        else {
            "scheme": severity[0],
            "level": severity[1],
            "reason": f"{severity[1]} because",
            "next_scenarios": list(next_scenarios),
        },
        "findings": findings,
        "remediations": remediations or [],
        "sources": {},
        "artifacts": [f"{scenario}.ipynb"],
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    (out / f"{scenario}.ipynb").write_text('{"cells": []}\n')
    if audit:
        (out / "audit.jsonl").write_text("".join(json.dumps(r) + "\n" for r in audit))
    return out


def two_runs(tmp_path: Path, *, second: str = "ok", **first_extra: Any) -> list[Path]:
    """readiness critical at 10:00, then ``second`` at 10:30."""
    a = evidence(
        tmp_path,
        "1-triage",
        started="2026-03-01T10:00:00+00:00",
        finished="2026-03-01T10:01:00+00:00",
        findings=[finding("readiness", "critical", "Not ready: 503"), finding("health", "ok")],
        severity=("P", "P2"),
        **first_extra,
    )
    b = evidence(
        tmp_path,
        "2-triage",
        started="2026-03-01T10:30:00+00:00",
        finished="2026-03-01T10:31:00+00:00",
        findings=[finding("readiness", second), finding("health", "ok")],
    )
    return [a, b]


# ------------------------------------------------------------------ duration, recovery


def test_recovery_is_the_end_of_the_later_run_that_shows_the_check_ok(tmp_path):
    draft = build(two_runs(tmp_path))
    assert draft.recovery.fired == ("readiness",)
    assert draft.ended.isoformat() == "2026-03-01T10:31:00+00:00"
    assert draft.started.isoformat() == "2026-03-01T10:00:00+00:00"  # no alert: first run
    assert draft.status == "Resolved"
    assert "(Total: 0 hours 31 minutes)" in draft.markdown


def test_the_alert_start_opens_the_duration(tmp_path):
    dirs = two_runs(tmp_path, parameters={"incident_started": "2026-03-01T09:15:00Z"})
    draft = build(dirs)
    assert draft.started.isoformat() == "2026-03-01T09:15:00+00:00"
    assert "2026-03-01 09:15:00 - 2026-03-01 10:31:00 (Total: 1 hours 16 minutes)" in (
        draft.markdown
    )
    assert draft.events[0].kind == "alert"


@pytest.mark.parametrize("second", ["warning", "critical"])
def test_still_firing_is_ongoing_and_an_open_action(tmp_path, second):
    draft = build(two_runs(tmp_path, second=second))
    assert draft.ended is None and draft.recovery.open == ("readiness",)
    assert draft.status == "Investigating"
    assert "ongoing" in draft.markdown
    assert draft.actions[0].priority == "P0" and "`readiness`" in draft.actions[0].action


def test_a_later_run_that_does_not_judge_the_check_verifies_nothing(tmp_path):
    a, _ = two_runs(tmp_path)
    other = evidence(
        tmp_path,
        "3-other",
        scenario="db_consistency",
        started="2026-03-01T10:40:00+00:00",
        finished="2026-03-01T10:41:00+00:00",
        findings=[finding("duplicate_epochs", "ok")],
    )
    assert build([a, other]).ended is None


def test_not_checked_is_not_ok(tmp_path):
    a, _ = two_runs(tmp_path)
    b = evidence(
        tmp_path,
        "2b",
        started="2026-03-01T10:30:00+00:00",
        finished="2026-03-01T10:31:00+00:00",
        findings=[finding("readiness", "info", "not checked: unreachable", checked=False)],
    )
    draft = build([a, b])
    assert draft.ended is None
    assert any("checkable" in item.action for item in draft.actions)


def test_a_check_that_fires_again_after_recovering_reopens_the_incident(tmp_path):
    a, b = two_runs(tmp_path)
    c = evidence(
        tmp_path,
        "3-triage",
        started="2026-03-01T11:00:00+00:00",
        finished="2026-03-01T11:01:00+00:00",
        findings=[finding("readiness", "critical", "Not ready again")],
    )
    draft = build([c, a, b])  # given out of order: runs are read in the order they started
    assert draft.ended is None
    texts = [e.text for e in draft.events]
    assert any("`readiness` first seen" in t for t in texts)
    assert any("`readiness` ok again" in t for t in texts)
    assert any("`readiness` fired again" in t for t in texts)
    assert not any(e.kind == "recovered" for e in draft.events)


def test_nothing_fired(tmp_path):
    run = evidence(tmp_path, "quiet", started=T0, finished=T0, findings=[finding("health", "ok")])
    draft = build([run])
    assert draft.recovery.fired == () and draft.ended is None
    assert draft.title.startswith("no problem found by triage")
    assert draft.actions == ()


# ------------------------------------------------------------------ timeline


def test_the_timeline_is_ordered_with_audit_records_at_their_own_time(tmp_path):
    audit = [
        {
            "action": "restart_service",
            "target": "deploy/mc",
            "mode": "apply",
            "result": "ok",
            "when": "2026-03-01T10:00:40+00:00",
            "who": "oncall",
            "changed": 1,
        }
    ]
    dirs = two_runs(
        tmp_path,
        parameters={"incident_started": "2026-03-01T09:55:00+00:00"},
        remediations=[{"action": "restart_service", "mode": "apply", "changes": 1}],
        audit=audit,
    )
    events = build(dirs).events
    kinds = [e.kind for e in events]
    assert kinds == [
        "alert",
        "run",
        "finding",
        "remediation",
        "run_end",
        "run",
        "run_end",
        "recovered_check",
        "recovered",
    ]
    assert [e.at for e in events] == sorted(e.at for e in events)
    remediation = events[3]
    assert remediation.at.isoformat() == "2026-03-01T10:00:40+00:00"
    assert "apply `restart_service` on deploy/mc: ok, 1 changed by oncall" in remediation.text


# ------------------------------------------------------------------ severity


def test_severity_is_the_worst_run_in_the_template_scheme(tmp_path):
    a, b = two_runs(tmp_path)
    draft = build([a, b])
    assert draft.template == "004"  # both runs recorded P
    assert draft.severity.level == "P2" and draft.severity.run == "1-triage"
    assert not draft.severity.reassessed
    assert "**Severity**: P2" in draft.markdown


def test_the_other_scheme_is_reassessed_from_the_findings(tmp_path):
    draft = build(two_runs(tmp_path), template="000")
    # readiness is "not_ready": critical and not the service down → 000 SEV2
    assert draft.severity.level == "SEV2" and draft.severity.reassessed
    assert draft.markdown.startswith("# Post-mortem: readiness: Not ready: 503")
    assert "## Lessons Learned" in draft.markdown


def test_the_template_defaults_to_the_scheme_most_runs_used(tmp_path):
    runs = [
        evidence(tmp_path, f"r{n}", started=T0, finished=T0, findings=[], severity=("SEV", "SEV4"))
        for n in range(2)
    ]
    assert build(runs).template == "000"
    assert build(runs, template=4).template == "004"  # -p template=004 arrives as 4
    with pytest.raises(ParameterError, match="unknown postmortem template"):
        build(runs, template="005")


# ------------------------------------------------------------------ action items


def test_unresolved_remediations_become_action_items(tmp_path):
    audit = [
        {
            "action": "kill_queries",
            "mode": "apply",
            "result": "refused",
            "when": "2026-03-01T10:00:30+00:00",
            "error": "stale plan",
        }
    ]
    remediations = [
        {"action": "delete_duplicate_commits", "mode": "plan", "changes": 3},
        {"action": "kill_queries", "mode": "apply", "changes": 0},
    ]
    a, b = two_runs(tmp_path, remediations=remediations, audit=audit)
    draft = build([a, b])
    actions = [item.action for item in draft.actions]
    assert any("`kill_queries` refused: stale plan" in x for x in actions)
    assert any(
        "`delete_duplicate_commits`: planned 3 change(s), never applied" in x for x in actions
    )
    assert any("Prevent `readiness`" in x for x in actions)


def test_suggested_scenarios_never_run_are_action_items(tmp_path):
    a = evidence(
        tmp_path,
        "a",
        started=T0,
        finished=T0,
        findings=[finding("readiness", "critical")],
        next_scenarios=("mailbox_backlog", "triage"),
    )
    actions = [item.action for item in build([a]).actions]
    assert "Run the `mailbox_backlog` scenario (suggested, never run)" in actions
    assert not any("`triage` scenario" in x for x in actions)


# ------------------------------------------------------------------ impact, causes


def test_impact_figures_are_peaks_or_not_measured(tmp_path):
    metrics = [
        {"key": "mc_mailbox_depth", "value": 120.0},
        {"key": "drop_rate", "value": 0.02},
        {"key": "actor_panics", "value": 0.0},
    ]
    a = evidence(
        tmp_path,
        "a",
        started=T0,
        finished=T0,
        findings=[
            finding("key_metrics", "critical", data=metrics),
            finding(
                "mailbox_depth",
                "critical",
                data=[{"actor_type": "meeting", "now": 10, "peak": 640, "peak_at": T0}],
            ),
            finding("panic_logs", "critical", count=4, data=[{"meeting_id": "m1"}]),
            finding("stale_meetings", "warning", affected_meetings=3),
        ],
    )
    f = build([a]).figures
    assert (
        f["peak_mailbox_depth"].value == 640
        and "a: mailbox_depth" in f["peak_mailbox_depth"].text()
    )
    assert f["peak_drop_rate"].value == 0.02 and f["peak_drop_rate"].text().startswith("2 %")
    assert f["actor_panics"].value == 4
    assert f["affected_meetings"].value == 3
    assert f["peak_error_rate"].text() == "not measured"
    assert f["affected_conversations"].text() == "not measured"


def test_conversations_are_counted_from_firing_rows(tmp_path):
    rows = [{"convo_id": "c1", "count": 5}, {"convo_id": "c2", "count": 3}]
    a = evidence(
        tmp_path,
        "a",
        started=T0,
        finished=T0,
        findings=[finding("crash_loop", "critical", data=rows), finding("epoch_drift", "ok")],
        severity=("SEV", "SEV2"),
    )
    draft = build([a])
    assert draft.figures["affected_conversations"].value == 2
    assert "conversations 2 (crash_loop, epoch_drift)" in draft.markdown


def test_root_causes_are_critical_findings_causes_first(tmp_path):
    a = evidence(
        tmp_path,
        "a",
        started=T0,
        finished=T0,
        findings=[
            finding("readiness", "critical", "Not ready"),  # not_ready: a symptom
            finding("db_pool", "critical", "Pool exhausted"),  # saturation: a cause
            finding("p95_latency", "warning", "Slow"),
        ],
    )
    draft = build([a])
    assert [c.check for c in draft.causes] == ["db_pool", "readiness"]
    assert [c.check for c in draft.factors] == ["p95_latency"]
    assert draft.title == "db_pool: Pool exhausted"


# ------------------------------------------------------------------ files, hashes


def test_attachments_carry_each_files_sha256(tmp_path):
    dirs = two_runs(tmp_path)
    (dirs[0] / "data").mkdir()
    (dirs[0] / "data" / "frame.parquet").write_bytes(b"\x00parquet")
    draft = build(dirs)
    names = {a.name: a.sha256 for a in draft.attachments}
    for path in (dirs[0] / "summary.json", dirs[0] / "data" / "frame.parquet"):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert names[f"1-triage/{path.relative_to(dirs[0]).as_posix()}"] == digest
        assert digest in draft.markdown


def test_write_gives_markdown_and_html(tmp_path):
    a = evidence(
        tmp_path,
        "a",
        started=T0,
        finished=T0,
        findings=[finding("readiness", "critical", "<script>alert(1)</script> | pipe")],
    )
    markdown, page = write(build([a]), tmp_path / "out" / "pm")
    assert markdown.name == "pm.md" and page.name == "pm.html"
    text = page.read_text()
    assert text.startswith("<!DOCTYPE html>") and "<table>" in text
    assert "<script>" not in text and "&lt;script&gt;" in text


def test_out_path_defaults_to_the_runs_evidence_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("MCOPS_EVIDENCE_DIR", raising=False)
    assert out_path("") is None
    monkeypatch.setenv("MCOPS_EVIDENCE_DIR", str(tmp_path))
    assert out_path("") == tmp_path / "postmortem.md"
    assert out_path(tmp_path / "x.md") == tmp_path / "x.md"


# ------------------------------------------------------------------ the command


def test_cli_writes_both_files(tmp_path, capsys):
    dirs = two_runs(tmp_path)
    out = tmp_path / "pm.md"
    assert main(["postmortem", *map(str, dirs), "--out", str(out), "--template", "000"]) == 0
    assert out.read_text().startswith("# Post-mortem:")
    assert (tmp_path / "pm.html").is_file()
    assert "Resolved" in capsys.readouterr().out


def test_cli_prints_markdown_without_out(tmp_path, capsys):
    assert main(["postmortem", *map(str, two_runs(tmp_path))]) == 0
    assert capsys.readouterr().out.startswith("# Postmortem:")


@pytest.mark.parametrize("bad", ["missing", "empty", "not_json"])
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, bad):
    good = two_runs(tmp_path)[0]
    target = tmp_path / bad
    if bad != "missing":
        target.mkdir()
    if bad == "not_json":
        (target / "summary.json").write_text("{nope")
    assert main(["postmortem", str(good), str(target)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith("mcops postmortem: ") and str(target) in err and "fix:" in err


def test_files_changed_after_sealing_are_flagged(tmp_path):
    dirs = two_runs(tmp_path)
    summary = dirs[0] / "summary.json"
    notebook = dirs[0] / "triage.ipynb"
    files = {
        "summary.json": hashlib.sha256(summary.read_bytes()).hexdigest(),
        "triage.ipynb": "0" * 64,  # what was sealed is not what is there now
    }
    (dirs[0] / "manifest.json").write_text(json.dumps({"algorithm": "sha256", "files": files}))
    draft = build(dirs)
    sealed = {a.name: a.sealed for a in draft.attachments}
    assert sealed["1-triage/summary.json"] is True
    assert sealed["1-triage/triage.ipynb"] is False
    assert sealed["1-triage/manifest.json"] is None and sealed["2-triage/summary.json"] is None
    assert notebook.exists()
    assert "**CHANGED since sealed**" in draft.markdown
    assert any(a.priority == "P0" and "1-triage/triage.ipynb" in a.action for a in draft.actions)


def test_a_check_that_gets_worse_is_an_event_and_a_steady_one_is_not(tmp_path):
    runs = [
        evidence(
            tmp_path,
            f"r{n}",
            started=f"2026-03-01T10:{n}0:00+00:00",
            finished=f"2026-03-01T10:{n}1:00+00:00",
            findings=[finding("mailbox_depth", level, f"depth {level}")],
        )
        for n, level in enumerate(["warning", "warning", "critical", "critical"])
    ]
    texts = [e.text for e in build(runs).events if e.kind == "finding"]
    assert texts == [
        "warning `mailbox_depth` first seen: depth warning",
        "critical `mailbox_depth` worse (was warning): depth critical",
    ]


def test_relative_dirs_are_found_under_base(tmp_path, monkeypatch):
    dirs = two_runs(tmp_path)
    monkeypatch.chdir(dirs[0])  # somewhere else, as a kernel started in notebooks/ is
    draft = build("1-triage, 2-triage", base=tmp_path)
    assert [r.path for r in draft.runs] == dirs
    with pytest.raises(ParameterError, match="no evidence directory given"):
        build(" , ")


def test_a_write_ahead_intent_is_no_event_unless_no_outcome_followed_it(tmp_path):
    """The audit log writes an intent before each change and its outcome after: the
    timeline shows the outcome; an intent alone is a change cut off mid-way (a P0 item)."""
    step = {"target": "deploy/mc", "mode": "apply", "who": "oncall", "changed": 0}
    audit = [
        {**step, "action": "restart_service", "plan_hash": "a1", "result": "intent",
         "when": "2026-03-01T10:00:39+00:00"},
        {**step, "action": "restart_service", "plan_hash": "a1", "result": "ok", "changed": 1,
         "when": "2026-03-01T10:00:40+00:00"},
        {**step, "action": "delete_pod", "plan_hash": "b2", "result": "intent",
         "when": "2026-03-01T10:01:00+00:00"},
    ]  # fmt: skip
    dirs = two_runs(tmp_path, audit=audit)
    draft = build(dirs)
    shown = [e.text for e in draft.events if e.kind == "remediation"]
    assert len(shown) == 2
    assert "restart_service" in shown[0] and ": ok" in shown[0]
    assert "delete_pod" in shown[1] and "interrupted" in shown[1]
    assert any("`delete_pod` interrupted" in item.action and item.priority == "P0"
               for item in draft.actions)  # fmt: skip

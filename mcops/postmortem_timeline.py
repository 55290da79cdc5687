"""The incident in time: what fired when, what was applied, and whether recovery was seen.

Runs are read in the order they started. A check *fires* when a run judged it warning or
critical (checks that could not run, and ``overview`` findings restating others, never
fire). It is *recovered* when a later run judged the same check ok; the incident is
recovered when every check that fired has recovered and none fired again — at the end
of the run that showed the last of them ok. Otherwise it is ongoing: a postmortem never
claims a recovery that no run verified.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from mcops.findings import Level
from mcops.postmortem_evidence import EvidenceRun, parse_time
from mcops.registry import CHECKS

__all__ = [
    "Event",
    "Recovery",
    "firing",
    "incident_start",
    "recovery",
    "timeline",
]

# Order of events logged at the same moment.
_RANK = {
    "alert": 0,
    "run": 1,
    "finding": 2,
    "remediation": 3,
    "run_end": 4,
    "recovered_check": 5,
    "recovered": 6,
}


class Event(NamedTuple):
    """One row of the timeline."""

    at: datetime
    kind: str
    """alert, run, finding, remediation, run_end, recovered_check or recovered."""
    text: str
    run: str = ""
    """The evidence directory the event comes from (empty for the alert)."""


class Recovery(NamedTuple):
    """What the runs show about recovery."""

    fired: tuple[str, ...]
    """Every check that fired, in the order it first did."""
    first_seen: Mapping[str, datetime]
    """Check → start of the run that first saw it fire."""
    recovered: Mapping[str, datetime]
    """Check → end of the run that showed it ok after its last firing."""
    open: tuple[str, ...]
    """Checks still firing in the last run that judged them (unresolved)."""
    recovered_at: datetime | None
    """When the last check that fired was verified ok; None while anything is open."""

    @property
    def ongoing(self) -> bool:
        return self.recovered_at is None


def firing(finding: Mapping[str, Any]) -> bool:
    """Judged (checked) at warning or critical, and not an overview of other findings."""
    if finding.get("checked") is False:
        return False
    try:
        level = Level.parse(finding.get("level", "ok"))
    except ValueError:
        return False
    spec = CHECKS.get(str(finding.get("check")))
    return level >= Level.WARNING and (spec is None or spec.kind != "overview")


def _judged_ok(finding: Mapping[str, Any]) -> bool:
    if finding.get("checked") is False:
        return False
    try:
        return Level.parse(finding.get("level", "")) <= Level.INFO
    except ValueError:
        return False


def recovery(runs: Sequence[EvidenceRun]) -> Recovery:
    """Follow each check across the runs (see the module docstring)."""
    fired: dict[str, datetime] = {}
    open_since: dict[str, datetime] = {}
    recovered: dict[str, datetime] = {}
    for run in runs:
        for finding in run.findings:
            check = str(finding.get("check"))
            if firing(finding):
                fired.setdefault(check, run.started_at)
                open_since.setdefault(check, run.started_at)
                recovered.pop(check, None)
            elif check in open_since and _judged_ok(finding):
                del open_since[check]
                recovered[check] = run.finished_at
    recovered_at = max(recovered.values()) if fired and not open_since else None
    return Recovery(
        fired=tuple(fired),
        first_seen=fired,
        recovered=recovered,
        open=tuple(open_since),
        recovered_at=recovered_at,
    )


def incident_start(runs: Sequence[EvidenceRun], rec: Recovery) -> datetime:
    """The earliest of: an alert's start (``incident_started``), the first run in which
    anything fired; the first run when neither exists."""
    candidates = [r.incident_started for r in runs if r.incident_started is not None]
    candidates += list(rec.first_seen.values())
    return min(candidates) if candidates else runs[0].started_at


def timeline(runs: Sequence[EvidenceRun], rec: Recovery) -> list[Event]:
    """Every event, ordered by time (and, at one moment, alert → run → finding →
    remediation → end of run → recovery)."""
    events: list[Event] = []
    alerts: dict[datetime, str] = {}
    for run in runs:
        if run.incident_started is not None:
            alerts.setdefault(run.incident_started, run.path.name)
    for at, where in alerts.items():
        events.append(Event(at, "alert", f"Incident started (alert / incident_started of {where})"))
    seen: set[str] = set()
    still: dict[str, Level] = {}
    for run in runs:
        events += _run_events(run, seen, still)
    if rec.recovered_at is not None:
        checks = ", ".join(f"`{c}`" for c in rec.fired)
        events.append(
            Event(rec.recovered_at, "recovered", f"Service recovered: {checks} verified ok")
        )
    order = {id(e): n for n, e in enumerate(events)}
    return sorted(events, key=lambda e: (e.at, _RANK[e.kind], order[id(e)]))


def _run_events(run: EvidenceRun, seen: set[str], still: dict[str, Level]) -> list[Event]:
    """The run's start, the checks it saw fire first (or again, after a recovery, or
    worse), its remediations, its end, and the checks it showed ok again. ``seen`` and
    ``still`` (checks firing now, at their level) carry the story from run to run."""
    name = run.path.name
    status = str(run.summary.get("status", "?"))
    events = [Event(run.started_at, "run", f"`{run.scenario}` run started ({name})", name)]
    recovered = []
    for finding in run.findings:
        check = str(finding.get("check"))
        if not firing(finding):
            if check in still and _judged_ok(finding):
                del still[check]
                recovered.append(
                    Event(run.finished_at, "recovered_check", f"`{check}` ok again", name)
                )
            continue
        level = Level.parse(finding["level"])
        if check in still and level <= still[check]:
            continue  # still firing: reported when first seen (or when it got worse)
        if check in still:
            verb = f"worse (was {still[check]})"
        else:
            verb = "fired again" if check in seen else "first seen"
        seen.add(check)
        still[check] = level
        events.append(
            Event(
                run.started_at,
                "finding",
                f"{finding.get('level')} `{check}` {verb}: {finding.get('title', '')}",
                name,
            )
        )
    events += _remediation_events(run)
    severity = run.severity
    verdict = f"severity {severity.get('level')}" if severity else "no severity"
    events.append(
        Event(
            run.finished_at, "run_end", f"`{run.scenario}` run finished: {status}, {verdict}", name
        )
    )
    return events + recovered


def _remediation_events(run: EvidenceRun) -> list[Event]:
    """Audit records at their own time; planned (or unaudited) remediations at the run's."""
    name = run.path.name
    events = []
    audited = {str(r.get("action")) for r in run.audit}
    for record in run.audit:
        at = parse_time(record.get("when")) or run.finished_at
        who = f" by {record['who']}" if record.get("who") else ""
        target = f" on {record['target']}" if record.get("target") else ""
        changed = f", {record.get('changed', 0)} changed" if "changed" in record else ""
        error = f" — {record['error']}" if record.get("error") else ""
        events.append(
            Event(
                at,
                "remediation",
                f"Remediation {record.get('mode', '?')} `{record.get('action', '?')}`{target}: "
                f"{record.get('result', '?')}{changed}{who}{error}",
                name,
            )
        )
    for item in run.remediations:
        action = str(item.get("action"))
        mode = str(item.get("mode", "plan"))
        if mode != "plan" and action in audited:
            continue
        note = "" if mode == "plan" else " (no audit record)"
        events.append(
            Event(
                run.started_at,
                "remediation",
                f"Remediation {mode} `{action}`: {item.get('changes', 0)} change(s){note}",
                name,
            )
        )
    return events

"""What a postmortem concludes from the runs: severity, root-cause candidates, action items.

Severity is the worst any run reached, in the template's scheme (004 → P, 000 → SEV):
a run that recorded the other scheme is re-assessed from its own findings with
`mcops.severity.assess`, with the incident's start and the run's end as context, so
"P2 persisted for more than 2 hours" still applies. Root-cause candidates are the
critical findings, causes before symptoms (the kind order of `mcops.registry`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal, NamedTuple

from mcops.errors import ParameterError
from mcops.findings import Finding, Level
from mcops.postmortem_evidence import EvidenceRun
from mcops.postmortem_timeline import Recovery, firing
from mcops.registry import CHECKS, KINDS
from mcops.severity import SeverityContext, assess

__all__ = [
    "TEMPLATES",
    "ActionItem",
    "Candidate",
    "RunSeverity",
    "action_items",
    "choose_template",
    "contributing_factors",
    "root_causes",
    "worst_severity",
]

Template = Literal["000", "004"]
#: template → the severity scheme its runbook uses
TEMPLATES: Mapping[str, str] = {"004": "P", "000": "SEV"}


class RunSeverity(NamedTuple):
    """One run's severity in the chosen scheme."""

    level: str
    reason: str
    run: str
    """The evidence directory's name."""
    reassessed: bool
    """True when the run recorded the other scheme and this was assessed from its findings."""

    @property
    def rank(self) -> int:
        """1 is the worst (SEV1, P1)."""
        digits = "".join(ch for ch in self.level if ch.isdigit())
        return int(digits) if digits else 99


class Candidate(NamedTuple):
    """A critical finding offered as a root cause."""

    check: str
    kind: str
    title: str
    detail: str
    run: str
    """The evidence directory where it was first critical."""


class ActionItem(NamedTuple):
    """One row of the Action Items table, pre-filled from what is unresolved."""

    action: str
    priority: str
    """P0 (fix what is still broken), P1 (prevent, decide), P2 (follow up)."""
    status: str = "Open"


def choose_template(runs: Sequence[EvidenceRun], template: str | None = None) -> Template:
    """``template`` if given (``004`` or ``000``); else the runbook whose scheme most runs
    recorded (runbook 000 when they tie)."""
    if template is not None and str(template) != "":
        template = str(template).zfill(3)  # -p template=004 arrives as the int 4
        if template not in TEMPLATES:
            raise ParameterError(
                f"unknown postmortem template {template!r} — fix: use 004 (Meeting "
                "Controller, P1-P4) or 000 (Actor System, SEV1-SEV4)",
                name="template",
            )
        return template  # type: ignore[return-value]
    schemes = [
        str((run.severity or {}).get("scheme") or run.parameters.get("severity_scheme") or "")
        for run in runs
    ]
    return "004" if schemes.count("P") > schemes.count("SEV") else "000"


def worst_severity(
    runs: Sequence[EvidenceRun], *, scheme: str, incident_started: datetime | None
) -> RunSeverity | None:
    """The worst severity of the runs in ``scheme`` (the earliest run on a tie)."""
    found = [s for run in runs if (s := _run_severity(run, scheme, incident_started))]
    return min(found, key=lambda s: s.rank, default=None)


def _run_severity(
    run: EvidenceRun, scheme: str, incident_started: datetime | None
) -> RunSeverity | None:
    recorded = run.severity
    if recorded and recorded.get("scheme") == scheme and recorded.get("level"):
        return RunSeverity(
            str(recorded["level"]), str(recorded.get("reason", "")), run.path.name, False
        )
    findings = [f for f in (_finding(d) for d in run.findings) if f is not None]
    if not findings:
        return None
    context = SeverityContext(
        incident_started_at=incident_started,
        now=run.finished_at,
        security_suspected=run.parameters.get("security_suspected") is True,
    )
    verdict = assess(findings, scheme=scheme, context=context)  # type: ignore[arg-type]
    return RunSeverity(verdict.level, verdict.reason, run.path.name, True)


def _finding(data: Mapping[str, Any]) -> Finding | None:
    """A summary.json finding as a Finding; None for a check this mcops does not know."""
    check = str(data.get("check"))
    if check not in CHECKS:
        return None
    try:
        level = Level.parse(data.get("level", "info"))
    except ValueError:
        return None
    meetings = data.get("affected_meetings")
    return Finding(
        check=check,
        level=level,
        title=str(data.get("title", "")),
        detail=str(data.get("detail", "")),
        count=int(data.get("count") or 0),
        checked=data.get("checked") is not False,
        affected_meetings=int(meetings) if isinstance(meetings, int | float) else None,
    )


def _kind_rank(check: str) -> int:
    spec = CHECKS.get(check)
    return KINDS.index(spec.kind) if spec is not None else len(KINDS)


def _first_at(runs: Sequence[EvidenceRun], minimum: Level) -> dict[str, tuple[Mapping, str]]:
    """Check → (its first finding at ``minimum`` or worse that fired, the run's dir)."""
    out: dict[str, tuple[Mapping, str]] = {}
    for run in runs:
        for finding in run.findings:
            if firing(finding) and Level.parse(finding["level"]) >= minimum:
                out.setdefault(str(finding.get("check")), (finding, run.path.name))
    return out


def root_causes(runs: Sequence[EvidenceRun]) -> list[Candidate]:
    """Critical findings, each check once (its first critical), causes before symptoms."""
    critical = _first_at(runs, Level.CRITICAL)
    ordered = sorted(critical, key=lambda c: (_kind_rank(c), list(critical).index(c)))
    return [
        Candidate(
            check,
            CHECKS[check].kind if check in CHECKS else "unknown",
            str(critical[check][0].get("title", "")),
            str(critical[check][0].get("detail", "")),
            critical[check][1],
        )
        for check in ordered
    ]


def contributing_factors(runs: Sequence[EvidenceRun]) -> list[Candidate]:
    """Findings that reached warning but never critical: what made it worse."""
    critical = _first_at(runs, Level.CRITICAL)
    warned = _first_at(runs, Level.WARNING)
    return [
        Candidate(
            check,
            CHECKS[check].kind if check in CHECKS else "unknown",
            str(finding.get("title", "")),
            str(finding.get("detail", "")),
            where,
        )
        for check, (finding, where) in warned.items()
        if check not in critical
    ]


def action_items(runs: Sequence[EvidenceRun], rec: Recovery) -> list[ActionItem]:
    """What is left to do: checks still firing, remediations planned or failed but not
    applied, checks that could not run at the end, scenarios suggested but never run,
    then the template's own follow-ups for each check that fired."""
    items: list[ActionItem] = []
    last_title = {str(f.get("check")): str(f.get("title", "")) for r in runs for f in r.findings}
    for check in rec.open:
        items.append(ActionItem(f"Fix `{check}`, still firing: {last_title.get(check, '')}", "P0"))
    items += _remediation_items(runs)
    last = runs[-1]
    for finding in last.findings:
        if finding.get("checked") is False:
            items.append(
                ActionItem(
                    f"Make `{finding.get('check')}` checkable ({finding.get('title', '')}) "
                    f"and run `{last.scenario}` again",
                    "P1",
                )
            )
    ran = {run.scenario for run in runs}
    suggested = [s for run in runs for s in (run.severity or {}).get("next_scenarios") or []]
    for scenario in dict.fromkeys(s for s in suggested if s not in ran):
        items.append(ActionItem(f"Run the `{scenario}` scenario (suggested, never run)", "P1"))
    for check in rec.fired:
        if check not in rec.open:
            items.append(ActionItem(f"Prevent `{check}` from recurring (fix the root cause)", "P1"))
    if rec.fired:
        items.append(ActionItem("Update the runbook with what this incident taught", "P2"))
        items.append(ActionItem("Add or tune the alert that should have fired first", "P2"))
    return items


def _remediation_items(runs: Sequence[EvidenceRun]) -> list[ActionItem]:
    applied: set[str] = set()
    failed: dict[str, Mapping[str, Any]] = {}
    planned: dict[str, Mapping[str, Any]] = {}
    for run in runs:
        for record in run.audit:
            action = str(record.get("action"))
            if record.get("mode") == "apply" and record.get("result") == "ok":
                applied.add(action)
                failed.pop(action, None)
            elif record.get("result") in ("failed", "refused", "interrupted"):
                failed[action] = record
        for item in run.remediations:
            if item.get("mode") == "plan" and int(item.get("changes") or 0) > 0:
                planned[str(item.get("action"))] = item
    items = [
        ActionItem(
            f"Remediation `{action}` {record.get('result')}: {record.get('error') or 'see audit'}"
            " — resolve and retry, or escalate",
            "P0",
        )
        for action, record in failed.items()
        if action not in applied
    ]
    items += [
        ActionItem(
            f"Decide on remediation `{action}`: planned {item.get('changes')} change(s), "
            "never applied",
            "P1",
        )
        for action, item in planned.items()
        if action not in applied and action not in failed
    ]
    return items

"""Turn findings into one incident severity, in either runbook's scheme.

``SEV`` (SEV1–SEV4) is runbook 000's on-call playbook; ``P`` (P1–P4) is runbook 004's
classification table with its upgrade triggers. Both read the same Findings through
the kind each check declares in `mcops.registry`, so no check id is written here: a
new check gets its severity and its route by being declared there.

Each rule below quotes the runbook line it comes from; tests/mcops/test_severity.py
tests each at its boundary.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from mcops.advice import quick_fixes
from mcops.errors import ParameterError
from mcops.findings import Finding, Level
from mcops.registry import KINDS, check_spec, routes_for
from mcops.thresholds import Thresholds, default_thresholds
from mcops.utc import to_utc

__all__ = ["Severity", "SeverityContext", "assess", "format_duration"]

Scheme = Literal["SEV", "P"]
RUNBOOK: Mapping[str, str] = {"SEV": "000", "P": "004"}

# Kinds that are never degradation on their own: 000 SEV4 "minor issues, warnings";
# 004 P4 "non-critical warnings".
_MINOR = frozenset({"hygiene", "rollout"})
# Kinds whose checks read metrics: 004 P3 "Metrics unavailable" when none of them ran.
_METRIC_CHECKS = frozenset({"key_metrics", "p95_latency", "mailbox_depth"})


@dataclass(frozen=True)
class SeverityContext:
    """What the findings alone cannot say. ``now`` defaults to the current UTC time."""

    incident_started_at: datetime | None = None
    now: datetime | None = None
    affected_meetings: int | None = None
    security_suspected: bool = False


@dataclass(frozen=True)
class Severity:
    """The incident's severity, why, and what to do about it."""

    scheme: Scheme
    level: str
    reason: str
    next_scenarios: tuple[str, ...] = ()
    response_time: timedelta | None = None
    escalation: str = ""
    notify: tuple[str, ...] = ()
    upgraded_from: str | None = None
    triggers: tuple[str, ...] = ()
    quick_fixes: tuple[str, ...] = ()

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        """In a notebook (``inv.conclude(...)`` as a cell's value) the verdict as people
        read it, never the dataclass repr; no mcops mimetype, so the summary the runner
        reads back is the Recorder's alone."""
        from mcops.display import severity_html, severity_lines

        verdict = self.to_dict()
        return {
            "text/html": severity_html(verdict, css_class="mcops-severity mcops-severity-value"),
            "text/plain": "\n".join(severity_lines(verdict)),
        }

    def to_dict(self) -> dict[str, Any]:
        """The summary.json shape (``scheme``, ``level``, ``reason`` first)."""
        return {
            "scheme": self.scheme,
            "level": self.level,
            "reason": self.reason,
            "next_scenarios": list(self.next_scenarios),
            "response_time": (
                None if self.response_time is None else format_duration(self.response_time)
            ),
            "response_time_seconds": (
                None if self.response_time is None else self.response_time.total_seconds()
            ),
            "escalation": self.escalation,
            "notify": list(self.notify),
            "upgraded_from": self.upgraded_from,
            "triggers": list(self.triggers),
            "quick_fixes": list(self.quick_fixes),
        }


def assess(
    findings: Iterable[Finding],
    *,
    scheme: Scheme,
    context: SeverityContext | Mapping[str, Any] | None = None,
    thresholds: Thresholds | None = None,
) -> Severity:
    """Classify the findings of one investigation into ``scheme``'s levels.

    ``context`` may be a SeverityContext or a plain dict with the same keys (handy in a
    notebook). Naive datetimes are taken as UTC. Findings that were not checked never
    raise the level, and ``overview`` findings (key_metrics) restate their members.
    """
    if scheme not in RUNBOOK:
        raise ParameterError(f"unknown severity scheme {scheme!r}; use 'SEV' or 'P'", name="scheme")
    ctx = _context(context)
    t = thresholds or default_thresholds()
    found = list(findings)
    judged = [f for f in found if f.checked and _kind(f) != "overview"]
    nexts = next_scenarios(judged, scheme=scheme)
    verdict = _sev(judged, ctx, t, nexts) if scheme == "SEV" else _p(found, judged, ctx, t, nexts)
    return replace(verdict, quick_fixes=quick_fixes(judged, thresholds=t))


def next_scenarios(findings: Iterable[Finding], *, scheme: Scheme) -> tuple[str, ...]:
    """Where to dig next: routes of the findings at warning or worse.

    Worst level first; among equals, the kind order of `mcops.registry` (a cause before
    its symptom); each check's routes with the scheme's runbook first. No duplicates.
    """
    firing = [f for f in findings if f.checked and f.level >= Level.WARNING]
    ordered = sorted(firing, key=lambda f: (-int(f.level), KINDS.index(_kind(f))))
    seen: dict[str, None] = {}
    for finding in ordered:
        for scenario in routes_for(finding.check, runbook=RUNBOOK[scheme]):
            seen.setdefault(scenario, None)
    return tuple(seen)


# --------------------------------------------------------------------------- SEV (000)


def _sev(
    judged: Sequence[Finding], ctx: SeverityContext, t: Thresholds, nexts: tuple[str, ...]
) -> Severity:
    """000 On-Call Playbook, Step 1: Assess severity."""
    critical = _at(judged, Level.CRITICAL)
    if ctx.security_suspected:  # "SEV1 (Critical): ... security breach"
        level, reason = "SEV1", "A security breach is suspected."
    elif down := _of(critical, "down"):  # "SEV1: Service down"
        level, reason = "SEV1", f"Service down: {_titles(down)}."
    elif lost := _of(critical, "loss"):  # "SEV1: data loss"
        level, reason = "SEV1", f"Data loss: {_titles(lost)}."
    elif critical:  # "SEV2 (High): Partial outage, high error rate, severe degradation"
        level, reason = "SEV2", f"Severe degradation: {_titles(critical)}."
    elif degraded := [f for f in _at(judged, Level.WARNING) if _kind(f) not in _MINOR]:
        level, reason = "SEV3", f"Degraded: {_titles(degraded)}."  # "SEV3 (Medium)"
    elif minor := _at(judged, Level.WARNING):
        level, reason = "SEV4", f"Minor issues: {_titles(minor)}."  # "SEV4: warnings"
    else:
        level, reason = "SEV4", "No check found a problem."
    notes = [t.severity.sev[level].escalation]
    # 000 Step 4 "Escalate to engineering team if: ... Data corruption suspected"
    if data := _of(_at(judged, Level.WARNING), "data"):
        notes.append(
            f"Data corruption suspected ({_ids(data)}): escalate to the engineering team now."
        )
    if ctx.security_suspected:  # 000 Step 4 "... Security concerns"
        notes.append("Security concern: escalate to the engineering team now.")
    # 000 Step 4 "... Quick fixes don't work": a fix was applied and its check still fails
    if failed := _of(critical, "verification"):
        notes.append(f"A fix did not work ({_ids(failed)}): escalate to the engineering team.")
    # 000 Step 4 "... Unclear root cause": degraded, and no quick fix matches what was found
    if level != "SEV4" and not ctx.security_suspected and not quick_fixes(judged, thresholds=t):
        notes.append(
            "No quick fix in the table matches these findings: if the root cause stays "
            "unclear, escalate to the engineering team."
        )
    return Severity(
        scheme="SEV",
        level=level,
        reason=reason,
        next_scenarios=nexts,
        response_time=None,  # runbook 000 names no response times
        escalation=" ".join(notes),
        notify=("Security",) if ctx.security_suspected else (),
    )


# --------------------------------------------------------------------------- P (004)


def _p(
    found: Sequence[Finding],
    judged: Sequence[Finding],
    ctx: SeverityContext,
    t: Thresholds,
    nexts: tuple[str, ...],
) -> Severity:
    base, reason = _p_base(found, judged)
    level = base
    triggers: list[str] = []
    up = t.severity.upgrade
    # "P3 affects multiple meetings -> Upgrade to P2"
    meetings = _affected_meetings(judged, ctx)
    if level == "P3" and meetings >= up.multiple_meetings:
        level = "P2"
        triggers.append(f"P3 affects {meetings} meetings → P2")
    persisted = _persisted(ctx)
    # "P2 persists for > 2 hours -> Upgrade to P1"
    if level == "P2" and persisted is not None and persisted > up.p2_to_p1_after:
        level = "P1"
        triggers.append(f"P2 persisted for {format_duration(persisted)} → P1")
    # "Any actor panic detected -> Upgrade to P1"
    if panics := _of(_at(judged, Level.WARNING), "panic"):
        if level != "P1":
            triggers.append(f"actor panic detected ({_ids(panics)}) → P1")
        level = "P1"
    notify: tuple[str, ...] = ()
    # "Any security breach suspected -> Upgrade to P1 + notify Security Team immediately"
    if ctx.security_suspected:
        if level != "P1":
            triggers.append("security breach suspected → P1")
        level = "P1"
        notify = ("Security Team",)
    if triggers:
        reason = f"{reason.rstrip('.')}; upgraded: {'; '.join(triggers)}."
    row = t.severity.p[level]
    notes = [row.escalation + "."]
    notes += _p_time_notes(level, persisted, t)
    notes += _p_escalation_notes(level, judged, ctx, t)
    return Severity(
        scheme="P",
        level=level,
        reason=reason,
        next_scenarios=nexts,
        response_time=row.response_time,
        escalation=" ".join(notes),
        notify=notify,
        upgraded_from=base if base != level else None,
        triggers=tuple(triggers),
    )


def _p_base(found: Sequence[Finding], judged: Sequence[Finding]) -> tuple[str, str]:
    """004's Severity Classification table, its examples turned into rules, worst first."""
    critical = _at(judged, Level.CRITICAL)
    warning = _at(judged, Level.WARNING)
    p1 = (
        (_of(critical, "down"), "Service down"),  # "P1: Service down"
        (_of(critical, "pods"), "All pods failing"),  # "All pods crash-looping"
        (_of(critical, "registration"), "Complete GC registration failure"),
        (_of(critical, "loss"), "Message drop rate above 1 %"),  # ">1% message drop rate"
    )
    p2 = (
        (_of(critical, "latency"), "High latency"),  # "High latency (p95 > 1s)"
        (_of(critical, "saturation"), "Mailbox depth or pool critical"),  # ">500"
        (_of(warning, "pods", "not_ready"), "Single pod failing"),
        (_of(warning, "heartbeat", "registration"), "GC heartbeat intermittent or failing"),
        # 004 Scenario 1 Escalation "If messages being dropped, escalate immediately"
        (_of(warning, "loss"), "Messages dropped"),
        (critical, "Critical findings"),
    )
    for level, rules in (("P1", p1), ("P2", p2)):
        for hit, what in rules:
            if hit:
                return level, f"{what}: {_titles(hit)}."
    # "P3 (Medium): Non-critical issue, workaround available": warning-level mailbox
    # depth, single meeting stuck, high CPU (non-critical)
    if hit := [f for f in warning if _kind(f) not in _MINOR]:
        return "P3", f"Warnings with a workaround: {_titles(hit)}."
    # "P3: Metrics unavailable"
    unavailable = [f for f in found if not f.checked and f.check in _METRIC_CHECKS]
    if unavailable and not any(f.checked and f.check in _METRIC_CHECKS for f in found):
        return "P3", f"Metrics unavailable: {_titles(unavailable)}."
    if warning:  # "P4 (Low): ... Non-critical warnings"
        return "P4", f"Minor warnings: {_titles(warning)}."
    return "P4", "No check found a problem."


def _affected_meetings(judged: Sequence[Finding], ctx: SeverityContext) -> int:
    """Distinct meetings the firing findings touch (the largest any one check saw)."""
    if ctx.affected_meetings is not None:
        return ctx.affected_meetings
    counts = [
        f.affected_meetings for f in _at(judged, Level.WARNING) if f.affected_meetings is not None
    ]
    return max(counts, default=0)


def _persisted(ctx: SeverityContext) -> timedelta | None:
    if ctx.incident_started_at is None:
        return None
    now = ctx.now or datetime.now(UTC)
    return max(now - ctx.incident_started_at, timedelta(0))


def _p_time_notes(level: str, persisted: timedelta | None, t: Thresholds) -> list[str]:
    """The table's Escalation column, applied to how long the incident has lasted."""
    if persisted is None:
        return ["Incident start unknown: pass incident_started to time the escalation."]
    notes = [f"Open for {format_duration(persisted)}."]
    # "P2: Page if persists > 15 min"
    if level == "P2" and persisted > t.severity.upgrade.p2_page_after:
        notes.append(f"Past {format_duration(t.severity.upgrade.p2_page_after)}: page now.")
    after = t.severity.p[level].escalate_after
    if persisted > after:
        notes.append(f"Past {format_duration(after)}: escalate now.")
    return notes


def _p_escalation_notes(
    level: str, judged: Sequence[Finding], ctx: SeverityContext, t: Thresholds
) -> list[str]:
    """004's per-scenario escalation lines that the findings make relevant."""
    notes = []
    if level in ("P1", "P2"):  # Initial Response 1: "Acknowledge alert within 5 minutes"
        ack = format_duration(t.windows.acknowledge_within)
        notes.append(f"Acknowledge the page within {ack}; post in #incidents.")
    firing = _at(judged, Level.WARNING)
    if _of(firing, "loss"):  # Scenario 1
        notes.append("Messages are being dropped: escalate to the Service Owner immediately.")
    if any(f.check == "mailbox_depth" for f in _at(judged, Level.CRITICAL)):  # Scenario 1
        after = format_duration(t.windows.mailbox_critical_escalate_after)
        notes.append(
            f"If the mailbox stays above 500 for more than {after}, escalate to the Service Owner."
        )
    if _of(firing, "panic"):  # Scenario 2
        notes.append("Any actor panic is critical: page immediately; escalate to the MC Team.")
    if _of(firing, "heartbeat", "registration") or any(
        f.check == "gc_mc_mismatch" for f in firing
    ):  # Scenarios 3 and 6, Specialist Contacts
        notes.append("Engage the GC Team (#gc-oncall).")
    if ctx.security_suspected:
        notes.append("Notify the Security Team immediately (#security-incidents).")
    return notes


# --------------------------------------------------------------------------- helpers


def _kind(finding: Finding) -> str:
    return check_spec(finding.check).kind


def _at(findings: Iterable[Finding], minimum: Level) -> list[Finding]:
    return [f for f in findings if f.level >= minimum]


def _of(findings: Iterable[Finding], *kinds: str) -> list[Finding]:
    return [f for f in findings if _kind(f) in kinds]


def _context(context: SeverityContext | Mapping[str, Any] | None) -> SeverityContext:
    if context is None:
        return SeverityContext()
    if not isinstance(context, SeverityContext):
        allowed = [f.name for f in fields(SeverityContext)]
        unknown = [key for key in context if key not in allowed]
        if unknown:
            raise ParameterError(
                f"unknown severity context key {unknown[0]!r}; allowed: {', '.join(allowed)}",
                name="context",
            )
        context = SeverityContext(**context)
    return replace(
        context,
        incident_started_at=_maybe_utc(context.incident_started_at),
        now=_maybe_utc(context.now),
    )


def _maybe_utc(moment: datetime | None) -> datetime | None:
    return None if moment is None else to_utc(moment)


def _titles(findings: Sequence[Finding], limit: int = 3) -> str:
    parts = [f"{f.check} ({f.title})" if f.title else f.check for f in findings[:limit]]
    more = len(findings) - limit
    return ", ".join(parts) + (f" and {more} more" if more > 0 else "")


def _ids(findings: Sequence[Finding]) -> str:
    return ", ".join(dict.fromkeys(f.check for f in findings))


def format_duration(span: timedelta) -> str:
    """``2 h 5 min``, ``15 min``, ``24 h`` — how a person reads an incident's age."""
    minutes = int(span.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    if hours and minutes:
        return f"{hours} h {minutes} min"
    if hours:
        return f"{hours} h"
    return f"{minutes} min"

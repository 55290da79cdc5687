"""The report sets: the runbooks' maintenance tasks as named groups of scenarios.

`mcops report daily` runs what runbook 000's "Maintenance Tasks" asks for every day,
and so on. Each set is declared once, here, with the runbook lines each scenario comes
from; `resolve` turns what a user typed (set names and scenario names, mixed) into the
scenarios to run, or one ParameterError naming every unknown name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from mcops.errors import ParameterError

__all__ = ["SETS", "ReportSet", "Selection", "resolve"]


class ReportSet(NamedTuple):
    """A named group of scenarios a scheduled report runs together."""

    scenarios: tuple[str, ...]
    """Scenario names, in the order the runbook lists the tasks."""
    parameters: Mapping[str, Any]
    """Defaults for this set's scenarios (``-p`` overrides them), e.g. its window."""
    runbook: str
    """Where the set comes from, shown by ``mcops report --help``."""


#: Runbook 000 "Maintenance Tasks" (Daily, Weekly, Monthly). Runbook 004's "Maintenance
#: and Updates" (lines 1008-1022) schedules reviews of the runbook itself (after every
#: P1/P2, monthly at the on-call handoff, quarterly) rather than checks of the service,
#: so it adds no scenario; its monthly review is when to read the monthly report.
SETS: dict[str, ReportSet] = {
    "daily": ReportSet(
        scenarios=(
            # 000 Daily 1 "Check metrics dashboard" (lines 1161-1170): actor count
            # stable, error rate < 0.01%, latency < 50ms — the actor-health dashboard.
            "actor_health",
            # 000 Daily 2 "Review error logs" (lines 1172-1180): ERROR patterns of the
            # last 24h by count, investigate any with > 10 — triage's error_logs.
            "triage",
        ),
        # `docker logs --since 24h` (line 1176)
        parameters={"window": "24h"},
        runbook="runbook 000 Maintenance Tasks, Daily",
    ),
    "weekly": ReportSet(
        scenarios=(
            # 000 Weekly 1 "Database health check" (lines 1184-1191):
            # ./scripts/db-health-check.sh, "Expected: All checks pass".
            "db_consistency",
            # 000 Weekly 2 "Review actor count trend" (lines 1193-1200): is the actor
            # count growing unbounded, "Compare with last week" — memory_leak's
            # actor_count_trend, and the report compares with last week's.
            "memory_leak",
            # 000 Weekly 3 "Performance review" (lines 1202-1209): P95 latency trend,
            # "If degrading, investigate slow queries".
            "performance_profile",
        ),
        parameters={"window": "7d"},
        runbook="runbook 000 Maintenance Tasks, Weekly",
    ),
    "monthly": ReportSet(
        scenarios=(
            # 000 Monthly 1 "Capacity planning" (lines 1213-1219): peak actor count,
            # peak message rate, growth — resource_pressure's capacity and trends.
            "resource_pressure",
            # 000 Monthly 2 "Database optimization" (lines 1221-1232): ANALYZE, VACUUM,
            # REINDEX — performance_profile's slow_queries and missing_indexes say
            # where it is due. 000 Monthly 3 "Security review" (lines 1234-1243,
            # cargo audit) checks the code, not the service: no scenario.
            "performance_profile",
        ),
        parameters={"window": "30d"},
        runbook="runbook 000 Maintenance Tasks, Monthly",
    ),
}


class Selection(NamedTuple):
    """What a ``mcops report`` request resolved to."""

    scenarios: tuple[str, ...]
    """Each scenario once, in the order first named."""
    defaults: Mapping[str, Mapping[str, Any]]
    """Per scenario: the parameter defaults of the set that named it first."""
    sets: tuple[str, ...]
    """The set names used."""


def resolve(
    names: Sequence[str],
    known_scenarios: Iterable[str],
    *,
    sets: Mapping[str, ReportSet] = SETS,
) -> Selection:
    """Expand set names, keep scenario names; ParameterError naming every unknown one."""
    known = set(known_scenarios)
    unknown = [name for name in names if name not in sets and name not in known]
    if unknown:
        shown = ", ".join(repr(name) for name in unknown)
        raise ParameterError(
            f"no report set or scenario {shown} — fix: use a set ({', '.join(sets)}) or "
            f"scenarios from `mcops list`: {', '.join(sorted(known)) or '(none)'}",
            name="scenario",
        )
    missing = sorted({s for name in names if name in sets for s in sets[name].scenarios} - known)
    if missing:
        raise ParameterError(
            f"report sets name scenarios that have no notebook: {', '.join(missing)} — fix: "
            f"point --notebooks / $MCOPS_NOTEBOOKS at the scenario notebooks",
            name="scenario",
        )
    scenarios: list[str] = []
    defaults: dict[str, Mapping[str, Any]] = {}
    used: list[str] = []
    for name in names:
        if name in sets:
            if name not in used:
                used.append(name)
            members, preset = sets[name].scenarios, sets[name].parameters
        else:
            members, preset = (name,), {}
        for scenario in members:
            if scenario not in defaults:
                scenarios.append(scenario)
                defaults[scenario] = dict(preset)
    return Selection(tuple(scenarios), defaults, tuple(used))

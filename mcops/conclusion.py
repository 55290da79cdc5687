"""How an investigation ends: one severity from all its findings, recorded and shown.

`Investigation.conclude` is the last cell of every scenario notebook. The severity comes
from `mcops.severity` (never from a notebook), goes into summary.json with the next
notebooks to open (not the one running: "run db_consistency next" is no advice inside
it), and the person reading sees the findings at a glance and links to those notebooks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mcops.investigation import Investigation
    from mcops.severity import Severity

__all__ = ["conclude"]


def conclude(inv: Investigation, scheme: str, context: dict[str, Any]) -> Severity:
    """Assess ``inv``'s findings in ``scheme``, record the verdict and finish the summary.

    ``context`` (SeverityContext's fields) defaults ``incident_started_at`` to the
    ``incident_started`` parameter (the alert's ``startsAt``) and ``security_suspected``
    to its parameter; the severity is judged at the end of the window, not the wall clock.
    """
    from IPython.display import display

    from mcops import plots
    from mcops.next_notebooks import show_next_notebooks
    from mcops.severity import SeverityContext, assess

    context.setdefault("incident_started_at", inv.incident_started)
    context.setdefault("security_suspected", bool(inv.params.get("security_suspected")))
    result = assess(
        inv.recorder.findings,
        scheme=scheme,  # type: ignore[arg-type]
        context=SeverityContext(now=inv.until, **context),
        thresholds=inv.thresholds,
    )
    here = inv.recorder.scenario
    next_scenarios = [name for name in result.next_scenarios if name != here]
    inv.recorder.severity(
        result.scheme,
        result.level,
        result.reason,
        next_scenarios=next_scenarios,
        response_time=result.to_dict()["response_time"],
        escalation=result.escalation,
        notify=result.notify,
        upgraded_from=result.upgraded_from,
        triggers=result.triggers,
        quick_fixes=result.quick_fixes,
    )
    display(plots.findings_overview(inv.recorder.findings, title="Findings at a glance"))
    show_next_notebooks(next_scenarios, inv.recorder.parameters)
    inv.recorder.finish()
    return result

"""Runbook 004 Graceful Drain Procedure: mark draining, wait for zero meetings, re-enable.

Step 1 is `MarkController` on the controller database (plan, then apply only with
``apply_remediation=True``); step 2 polls ``mc_meetings_active`` every ``poll_interval``
(the runbook's ``watch -n 30``), bounded by ``drain_timeout``, with a progress bar; step 4
marks the MC active again when ``reenable=True``. The meetings are read from the MC
itself (``service_url``/metrics) and, without it, from the controller database's
``meetings`` table (its active meetings of this MC).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pandas as pd

from mcops.durations import parse_positive_duration
from mcops.findings import Finding
from mcops.scenarios._shared import focus_mc_id

if TYPE_CHECKING:
    from mcops.investigation import Investigation

__all__ = ["active_meetings", "controllers", "mark", "reenable", "target", "wait_for_drain"]

_REASON = "runbook 004 Graceful Drain Procedure"


def target(inv: Investigation) -> str:
    """The MC to drain: ``mc_id``, else the one behind ``service_url``; "" when unknown
    (step 1 then says how to name it, and nothing is marked)."""
    return focus_mc_id(inv)


def controllers(inv: Investigation) -> pd.DataFrame:
    """The GC's meeting_controllers rows (004 Scenario 6 diagnostic 3's query)."""
    return inv.sql("meeting_controllers", limit=50)


def active_meetings(inv: Investigation, mc: str) -> int:
    """``curl /metrics | grep mc_meetings_active``, live; else the database's count."""
    if inv.params.get("service_url"):
        from mcops.sources.scrape import scrape

        frame = scrape(str(inv.params["service_url"]), timeout=5)
        return int(frame.loc[(frame["metric"] == "mc_meetings_active").to_numpy(), "value"].sum())
    import sqlalchemy as sa  # loaded only here, where the database is read

    from mcops.schema import meetings

    with inv.database.connect() as conn:
        query = sa.select(sa.func.count()).where(
            meetings.c.mc_id == mc, meetings.c.status == "active"
        )
        return int(conn.execute(query).scalar_one())


def mark(inv: Investigation, mc: str, status: str, *, then: tuple[str, ...]) -> bool:
    """Steps 1 and 4: ``UPDATE meeting_controllers SET status = ... WHERE id = '<MC_ID>'``.

    True when the UPDATE was applied (or the MC already had ``status``): the steps in
    ``then`` verify it. Otherwise each of them says why it was not checked.
    """
    from mcops.remediate import MarkController

    why = ""
    database = inv.database_for_actions()
    if not mc:
        why = "no MC to mark: pass -p mc_id=<its meeting_controllers.id>"
    elif database is None:
        why = "database: database_url is not given or not reachable"
    else:
        report = inv.remediate(MarkController(database, mc, status=status, reason=_REASON))
        if report is not None and report.mode == "apply":
            return True
        why = f"'{status}' was planned, not applied (apply_remediation=False)"
    inv.record(*(Finding.not_checked(check, why) for check in then))
    return False


def reenable(inv: Investigation, mc: str) -> None:
    """Step 4, after maintenance (``reenable=True``): mark the MC active and read it back."""
    from mcops.checks.procedure import status_is

    if not inv.params.get("reenable"):
        why = "after maintenance, run again with reenable=True (step 4)"
        inv.record(Finding.not_checked("drain_reenabled", why))
        return
    if mark(inv, mc, "active", then=("drain_reenabled",)):
        inv.check("drain_reenabled", lambda: controllers(inv), status_is, mc_id=mc, status="active")


def wait_for_drain(inv: Investigation, mc: str) -> pd.DataFrame:
    """Step 2: poll until 0 active meetings or ``drain_timeout``; one row per reading."""
    from tqdm.auto import tqdm

    timeout = parse_positive_duration(
        str(inv.params.get("drain_timeout") or "30m"), name="drain_timeout"
    ).total_seconds()
    interval = parse_positive_duration(
        str(inv.params.get("poll_interval") or "30s"), name="poll_interval"
    ).total_seconds()
    started = time.monotonic()
    rows = []
    first = active_meetings(inv, mc)
    with tqdm(total=first, desc="meetings drained", unit="meeting", leave=False) as bar:
        while True:
            waited = time.monotonic() - started
            left = first if not rows else active_meetings(inv, mc)
            rows.append({"waited_s": round(waited, 1), "meetings_active": left})
            bar.update(max(first - left, 0) - bar.n)
            if left == 0 or waited >= timeout:
                break
            time.sleep(min(interval, max(timeout - waited, 0.05)))
    frame = pd.DataFrame(rows)
    frame.attrs["timeout_s"] = timeout
    return frame

"""Runbook 004 Scenario 3 (Meeting Lifecycle Issues): what to read, from where, the fixes.

Three views of one meeting: the MC's gauges (Prometheus or scrapes), the MC's live
meeting actors (admin API) beside the GC's ``meetings`` table (database), and the
meetings untouched for an hour (database). The judges in `mcops.checks.meetings` compare
the frames; here each is read, scoped to the MC in focus.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from mcops.scenarios._shared import focus_mc_id, meeting_gauges

if TYPE_CHECKING:
    from mcops.investigation import Investigation
    from mcops.remediate import Action

__all__ = ["MISMATCH_LIMIT", "counts", "focus_mc_id", "gc_and_mc", "remediations", "stale"]

#: active meetings compared between GC and MC at most (the runbook's query shows 10)
MISMATCH_LIMIT = 1000
_REASON = "runbook 004 Scenario 3: meeting lifecycle issues"


def counts(inv: Investigation) -> pd.DataFrame:
    """Step 1: both gauges over the window (Prometheus), else three scrapes 1 s apart."""
    return meeting_gauges(inv)


def stale(inv: Investigation, *, mc_id: str = "") -> pd.DataFrame:
    """Active meetings not updated for ``windows.stale_meeting`` (1 h) before ``until``."""
    cutoff = inv.until - inv.thresholds.windows.stale_meeting
    frame = inv.sql("stale_meetings", cutoff=cutoff, **({"mc_id": mc_id} if mc_id else {}))
    frame.attrs["cutoff"] = cutoff
    return frame


def gc_and_mc(inv: Investigation, *, mc_id: str = "") -> pd.DataFrame:
    """The GC's active meetings of this MC, each marked whether an MC actor serves it.

    ``mc_id`` defaults to the service's own (``/admin/config``), so a shared GC database
    is compared with this MC only.
    """
    service = inv.service
    mc_id = mc_id or str(service.config().get("mc_id") or "")
    scope = {"mc_id": mc_id} if mc_id else {}
    gc = inv.sql("active_meetings", limit=MISMATCH_LIMIT, **scope)
    live = service.actors("meeting", limit=MISMATCH_LIMIT)
    live_ids = set(live["actor_id"].astype("string"))
    frame = gc.assign(live_on_mc=gc["meeting_id"].astype("string").isin(live_ids).to_numpy())
    frame.attrs.update(mc_id=mc_id, live_actors=len(live_ids))
    return frame


def remediations(inv: Investigation, *, mc_id: str) -> list[Action]:
    """Option 3 (end ``mc_id``'s stale meetings in the GC) and Option 1 for ``meeting_id``.

    Option 2 (delete the MC pod) ends every meeting on it: it is left to a person.
    """
    from mcops.remediate import EndMeeting, EndStaleMeetings

    actions: list[Action] = []
    db = inv.database_for_actions()
    if db and mc_id:
        older_than = inv.thresholds.windows.stale_meeting
        actions.append(EndStaleMeetings(db, mc_id, older_than=older_than, reason=_REASON))
    admin, meeting_id = inv.admin_api(), str(inv.params.get("meeting_id") or "")
    if admin is not None and meeting_id:
        actions.append(EndMeeting(admin, meeting_id, database=db, reason=_REASON))
    return actions

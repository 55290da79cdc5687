"""Judges for runbook 004's Recovery Procedures: each step of a restart or drain a finding.

The procedures change things, so their findings say what a step found *and* whether the
procedure may go on: a service not serving after its restart is the outage itself
(critical); a drain that did not reach zero meetings in its time is a warning (wait, end
the meetings, or re-enable), not an incident. Every judge takes a frame the scenario
modules built (`mcops.scenarios.service_restart`, `graceful_drain`) and nothing else.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from mcops.findings import Finding, Level

__all__ = [
    "SERVING_COLUMNS",
    "controller_row",
    "drain_complete",
    "errors_after",
    "heartbeats_back",
    "meetings_impact",
    "ready_after",
    "rollout_complete",
    "serving_before",
    "status_is",
]

#: One row per pod, or per endpoint of a local service: is it serving?
SERVING_COLUMNS = ["target", "serving", "detail"]


def _serving(frame: pd.DataFrame) -> tuple[int, int]:
    total = len(frame)
    return int(frame["serving"].astype(bool).sum()) if total else 0, total


def serving_before(frame: pd.DataFrame, *, check: str = "restart_state_before") -> Finding:
    """Step 1 "Verify current state": what serves before anything is restarted."""
    up, total = _serving(frame)
    if total and up == total:
        return Finding.make(check, Level.OK, f"{up} of {total} serving before the restart")
    title = (
        f"{up} of {total} serving before the restart: this restart is a recovery attempt; "
        "service_outage says why it is down"
    )
    rows = frame[~frame["serving"].astype(bool)] if total else frame
    return Finding.make(check, Level.WARNING, title, rows=rows, count=total - up)


def meetings_impact(
    frame: pd.DataFrame, *, instances: int = 1, check: str = "restart_impact"
) -> Finding:
    """Step 2 "Check active meetings (will be affected)": ``frame`` has ``meetings_active``.

    A rolling restart of several pods is "zero-downtime if multiple pods" (step 3): the
    meetings move. A single instance drops them: that is said, as information.
    """
    meetings = int(pd.to_numeric(frame.get("meetings_active"), errors="coerce").fillna(0).sum())
    if meetings == 0:
        return Finding.make(check, Level.OK, "0 active meetings: nobody is affected")
    how = (
        f"{instances} instances restart one at a time (zero-downtime)"
        if instances > 1
        else "a single instance: they are disconnected and must reconnect"
    )
    return Finding.make(
        check,
        Level.INFO,
        f"{meetings} active meetings will be affected; {how}",
        rows=frame,
        count=meetings,
        affected_meetings=meetings,
    )


def rollout_complete(frame: pd.DataFrame, *, check: str = "rollout_complete") -> Finding:
    """Step 4 "Monitor rollout": ``kubectl rollout status`` until complete or the timeout.

    ``frame`` is one row: ``wanted``, ``updated``, ``ready``, ``complete`` (bool), ``waited_s``.
    """
    if frame.empty:
        return Finding.make(check, Level.CRITICAL, "no rollout status: the deployment is gone")
    row = frame.iloc[-1]
    wanted, ready = int(row["wanted"]), int(row["ready"])
    waited = float(row["waited_s"])
    if bool(row["complete"]):
        return Finding.make(
            check, Level.OK, f"rollout complete: {ready} of {wanted} ready after {waited:.0f}s"
        )
    level = Level.CRITICAL if ready == 0 else Level.WARNING
    title = (
        f"rollout not complete after {waited:.0f}s: {int(row['updated'])} of {wanted} updated, "
        f"{ready} ready — roll back (below)"
    )
    return Finding.make(check, level, title, rows=frame.tail(1))


def ready_after(frame: pd.DataFrame, *, check: str = "ready_after_restart") -> Finding:
    """Step 5 "Verify recovery": every pod / the service ready after the restart."""
    up, total = _serving(frame)
    if total and up == total:
        return Finding.make(check, Level.OK, f"ready after the restart: {up} of {total}")
    rows = frame[~frame["serving"].astype(bool)] if total else frame
    level = Level.CRITICAL if up == 0 else Level.WARNING
    title = f"not ready after the restart: {up} of {total} serving — roll back (below)"
    return Finding.make(check, level, title, rows=rows, count=total - up)


def errors_after(
    frame: pd.DataFrame, *, since: Any = None, check: str = "startup_errors"
) -> Finding:
    """Step 6 "Check logs for startup errors": ERROR (or worse) lines since the restart."""
    if frame.empty:
        return Finding.make(check, Level.OK, "no log lines since the restart")
    lines = frame
    if since is not None and "ts" in frame.columns:
        lines = frame[(pd.to_datetime(frame["ts"], utc=True) >= pd.Timestamp(since)).to_numpy()]
    levels = lines.get("level", pd.Series(dtype="str")).astype("string").str.upper()
    errors = lines[levels.isin(["ERROR", "FATAL", "PANIC"]).to_numpy()]
    if errors.empty:
        return Finding.make(check, Level.OK, f"no errors in {len(lines)} lines since the restart")
    first = str(errors.iloc[0].get("msg", ""))[:120]
    columns = [c for c in ("ts", "level", "msg") if c in errors.columns]
    return Finding.make(
        check,
        Level.WARNING,
        f"{len(errors)} error lines since the restart, first: {first}",
        rows=errors[columns],
    )


def heartbeats_back(frame: pd.DataFrame, *, check: str = "heartbeats_after_restart") -> Finding:
    """Heartbeats back (004 Scenario 6 "Verify recovery": recent heartbeat, 'active').

    ``frame`` is one row: ``registered`` (mc_gc_registered, 0/1), ``succeeded`` (successful
    heartbeats since the restart) and ``waited_s``.
    """
    row = frame.iloc[-1]
    registered, succeeded = float(row["registered"]), float(row["succeeded"])
    waited = float(row["waited_s"])
    if registered >= 1 and succeeded > 0:
        return Finding.make(
            check, Level.OK, f"registered, {succeeded:.0f} heartbeats within {waited:.0f}s"
        )
    if registered >= 1:
        return Finding.make(
            check, Level.WARNING, f"registered, but no heartbeat succeeded within {waited:.0f}s"
        )
    return Finding.make(
        check,
        Level.CRITICAL,
        f"not registered with the GC {waited:.0f}s after the restart: escalate to the "
        "Service Owner (004 Scenario 6)",
        rows=frame,
    )


# ---------------------------------------------------------------- graceful drain


def controller_row(frame: pd.DataFrame, *, mc_id: str, check: str) -> Finding:
    """The MC's meeting_controllers row before the drain: it must exist to be drained."""
    mine = frame[(frame["id"].astype("string") == mc_id).to_numpy()] if len(frame) else frame
    if mine.empty:
        known = ", ".join(sorted(frame["id"].astype(str))[:10]) if len(frame) else "none"
        return Finding.make(
            check,
            Level.WARNING,
            f"no meeting controller {mc_id!r} in meeting_controllers (known: {known}) — "
            "fix: pass -p mc_id=<its id>",
        )
    row = mine.iloc[0]
    return Finding.make(
        check,
        Level.OK,
        f"MC {mc_id} is {row['status']}, {row.get('current_sessions', '?')} sessions",
        rows=mine,
    )


def status_is(frame: pd.DataFrame, *, mc_id: str, status: str, check: str) -> Finding:
    """Read back after an UPDATE: the MC's row now has ``status``."""
    mine = frame[(frame["id"].astype("string") == mc_id).to_numpy()] if len(frame) else frame
    now = str(mine.iloc[0]["status"]) if len(mine) else "missing"
    if now == status:
        return Finding.make(check, Level.OK, f"MC {mc_id} is {status}", rows=mine)
    return Finding.make(
        check, Level.CRITICAL, f"MC {mc_id} is {now}, not {status}, after the update", rows=mine
    )


def drain_complete(frame: pd.DataFrame, *, check: str = "drain_complete") -> Finding:
    """Steps 2–3: active meetings over the wait; zero means "proceed with maintenance".

    ``frame`` has one row per poll: ``waited_s``, ``meetings_active``; ``attrs["timeout_s"]``.
    """
    if frame.empty:
        return Finding.make(check, Level.WARNING, "no reading of the active meetings")
    last = frame.iloc[-1]
    left, waited = int(last["meetings_active"]), float(last["waited_s"])
    first = int(frame.iloc[0]["meetings_active"])
    if left == 0:
        return Finding.make(
            check,
            Level.OK,
            f"drained: {first} → 0 active meetings in {waited:.0f}s; proceed with maintenance",
        )
    return Finding.make(
        check,
        Level.WARNING,
        f"{left} of {first} meetings still active after {waited:.0f}s: wait longer, end them "
        "(meeting_lifecycle), or re-enable the MC (reenable=True)",
        rows=frame.tail(1),
        count=left,
        affected_meetings=left,
    )

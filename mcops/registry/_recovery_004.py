"""The steps of runbook 004's Recovery Procedures (Service Restart, Graceful Drain).

A procedure's findings say whether each step worked, so their kinds are those of the
trouble a failed step leaves behind: nothing ready after a restart is the service down,
a rollout that never completes is pods failing, no heartbeat is a registration failure.
"""

from __future__ import annotations

from mcops.registry._spec import CheckSpec as _C

__all__ = ["CHECKS_RECOVERY"]

_RESTART = ("service_restart",)
_DRAIN = ("graceful_drain",)

CHECKS_RECOVERY: tuple[_C, ...] = (
    # ---- 004 Service Restart Procedure, steps 1-6 and "Rollback on failure"
    _C("restart_state_before", _RESTART, "verification", ("service_outage",), "State before"),
    _C("restart_impact", _RESTART, "verification", (), "Active meetings affected"),
    _C("rollout_complete", _RESTART, "pods", ("service_outage",), "Rollout status"),
    _C("ready_after_restart", _RESTART, "down", ("service_outage",), "Ready after the restart"),
    _C("startup_errors", _RESTART, "errors", ("service_outage",), "Startup errors in the logs"),
    _C(
        "heartbeats_after_restart",
        _RESTART,
        "registration",
        ("gc_integration",),
        "GC heartbeats after the restart",
    ),
    _C("rollback_path", _RESTART, "verification", ("service_outage",), "Rollback on failure"),
    # ---- 004 Graceful Drain Procedure, steps 1-4
    _C("drain_controller", _DRAIN, "verification", (), "The MC before the drain"),
    _C("drain_marked", _DRAIN, "verification", (), "Marked draining"),
    _C("drain_complete", _DRAIN, "verification", ("meeting_lifecycle",), "Meetings drained"),
    _C("drain_reenabled", _DRAIN, "verification", (), "Re-enabled after maintenance"),
)

"""The runbook steps later remediations wait for, as `Precondition`s.

Runbook 000 "Handling Epoch Conflicts" orders step 1 (the actor system is on) before
fixing the data (steps 2–3, and the unique index beyond the runbook): while
add_members still takes the legacy path, concurrent commits keep racing in new
duplicates and epochs, and a unique index would start failing live commits.

The notebook's step-1 check gives the evidence; these functions turn it into a
precondition, so the actions never depend on the notebook or on a source.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mcops.remediate.base import Precondition

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ACTOR_SYSTEM_STEP", "actor_system_enabled", "actor_system_from_signals"]

ACTOR_SYSTEM_STEP = "runbook 000 Handling Epoch Conflicts step 1 (verify ENABLE_ACTOR_SYSTEM=true)"
_FIX = (
    "set ENABLE_ACTOR_SYSTEM=true (and clear the actor_system_disabled fault), restart the "
    "server, check /admin/config says actor_system_enabled=true, then plan again"
)


def actor_system_enabled(enabled: bool | None, *, why: str = "") -> Precondition:
    """Step 1 as a precondition: True holds; False or None (unknown) blocks the data fixes."""
    if enabled is None and not why:
        why = "nobody read the server's setting"
    return Precondition(step=ACTOR_SYSTEM_STEP, holds=enabled, why=why, fix=_FIX)


def _config_rows(signals: pd.DataFrame) -> list[dict[str, Any]]:
    if not {"source", "signal", "enabled", "detail"} <= set(signals.columns):
        return []
    rows: list[dict[str, Any]] = signals.to_dict("records")
    return [r for r in rows if r["source"] == "config"]


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if getattr(getattr(value, "dtype", None), "kind", "") == "b":  # numpy.bool_
        return bool(value)
    return None


def actor_system_from_signals(signals: pd.DataFrame) -> Precondition:
    """Step 1 from `mcops.checks.epochs.read_signals`: the server's setting *now*.

    Only ``/admin/config`` says what the server does now; the logs say what it did in
    the window (legacy lines stay there after the setting is fixed), so without the
    config the step could not be verified and blocks. An empty frame (the check could
    not read either source) blocks the same way.
    """
    rows = _config_rows(signals)
    for row in rows:
        if row["signal"] == "actor_system_enabled":
            enabled = _as_bool(row["enabled"])
            if enabled is None:
                why = f"/admin/config does not say whether it is on ({row['detail']})"
                return actor_system_enabled(None, why=why)
            return actor_system_enabled(enabled, why=f"/admin/config: {row['detail']}")
    unread = [str(r["detail"]) for r in rows if r["signal"] == "unavailable" and r["detail"]]
    why = "/admin/config could not be read" + (f": {unread[0]}" if unread else "")
    return actor_system_enabled(None, why=why)

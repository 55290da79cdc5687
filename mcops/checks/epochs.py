"""Runbook 000 "Handling Epoch Conflicts": is the actor system on, who wrote the
duplicates, and did each remediation leave the database as the runbook expects.

Why here and not in `database`: these checks weigh more than one source (the admin
config and the logs) or judge a remediation's outcome, not a single runbook query.
Like every check they take frames or documents and return one Finding. `read_signals`
is the one exception to "frames in": it calls the two readers it is *given* (the
scenario passes them, `mcops.scenarios.epoch_conflicts.signals`), so a source that fails
becomes an ``unavailable`` row instead of a crash; it imports no source itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

from mcops.checks.verification import applied as _applied
from mcops.checks.verification import remediation_verified
from mcops.errors import SourceConfigError, SourceError
from mcops.findings import Finding, Level

__all__ = [
    "ACTOR_LINE",
    "LEGACY_LINE",
    "actor_system_enabled",
    "actor_system_signals",
    "duplicate_writers",
    "index_present",
    "read_signals",
    "remediation_verified",
]

#: The server's INFO lines (server/README.md "Logs"); the runbook greps for the first.
ACTOR_LINE = "Using actor system for add_members"
LEGACY_LINE = "Using legacy path for add_members"

SIGNAL_COLUMNS = ["source", "signal", "enabled", "lines", "last_seen", "detail"]


def _row(source: str, signal: str, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {"source": source, "signal": signal, "enabled": None}
    row.update({"lines": None, "last_seen": None, "detail": ""})
    row.update(values)
    return row


def _config_rows(config: Mapping[str, Any]) -> list[dict[str, Any]]:
    setting = config.get("enable_actor_system")
    effective = config.get("actor_system_enabled", setting)
    faults = config.get("faults") or {}
    detail = f"ENABLE_ACTOR_SYSTEM={str(setting).lower()}"
    if "actor_system_disabled" in faults:
        detail += "; fault actor_system_disabled is active"
    enabled = None if effective is None else bool(effective)
    return [_row("config", "actor_system_enabled", enabled=enabled, detail=detail)]


def _log_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    msgs = frame["msg"].astype("string") if "msg" in frame else pd.Series([], dtype="string")
    rows = []
    for line, enabled in ((ACTOR_LINE, True), (LEGACY_LINE, False)):
        hits = msgs.str.startswith(line, na=False)
        n = int(hits.sum())
        last = frame.loc[hits, "ts"].max() if n and "ts" in frame else None
        rows.append(_row("logs", line, enabled=enabled, lines=n, last_seen=last))
    return rows


def actor_system_signals(
    config: Mapping[str, Any] | None,
    log_frame: pd.DataFrame | None,
    *,
    unavailable: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """One row per piece of evidence: the admin config's flag, each add_members log line.

    ``config`` is ``GET /admin/config``; ``log_frame`` the window's logs (column
    ``msg``). None means that source was not available; it simply adds no row, unless
    ``unavailable`` names it with the reason (an ``unavailable`` row, shown, not judged).
    """
    rows = []
    if config is not None:
        rows += _config_rows(config)
    if log_frame is not None:
        rows += _log_rows(log_frame)
    frame = pd.DataFrame(rows, columns=SIGNAL_COLUMNS)
    missing = [_row(name, "unavailable", detail=why) for name, why in (unavailable or {}).items()]
    if missing:
        frame = pd.concat([frame, pd.DataFrame(missing, columns=SIGNAL_COLUMNS)], ignore_index=True)
    return frame


def read_signals(
    *,
    config: Callable[[], Mapping[str, Any]],
    logs: Callable[[], pd.DataFrame],
) -> pd.DataFrame:
    """Call both readers; one that fails adds an ``unavailable`` row, both failing raise.

    Step 1 of the runbook checks the environment *and* the logs; either is enough to
    answer, so only when neither can be read is the check "not checked".
    """
    got: dict[str, Any] = {}
    errors: dict[str, SourceError] = {}
    for name, fetch in (("config", config), ("logs", logs)):
        try:
            got[name] = fetch()
        except SourceError as err:
            errors[name] = err
    if len(errors) == 2:
        raise SourceConfigError(
            "neither /admin/config nor the logs could be read ("
            + "; ".join(f"{name}: {err}" for name, err in errors.items())
            + ")",
            source="service and logs",
            fix="pass service_url with admin_token, or log_source",
        )
    unavailable = {name: str(err) for name, err in errors.items()}
    return actor_system_signals(got.get("config"), got.get("logs"), unavailable=unavailable)


def actor_system_enabled(signals: pd.DataFrame) -> Finding:
    """Step 1: the actor system serialises epochs; off (config or legacy lines) is critical."""
    missing = [c for c in SIGNAL_COLUMNS if c not in signals.columns]
    if missing:
        raise ValueError(
            f"actor_system_enabled: the frame lacks columns {missing}; pass the result of "
            "mcops.checks.epochs.read_signals or actor_system_signals"
        )
    config = signals[(signals["source"] == "config") & signals["enabled"].notna()]
    logs = signals[(signals["source"] == "logs") & signals["lines"].notna()]
    legacy = int(logs.loc[logs["signal"] == LEGACY_LINE, "lines"].sum())
    actor = int(logs.loc[logs["signal"] == ACTOR_LINE, "lines"].sum())
    config_off = bool((config["enabled"] == False).any())  # noqa: E712 (object column)
    config_on = bool((config["enabled"] == True).any())  # noqa: E712
    evidence = []
    if not config.empty:
        evidence.append(f"/admin/config: {'; '.join(config['detail'])}")
    if not logs.empty:
        evidence.append(f"logs in the window: {actor} × '{ACTOR_LINE}', {legacy} × '{LEGACY_LINE}'")
    shown = signals[signals["signal"] != "unavailable"]
    if config_off or legacy:
        why = "the config says it is off" if config_off else "add_members took the legacy path"
        return Finding.make(
            "actor_system_enabled",
            Level.CRITICAL,
            f"The actor system is OFF: {why}",
            detail=(
                " · ".join(evidence) + ". Without the conversation actor, concurrent "
                "addMembers read the same epoch and write duplicate commits. Set "
                "ENABLE_ACTOR_SYSTEM=true (and clear the actor_system_disabled fault), "
                "restart, then fix the data (runbook 000 Handling Epoch Conflicts)."
            ),
            rows=shown,
            count=legacy or 1,
        )
    if config_on or actor:
        return Finding.make(
            "actor_system_enabled",
            Level.OK,
            "The actor system is on: add_members goes through the conversation actor",
            detail=" · ".join(evidence),
            rows=shown,
            count=0,
        )
    return Finding.make(
        "actor_system_enabled",
        Level.INFO,
        "Undetermined: no add_members log line in the window and no config to read",
        detail=" · ".join(evidence) or "no evidence either way",
        rows=shown,
        count=0,
    )


def duplicate_writers(frame: pd.DataFrame) -> Finding:
    """FM3 causes: duplicates from several server instances point at missing sticky sessions.

    ``frame`` is the named query ``duplicate_writers`` (convo_id, epoch, count,
    writers, server_ids).
    """
    needed = ("convo_id", "epoch", "count", "writers", "server_ids")
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise ValueError(
            f"duplicate_writers: the frame lacks columns {missing}; pass the result of the "
            "named query 'duplicate_writers' from mcops.sources"
        )
    if frame.empty:
        return Finding.make("duplicate_writers", Level.OK, "No duplicate commits to attribute")
    instances = sorted(
        {s for ids in frame["server_ids"].dropna() for s in str(ids).split(",") if s}
    )
    shared = frame[frame["writers"] > 1]
    names = ", ".join(instances[:5]) + (" …" if len(instances) > 5 else "")
    if not shared.empty:
        return Finding.make(
            "duplicate_writers",
            Level.WARNING,
            f"{len(shared)} duplicate epochs were written by several server instances "
            f"({len(instances)}: {names})",
            detail=(
                "Several instances committed to the same conversation: requests are not "
                "pinned to one instance (sticky sessions) or the actor system is off on "
                "more than one. Route a conversation to one instance, then fix the data."
            ),
            rows=frame,
        )
    return Finding.make(
        "duplicate_writers",
        Level.INFO,
        f"Every duplicate was written by a single instance ({names})",
        detail=(
            "Not a sticky-session problem: that instance itself let concurrent commits "
            "through — check that its actor system is enabled (step 1)."
        ),
        rows=frame,
    )


def index_present(indexes: pd.DataFrame, *, name: str, report: Any | None) -> Finding:
    """Remediation C: the UNIQUE commit-epoch index exists (named query ``indexes``)."""
    applied = _applied(report)
    found = indexes[indexes["index_name"] == name] if "index_name" in indexes else indexes[:0]
    if not found.empty:
        return Finding.make(
            "unique_epoch_index",
            Level.OK,
            f"Index {name} exists: duplicate commit epochs are now impossible",
            rows=found,
            count=0,
        )
    level = Level.CRITICAL if applied else Level.INFO
    title = (
        f"Verification failed: index {name} is missing after the apply"
        if applied
        else f"Plan only: index {name} does not exist yet"
    )
    return Finding.make("unique_epoch_index", level, title, count=1)

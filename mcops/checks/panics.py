"""Runbook 004 Scenario 2 (Actor Panics): how many, where, recurring, after a rollout?

The panic counter ``mc_actor_panics_total{actor_type}`` is read from Prometheus
(``increase`` over the window) or, without Prometheus, from the service's ``/metrics``
(the counter since the process started): `mcops.scenarios.actor_panics` reads it through
the metrics backend, which also counts the increases between scrapes (resets handled in
`mcops.sources.promcalc`). Here are the judges, pure functions of frames.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pandas as pd

from mcops.findings import Finding, Level

__all__ = [
    "COUNT_COLUMNS",
    "affected_pods",
    "counts_from_scrape",
    "counts_from_vector",
    "first_panic_at",
    "likely_cause",
    "panic_counts",
    "panic_recurrence",
    "panics_in_logs",
    "recent_rollout",
]

COUNT_COLUMNS = ["actor_type", "panics"]
_METRIC = "mc_actor_panics_total"
#: the runbook's ``grep "panic\\|PANIC"`` as words: "meeting_panic" (a fault's name) is not one
PANIC_WORDS = re.compile(r"\b(?:panic|panicked|panics|PANIC)\b", re.IGNORECASE)
#: runbook 004 Scenario 2 "Common Root Causes", as what the stack trace shows, in order
ROOT_CAUSES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("null pointer / unwrap", re.compile(r"unwrap|expect\(|NoneType|None\b", re.IGNORECASE)),
    (
        "invalid message format",
        re.compile(r"pars|deseriali|decode|JSONDecodeError|invalid (?:message|format)", re.I),
    ),
    ("invariant violation", re.compile(r"assert|invariant", re.IGNORECASE)),
    ("resource exhaustion", re.compile(r"MemoryError|out of memory|too many open files", re.I)),
    (
        "external dependency failure",
        re.compile(r"connect|timeout|timed out|HTTPError|status code|response", re.I),
    ),
)
# ---------------------------------------------------------------- steps 1-2: counts


def counts_from_scrape(frame: pd.DataFrame) -> pd.DataFrame:
    """Panic counters by actor type from one scrape (metrics frame) → ``COUNT_COLUMNS``."""
    if frame.empty or "metric" not in frame:
        return pd.DataFrame(columns=COUNT_COLUMNS)
    rows = frame[frame["metric"].astype("string") == _METRIC]
    if rows.empty:
        return pd.DataFrame(columns=COUNT_COLUMNS)
    kind = rows["actor_type"].astype("string") if "actor_type" in rows else "unknown"
    counts = (
        rows.assign(actor_type=kind)
        .groupby("actor_type", observed=True)["value"]
        .sum()
        .rename("panics")
        .reset_index()
    )
    return counts[COUNT_COLUMNS]


def counts_from_vector(frame: pd.DataFrame) -> pd.DataFrame:
    """Prometheus's ``increase`` vector by actor type → ``COUNT_COLUMNS`` (3 decimals)."""
    if frame.empty:
        return pd.DataFrame(columns=COUNT_COLUMNS)
    kind = frame["actor_type"].astype("string") if "actor_type" in frame else "all"
    counts = frame.assign(actor_type=kind, panics=frame["value"].round(3))
    return counts[COUNT_COLUMNS].reset_index(drop=True)


def panic_counts(counts: pd.DataFrame) -> Finding:
    """Any panic is critical (004: "Any actor panic is critical - page immediately")."""
    over = counts.attrs.get("over", "")
    if counts.empty:
        return Finding.make(
            "actor_panics",
            Level.OK,
            "No actor panic counter exported: no panics recorded",
            count=0,
        )
    hit = counts[counts["panics"] > 0].sort_values("panics", ascending=False)
    if hit.empty:
        return Finding.make("actor_panics", Level.OK, f"No actor panics {over}".strip(), count=0)
    # increase() extrapolates (4.04 for 4 panics): whole panics read better, at least 1
    total = max(1, round(float(hit["panics"].sum())))
    kinds = ", ".join(f"{r.actor_type} ({max(1, round(r.panics))})" for r in hit.itertuples())
    return Finding.make(
        "actor_panics",
        Level.CRITICAL,
        f"{_n(total, 'actor panic')}{f' {over}' if over else ''}: {kinds}",
        detail=(
            "Any actor panic is P1: page immediately and escalate to the MC Team. Find the "
            "stack trace (next step); roll back if it started after a deployment."
        ),
        rows=hit,
        count=len(hit),
    )


# ---------------------------------------------------------------- steps 3-4: logs


def _panic_mask(logs: pd.DataFrame) -> pd.Series:
    if logs.empty or "msg" not in logs:
        return pd.Series(False, index=logs.index)
    return logs["msg"].astype("string").str.contains(PANIC_WORDS, na=False)


def likely_cause(text: str) -> str:
    """The runbook's root-cause class that a panic's message and stack trace point to."""
    for cause, pattern in ROOT_CAUSES:
        if pattern.search(text or ""):
            return cause
    return "unknown: read the stack trace"


def panics_in_logs(logs: pd.DataFrame) -> Finding:
    """Steps 3–4: panic lines grouped by error, with meetings, stack trace and likely cause.

    A line is a panic when it says "panic"/"panicked" as a word (the runbook's grep), so
    a fault or request line that merely names ``meeting_panic`` does not count.
    """
    check = "panic_logs"
    panics = logs[_panic_mask(logs).to_numpy()] if not logs.empty else logs
    if panics.empty:
        return Finding.make(check, Level.OK, "No panic in the logs", count=0)
    text = panics["msg"].astype("string").fillna("")
    meeting = (
        panics["meeting_id"].astype("object")
        if "meeting_id" in panics
        else pd.Series(pd.NA, index=panics.index, dtype="object")
    )
    from_text = text.str.extract(r"for meeting (\S+)", expand=False).astype("object")
    meeting = meeting.where(meeting.notna() & (meeting != ""), from_text)
    trace = (
        panics["backtrace"].astype("string").fillna("")
        if "backtrace" in panics
        else pd.Series("", index=panics.index, dtype="string")
    )
    error = trace.str.strip().str.split("\n").str[-1].where(trace.str.strip() != "", text)
    kind = (
        panics["actor_type"].astype("string").fillna("unknown")
        if "actor_type" in panics
        else pd.Series("unknown", index=panics.index, dtype="string")
    )
    frame = pd.DataFrame(
        {
            "ts": pd.to_datetime(panics["ts"], utc=True),
            "actor_type": kind,
            "meeting_id": meeting,
            "error": error.fillna(""),
            "backtrace": trace,
        }
    )
    frame["likely_cause"] = [
        likely_cause(f"{e}\n{b}") for e, b in zip(frame["error"], trace, strict=True)
    ]
    grouped = (
        frame.groupby(["actor_type", "error", "likely_cause"], sort=False, dropna=False)
        .agg(
            panics=("ts", "size"),
            meetings=("meeting_id", lambda ids: ", ".join(sorted({str(i) for i in ids.dropna()}))),
            first_seen=("ts", "min"),
            last_seen=("ts", "max"),
            backtrace=("backtrace", "first"),
        )
        .sort_values("panics", ascending=False)
        .reset_index()
    )
    meetings = int(frame["meeting_id"].dropna().nunique())
    causes = ", ".join(dict.fromkeys(grouped["likely_cause"]))
    return Finding.make(
        check,
        Level.CRITICAL,
        f"{_n(len(frame), 'panic')} in the logs ({_n(len(grouped), 'distinct error')}), "
        f"{_n(meetings, 'meeting')} affected; likely cause: {causes}",
        detail="Each row: the error, the meetings it hit and its stack trace. Escalate to the "
        "MC Team with the trace; roll back if it began after a deployment.",
        rows=grouped,
        count=len(frame),
    )


# ---------------------------------------------------------------- step 5: recurring?


def panic_recurrence(
    increases: pd.DataFrame,
    *,
    until: datetime | pd.Timestamp | None = None,
    recent: timedelta = timedelta(minutes=5),
) -> Finding:
    """Recurring when the counter rose in the last ``recent`` (runbook: "watch" the counter).

    ``increases`` holds increases per interval (``timestamp``, ``value``); with scrapes
    only, the watch interval itself is the recent past.
    """
    check = "panic_recurrence"
    if increases.empty:
        return Finding.make(check, Level.OK, "The panic counter did not move", count=0)
    stamps = pd.to_datetime(increases["timestamp"], utc=True)
    end = pd.Timestamp(until) if until is not None else stamps.max()
    end = end.tz_localize("UTC") if end.tzinfo is None else end.tz_convert("UTC")
    moving = increases[(increases["value"] > 0).to_numpy()]
    if moving.empty:
        return Finding.make(check, Level.OK, "The panic counter did not move", count=0)
    last = pd.to_datetime(moving["timestamp"], utc=True).max()
    first = pd.to_datetime(moving["timestamp"], utc=True).min()
    rows = [{"first_increase": first, "last_increase": last}]
    if end - last <= recent:
        minutes = recent.total_seconds() / 60
        return Finding.make(
            check,
            Level.CRITICAL,
            f"Panics are recurring: the counter rose within the last {minutes:g} minutes",
            detail="A recurring panic in a critical actor: consider a rollback if it began "
            "after a deployment; otherwise restart the affected pod and keep watching.",
            rows=rows,
            count=1,
        )
    return Finding.make(
        check,
        Level.WARNING,
        f"Panics stopped: the counter last rose at {last:%H:%M:%S} UTC",
        detail="Isolated panic: restart the affected pod if it is still unhealthy.",
        rows=rows,
        count=1,
    )


def first_panic_at(*frames: pd.DataFrame) -> pd.Timestamp | None:
    """The earliest panic seen: a log frame's ``ts`` of panic lines, or an increases frame."""
    times: list[pd.Timestamp] = []
    for frame in frames:
        if frame.empty:
            continue
        if "msg" in frame and "ts" in frame:
            mask = _panic_mask(frame)
            stamps = pd.to_datetime(frame.loc[mask.to_numpy(), "ts"], utc=True)
        elif "timestamp" in frame and "value" in frame:
            stamps = pd.to_datetime(
                frame.loc[(frame["value"] > 0).to_numpy(), "timestamp"], utc=True
            )
        else:
            continue
        if len(stamps):
            times.append(stamps.min())
    return min(times) if times else None


# ---------------------------------------------------------------- rollouts


def recent_rollout(
    history: pd.DataFrame,
    *,
    first_panic: pd.Timestamp | None,
    window: timedelta,
) -> Finding:
    """A rollout (ReplicaSet created) within ``window`` before the first panic is the suspect."""
    check = "recent_rollout"
    if history.empty:
        return Finding.make(check, Level.OK, "No rollout history for this deployment", count=0)
    latest = history.sort_values("revision").iloc[-1]
    if first_panic is None:
        return Finding.make(
            check,
            Level.OK,
            f"Latest rollout: revision {latest['revision']} at {latest['created']:%Y-%m-%d %H:%M}"
            " UTC; no panic to compare it with",
            rows=history.tail(5),
            count=0,
        )
    created = pd.to_datetime(history["created"], utc=True)
    before = history[((created <= first_panic) & (created >= first_panic - window)).to_numpy()]
    if before.empty:
        return Finding.make(
            check,
            Level.OK,
            f"No rollout in the {window} before the first panic; rollback is unlikely to help",
            rows=history.tail(5),
            count=0,
        )
    suspect = before.sort_values("revision").iloc[-1]
    return Finding.make(
        check,
        Level.WARNING,
        f"Revision {suspect['revision']} rolled out at {suspect['created']:%H:%M:%S} UTC, "
        f"before the first panic at {first_panic:%H:%M:%S} UTC",
        detail="Panics began after this rollout: `kubectl rollout undo` (planned below) is "
        "the runbook's fix; inform the GC Team (it may affect registration).",
        rows=before,
        count=len(before),
    )


def affected_pods(logs: pd.DataFrame) -> list[str]:
    """Pods whose logs show a panic (``k8s:`` log sources carry a ``pod`` column)."""
    if logs.empty or "pod" not in logs or "msg" not in logs:
        return []
    mask = _panic_mask(logs)
    return sorted(str(p) for p in logs.loc[mask.to_numpy(), "pod"].dropna().unique())


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")

"""Log diagnostics: what `grep ERROR | sort | uniq -c` and the crash greps tell, per id.

Input is the frame of `mcops.sources.read_logs` (columns ``ts``, ``level``, ``msg`` and,
when known, ``convo_id``/``meeting_id`` or ids extracted from the text as
``conversation_ref``/``meeting_ref``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from mcops.checks.meetings import distinct_meetings
from mcops.findings import Finding, Level

__all__ = [
    "CrashLoopPolicy",
    "connection_errors",
    "crash_cadence",
    "crash_loop",
    "error_logs",
    "spawn_loop",
]

_VOLATILE = re.compile(
    "|".join(
        (
            r"(?<=conversation )\S+",  # the runbook's `conversation \K\S+`
            r"(?<=meeting )\S+",
            r"[0-9a-f]{8}-[0-9a-f-]{27,}",  # uuids
            r"\b(?:convo|meeting|mc|conn)-[\w-]+",
            r"\bdid:[\w:.-]+",
            r"\b\d+(?:\.\d+)?\b",
        )
    ),
    re.IGNORECASE,
)


def _column(frame: pd.DataFrame, *names: str) -> pd.Series:
    """The first of ``names`` present, filled from the later ones where missing."""
    result = pd.Series(pd.NA, index=frame.index, dtype="object")
    for name in names:
        if name in frame.columns:
            result = result.fillna(frame[name].astype("object").where(frame[name].notna()))
    return result


def _ids(frame: pd.DataFrame, kind: str) -> pd.Series:
    """Ids of ``kind`` ('conversation' or 'meeting'): the structured field, else the text.

    The text fallback is the runbook's ``grep -oP 'conversation \\K\\S+'``.
    """
    field = {"conversation": "convo_id", "meeting": "meeting_id"}[kind]
    ids = _column(frame, field, f"{kind}_ref")
    if "msg" in frame.columns and ids.isna().any():
        from_text = frame["msg"].astype("string").str.extract(rf"{kind} (\S+)", expand=False)
        ids = ids.fillna(from_text.astype("object").where(from_text.notna()))
    return ids


def _levels(frame: pd.DataFrame) -> pd.Series:
    return (
        frame["level"].astype("string").str.upper()
        if "level" in frame
        else pd.Series("", index=frame.index)
    )


def error_logs(frame: pd.DataFrame, *, top: int = 20) -> Finding:
    """Incident step 2 / daily review: ERROR lines grouped by message shape, worst first.

    Ids and numbers are masked so that 300 crashes of 300 conversations group as one
    pattern; the level is critical when crashes or panics are among them.
    """
    if frame.empty:
        return Finding.make("error_logs", Level.OK, "No log lines in the window")
    errors = frame[_levels(frame).isin(["ERROR", "FATAL", "CRITICAL"])]
    malformed = int(frame.attrs.get("malformed", 0))
    note = f" ({malformed} malformed lines kept as raw text)" if malformed else ""
    if errors.empty:
        return Finding.make(
            "error_logs", Level.OK, f"No ERROR lines in {len(frame)} log lines{note}"
        )
    pattern = errors["msg"].astype("string").fillna("").str.replace(_VOLATILE, "<id>", regex=True)
    grouped = (
        errors.assign(pattern=pattern)
        .groupby("pattern", sort=False)
        .agg(
            count=("msg", "size"),
            first_seen=("ts", "min"),
            last_seen=("ts", "max"),
            example=("msg", "first"),
        )
        .sort_values("count", ascending=False)
        .reset_index()
    )
    severe = grouped["pattern"].str.contains(r"Actor crashed|panicked|\bPANIC\b", regex=True)
    level = Level.CRITICAL if bool(severe.any()) else Level.WARNING
    return Finding.make(
        "error_logs",
        level,
        f"{len(errors)} ERROR lines in {len(grouped)} patterns{note}",
        detail="Most frequent first; investigate any pattern with more than 10 occurrences.",
        rows=grouped.head(top),
        count=len(grouped),
    )


@dataclass(frozen=True)
class CrashLoopPolicy:
    """When repeated crashes of one conversation are a loop (runbook 000 FM1).

    A loop: at least ``min_crashes`` in the window with a median gap under
    ``max_median_gap_s`` and the last crash within ``active_within_s`` of the end.
    """

    min_crashes: int = 5
    max_median_gap_s: float = 60.0
    active_within_s: float = 300.0


def crash_cadence(
    frame: pd.DataFrame,
    *,
    until: pd.Timestamp | None = None,
    policy: CrashLoopPolicy = CrashLoopPolicy(),
) -> pd.DataFrame:
    """Per conversation: crash count, first/last, median gap between crashes, class.

    The runbook's ``grep "Actor crashed" | grep -oP 'conversation \\K\\S+' | uniq -c``,
    plus the restart cadence that tells a loop from a bad afternoon.
    """
    columns = ["convo_id", "crashes", "first_crash", "last_crash", "median_gap_s", "pattern"]
    if frame.empty or "msg" not in frame:
        return pd.DataFrame(columns=columns)
    crashes = frame[frame["msg"].astype("string").str.contains("Actor crashed", na=False)]
    ids = _ids(crashes, "conversation")
    crashes = crashes.assign(convo_id=ids).dropna(subset=["convo_id"])
    if crashes.empty:
        return pd.DataFrame(columns=columns)
    end = until if until is not None else frame["ts"].max()  # the end of what was read
    rows = []
    for convo, group in crashes.sort_values("ts").groupby("convo_id", sort=False):
        times = group["ts"]
        gaps = times.diff().dropna().dt.total_seconds()
        median_gap = float(gaps.median()) if len(gaps) else float("nan")
        recent = (end - times.iloc[-1]).total_seconds() <= policy.active_within_s
        if len(times) >= policy.min_crashes and median_gap <= policy.max_median_gap_s and recent:
            pattern = "crash loop"
        elif len(times) >= 2:
            pattern = "recurring"
        else:
            pattern = "isolated"
        rows.append((convo, len(times), times.iloc[0], times.iloc[-1], median_gap, pattern))
    result = pd.DataFrame(rows, columns=columns)
    return result.sort_values("crashes", ascending=False, ignore_index=True)


def crash_loop(
    frame: pd.DataFrame,
    *,
    until: pd.Timestamp | None = None,
    policy: CrashLoopPolicy = CrashLoopPolicy(),
) -> Finding:
    """FM1: conversations whose actor crashes and respawns in a tight loop."""
    cadence = crash_cadence(frame, until=until, policy=policy)
    if cadence.empty:
        return Finding.make("crash_loop", Level.OK, "No actor crashes in the window")
    loops = cadence[cadence["pattern"] == "crash loop"]
    if not loops.empty:
        worst = loops.iloc[0]
        return Finding.make(
            "crash_loop",
            Level.CRITICAL,
            f"{len(loops)} conversations in a crash loop (worst: {worst['convo_id']}, "
            f"{worst['crashes']} crashes every {worst['median_gap_s']:.0f}s)",
            detail=(
                "Inspect each conversation's database state (missing row, epoch drift), "
                "fix it, then restart the server; escalate if crashes continue."
            ),
            rows=cadence,
        )
    return Finding.make(
        "crash_loop",
        Level.WARNING,
        f"{int(cadence['crashes'].sum())} actor crashes in {len(cadence)} conversations, no loop",
        detail="Crashes are spread out; watch for recurrence.",
        rows=cadence,
    )


def spawn_loop(frame: pd.DataFrame, *, max_spawns: int = 3) -> Finding:
    """FM1 detection: ``grep "Spawning new actor" | uniq -c | sort -rn``."""
    if frame.empty or "msg" not in frame:
        return Finding.make("spawn_loop", Level.OK, "No actor spawns in the window")
    spawns = frame[frame["msg"].astype("string").str.contains("Spawning new actor", na=False)]
    ids = _ids(spawns, "conversation")
    counts = (
        spawns.assign(convo_id=ids)
        .dropna(subset=["convo_id"])
        .groupby("convo_id")
        .size()
        .rename("spawns")
        .sort_values(ascending=False)
        .reset_index()
    )
    looping = counts[counts["spawns"] > max_spawns]
    if looping.empty:
        return Finding.make(
            "spawn_loop",
            Level.OK,
            f"{int(counts['spawns'].sum()) if len(counts) else 0} spawns, none repeated more "
            f"than {max_spawns} times",
        )
    return Finding.make(
        "spawn_loop",
        Level.CRITICAL,
        f"{len(looping)} conversations respawned more than {max_spawns} times",
        detail="An actor that keeps being spawned is crashing on start or on every message.",
        rows=looping,
    )


def connection_errors(frame: pd.DataFrame) -> Finding:
    """004 Scenario 3 step 4: connection / disconnect / webtransport errors."""
    if frame.empty or "msg" not in frame:
        return Finding.make("connection_errors", Level.OK, "No log lines in the window")
    text = frame["msg"].astype("string")
    mask = text.str.contains(r"(?i)connection|disconnect|webtransport", regex=True, na=False)
    errors = frame[mask & _levels(frame).isin(["ERROR", "WARN", "WARNING"])]
    if errors.empty:
        return Finding.make("connection_errors", Level.OK, "No connection errors in the logs")
    cols = [c for c in ("ts", "level", "meeting_id", "msg") if c in errors]
    return Finding.make(
        "connection_errors",
        Level.WARNING,
        f"{len(errors)} connection errors in the logs",
        detail="Look for TLS or network-policy problems if connections fail to establish.",
        rows=errors[cols],
        affected_meetings=distinct_meetings(errors),
    )

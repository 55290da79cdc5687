"""Runbook 000 "Tracing Message Flow": did one request pass every step of the trace?

The runbook's expected trace (for add_members; any ``[operation]`` has the same shape):

    TRACE [add_members] START - convo: test-convo
    DEBUG Spawning new actor for conversation test-convo
    DEBUG ConversationActor test-convo starting at epoch 5
    TRACE Sending AddMembers message to actor
    TRACE Actor processing AddMembers
    DEBUG Adding 1 members to conversation test-convo
    DEBUG Members added, new epoch: 6 for conversation test-convo
    TRACE [add_members] COMPLETE - new_epoch: 6

Four steps: START; the actor spawned or started (absent when it was already running,
which is no fault); the actor processing the message ("Actor processing X", or "Actor
processed X" as our lab server writes it, or the handler's own lines); COMPLETE.
"""

from __future__ import annotations

import re

import pandas as pd

from mcops.findings import Finding, Level

__all__ = ["STEPS", "UNNAMED_STEP", "request_trace"]

_CHECK = "request_trace"

#: step -> what a line of that step says
STEPS: dict[str, re.Pattern[str]] = {
    "start": re.compile(r"\[\w+\] START\b"),
    "actor": re.compile(r"Spawning new actor for |ConversationActor \S+ starting at epoch"),
    "processing": re.compile(
        r"Sending \w+ message to actor|Actor process(?:ing|ed) \w+|Adding \d+ members to "
        r"|Members added, new epoch"
    ),
    "complete": re.compile(r"\[\w+\] COMPLETE\b"),
}

#: the runbook's trace lines that carry no id (placed by time, `mcops.scenarios.trace`)
UNNAMED_STEP = re.compile(
    r"\[\w+\] (?:START|COMPLETE)\b|Sending \w+ message to actor|Actor process(?:ing|ed) \w+"
)

_FIX = "enable trace logging (RUST_LOG=trace, LOG_LEVEL=trace for the lab server), re-send"


def _hits(frame: pd.DataFrame, step: str) -> list[int]:
    return [
        int(i) for i in frame.index[frame["msg"].fillna("").astype(str).str.contains(STEPS[step])]
    ]


def request_trace(frame: pd.DataFrame, *, request_id: str = "") -> Finding:
    """The latest request in ``frame`` (from its last START line on). ok: processing and
    COMPLETE follow START; warning: one is missing (the request stopped: the steps seen
    are named); info: no START line (trace logging off) or no line at all."""
    who = request_id or "the request"
    if frame.empty:
        return Finding.make(
            _CHECK,
            Level.INFO,
            f"no log line mentions {who} in the window",
            detail=f"Widen the window, or {_FIX} the request.",
        )
    frame = frame.reset_index(drop=True)
    starts = _hits(frame, "start")
    rows = frame.assign(step=[_step_of(m) for m in frame["msg"].fillna("").astype(str)])
    if not starts:
        return Finding.make(
            _CHECK,
            Level.INFO,
            f"{len(frame)} lines mention {who} but none is a [operation] START line",
            detail=f"Trace logging is off: {_FIX} the request.",
            rows=rows,
            count=0,
        )
    # the latest request (several may name one conversation): its steps come after START
    start = starts[-1]
    rows = rows.iloc[start:]
    found = {step: next((i for i in _hits(frame, step) if i >= start), None) for step in STEPS}
    found["start"] = start
    seen = " → ".join(s for s in STEPS if found[s] is not None)
    if found["processing"] is not None and found["complete"] is not None:
        actor = "" if found["actor"] is not None else " (actor already running: no spawn)"
        return Finding.make(
            _CHECK, Level.OK, f"{who} traced end to end: {seen}{actor}", rows=rows, count=0
        )
    missing = [s for s in ("processing", "complete") if found[s] is None]
    return Finding.make(
        _CHECK,
        Level.WARNING,
        f"{who} did not complete: seen {seen}; missing {', '.join(missing)}",
        detail=(
            "The request stopped after its last step shown: a crashed or stuck actor, "
            "or a full mailbox. Follow crash_loop and mailbox_backlog."
        ),
        rows=rows,
    )


def _step_of(msg: str) -> str:
    return next((step for step, pattern in STEPS.items() if pattern.search(msg)), "")

"""Runbook 000 "Tracing Message Flow" → "Follow a request": one request's log lines.

The runbook greps the logs for the conversation (or request) id. Its own expected trace
logs three steps without the id ("Sending AddMembers message to actor", "Actor processing
AddMembers", "[add_members] COMPLETE - new_epoch: 6"), so those lines, when they carry no
id of their own, are placed by time: between the id's first line and a few seconds after
its last (``by="time"``; on a busy server they may belong to a neighbouring request).
`mcops.checks.trace.request_trace` judges the frame.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING

import pandas as pd

from mcops.checks.trace import UNNAMED_STEP
from mcops.errors import SourceConfigError

if TYPE_CHECKING:
    from mcops.investigation import Investigation

__all__ = ["GRACE", "request_lines", "trace"]

#: how long after the id's last line an id-less COMPLETE still counts as its end
GRACE = timedelta(seconds=5)

_ID_COLUMNS = ("convo_id", "conversation_ref")


def _text(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        return pd.Series("", index=frame.index, dtype="str")
    return frame[column].fillna("").astype("str")


def request_lines(logs: pd.DataFrame, request_id: str) -> pd.DataFrame:
    """Every line that names ``request_id`` (field or text), in time order, plus the
    id-less trace steps in its time span (see the module docstring). Column ``by``
    says which: ``id`` or ``time``."""
    named_in_text = re.compile(rf"(?<![\w-]){re.escape(request_id)}(?![\w-])")
    fields = pd.concat([_text(logs, c) == request_id for c in _ID_COLUMNS], axis=1).any(axis=1)
    text = _text(logs, "msg").str.contains(named_in_text) | _text(logs, "raw").str.contains(
        named_in_text
    )
    by_id = fields | text
    columns = ["ts", "level", "target", "msg", "by"]
    if not by_id.any():
        return pd.DataFrame(columns=columns)
    first, last = logs.loc[by_id, "ts"].min(), logs.loc[by_id, "ts"].max()
    no_id = pd.concat([_text(logs, c) == "" for c in _ID_COLUMNS], axis=1).all(axis=1)
    step = _text(logs, "msg").str.contains(UNNAMED_STEP)
    in_span = (logs["ts"] >= first) & (logs["ts"] <= last + GRACE)
    by_time = ~by_id & no_id & step & in_span
    out = logs.loc[by_id | by_time].assign(
        by=["id" if b else "time" for b in by_id[by_id | by_time]]
    )
    return out.sort_values("ts", kind="stable").reset_index(drop=True)[columns]


def trace(inv: Investigation) -> pd.DataFrame:
    """The ``convo_id`` request's lines from ``log_source`` over the window."""
    request_id = str(inv.params.get("convo_id") or "")
    if not request_id:
        raise SourceConfigError(
            "convo_id is empty: no request to follow",
            source="convo_id",
            fix="pass -p convo_id=ID (the conversation or request id the runbook greps for)",
        )
    return request_lines(inv.logs(), request_id)

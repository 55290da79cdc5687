"""Moments every time axis should show: faults injected and cleared, restarts, changes.

An on-call engineer reading a latency curve asks first "what happened at that step?".
The answer is often in the logs (a fault injected, the service restarted) or in the
audit (a remediation applied); these marks put it on the plot as a dashed line with a
label. Log patterns are data (`LOG_MARKS`): the lines our server writes; the runbooks
quote no startup or fault line, so a service of your own adds its own here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from mcops.remediate.audit import AuditLog

__all__ = [
    "MARK_COLUMNS",
    "current_marks",
    "draw_marks",
    "investigation_marks",
    "marks_from_audit",
    "marks_from_logs",
    "use_marks",
]

MARK_COLUMNS = ["ts", "kind", "label"]

#: (kind, pattern on the log message, label template from the pattern's groups)
LOG_MARKS: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("fault", re.compile(r"^Fault injected: (?P<what>\S+)"), "fault {what}"),
    ("fault cleared", re.compile(r"^Fault cleared: (?P<what>\S+)"), "{what} cleared"),
    ("restart", re.compile(r"^Server started\b"), "restart"),
)

_COLOURS = {
    "fault": "#c0392b",
    "fault cleared": "#27ae60",
    "restart": "#2c3e50",
    "remediation": "#8e44ad",
}
#: More marks than this on one plot are noise: the latest are kept.
MAX_MARKS = 12

_provider: Callable[[], pd.DataFrame] | None = None


def marks_from_logs(frame: pd.DataFrame) -> pd.DataFrame:
    """The mark-worthy log lines (``ts``, ``msg`` columns) as marks, oldest first."""
    if frame.empty or not {"ts", "msg"} <= set(frame.columns):
        return _empty()
    rows = []
    messages = frame["msg"].astype("string").fillna("")
    for ts, msg in zip(frame["ts"], messages, strict=True):
        for kind, pattern, template in LOG_MARKS:
            if match := pattern.search(msg):
                rows.append({"ts": ts, "kind": kind, "label": template.format(**match.groupdict())})
                break
    return _frame(rows)


def marks_from_audit(records: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Remediations that changed something: the audit's ``ok`` outcomes of an apply or an
    undo (`mcops.remediate.audit.AuditRecord`); intents, refusals and failures are not."""
    rows = [
        {
            "ts": record.get("when"),
            "kind": "remediation",
            "label": str(record.get("action")) + (" undone" if record["mode"] == "undo" else ""),
        }
        for record in records
        if record.get("result") == "ok" and record.get("mode") in ("apply", "undo")
    ]
    return _frame(rows)


def investigation_marks(inv: Any) -> pd.DataFrame:
    """An investigation's marks: its log lines (when ``log_source`` is given) and the
    audit log its remediations write to."""
    parts = [marks_from_audit(AuditLog().outcomes())]
    if inv.params.get("log_source"):
        parts.append(marks_from_logs(inv.logs()))
    return _frame([row for part in parts for row in part.to_dict("records")])


def draw_marks(fig: go.Figure, marks: pd.DataFrame | None) -> None:
    """A dashed vertical line per mark, labelled at the top, coloured by kind."""
    if marks is None or marks.empty:
        return
    for mark in marks.sort_values("ts").tail(MAX_MARKS).itertuples(index=False):
        colour = _COLOURS.get(mark.kind, "#7f8c8d")
        fig.add_vline(x=mark.ts, line={"color": colour, "dash": "dash", "width": 1})
        fig.add_annotation(
            x=mark.ts,
            y=1,
            yref="paper",
            text=mark.label,
            showarrow=False,
            textangle=-90,
            xanchor="right",
            yanchor="top",
            font={"size": 10, "color": colour},
        )


def use_marks(provider: Callable[[], pd.DataFrame] | None) -> None:
    """Where plots of this kernel find their marks (an investigation sets it at start)."""
    global _provider
    _provider = provider


def current_marks() -> pd.DataFrame:
    """The marks of the running investigation; none when there is none or it fails."""
    if _provider is None:
        return _empty()
    try:
        return _provider()
    except Exception:
        return _empty()


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=MARK_COLUMNS)
    if frame.empty:
        return _empty()
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True, errors="coerce")
    return frame.dropna(subset=["ts"]).sort_values("ts", kind="stable").reset_index(drop=True)


def _empty() -> pd.DataFrame:
    return pd.DataFrame({"ts": pd.Series(dtype="datetime64[ns, UTC]"), "kind": [], "label": []})

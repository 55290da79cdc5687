"""How evidence looks: mime bundles for findings, sources, severity and the summary.

Each bundle carries a machine-readable ``application/vnd.mcops.*+json`` part (the runner
reads it back from the executed notebook), ``text/html`` for JupyterLab and the HTML
export, and ``text/plain`` for terminals and anything else.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from mcops.findings import DATA_ROW_CAP
from mcops.jsonable import to_jsonable

__all__ = [
    "FINDING_MIME",
    "LEVEL_COLOURS",
    "PLOTLY_MIME",
    "REMEDIATION_MIME",
    "SEVERITY_MIME",
    "SOURCE_MIME",
    "SUMMARY_MIME",
    "finding_bundle",
    "findings_table_html",
    "findings_table_text",
    "frame_table_html",
    "human_text",
    "record_bundle",
    "rows_shown",
    "rows_table_html",
    "severity_bundle",
    "severity_html",
    "severity_lines",
    "summary_bundle",
    "summary_html",
    "summary_text",
]

FINDING_MIME = "application/vnd.mcops.finding+json"
SOURCE_MIME = "application/vnd.mcops.source+json"
SEVERITY_MIME = "application/vnd.mcops.severity+json"
REMEDIATION_MIME = "application/vnd.mcops.remediation+json"
SUMMARY_MIME = "application/vnd.mcops.summary+json"
#: plotly's own mimetype: the figure as JSON, drawn by JupyterLab and by `mcops.export`.
PLOTLY_MIME = "application/vnd.plotly.v1+json"

#: Background colours per level; readable in light and dark themes.
LEVEL_COLOURS = {
    "ok": "#d4edda",
    "info": "#dde7f3",
    "warning": "#fff3cd",
    "critical": "#f8d7da",
}
_DATA_ROWS_SHOWN = 10
_FRAME_ROWS_SHOWN = 20


def _esc(value: Any) -> str:
    return html.escape(str(value))


def _level_cell(level: str) -> str:
    colour = LEVEL_COLOURS.get(level, "#eeeeee")
    return (
        f'<td class="mcops-level mcops-{_esc(level)}" style="background:{colour};'
        f'font-weight:bold">{_esc(level.upper())}</td>'
    )


def rows_table_html(
    rows: Sequence[Mapping[str, Any]],
    *,
    total: int | None = None,
    limit: int = _DATA_ROWS_SHOWN,
    empty: str = "",
) -> str:
    """Rows as an HTML table: the first ``limit`` of them, every cell escaped, numbers
    rounded for people, and always "N of M rows" under it, so a cut table says so.

    ``total`` is how many rows there are when ``rows`` is already a capped sample (a
    finding keeps 50 of its rows); ``empty`` is the sentence shown for no rows.
    """
    if not rows:
        return f"<p><i>{_esc(empty)}</i></p>" if empty else ""
    shown = rows[:limit]
    columns = list(dict.fromkeys(str(key) for row in shown for key in row))
    head = "".join(f"<th>{_esc(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_esc(_cell(row.get(c)))}</td>" for c in columns) + "</tr>"
        for row in shown
    )
    return (
        f'<table class="mcops-data"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table>"
        f'<div class="mcops-rows-shown">{rows_shown(len(shown), max(len(rows), total or 0))}</div>'
    )


def rows_shown(shown: int, total: int) -> str:
    """``10 of 61 rows``, ``1 of 1 row``: what a table shows against what there is."""
    return f"{shown} of {total} row{'' if total == 1 else 's'}"


def frame_table_html(frame: Any, *, limit: int = _FRAME_ROWS_SHOWN) -> str:
    """A DataFrame as the same table (its index kept when it means something).

    Registered for notebooks by `mcops.notebook.setup`, so every table in the evidence
    says "N of M rows". Only the shown rows are converted: a million log lines cost
    nothing more than ten.
    """
    head = frame.head(limit)
    if not _plain_index(head):
        head = head.reset_index()
    rows = head.to_dict(orient="records")
    if not rows:
        columns = ", ".join(str(c) for c in frame.columns)
        return (
            f'<div class="mcops-rows-shown">0 rows{f" ({_esc(columns)})" if columns else ""}</div>'
        )
    return rows_table_html(rows, total=len(frame), limit=limit)


def _plain_index(frame: Any) -> bool:
    index = frame.index
    return (
        index.name is None
        and getattr(index, "nlevels", 1) == 1
        and list(index) == list(range(len(index)))
    )


def _cell(value: Any) -> str:
    """A cell as people read it: no ``nan``/``None``, ``0.904`` not ``0.9042486090583017``."""
    plain = to_jsonable(value, default=str)
    if plain is None:
        return ""
    if isinstance(plain, bool):
        return str(plain).lower()
    if isinstance(plain, float):
        return _number(plain)
    if isinstance(plain, dict | list):
        return json.dumps(plain, ensure_ascii=False)
    return str(plain)


def _number(value: float) -> str:
    if not math.isfinite(value):
        return str(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if abs(value) < 1:
        return f"{value:.3g}"
    if abs(value) < 1000:
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return f"{value:.0f}"


def findings_table_html(findings: Sequence[Mapping[str, Any]], *, fold_rows: bool = False) -> str:
    """Findings (summary.json dicts) as one table, a colour per level.

    ``fold_rows`` puts each finding's rows behind a "10 of 13 rows" line (the report's
    overview, where the steps below show them unfolded).
    """
    rows = "".join(
        f"<tr>{_level_cell(f['level'])}<td><code>{_esc(f['check'])}</code></td>"
        f"<td><b>{_esc(human_text(f['title']))}</b>"
        f"<div>{_esc(human_text(f.get('detail', '')))}</div>"
        f"{_finding_rows(f, fold=fold_rows)}</td></tr>"
        for f in findings
    )
    return (
        '<table class="mcops-findings"><tr><th>level</th><th>check</th><th>finding</th></tr>'
        f"{rows}</table>"
    )


def _finding_rows(finding: Mapping[str, Any], *, fold: bool) -> str:
    data = finding.get("data") or []
    table = rows_table_html(data, total=_data_total(finding))
    if not fold or not data:
        return table
    shown = rows_shown(min(len(data), _DATA_ROWS_SHOWN), _data_total(finding))
    return f'<details class="mcops-rows"><summary>{shown}</summary>{table}</details>'


def _data_total(finding: Mapping[str, Any]) -> int:
    """How many rows a finding's ``data`` stands for. ``count`` counts what the check
    found (error lines, meetings), not always rows; it is the rows' total only when the
    finding kept just the first DATA_ROW_CAP of them."""
    data = finding.get("data") or []
    count = int(finding.get("count") or 0)
    return count if len(data) >= DATA_ROW_CAP and count > len(data) else len(data)


_LONG_DECIMAL = re.compile(r"(?<![\w.:])(\d+\.\d{4,})(?![\w.])")


def human_text(text: Any) -> str:
    """Free text with long decimals rounded (``p95 0.9042486090583017 s`` → ``0.904``)."""
    return _LONG_DECIMAL.sub(lambda m: _number(float(m.group(1))), str(text))


def findings_table_text(findings: Sequence[Mapping[str, Any]]) -> str:
    """Findings as aligned plain text lines: LEVEL  check  title."""
    if not findings:
        return "(no findings)"
    width = max(len(f["check"]) for f in findings)
    return "\n".join(
        f"{f['level'].upper():<8} {f['check']:<{width}}  {f['title']}" for f in findings
    )


def finding_bundle(finding: Mapping[str, Any]) -> dict[str, Any]:
    """One finding: coloured table row, plain text, and its summary.json dict."""
    text = findings_table_text([finding])
    if finding.get("detail"):
        text += f"\n         {finding['detail']}"
    return {
        FINDING_MIME: dict(finding),
        "text/html": findings_table_html([finding]),
        "text/plain": text,
    }


def record_bundle(mimetype: str, record: Mapping[str, Any], text: str) -> dict[str, Any]:
    """A small record (source state, severity, remediation) shown as one line."""
    return {
        mimetype: dict(record),
        "text/html": f'<div class="mcops-record">{_esc(text)}</div>',
        "text/plain": text,
    }


def severity_lines(severity: Mapping[str, Any]) -> list[str]:
    """The verdict as an on-call engineer reads it: level and why, how fast, whom, next."""
    reason = human_text(severity.get("reason", ""))
    lines = [f"{severity.get('level')} ({severity.get('scheme')}): {reason}"]
    respond = severity.get("response_time")
    lines.append(
        f"Respond within {respond}."
        if respond
        else "Response time: runbook 000 sets none; act on the level."
    )
    if severity.get("escalation"):
        lines.append(f"Escalation: {human_text(severity['escalation'])}")
    if severity.get("notify"):
        lines.append(f"Notify: {', '.join(severity['notify'])}")
    if severity.get("quick_fixes"):
        lines.append(f"Quick fixes (runbook 000): {'; '.join(severity['quick_fixes'])}")
    if severity.get("next_scenarios"):
        lines.append(f"Next: {', '.join(severity['next_scenarios'])}")
    return lines


def severity_html(severity: Mapping[str, Any], *, css_class: str = "mcops-severity") -> str:
    """The verdict's lines, the level in bold, a bar in the level's colour."""
    first, *rest = severity_lines(severity)
    body = "".join(f"<div>{_esc(line)}</div>" for line in rest)
    return (
        f'<div class="{css_class}" style="border-left:6px solid '
        f'{LEVEL_COLOURS[severity_colour(str(severity.get("level", "")))]};padding:4px 8px">'
        f"<b>{_esc(first)}</b>{body}</div>"
    )


def severity_colour(level: str) -> str:
    """The findings level whose colour a severity level wears (SEV1/P1 critical ...)."""
    rank = level[-1:]
    return {"1": "critical", "2": "critical", "3": "warning"}.get(rank, "info")


def severity_bundle(severity: Mapping[str, Any]) -> dict[str, Any]:
    """The verdict: level, reason, response time, escalation and next scenarios."""
    return {
        SEVERITY_MIME: dict(severity),
        "text/html": severity_html(severity),
        "text/plain": "severity " + "\n".join(severity_lines(severity)),
    }


def summary_html(summary: Mapping[str, Any]) -> str:
    """The whole run at a glance: status, severity, sources, findings, remediations."""
    severity = summary.get("severity") or {}
    parts = [
        f"<h3>mcops summary: {_esc(summary.get('scenario', ''))} — "
        f"status {_esc(summary.get('status', ''))}</h3>"
    ]
    if severity:
        first, *rest = severity_lines(severity)
        parts.append(
            f"<p><b>{_esc(first)}</b></p>" + "".join(f"<div>{_esc(line)}</div>" for line in rest)
        )
    error = summary.get("error")
    if error:
        parts.append(f'<p style="color:#a00"><b>error:</b> {_esc(error.get("message", ""))}</p>')
    sources = summary.get("sources") or {}
    if sources:
        items = "".join(
            f"<li><code>{_esc(name)}</code>: {_esc(state.get('state', ''))} "
            f"{_esc(state.get('detail', ''))}</li>"
            for name, state in sources.items()
        )
        parts.append(f"<p>sources:</p><ul>{items}</ul>")
    parts.append(findings_table_html(summary.get("findings", [])))
    remediations = summary.get("remediations") or []
    if remediations:
        items = "".join(
            f"<li><code>{_esc(r.get('action', ''))}</code> {_esc(r.get('mode', ''))}: "
            f"{_esc(r.get('changes', ''))} change(s)</li>"
            for r in remediations
        )
        parts.append(f"<p>remediations:</p><ul>{items}</ul>")
    return f'<div class="mcops-summary">{"".join(parts)}</div>'


def summary_text(summary: Mapping[str, Any]) -> str:
    """Plain-text summary: the fallback every viewer can show."""
    lines = [f"mcops summary: {summary.get('scenario', '')} — status {summary.get('status', '')}"]
    severity = summary.get("severity") or {}
    if severity:
        first, *rest = severity_lines(severity)
        lines += [f"severity {first}", *rest]
    if summary.get("error"):
        lines.append(f"error: {summary['error'].get('message', '')}")
    for name, state in (summary.get("sources") or {}).items():
        lines.append(f"source {name}: {state.get('state', '')} {state.get('detail', '')}".rstrip())
    lines.append(findings_table_text(summary.get("findings", [])))
    return "\n".join(lines)


def summary_bundle(summary: Mapping[str, Any]) -> dict[str, Any]:
    """The final output of a scenario notebook; the runner writes its JSON to summary.json."""
    return {
        SUMMARY_MIME: to_jsonable(summary, default=str),
        "text/html": summary_html(summary),
        "text/plain": summary_text(summary),
    }

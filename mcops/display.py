"""How evidence looks: mime bundles for findings, sources, severity and the summary.

Each bundle carries a machine-readable ``application/vnd.mcops.*+json`` part (the runner
reads it back from the executed notebook), ``text/html`` for JupyterLab and the HTML
export, and ``text/plain`` for terminals and anything else.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "FINDING_MIME",
    "LEVEL_COLOURS",
    "REMEDIATION_MIME",
    "SEVERITY_MIME",
    "SOURCE_MIME",
    "SUMMARY_MIME",
    "finding_bundle",
    "findings_table_html",
    "findings_table_text",
    "record_bundle",
    "severity_bundle",
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

#: Background colours per level; readable in light and dark themes.
LEVEL_COLOURS = {
    "ok": "#d4edda",
    "info": "#dde7f3",
    "warning": "#fff3cd",
    "critical": "#f8d7da",
}
_DATA_ROWS_SHOWN = 10


def _esc(value: Any) -> str:
    return html.escape(str(value))


def _level_cell(level: str) -> str:
    colour = LEVEL_COLOURS.get(level, "#eeeeee")
    return (
        f'<td class="mcops-level mcops-{_esc(level)}" style="background:{colour};'
        f'font-weight:bold">{_esc(level.upper())}</td>'
    )


def _rows_html(rows: Sequence[Mapping[str, Any]], count: int) -> str:
    if not rows:
        return ""
    columns = list(dict.fromkeys(key for row in rows for key in row))
    head = "".join(f"<th>{_esc(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_esc(row.get(c, ''))}</td>" for c in columns) + "</tr>"
        for row in rows[:_DATA_ROWS_SHOWN]
    )
    more = f"<div>… {count - _DATA_ROWS_SHOWN} more</div>" if count > _DATA_ROWS_SHOWN else ""
    return f'<table class="mcops-data"><tr>{head}</tr>{body}</table>{more}'


def findings_table_html(findings: Sequence[Mapping[str, Any]]) -> str:
    """Findings (summary.json dicts) as one table, a colour per level."""
    rows = "".join(
        f"<tr>{_level_cell(f['level'])}<td><code>{_esc(f['check'])}</code></td>"
        f"<td><b>{_esc(f['title'])}</b><div>{_esc(f.get('detail', ''))}</div>"
        f"{_rows_html(f.get('data', []), int(f.get('count', 0)))}</td></tr>"
        for f in findings
    )
    return (
        '<table class="mcops-findings"><tr><th>level</th><th>check</th><th>finding</th></tr>'
        f"{rows}</table>"
    )


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
    lines = [f"{severity.get('level')} ({severity.get('scheme')}): {severity.get('reason', '')}"]
    respond = severity.get("response_time")
    lines.append(
        f"Respond within {respond}."
        if respond
        else "Response time: runbook 000 sets none; act on the level."
    )
    if severity.get("escalation"):
        lines.append(f"Escalation: {severity['escalation']}")
    if severity.get("notify"):
        lines.append(f"Notify: {', '.join(severity['notify'])}")
    if severity.get("next_scenarios"):
        lines.append(f"Next: {', '.join(severity['next_scenarios'])}")
    return lines


def severity_bundle(severity: Mapping[str, Any]) -> dict[str, Any]:
    """The verdict: level, reason, response time, escalation and next scenarios."""
    lines = severity_lines(severity)
    level = str(severity.get("level", ""))
    colour = LEVEL_COLOURS["critical" if level in ("SEV1", "SEV2", "P1", "P2") else "warning"]
    body = "".join(f"<div>{_esc(line)}</div>" for line in lines[1:])
    return {
        SEVERITY_MIME: dict(severity),
        "text/html": (
            f'<div class="mcops-severity" style="border-left:6px solid {colour};'
            f'padding:4px 8px"><b>{_esc(lines[0])}</b>{body}</div>'
        ),
        "text/plain": "severity " + "\n".join(lines),
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
        SUMMARY_MIME: json.loads(json.dumps(summary, default=str)),
        "text/html": summary_html(summary),
        "text/plain": summary_text(summary),
    }

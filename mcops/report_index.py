"""The index of a report: ``index.json`` and an offline ``index.html`` over its scenarios.

A report directory holds one evidence directory per scenario (``DIR/<scenario>/``, as
`mcops run` leaves it). The index is built from those directories' summary.json files
alone, so it says what the evidence says; a scenario that left no summary.json is listed
as an error with the reason, never left out.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mcops.findings import Level
from mcops.storage import write_atomic

__all__ = [
    "INDEX_HTML",
    "INDEX_JSON",
    "build_index",
    "exit_code",
    "read_entry",
    "render_html",
    "write_index",
]

INDEX_JSON = "index.json"
INDEX_HTML = "index.html"
SUMMARY = "summary.json"

EXIT_OK = 0
EXIT_FAIL_ON = 1
EXIT_ERROR = 2

_COLOURS = {
    "ok": "#d4edda",
    "info": "#dde7f3",
    "warning": "#fff3cd",
    "critical": "#f8d7da",
    "error": "#f5c6cb",
}


def read_entry(report_dir: Path, scenario: str, *, failure: str = "") -> dict[str, Any]:
    """One scenario's line of the index, read from ``report_dir/scenario/summary.json``.

    ``failure`` is why the runner raised instead of finishing: the entry is then an
    error whatever summary.json (perhaps a stale one) says.
    """
    path = report_dir / scenario / SUMMARY
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        reason = failure or f"no readable {SUMMARY} in {scenario}/ ({exc.__class__.__name__})"
        return _entry(scenario, status="error", error=reason)
    findings = [
        {
            "check": str(f.get("check", "")),
            "level": str(f.get("level", "info")),
            "title": str(f.get("title", "")),
            "count": f.get("count", 0),
            "checked": bool(f.get("checked", True)),
        }
        for f in summary.get("findings") or []
    ]
    severity = summary.get("severity") or None
    html_name = f"{scenario}.html"
    return _entry(
        scenario,
        status="error" if failure else str(summary.get("status", "error")),
        severity=(
            {k: severity.get(k) for k in ("scheme", "level", "reason")} if severity else None
        ),
        findings=findings,
        html=f"{scenario}/{html_name}" if (report_dir / scenario / html_name).is_file() else None,
        error=failure or str((summary.get("error") or {}).get("message", "")),
        started_at=summary.get("started_at"),
        finished_at=summary.get("finished_at"),
    )


def _entry(
    scenario: str,
    *,
    status: str,
    severity: Mapping[str, Any] | None = None,
    findings: Sequence[Mapping[str, Any]] = (),
    html: str | None = None,
    error: str = "",
    started_at: str | None = None,
    finished_at: str | None = None,
) -> dict[str, Any]:
    worst = max((Level.parse(f["level"]) for f in findings), default=None)
    return {
        "scenario": scenario,
        "dir": scenario,
        "status": status,
        "severity": dict(severity) if severity else None,
        "worst_level": str(worst) if worst is not None else None,
        "findings": [dict(f) for f in findings],
        "html": html,
        "summary": f"{scenario}/{SUMMARY}",
        "error": error,
        "started_at": started_at,
        "finished_at": finished_at,
    }


def exit_code(entries: Sequence[Mapping[str, Any]], fail_on: Level | str | None) -> int:
    """2 when any scenario errored (as `mcops run`); 1 when a finding reaches ``fail_on``."""
    if any(e["status"] != "ok" for e in entries):
        return EXIT_ERROR
    if fail_on is None:
        return EXIT_OK
    threshold = Level.parse(fail_on)
    reached = any(
        e["worst_level"] is not None and Level.parse(e["worst_level"]) >= threshold for e in entries
    )
    return EXIT_FAIL_ON if reached else EXIT_OK


def build_index(
    entries: Sequence[Mapping[str, Any]],
    *,
    request: Sequence[str],
    sets: Sequence[str],
    parameters: Mapping[str, Any],
    started_at: str,
    finished_at: str,
    fail_on: str | None = None,
    comparison: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The content of index.json; ``parameters`` must already be redacted."""
    return {
        "report": "+".join(request),
        "request": list(request),
        "sets": list(sets),
        "started_at": started_at,
        "finished_at": finished_at,
        "parameters": dict(parameters),
        "fail_on": fail_on,
        "exit_code": exit_code(entries, fail_on),
        "scenarios": [dict(e) for e in entries],
        "comparison": dict(comparison) if comparison else None,
    }


def write_index(report_dir: Path, index: Mapping[str, Any]) -> tuple[Path, Path]:
    """Write ``index.json`` and ``index.html`` into ``report_dir``; return both paths."""
    report_dir.mkdir(parents=True, exist_ok=True)
    as_json = report_dir / INDEX_JSON
    as_html = report_dir / INDEX_HTML
    write_atomic(as_json, json.dumps(index, indent=2) + "\n")
    write_atomic(as_html, render_html(index))
    return as_json, as_html


def _esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _badge(text: str, key: str | None) -> str:
    colour = _COLOURS.get((key or "").lower(), "#eeeeee")
    return f'<span class="badge" style="background:{colour}">{_esc(text)}</span>'


def render_html(index: Mapping[str, Any]) -> str:
    """A self-contained page (inline CSS, no scripts, no external resources)."""
    rows = "\n".join(_scenario_row(e) for e in index["scenarios"])
    comparison = index.get("comparison")
    params = ", ".join(f"{k}={v}" for k, v in sorted(index["parameters"].items()))
    fail_on = index.get("fail_on")
    verdict = {EXIT_OK: "ok", EXIT_FAIL_ON: f"a finding reached {fail_on}", EXIT_ERROR: "error"}
    code = int(index["exit_code"])
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>mcops report {_esc(index["report"])}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }}
table {{ border-collapse: collapse; margin: 0.5em 0 1.5em; }}
th, td {{ border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }}
th {{ background: #f3f3f3; }}
.badge {{ padding: 0.1em 0.5em; border-radius: 0.3em; font-weight: bold; }}
.muted {{ color: #666; font-size: 0.9em; }}
ul {{ margin: 0; padding-left: 1.2em; }}
</style>
</head>
<body>
<h1>mcops report {_esc(index["report"])}</h1>
<p class="muted">{_esc(index["started_at"])} – {_esc(index["finished_at"])} ·
exit {code} ({_esc(verdict.get(code, code))}) · parameters: {_esc(params or "(none)")}</p>
<table>
<thead><tr><th>scenario</th><th>status</th><th>severity</th><th>reason</th>
<th>findings at warning or above</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>
{_comparison_html(comparison) if comparison else ""}
</body>
</html>
"""


def _scenario_row(entry: Mapping[str, Any]) -> str:
    name = _esc(entry["scenario"])
    link = f'<a href="{_esc(entry["html"])}">{name}</a>' if entry.get("html") else name
    severity = entry.get("severity") or {}
    level = severity.get("level") or "—"
    status = _badge(entry["status"], "ok" if entry["status"] == "ok" else "error")
    reason = _esc(severity.get("reason") or "")
    if entry.get("error"):
        reason += f'<br><span class="muted">error: {_esc(entry["error"])}</span>'
    notable = [f for f in entry["findings"] if Level.parse(f["level"]) >= Level.WARNING]
    items = "".join(
        f"<li>{_badge(f['level'], f['level'])} {_esc(f['check'])}: {_esc(f['title'])}</li>"
        for f in notable
    )
    problems = f"<ul>{items}</ul>" if items else '<span class="muted">none</span>'
    return (
        f"<tr><td>{link}</td><td>{status}</td>"
        f"<td>{_badge(level, entry.get('worst_level'))}</td><td>{reason}</td>"
        f"<td>{problems}</td></tr>"
    )


def _comparison_html(comparison: Mapping[str, Any]) -> str:
    previous = comparison.get("previous_href") or comparison.get("previous", "")
    rows = []
    for item in comparison["scenarios"]:
        before, after = item["before"], item["after"]
        changes = "".join(
            f"<li>{_badge(c['change'], _change_colour(c['change']))} {_esc(c['check'])}: "
            f"{_esc(_state(c['before']))} → {_esc(_state(c['after']))}</li>"
            for c in item["changes"]
        )
        rows.append(
            f"<tr><td>{_esc(item['scenario'])}</td>"
            f"<td>{_esc(_status(before))} → {_esc(_status(after))}</td>"
            f"<td>{_badge(item['severity_change'], _change_colour(item['severity_change']))}"
            "</td>"
            f"<td>{f'<ul>{changes}</ul>' if changes else _NO_CHANGE}</td></tr>"
        )
    return (
        f'<h2>What changed since <a href="{_esc(previous)}/index.html">'
        f"{_esc(comparison.get('previous_report', previous))}</a></h2>\n"
        f'<p class="muted">previous report finished {_esc(comparison.get("previous_finished_at"))}'
        "</p>\n<table><thead><tr><th>scenario</th><th>status, severity</th><th>severity change</th>"
        "<th>checks</th></tr></thead><tbody>\n" + "\n".join(rows) + "\n</tbody></table>"
    )


_NO_CHANGE = '<span class="muted">no change</span>'


def _change_colour(change: str) -> str:
    return {"new": "critical", "worse": "critical", "resolved": "ok", "better": "ok"}.get(
        change, "info"
    )


def _status(side: Mapping[str, Any] | None) -> str:
    if not side:
        return "not run"
    return f"{side['status']} {side.get('severity') or ''}".strip()


def _state(side: Mapping[str, Any] | None) -> str:
    if not side:
        return "absent"
    return f"{side['level']} ({side['count']})"

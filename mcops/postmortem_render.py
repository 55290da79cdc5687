"""The postmortem as the runbooks write it: Markdown in either template, and HTML from it.

Runbook 004's "Postmortem Template" (P1-P4, a Markdown document) and runbook 000's
"Post-mortem template" (SEV1-SEV4, under Post-Incident Review) keep their headings and
order; what the evidence knows is filled in, what only people know stays a
``[placeholder]``. HTML is the same Markdown through nbconvert's Markdown filter (no
second renderer to keep in step), in one self-contained page.
"""

from __future__ import annotations

import html
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mcops.postmortem import Draft

__all__ = ["to_html", "to_markdown"]

_NOTE = (
    "> Drafted by `mcops postmortem` from {n} evidence director{ies}. Facts come from the "
    "evidence; fields in [brackets] are for people to fill."
)


def to_markdown(draft: Draft) -> str:
    """The draft in its template's Markdown (``draft.template``: 004 or 000)."""
    lines = _markdown_004(draft) if draft.template == "004" else _markdown_000(draft)
    return "\n".join(lines).rstrip() + "\n"


def to_html(markdown: str, *, title: str) -> str:
    """A standalone HTML page of ``markdown`` (no network needed to read it)."""
    from nbconvert.filters.markdown import markdown2html

    body = markdown2html(markdown)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n"
        f"<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    )


_CSS = (
    "body{font-family:system-ui,sans-serif;line-height:1.45;margin:0;color:#1d1d1f}"
    "main{max-width:60rem;margin:2rem auto;padding:0 1rem}"
    "table{border-collapse:collapse;margin:1rem 0}"
    "th,td{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}"
    "code{background:#f3f3f3;padding:0 .2rem}"
    "blockquote{color:#555;border-left:3px solid #ccc;margin:1rem 0;padding-left:1rem}"
    ".anchor-link{display:none}"
)


# ------------------------------------------------------------------ runbook 004


def _markdown_004(d: Draft) -> list[str]:
    f = d.figures
    lines = [
        f"# Postmortem: {_text(d.title)}",
        "",
        f"**Date**: {d.started:%Y-%m-%d}  ",
        f"**Severity**: {_severity(d)}  ",
        f"**Duration**: {_duration(d)}  ",
        f"**Status**: {d.status}  ",
        "**Author**: [On-call engineer name]  ",
        "**Reviewers**: [Tech Lead, Engineering Manager]",
        "",
        _note(d),
        "",
        "---",
        "",
        "## Executive Summary",
        "",
        _summary(d),
        "",
        "---",
        "",
        "## Impact",
        "",
        "**User Impact**:",
        f"- Number of affected meetings: {f['affected_meetings'].text()}",
        f"- Number of affected conversations: {f['affected_conversations'].text()}",
        "- Number of affected participants: [estimate]",
        f"- Duration of impact: {_span(d)}",
        "",
        "**Business Impact**:",
        "- Meeting minutes lost: [estimate]",
        "- Customer complaints: [number]",
        "- SLA breach: Yes/No - [details]",
        "",
        "**Metrics**:",
        f"- Peak message drop rate: {f['peak_drop_rate'].text()}",
        f"- Peak mailbox depth: {f['peak_mailbox_depth'].text()}",
        f"- Actor panics: {f['actor_panics'].text()}",
        f"- Peak actor error rate: {f['peak_error_rate'].text()}",
        "",
        "---",
        "",
        "## Timeline",
        "",
        "All times in UTC.",
        "",
        "| Time (UTC) | Event |",
        "|------------|-------|",
        *[f"| {_time(d, e.at)} | {_cell(e.text)} |" for e in d.events],
        "",
        "---",
        "",
        "## Root Cause",
        "",
        *_causes(d),
        "",
        "---",
        "",
        "## Action Items",
        "",
        "| Action | Owner | Due Date | Priority | Status |",
        "|--------|-------|----------|----------|--------|",
        *[
            f"| {_cell(a.action)} | [Name] | YYYY-MM-DD | {a.priority} | {a.status} |"
            for a in d.actions
        ],
        "",
        "---",
        "",
        *_attachments(d),
    ]
    return lines


# ------------------------------------------------------------------ runbook 000


def _markdown_000(d: Draft) -> list[str]:
    f = d.figures
    data = [c.check for c in (*d.causes, *d.factors) if c.kind == "data"]
    return [
        f"# Post-mortem: {_text(d.title)}",
        "",
        f"**Incident**: {_text(d.title)}  ",
        f"**Date**: {d.started:%Y-%m-%d}  ",
        f"**Severity**: {_severity(d)}  ",
        f"**Duration**: {_duration(d)}  ",
        f"**Status**: {d.status}",
        "",
        _note(d),
        "",
        _summary(d),
        "",
        "## Timeline",
        "",
        "All times in UTC.",
        "",
        *[f"- {_time(d, e.at)} - {_text(e.text)}" for e in d.events],
        "",
        "## Root Cause",
        "",
        *_causes(d, factors=False),
        "",
        "## Contributing Factors",
        "",
        *(
            [f"- `{c.check}` ({c.kind}): {_text(c.title)} *({c.run})*" for c in d.factors]
            or ["- [Factor 1] (no finding reached only warning)"]
        ),
        "",
        "## Impact",
        "",
        f"- Users affected: conversations {f['affected_conversations'].text()}; "
        f"meetings {f['affected_meetings'].text()}",
        f"- Requests failed: peak actor error rate {f['peak_error_rate'].text()}",
        f"- Data loss: peak message drop rate {f['peak_drop_rate'].text()}; data findings: "
        + (", ".join(f"`{c}`" for c in data) or "none"),
        f"- Peak mailbox depth: {f['peak_mailbox_depth'].text()}",
        f"- Actor panics: {f['actor_panics'].text()}",
        "",
        "## Action Items",
        "",
        *[
            f"- [ ] {_text(a.action)} ({a.priority}; Owner: @person, Due: YYYY-MM-DD)"
            for a in d.actions
        ],
        "",
        "## Lessons Learned",
        "",
        "- [Lesson 1]",
        "- [Lesson 2]",
        "",
        *_attachments(d),
    ]


# ------------------------------------------------------------------ parts both templates use


def _note(d: Draft) -> str:
    n = len(d.runs)
    return _NOTE.format(n=n, ies="y" if n == 1 else "ies")


def _severity(d: Draft) -> str:
    if d.severity is None:
        return "[not assessed: no run recorded findings]"
    how = ", re-assessed from its findings" if d.severity.reassessed else ""
    return f"{d.severity.level} (worst of the runs: {d.severity.run}{how})"


def _summary(d: Draft) -> str:
    fired = ", ".join(f"`{c}`" for c in d.recovery.fired)
    if not fired:
        return (
            f"No check of the {len(d.runs)} run(s) fired at warning or critical. "
            "[What happened and its impact]"
        )
    reason = _text(d.severity.reason).rstrip(". ") + "." if d.severity else ""
    if d.recovery.ongoing:
        still = ", ".join(f"`{c}`" for c in d.recovery.open)
        end = f"No later run verified recovery; still firing: {still}."
    else:
        end = f"A later run verified recovery at {d.recovery.recovered_at:%Y-%m-%d %H:%M:%S} UTC."
    return f"{reason} Checks that fired: {fired}. {end}".strip()


def _causes(d: Draft, *, factors: bool = True) -> list[str]:
    if not d.causes:
        lines = ["No critical finding: the evidence names no root-cause candidate. [Explanation]"]
    else:
        lines = ["Candidates from the critical findings, causes before symptoms:", ""]
        for n, c in enumerate(d.causes, 1):
            detail = f" {_text(c.detail)}" if c.detail else ""
            lines.append(f"{n}. **`{c.check}`** ({c.kind}): {_text(c.title)}.{detail} *({c.run})*")
        lines += ["", "[Detailed explanation of what caused the incident]"]
    if factors and d.factors:
        lines += ["", "Contributing (warning) findings:", ""]
        lines += [f"- `{c.check}` ({c.kind}): {_text(c.title)} *({c.run})*" for c in d.factors]
    return lines


def _attachments(d: Draft) -> list[str]:
    return [
        "## Attachments",
        "",
        "Evidence files and their SHA-256 (check with `sha256sum`); *manifest* compares "
        "each with the hash its directory's manifest.json recorded when it was sealed:",
        "",
        "| File | SHA-256 | Bytes | Manifest |",
        "|------|---------|-------|----------|",
        *[
            f"| {_cell(a.name)} | `{a.sha256}` | {a.size} | {_SEALED[a.sealed]} |"
            for a in d.attachments
        ],
    ]


_SEALED = {True: "matches", False: "**CHANGED since sealed**", None: "-"}


def _duration(d: Draft) -> str:
    start = f"{d.started:%Y-%m-%d %H:%M:%S}"
    if d.ended is None:
        return f"{start} - ongoing (no run verified recovery)"
    return f"{start} - {d.ended:%Y-%m-%d %H:%M:%S} (Total: {_total(d.ended - d.started)})"


def _span(d: Draft) -> str:
    if d.ended is None:
        return "ongoing (no run verified recovery)"
    return _total(d.ended - d.started)


def _total(span: timedelta) -> str:
    minutes = max(0, round(span.total_seconds() / 60))
    hours, minutes = divmod(minutes, 60)
    return f"{hours} hours {minutes} minutes"


def _time(d: Draft, at: datetime) -> str:
    """HH:MM:SS when the whole timeline is on one day, else with the date."""
    days = {e.at.date() for e in d.events}
    return f"{at:%H:%M:%S}" if len(days) <= 1 else f"{at:%Y-%m-%d %H:%M:%S}"


def _text(value: object) -> str:
    """Evidence text made safe for Markdown and its HTML (no raw tags)."""
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cell(value: object) -> str:
    """`_text` for a table cell: one line, pipes escaped."""
    return " ".join(_text(value).split()).replace("|", "\\|")

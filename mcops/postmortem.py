"""Draft the runbooks' postmortem from evidence directories (`mcops postmortem DIR...`).

The draft fills either runbook's template — 004's "Postmortem Template" (P1-P4) or
000's "Post-mortem template" (SEV1-SEV4) — from what the runs left behind: the worst
severity, the duration from the alert (or the first run that saw trouble) to the run
that verified recovery, an ordered timeline with the audit records of what was applied,
peak impact figures, root-cause candidates, action items for what is unresolved, and
every evidence file with its SHA-256. What only people know stays a [placeholder].

The parts, each its own module: `mcops.postmortem_evidence` (reading directories),
`mcops.postmortem_timeline` (timeline, recovery), `mcops.postmortem_impact` (figures),
`mcops.postmortem_analysis` (severity, causes, actions), `mcops.postmortem_render`
(Markdown, HTML).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from mcops.postmortem_analysis import (
    TEMPLATES,
    ActionItem,
    Candidate,
    RunSeverity,
    action_items,
    choose_template,
    contributing_factors,
    root_causes,
    worst_severity,
)
from mcops.postmortem_evidence import (
    Attachment,
    EvidenceRun,
    attachments,
    parse_dirs,
    read_runs,
)
from mcops.postmortem_impact import Figure, impact
from mcops.postmortem_render import to_html, to_markdown
from mcops.postmortem_timeline import Event, Recovery, incident_start, recovery, timeline
from mcops.storage import write_atomic

__all__ = [
    "TEMPLATES",
    "ActionItem",
    "Attachment",
    "Candidate",
    "Draft",
    "Event",
    "EvidenceRun",
    "Figure",
    "Recovery",
    "RunSeverity",
    "build",
    "launch_dir",
    "out_path",
    "parse_dirs",
    "write",
]

#: Set by `mcops run` in the kernel: the run's own evidence directory.
EVIDENCE_DIR_ENV = "MCOPS_EVIDENCE_DIR"


@dataclass(frozen=True)
class Draft:
    """A postmortem drafted from evidence; `markdown` and `html` render it."""

    template: str
    """``004`` (P scheme) or ``000`` (SEV scheme)."""
    title: str
    runs: tuple[EvidenceRun, ...]
    severity: RunSeverity | None
    started: datetime
    ended: datetime | None
    """When a run verified recovery; None while ongoing."""
    recovery: Recovery
    events: tuple[Event, ...]
    figures: dict[str, Figure]
    causes: tuple[Candidate, ...]
    factors: tuple[Candidate, ...]
    actions: tuple[ActionItem, ...]
    attachments: tuple[Attachment, ...]

    @property
    def status(self) -> str:
        """004's Resolved / Investigating (Mitigated is for a person to judge)."""
        return "Resolved" if self.ended is not None else "Investigating"

    @property
    def markdown(self) -> str:
        return to_markdown(self)

    @property
    def html(self) -> str:
        return to_html(self.markdown, title=f"Postmortem: {self.title}")


def build(
    dirs: Sequence[str | os.PathLike[str]] | str,
    *,
    template: str | None = None,
    base: Path | None = None,
) -> Draft:
    """Draft the postmortem of the evidence in ``dirs`` (a list, or ``"a,b"``); relative
    directories not found here are looked for under ``base`` (see `launch_dir`).

    Raises ParameterError naming the directory when one is not evidence, or the
    template is not ``004`` / ``000``.
    """
    runs = read_runs(parse_dirs(dirs, base=base))
    chosen = choose_template(runs, template)
    rec = recovery(runs)
    started = incident_start(runs, rec)
    causes = root_causes(runs)
    factors = contributing_factors(runs)
    files = [a for run in runs for a in attachments(run)]
    return Draft(
        template=chosen,
        title=_title(causes, factors, runs),
        runs=tuple(runs),
        severity=worst_severity(runs, scheme=TEMPLATES[chosen], incident_started=started),
        started=started,
        ended=rec.recovered_at,
        recovery=rec,
        events=tuple(timeline(runs, rec)),
        figures=impact(runs),
        causes=tuple(causes),
        factors=tuple(factors),
        actions=tuple(action_items(runs, rec) + _tampered(files)),
        attachments=tuple(files),
    )


def write(draft: Draft, out: str | os.PathLike[str]) -> tuple[Path, Path]:
    """Write ``out`` (``.md`` added when it has no suffix) and the HTML beside it."""
    path = Path(out)
    if path.suffix.lower() not in (".md", ".markdown"):
        path = path.with_name(path.name + ".md")
    path.parent.mkdir(parents=True, exist_ok=True)
    page = path.with_suffix(".html")
    write_atomic(path, draft.markdown)  # each whole or not at all (a full disk)
    write_atomic(page, draft.html)
    return path, page


def _tampered(files: Sequence[Attachment]) -> list[ActionItem]:
    changed = [a.name for a in files if a.sealed is False]
    if not changed:
        return []
    names = ", ".join(changed)
    return [ActionItem(f"Find out why evidence changed after it was sealed: {names}", "P0")]


def launch_dir() -> Path:
    """Where the user started: ``$PWD`` (papermill starts kernels in the notebooks
    folder, so the kernel's own working directory is not where relative paths were meant)."""
    return Path(os.environ.get("PWD") or os.getcwd())


def out_path(out: str | os.PathLike[str] = "") -> Path | None:
    """The file the notebook writes: ``out`` (relative to `launch_dir`), else
    ``postmortem.md`` in the evidence directory of `mcops run`, else None (display only)."""
    if str(out):
        path = Path(out).expanduser()
        return path if path.is_absolute() else launch_dir() / path
    evidence = os.environ.get(EVIDENCE_DIR_ENV)
    return Path(evidence) / "postmortem.md" if evidence else None


def _title(
    causes: Sequence[Candidate], factors: Sequence[Candidate], runs: Sequence[EvidenceRun]
) -> str:
    """The first root-cause candidate (else the first warning) in a few words."""
    lead = next(iter([*causes, *factors]), None)
    if lead is None:
        return f"no problem found by {', '.join(dict.fromkeys(r.scenario for r in runs))}"
    title = lead.title if len(lead.title) <= 90 else lead.title[:89] + "…"
    return f"{lead.check}: {title}"

"""The evidence recorder: what a scenario notebook found, shown and kept for summary.json.

The recorder lives in the notebook kernel. Every record is displayed at once (so an
engineer in JupyterLab sees it) as a mime bundle carrying its JSON, and `finish()`
displays the whole summary under ``application/vnd.mcops.summary+json``. The executed
notebook therefore stands alone, and the runner reads summary.json back out of it —
even from a notebook that failed half-way (`summary_from_notebook`).

The contract from DESIGN.md is enforced once, in `Recorder.finish`: a run where every
check was "not checked" is an error naming the sources and how to fix them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from mcops.display import (
    FINDING_MIME,
    REMEDIATION_MIME,
    SEVERITY_MIME,
    SOURCE_MIME,
    SUMMARY_MIME,
    finding_bundle,
    record_bundle,
    severity_bundle,
    summary_bundle,
)
from mcops.errors import NotebookFailed
from mcops.findings import Finding, Level
from mcops.registry import check_spec
from mcops.secrets import Redactor, redactor_for, resolve_all
from mcops.utc import iso_now

__all__ = [
    "Recorder",
    "nothing_checked_message",
    "summary_from_notebook",
    "worst_level",
]

Display = Callable[[Mapping[str, Any]], None]


def _ipython_display(bundle: Mapping[str, Any]) -> None:
    from IPython.display import display

    display(dict(bundle), raw=True)


class Recorder:
    """Collects findings, source states, severity and remediations of one scenario run.

    ``display`` defaults to IPython's; tests pass a list's ``append``. Re-adding a
    finding with the same check id replaces it, so re-running a cell does not double it.
    """

    def __init__(
        self,
        *,
        scenario: str,
        parameters: Mapping[str, Any] | None = None,
        display: Display | None = None,
        clock: Callable[[], str] = iso_now,
    ) -> None:
        self.scenario = scenario
        self.parameters: dict[str, Any] = dict(parameters or {})
        self._display = display or _ipython_display
        self._clock = clock
        self._redactor: Redactor = redactor_for(self.parameters)
        self._findings: dict[str, Finding] = {}
        self._sources: dict[str, dict[str, str]] = {}
        self._remediations: list[dict[str, Any]] = []
        self._severity: dict[str, Any] | None = None
        self.started_at = clock()

    @property
    def params(self) -> dict[str, Any]:
        """Parameters with ``env:NAME`` resolved: use these to connect, never show them."""
        return resolve_all(self.parameters)

    @property
    def findings(self) -> list[Finding]:
        return list(self._findings.values())

    def add(self, finding: Finding) -> None:
        """Keep and display one finding; its check must be declared in `mcops.registry`."""
        if not isinstance(finding, Finding):
            raise TypeError(f"Recorder.add takes a Finding, got {type(finding).__name__}")
        check_spec(finding.check)  # UnknownCheck names the fix
        self._findings[finding.check] = finding
        self._show(finding_bundle(finding.to_dict()))

    def add_all(self, findings: Iterable[Finding]) -> None:
        """`add` each finding in order."""
        for finding in findings:
            self.add(finding)

    def source(self, name: str, state: str, detail: str = "") -> None:
        """Record a source's state: ``ok``, ``not given``, ``unreachable: ...``."""
        self._sources[name] = {"state": state, "detail": detail}
        text = f"source {name}: {state}" + (f" — {detail}" if detail else "")
        self._show(record_bundle(SOURCE_MIME, {"name": name, **self._sources[name]}, text))

    def remediation(self, result: Mapping[str, Any] | Any) -> None:
        """Record a remediation result (action, mode plan/apply, changes, backup, audit)."""
        record = dict(result.to_dict() if hasattr(result, "to_dict") else result)
        for key in ("action", "mode"):
            if key not in record:
                raise ValueError(f"a remediation record needs {key!r}; got keys {sorted(record)}")
        record.setdefault("changes", 0)
        record.setdefault("backup", None)
        self._remediations.append(record)
        text = f"remediation {record['action']} ({record['mode']}): {record['changes']} change(s)"
        self._show(record_bundle(REMEDIATION_MIME, record, text))

    def severity(
        self,
        scheme: str,
        level: str,
        reason: str,
        *,
        next_scenarios: Sequence[str] = (),
        response_time: str | None = None,
        escalation: str = "",
        notify: Sequence[str] = (),
        upgraded_from: str | None = None,
        triggers: Sequence[str] = (),
        quick_fixes: Sequence[str] = (),
    ) -> None:
        """Record the incident severity (``SEV``/``P`` scheme), how fast to respond, whom
        to escalate to, the upgrade triggers that fired and what to run next."""
        self._severity = {
            "scheme": scheme,
            "level": level,
            "reason": reason,
            "response_time": response_time,
            "escalation": escalation,
            "notify": list(notify),
            "upgraded_from": upgraded_from,
            "triggers": list(triggers),
            "quick_fixes": list(quick_fixes),
            "next_scenarios": list(next_scenarios),
        }
        self._show(severity_bundle(self._severity))

    def summary(self, *, status: str = "ok", error: Mapping[str, Any] | None = None) -> dict:
        """The summary.json dict as it stands now (redacted)."""
        summary: dict[str, Any] = {
            "scenario": self.scenario,
            "status": status,
            "started_at": self.started_at,
            "finished_at": self._clock(),
            "parameters": {k: self._redactor.parameter(v) for k, v in self.parameters.items()},
            "severity": self._severity,
            "findings": [f.to_dict() for f in self._findings.values()],
            "remediations": self._remediations,
            "sources": self._sources,
            "artifacts": [],
        }
        if error is not None:
            summary["error"] = dict(error)
        return self._redactor.value(summary)

    def finish(self) -> None:
        """Display the final summary; raise NotebookFailed when no check could run.

        Returns nothing, so the cell shows the summary once; `summary()` gives the dict.
        """
        problem = self.nothing_checked()
        if problem is None:
            self._show(summary_bundle(self.summary()))
            return
        summary = self.summary(status="error", error={"message": problem})
        self._show(summary_bundle(summary))
        raise NotebookFailed(problem)

    def nothing_checked(self) -> str | None:
        """The error message when findings exist but none of them really ran, else None."""
        message = nothing_checked_message(
            self.scenario, [f.to_dict() for f in self._findings.values()], self._sources
        )
        return None if message is None else self._redactor.text(message)

    def _show(self, bundle: Mapping[str, Any]) -> None:
        self._display(self._redactor.value(dict(bundle)))


def nothing_checked_message(
    scenario: str, findings: Sequence[Mapping[str, Any]], sources: Mapping[str, Mapping[str, str]]
) -> str | None:
    """DESIGN's rule: findings exist but all are "not checked" → why, naming the sources.

    None when at least one check ran (or nothing was recorded at all).
    """
    if not findings or any(_was_checked(f) for f in findings):
        return None
    bad = {name: s for name, s in sources.items() if s.get("state") != "ok"}
    if bad:
        named = "; ".join(
            f"{name}: {s.get('state', '')}" + (f" ({s['detail']})" if s.get("detail") else "")
            for name, s in bad.items()
        )
    else:
        named = "; ".join(f"{f['check']}: {f['title']}" for f in findings)
    return (
        f"no check of scenario {scenario!r} could run — {named} — fix: give a reachable "
        f"source with -p NAME=VALUE (see `mcops list`) and run again"
    )


def _was_checked(finding: Mapping[str, Any]) -> bool:
    """summary.json's ``checked``; summaries written before it existed say so in the title."""
    if "checked" in finding:
        return bool(finding["checked"])
    return not str(finding.get("title", "")).startswith("not checked:")


def worst_level(findings: Iterable[Mapping[str, Any]]) -> Level | None:
    """The highest level among summary.json findings, or None when there are none."""
    levels = [Level.parse(f["level"]) for f in findings]
    return max(levels) if levels else None


def summary_from_notebook(nb: Mapping[str, Any]) -> dict[str, Any] | None:
    """Read the summary back from an executed notebook.

    The last ``finish()`` output wins; a notebook that failed before finishing gets a
    summary rebuilt from the records it displayed. None when it recorded nothing.
    """
    summary: dict[str, Any] | None = None
    findings: dict[str, Any] = {}
    sources: dict[str, Any] = {}
    remediations: list[Any] = []
    severity: Any = None
    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []):
            data = output.get("data") or {}
            if SUMMARY_MIME in data:
                summary = dict(data[SUMMARY_MIME])
            if FINDING_MIME in data:
                findings[data[FINDING_MIME]["check"]] = dict(data[FINDING_MIME])
            if SOURCE_MIME in data:
                record = dict(data[SOURCE_MIME])
                sources[record.pop("name")] = record
            if REMEDIATION_MIME in data:
                remediations.append(dict(data[REMEDIATION_MIME]))
            if SEVERITY_MIME in data:
                severity = dict(data[SEVERITY_MIME])
    if summary is not None:
        return summary
    if not (findings or sources or remediations or severity):
        return None
    return {
        "severity": severity,
        "findings": list(findings.values()),
        "remediations": remediations,
        "sources": sources,
    }

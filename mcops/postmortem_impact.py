"""Impact figures for a postmortem, read from the findings' own rows and counts.

Each figure is the worst value any run measured (runs overlap in their windows, so
peaks are taken, never sums), with the run and check it came from. A figure no run
measured is None, and the postmortem says "not measured" instead of a reassuring 0.

Where each figure is found (summary.json ``data`` rows and counts):

    peak mailbox depth   key_metrics rows ``mc_mailbox_depth`` / ``actor_mailbox_size``;
                         ``mailbox_depth``'s ``peak`` column
    peak drop rate       key_metrics rows ``drop_rate``; ``messages_dropped``'s ``drop_rate``
    peak error rate      key_metrics rows ``error_rate``
    actor panics         key_metrics rows ``actor_panics``; ``actor_panics``' ``panics``;
                         ``panic_logs``' count of panic lines
    affected meetings    each finding's ``affected_meetings``; distinct ``meeting_id`` rows
    affected convos      distinct ``convo_id`` rows of firing findings; 0 when a
                         conversation check ran and nothing fired
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from mcops.postmortem_evidence import EvidenceRun
from mcops.postmortem_timeline import firing

__all__ = ["FIGURES", "Figure", "impact"]

#: Checks that look at conversations: when one ran and nothing fired, 0 were affected.
CONVERSATION_CHECKS = frozenset(
    {
        "crash_loop",
        "spawn_loop",
        "missing_conversation",
        "epoch_drift",
        "duplicate_epochs",
        "epoch_consistency",
        "sequence_gaps",
        "left_member_unread",
    }
)


class Figure(NamedTuple):
    """One impact figure."""

    name: str
    value: float | None
    """None: no run measured it."""
    source: str = ""
    """``run-dir: check`` that measured the value."""
    unit: str = ""
    """``ratio`` (shown as a percentage) or empty (a count)."""

    def text(self) -> str:
        """``42 (triage-1: key_metrics)``, ``1.5 %``, or ``not measured``."""
        if self.value is None:
            return "not measured"
        shown = f"{self.value * 100:.3g} %" if self.unit == "ratio" else f"{self.value:g}"
        return f"{shown} ({self.source})" if self.source else shown


#: name → (label, unit), in the order a postmortem lists them.
FIGURES: Mapping[str, tuple[str, str]] = {
    "peak_mailbox_depth": ("Peak mailbox depth", ""),
    "peak_drop_rate": ("Peak message drop rate", "ratio"),
    "peak_error_rate": ("Peak actor error rate", "ratio"),
    "actor_panics": ("Actor panics", ""),
    "affected_meetings": ("Affected meetings", ""),
    "affected_conversations": ("Affected conversations", ""),
}

Reading = tuple[float, str]  # (value, source)


def impact(runs: Sequence[EvidenceRun]) -> dict[str, Figure]:
    """Every figure of FIGURES, measured or not."""
    readings: dict[str, list[Reading]] = {name: [] for name in FIGURES}
    conversations: set[str] = set()
    conversation_sources: dict[str, None] = {}
    for run in runs:
        for finding in run.findings:
            if finding.get("checked") is False:
                continue
            where = f"{run.path.name}: {finding.get('check')}"
            rows = [r for r in finding.get("data") or [] if isinstance(r, Mapping)]
            for name, reader in _READERS.items():
                readings[name] += [(v, where) for v in reader(finding, rows)]
            ids = {str(r["convo_id"]) for r in rows if r.get("convo_id") not in (None, "")}
            if str(finding.get("check")) in CONVERSATION_CHECKS or (ids and firing(finding)):
                conversation_sources.setdefault(str(finding.get("check")), None)
            if firing(finding):
                conversations |= ids
    figures = {}
    for name, (label, unit) in FIGURES.items():
        if name == "affected_conversations":
            value = float(len(conversations)) if conversation_sources else None
            figures[name] = Figure(label, value, ", ".join(conversation_sources), unit)
            continue
        best = max(readings[name], key=lambda r: r[0], default=None)
        figures[name] = (
            Figure(label, None, "", unit) if best is None else Figure(label, *best, unit)
        )
    return figures


def _keyed(*keys: str) -> Callable[[Mapping[str, Any], list[Mapping[str, Any]]], list[float]]:
    """Values of snapshot rows (``key``, ``value``) whose key is one of ``keys``."""

    def read(finding: Mapping[str, Any], rows: list[Mapping[str, Any]]) -> list[float]:
        return _numbers(r.get("value") for r in rows if r.get("key") in keys)

    return read


def _mailbox(finding: Mapping[str, Any], rows: list[Mapping[str, Any]]) -> list[float]:
    found = _keyed("mc_mailbox_depth", "actor_mailbox_size")(finding, rows)
    if finding.get("check") == "mailbox_depth":
        found += _numbers(r.get("peak") for r in rows)
    return found


def _drops(finding: Mapping[str, Any], rows: list[Mapping[str, Any]]) -> list[float]:
    found = _keyed("drop_rate")(finding, rows)
    if finding.get("check") == "messages_dropped":
        found += _numbers(r.get("drop_rate") for r in rows)
        if not found and finding.get("level") == "ok":
            found.append(0.0)
    return found


def _panics(finding: Mapping[str, Any], rows: list[Mapping[str, Any]]) -> list[float]:
    found = _keyed("actor_panics")(finding, rows)
    check = finding.get("check")
    if check == "actor_panics":
        found.append(sum(_numbers(r.get("panics") for r in rows)))
    elif check == "panic_logs":
        found += _numbers([finding.get("count", 0)])
    return found


def _meetings(finding: Mapping[str, Any], rows: list[Mapping[str, Any]]) -> list[float]:
    found = _numbers([finding.get("affected_meetings")])
    if firing(finding):
        ids = {str(r["meeting_id"]) for r in rows if r.get("meeting_id") not in (None, "")}
        if ids:
            found.append(float(len(ids)))
    return found


_READERS: Mapping[str, Callable[[Mapping[str, Any], list[Mapping[str, Any]]], list[float]]] = {
    "peak_mailbox_depth": _mailbox,
    "peak_drop_rate": _drops,
    "peak_error_rate": _keyed("error_rate"),
    "actor_panics": _panics,
    "affected_meetings": _meetings,
}


def _numbers(values: Iterable[Any]) -> list[float]:
    out = []
    for value in values:
        if isinstance(value, bool) or value is None:
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue
        if number == number:  # NaN is not a measurement
            out.append(number)
    return out

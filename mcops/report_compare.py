"""What changed since the previous report of the same set, per scenario and check.

Runbook 000's weekly review says "Compare with last week (should be similar)". A report
is compared with the latest earlier report in the same parent directory that ran the
same request (``reports/weekly-<UTC stamp>/``), or with one given explicitly. Only
findings at warning or above are trouble: one that appears is ``new``, one that goes
back to ok is ``resolved``, and trouble that changes level or row count is ``worse`` or
``better``. A check that could not run this time is ``not checked``, never "resolved".
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mcops.errors import ParameterError
from mcops.findings import Level
from mcops.report_index import INDEX_JSON, read_entry

__all__ = ["compare", "compare_entries", "find_previous", "load_previous"]


def find_previous(out_dir: Path, request: Sequence[str]) -> Path | None:
    """The latest report beside ``out_dir`` (not itself) that ran the same request."""
    parent = out_dir.resolve().parent
    if not parent.is_dir():
        return None
    found: list[tuple[str, Path]] = []
    for candidate in parent.iterdir():
        if candidate.resolve() == out_dir.resolve() or not candidate.is_dir():
            continue
        index = _read_index(candidate)
        if index is not None and list(index.get("request", [])) == list(request):
            found.append((str(index.get("finished_at") or ""), candidate))
    return max(found)[1] if found else None


def load_previous(previous_dir: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The previous report's index and its entries re-read from its evidence."""
    index = _read_index(previous_dir)
    if index is None:
        raise ParameterError(
            f"{previous_dir} is not a report directory (no readable {INDEX_JSON}) — fix: "
            "give --compare a directory `mcops report` wrote",
            name="compare",
        )
    entries = [read_entry(previous_dir, str(e["scenario"])) for e in index.get("scenarios", [])]
    return index, entries


def compare(
    previous_dir: Path, entries: Sequence[Mapping[str, Any]], *, report_dir: Path
) -> dict[str, Any]:
    """The ``comparison`` of index.json: this report's entries against ``previous_dir``."""
    index, before = load_previous(previous_dir)
    return {
        "previous": str(previous_dir),
        "previous_href": os.path.relpath(previous_dir.resolve(), report_dir.resolve()),
        "previous_report": index.get("report", previous_dir.name),
        "previous_finished_at": index.get("finished_at"),
        "scenarios": compare_entries(before, entries),
    }


def compare_entries(
    before: Sequence[Mapping[str, Any]], after: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Per scenario of ``after`` (then those only in ``before``): status, severity, checks."""
    earlier = {e["scenario"]: e for e in before}
    now = {e["scenario"]: e for e in after}
    names = [*now, *(name for name in earlier if name not in now)]
    return [_scenario(earlier.get(name), now.get(name), name) for name in names]


def _scenario(
    before: Mapping[str, Any] | None, after: Mapping[str, Any] | None, name: str
) -> dict[str, Any]:
    old = {f["check"]: f for f in (before or {}).get("findings", [])}
    new = {f["check"]: f for f in (after or {}).get("findings", [])}
    changes = []
    for check in [*new, *(c for c in old if c not in new)]:
        change = _check_change(old.get(check), new.get(check))
        if change is not None:
            changes.append(
                {
                    "check": check,
                    "change": change,
                    "before": _side(old.get(check)),
                    "after": _side(new.get(check)),
                }
            )
    return {
        "scenario": name,
        "before": _run_side(before),
        "after": _run_side(after),
        "severity_change": _severity_change(before, after),
        "changes": changes,
    }


def _check_change(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> str | None:
    was, now = _level(old), _level(new)
    trouble_then, trouble_now = was >= Level.WARNING, now >= Level.WARNING
    if trouble_now and not trouble_then:
        return "new"
    if trouble_then and not trouble_now:
        checked = new is not None and new.get("checked", True) and now == Level.OK
        return "resolved" if checked else "not checked"
    if not trouble_now:
        return None
    if now != was:
        return "worse" if now > was else "better"
    count_then, count_now = _count(old), _count(new)
    if count_now != count_then:
        return "worse" if count_now > count_then else "better"
    return None


def _severity_change(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> str:
    if before is None:
        return "new"
    if after is None:
        return "not run"
    if before["status"] != after["status"]:
        return "worse" if after["status"] != "ok" else "better"
    then, now = _rank(before), _rank(after)
    if then is None or now is None or then[0] != now[0]:
        return "same" if then == now else "changed"
    if now[1] == then[1]:
        return "same"
    return "worse" if now[1] < then[1] else "better"  # SEV1 / P1 is the worst


def _rank(entry: Mapping[str, Any]) -> tuple[str, int] | None:
    severity = entry.get("severity") or {}
    match = re.fullmatch(r"([A-Za-z]+)(\d+)", str(severity.get("level") or ""))
    return (match.group(1).upper(), int(match.group(2))) if match else None


def _level(finding: Mapping[str, Any] | None) -> Level:
    return Level.parse(finding["level"]) if finding else Level.OK


def _count(finding: Mapping[str, Any] | None) -> float:
    value = (finding or {}).get("count") or 0
    return float(value) if isinstance(value, int | float) else 0.0


def _side(finding: Mapping[str, Any] | None) -> dict[str, Any] | None:
    return {"level": finding["level"], "count": finding.get("count", 0)} if finding else None


def _run_side(entry: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if entry is None:
        return None
    return {"status": entry["status"], "severity": (entry.get("severity") or {}).get("level")}


def _read_index(directory: Path) -> dict[str, Any] | None:
    try:
        index = json.loads((directory / INDEX_JSON).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return index if isinstance(index, dict) else None

"""Hand-written evidence directories, as `mcops run` leaves them, for the report tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def finding(check: str, level: str = "ok", count: int = 0, **more: Any) -> dict[str, Any]:
    return {"check": check, "level": level, "title": f"{check} {level}", "count": count, **more}


def write_evidence(
    report_dir: Path,
    scenario: str,
    findings: list[dict[str, Any]],
    *,
    status: str = "ok",
    level: str = "SEV4",
    reason: str = "nothing wrong",
    html: bool = True,
) -> Path:
    """``report_dir/scenario/`` with a summary.json (and an HTML, unless told not)."""
    out = report_dir / scenario
    out.mkdir(parents=True, exist_ok=True)
    summary: dict[str, Any] = {
        "scenario": scenario,
        "status": status,
        "started_at": "2026-11-30T04:00:00Z",
        "finished_at": "2026-11-30T04:00:05Z",
        "parameters": {},
        "severity": {"scheme": level.rstrip("0123456789"), "level": level, "reason": reason},
        "findings": findings,
        "remediations": [],
        "sources": {},
        "artifacts": [],
    }
    if status == "error":
        summary["error"] = {"message": f"{scenario}: cell 3 raised ValueError: boom"}
    (out / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    if html:
        (out / f"{scenario}.html").write_text("<html></html>", encoding="utf-8")
    return out

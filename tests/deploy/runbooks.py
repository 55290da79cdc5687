"""Where the runbook texts are, for tests that compare deploy/ against them."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

#: Alerts named in the runbooks: 000 "Alert Definitions", 004 each scenario's "Alert:" line.
RUNBOOK_ALERTS = {
    "000": {
        "ActorRestartRateHigh",
        "ActorMailboxBacklog",
        "EpochConflictDetected",
        "ActorUnresponsive",
        "MemoryUsageHigh",
    },
    "004": {
        "MCHighMailboxDepthWarning",
        "MCHighMailboxDepthCritical",
        "MCActorPanic",
        "MCMeetingStale",
        "MCLowConnectionCount",
        "MCDown",
        "MCPodRestartingFrequently",
        "MCHighLatency",
        "MCGCHeartbeatFailure",
        "MCGCHeartbeatWarning",
        "MCHighMemory",
        "MCHighCPU",
        "MCCapacityWarning",
    },
}

_FILES = {"000": "000_00e3a1bb8de4710c.txt", "004": "004_7c4ab9269c4f6157.txt"}


def runbook_text(number: str) -> str:
    """The runbook's text from ``MCOPS_RUNBOOKS_DIR`` (the project ships only what it
    derived from them, `RUNBOOK_ALERTS`); skips the test when it is not set."""
    candidates = [
        Path(os.environ["MCOPS_RUNBOOKS_DIR"]) if "MCOPS_RUNBOOKS_DIR" in os.environ else None,
        REPO / "docs" / "runbooks",
    ]
    for folder in candidates:
        if folder is not None and (folder / _FILES[number]).is_file():
            return (folder / _FILES[number]).read_text(encoding="utf-8")
    pytest.skip(f"runbook {number} text not found (set MCOPS_RUNBOOKS_DIR)")


def alerts_named_in(number: str) -> set[str]:
    """Alert names as the runbook text writes them."""
    text = runbook_text(number)
    if number == "000":
        section = text.split("## Alert Definitions", 1)[1].split("\n## ", 1)[0]
        return set(re.findall(r"^### (\w+)\s*$", section, flags=re.MULTILINE))
    names: set[str] = set()
    for line in re.findall(r"^\*\*Alert\*\*: (.+)$", text, flags=re.MULTILINE):
        names.update(re.findall(r"`(\w+)`", line))
    return names

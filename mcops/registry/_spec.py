"""The shapes of the registry: a check, a scenario, the kinds of trouble, the error."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from mcops.errors import McopsError

__all__ = ["KINDS", "CheckSpec", "Kind", "Runbook", "Scenario", "UnknownCheck"]

Kind = Literal[
    "down",
    "panic",
    "data",
    "config",
    "crash",
    "loss",
    "registration",
    "pods",
    "saturation",
    "heartbeat",
    "memory",
    "leak",
    "cpu",
    "capacity",
    "latency",
    "errors",
    "not_ready",
    "meetings",
    "rollout",
    "hygiene",
    "overview",
    "verification",
]

#: Kinds in tie-break order (see the module docstring): causes before symptoms.
KINDS: tuple[str, ...] = Kind.__args__  # type: ignore[attr-defined]

Runbook = Literal["000", "004"]


class UnknownCheck(McopsError, KeyError):
    """A finding names a check id the registry does not declare."""

    def __init__(self, check: str) -> None:
        self.check = check
        super().__init__(
            f"unknown check id {check!r} — fix: declare it in mcops/registry.py (CHECKS) "
            "with its scenarios, kind and routes, or use a declared id"
        )

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


@dataclass(frozen=True)
class Scenario:
    """A scenario notebook and the runbook section it implements."""

    name: str
    runbooks: frozenset[Runbook]
    section: str


@dataclass(frozen=True)
class CheckSpec:
    """One check: where it runs, what its trouble is, where to go when it fires.

    ``metric_keys`` are the thresholds.yaml metric keys whose snapshot rows this check
    judges (triage turns each key metric into the finding of the check that owns it).
    ``quick_fix`` is runbook 000's quick fix for the symptom (a key of thresholds.yaml
    ``recovery``; `mcops.advice` words it), empty when the table names none.
    """

    id: str
    scenarios: tuple[str, ...]
    kind: Kind
    routes: tuple[str, ...] = ()
    title: str = ""
    metric_keys: tuple[str, ...] = ()
    quick_fix: str = ""

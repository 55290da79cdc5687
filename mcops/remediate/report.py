"""What a notebook shows and summary.json records for one action: its plan, and its
result when applied (`run_action` plans, and applies only when asked)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mcops.remediate.base import Action, ApplyResult, Plan

__all__ = ["ActionReport", "run_action"]


@dataclass(frozen=True, eq=False)
class ActionReport:
    """What a notebook shows for one action: the plan, and the result when applied."""

    plan: Plan
    result: ApplyResult | None
    mode: str
    """``plan`` (default, nothing changed) or ``apply``."""

    def as_summary(self) -> dict[str, Any]:
        """The entry for summary.json's ``remediations`` list (``blocked_by`` when blocked)."""
        out: dict[str, Any] = {
            "action": self.plan.action,
            "mode": self.mode,
            "changes": len(self.plan.changes) if self.result is None else self.result.changed,
            "backup": None if self.result is None else self.result.backup,
        }
        if self.plan.blocked:
            out["blocked_by"] = list(self.plan.blocked_by)
        return out

    def __str__(self) -> str:
        return str(self.plan) + ("" if self.result is None else "\n" + str(self.result))

    def _repr_html_(self) -> str:
        if self.result is not None:
            tail = self.result._repr_html_()
        elif self.mode == "apply":
            tail = "<p><i>Nothing to apply: the plan is empty, nothing was changed.</i></p>"
        elif self.plan.blocked and not self.plan.empty:
            tail = (
                "<p><i>Plan only, and blocked: <code>apply_remediation=True</code> refuses "
                "until the step above holds.</i></p>"
            )
        else:
            tail = "<p><i>Plan only: set <code>apply_remediation=True</code> to apply it.</i></p>"
        return self.plan._repr_html_() + tail


def run_action(action: Action, *, apply: bool) -> ActionReport:
    """Plan, and only when `apply` is true, apply that exact plan (notebook helper).

    With `apply` and an empty plan nothing runs, but the mode stays "apply" so the
    evidence says apply was asked for and there was nothing to do.
    """
    plan = action.plan()
    if not apply:
        return ActionReport(plan=plan, result=None, mode="plan")
    if plan.empty:
        return ActionReport(plan=plan, result=None, mode="apply")
    return ActionReport(plan=plan, result=action.apply(plan), mode="apply")

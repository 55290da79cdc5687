"""The guarded-action contract: plan, apply exactly that plan, verify, audit, undo.

`Remediation` is a template method (as papermill guarantees its output notebook):
`apply()` and `undo()` always append an audit record — ok, refused or failed — and
turn unexpected errors into `RemediationError` saying what was and was not changed.
Subclasses implement `_plan`, `_apply` and `_undo` and never audit themselves.

The audit is write-ahead: once the checks pass, an ``intent`` record (who, why, the
planned changes) is appended and fsynced *before* `_apply`/`_undo` runs, and the
outcome after. When the intent cannot be written (a read-only disk, a directory where
the file should be), nothing is changed: `ActionRefused` says where and why.

Runbook order: an action may carry `Precondition`s, the earlier runbook steps it waits
for. While one fails or cannot be verified the plan still shows every change but is
``blocked_by`` that step, and `apply()` refuses (`ActionRefused`, audited) before any
change, naming the step and its fix.

Idempotence, decided: applying a plan whose changes are already in place (a second
apply of the same plan) returns a result with status ``nothing_to_do`` and
``changed == 0``; it is not an error. A plan whose *before* state no longer matches
raises `StalePlan`. A fresh plan after an apply is empty.

What a notebook shows for an action (`ActionReport`, `run_action`) is in `report`.
"""

from __future__ import annotations

import abc
import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable

from mcops.errors import ActionRefused, RemediationError, ScopeExceeded, StalePlan
from mcops.jsonable import canonical_hash, dumps
from mcops.remediate.audit import AuditLog, AuditRecord, AuditUnwritable
from mcops.secrets import redact_prose, redact_text
from mcops.utc import now

__all__ = [
    "Action",
    "ActionRefused",
    "ApplyResult",
    "Plan",
    "Precondition",
    "Remediation",
    "require_id",
]

_SHOWN_ROWS = 50  # rows shown in a notebook / kept in an audit summary


def _rows(rows: Sequence[Mapping[str, Any]]) -> str:
    from mcops.display import rows_table_html  # loads when a plan is first shown

    return rows_table_html(rows, limit=_SHOWN_ROWS, empty="no changes")


def require_id(name: str, value: object) -> str:
    """An explicit identifier: no empty strings, no ``*`` or SQL wildcards."""
    if not isinstance(value, str) or not value.strip():
        raise ScopeExceeded(f"{name} must be an explicit, non-empty id (got {value!r})")
    if any(ch in value for ch in "*%?") or value.strip() in {"all", "ALL"}:
        raise ScopeExceeded(
            f"{name}={value!r} looks like a wildcard; name one object explicitly "
            "(bulk actions take all=True and are bounded by max_rows)"
        )
    return value


@dataclass(frozen=True)
class Precondition:
    """An earlier runbook step an action waits for, and whether it holds now.

    Remediations follow the runbook's order: deleting duplicate commits while the
    actor system is still off would only race new duplicates in.
    """

    step: str
    """The runbook step, e.g. ``runbook 000 Handling Epoch Conflicts step 1 (verify ...)``."""
    holds: bool | None
    """True: done; False: still fails; None: could not be verified (blocks too)."""
    why: str = ""
    """The evidence: what was read, or why it could not be read."""
    fix: str = ""
    """What to do so that the step holds (default: complete it, then plan again)."""

    def __post_init__(self) -> None:
        if self.holds is not None and not isinstance(self.holds, bool):
            raise TypeError(
                f"Precondition.holds must be True, False or None, got {self.holds!r}; "
                "convert the observed value with bool() (None when it is unknown)"
            )

    @property
    def blocker(self) -> str | None:
        """The sentence a blocked plan and a refusal show; None when the step holds."""
        if self.holds:
            return None
        state = "could not be verified" if self.holds is None else "still fails"
        text = f"{self.step} comes first, and it {state}"
        text += f" ({self.why})" if self.why else ""
        return f"{text} — fix: {self.fix or 'complete that step, then plan again'}"


@dataclass(frozen=True, eq=False)
class Plan:
    """What an action would change, and the fingerprint of the state it was made from."""

    action: str
    """Snake-case action name, e.g. ``reset_epoch``."""
    target: str
    """Where it acts, redacted (database URL + scope, namespace/deployment, server URL)."""
    changes: tuple[Mapping[str, Any], ...]
    """One mapping per row / object path / process that would change (shown to people)."""
    fingerprint: str
    """Hash of the before-state; apply re-checks it inside its transaction."""
    summary: str
    reversible: bool = True
    notes: tuple[str, ...] = ()
    refusal: str | None = None
    """Set when the plan must not be applied (e.g. duplicates block a unique index)."""
    blocked_by: tuple[str, ...] = ()
    """One sentence per earlier runbook step that still fails; apply refuses until none."""
    state: Mapping[str, Any] = field(default_factory=dict, repr=False)
    """Action-private data needed to apply exactly this plan (rows, patch, uid)."""
    created_at: dt.datetime = field(default_factory=now)

    @property
    def empty(self) -> bool:
        """Nothing to do: the target is already in the desired state."""
        return not self.changes

    @property
    def blocked(self) -> bool:
        """An earlier runbook step still fails: shown, but apply refuses."""
        return bool(self.blocked_by)

    @property
    def plan_hash(self) -> str:
        """Identifies this exact plan in the audit log."""
        return canonical_hash([self.action, self.target, list(self.changes), self.fingerprint])[:16]

    def __str__(self) -> str:
        lines = [f"PLAN {self.action} on {self.target}: {self.summary} [{self.plan_hash}]"]
        lines += [f"  {dumps(c)}" for c in self.changes[:_SHOWN_ROWS]]
        if len(self.changes) > _SHOWN_ROWS:
            lines.append(f"  … and {len(self.changes) - _SHOWN_ROWS} more")
        lines += [f"  note: {n}" for n in self.notes]
        lines += [f"  BLOCKED: {b}" for b in self.blocked_by]
        if self.refusal:
            lines.append(f"  REFUSED: {self.refusal}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        import html

        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        refusal = (
            f"<p style='color:#b00'><b>Refused:</b> {html.escape(self.refusal)}</p>"
            if self.refusal
            else ""
        )
        blocked = "".join(
            f"<p style='color:#b00'><b>Blocked:</b> {html.escape(b)}</p>" for b in self.blocked_by
        )
        return (
            f"<div class='mcops-plan'><p><b>Plan</b> <code>{html.escape(self.action)}</code> on "
            f"<code>{html.escape(self.target)}</code> — {html.escape(self.summary)} "
            f"<small>(plan {self.plan_hash}, nothing changed yet)</small></p>"
            f"{_rows(self.changes)}{blocked}{refusal}"
            f"{f'<ul>{notes}</ul>' if notes else ''}</div>"
        )


@dataclass(frozen=True, eq=False)
class ApplyResult:
    """What an apply (or undo) did; pass it to `undo()` to restore the before-state."""

    plan: Plan
    status: str
    """``applied``, ``nothing_to_do`` or ``undone``."""
    changed: int
    before: tuple[Mapping[str, Any], ...] = ()
    after: tuple[Mapping[str, Any], ...] = ()
    backup: str | None = None
    """Path of the JSON backup file, when rows were copied."""
    message: str = ""
    undo_state: Mapping[str, Any] = field(default_factory=dict, repr=False)

    def __str__(self) -> str:
        where = f" backup={self.backup}" if self.backup else ""
        return (
            f"{self.status.upper()} {self.plan.action} on {self.plan.target}: "
            f"{self.changed} changed.{where} {self.message}".rstrip()
        )

    def _repr_html_(self) -> str:
        import html

        colour = "#070" if self.status != "nothing_to_do" else "#555"
        backup = f"<p>Backup: <code>{html.escape(self.backup)}</code></p>" if self.backup else ""
        return (
            f"<div class='mcops-result'><p style='color:{colour}'><b>{self.status}</b> "
            f"<code>{html.escape(self.plan.action)}</code> on "
            f"<code>{html.escape(self.plan.target)}</code>: {self.changed} changed. "
            f"{html.escape(self.message)}</p>{backup}<p>Before:</p>{_rows(self.before)}"
            f"<p>After:</p>{_rows(self.after)}</div>"
        )


@runtime_checkable
class Action(Protocol):
    """Anything `run_action` can drive: a named target with plan/apply/undo."""

    name: ClassVar[str]

    @property
    def target(self) -> str: ...

    def plan(self) -> Plan: ...

    def apply(self, plan: Plan) -> ApplyResult: ...

    def undo(self, result: ApplyResult) -> ApplyResult: ...


def _summary(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return {"count": len(rows), "rows": list(rows[:20])}


class Remediation(abc.ABC):
    """Base of every action: the audited template around `_plan`/`_apply`/`_undo`."""

    name: ClassVar[str]
    not_changed_on_failure: ClassVar[str] = "nothing was changed (the transaction rolled back)"

    def __init__(
        self,
        *,
        reason: str = "",
        audit: AuditLog | None = None,
        preconditions: Sequence[Precondition] = (),
    ) -> None:
        self.reason = reason
        self.audit = audit if audit is not None else AuditLog()
        self.preconditions = tuple(preconditions)

    @property
    @abc.abstractmethod
    def target(self) -> str:
        """Redacted description of exactly what this action touches."""

    @abc.abstractmethod
    def _plan(self) -> Plan: ...

    @abc.abstractmethod
    def _apply(self, plan: Plan) -> ApplyResult: ...

    @abc.abstractmethod
    def _undo(self, result: ApplyResult) -> ApplyResult: ...

    def _check_plan(self, plan: Plan) -> None:
        """Refuse a plan whose stored state does not match its fingerprint (overridable;
        actions that re-read their whole state at apply time need no more)."""
        return None

    def _blockers(self) -> tuple[str, ...]:
        return tuple(b for p in self.preconditions if (b := p.blocker) is not None)

    def plan(self) -> Plan:
        """Read-only: what would change (blocked while an earlier step fails). Never writes."""
        plan = self._plan()
        blockers = self._blockers()
        return dataclasses.replace(plan, blocked_by=blockers) if blockers else plan

    def apply(self, plan: Plan) -> ApplyResult:
        """Apply exactly `plan` (refusing a stale or foreign one); always audited."""

        def run() -> ApplyResult:
            if plan.action != self.name or plan.target != self.target:
                raise StalePlan(
                    f"plan was made for {plan.action} on {plan.target}, not {self.name} on "
                    f"{self.target}; make a plan with this action and apply that",
                    action=self.name,
                )
            blockers = self._blockers()
            if blockers:
                raise ActionRefused(
                    f"{self.name} refused, nothing was changed: {'; '.join(blockers)}",
                    action=self.name,
                )
            if plan.refusal:
                raise ActionRefused(f"{self.name} refused: {plan.refusal}", action=self.name)
            self._check_plan(plan)
            self._write_intent("apply", plan)
            return self._apply(plan)

        return self._audited("apply", plan, run)

    def undo(self, result: ApplyResult) -> ApplyResult:
        """Restore the before-state captured by `result`; always audited."""

        def run() -> ApplyResult:
            if result.plan.action != self.name or result.plan.target != self.target:
                raise StalePlan(
                    f"result belongs to {result.plan.action} on {result.plan.target}",
                    action=self.name,
                )
            if result.status == "nothing_to_do":
                return ApplyResult(
                    plan=result.plan,
                    status="nothing_to_do",
                    changed=0,
                    message="the apply changed nothing, so there is nothing to undo",
                )
            if not result.plan.reversible:
                raise ActionRefused(
                    f"{self.name} is not reversible: "
                    + "; ".join(result.plan.notes or ("no before-state can be restored",)),
                    action=self.name,
                )
            self._write_intent("undo", result.plan)
            return self._undo(result)

        return self._audited("undo", result.plan, run)

    def _base(self, mode: str, plan: Plan) -> dict[str, Any]:
        return {
            "action": self.name,
            "target": self.target,
            "mode": mode,
            "plan_hash": plan.plan_hash,
            "reason": redact_prose(self.reason),
        }

    def _write_intent(self, mode: str, plan: Plan) -> None:
        """Write-ahead: the change is on disk as intended before anything is changed."""
        record = AuditRecord(
            **self._base(mode, plan), result="intent", before=_summary(plan.changes)
        )
        self.audit.append_intent(record)

    def _audited(self, mode: str, plan: Plan, run: Callable[[], ApplyResult]) -> ApplyResult:
        base = self._base(mode, plan)
        try:
            result = run()
        except AuditUnwritable:
            raise  # nothing changed, and there is nowhere to record the refusal
        except RemediationError as err:
            refused = isinstance(err, StalePlan | ScopeExceeded | ActionRefused)
            self.audit.append_outcome(
                AuditRecord(
                    **base,
                    result="refused" if refused else "failed",
                    changed=err.changed,
                    before=_summary(plan.changes),
                    error=redact_text(str(err)),
                )
            )
            raise
        except Exception as err:
            wrapped = RemediationError(
                f"{self.name} {mode} failed on {self.target}: {type(err).__name__}: "
                f"{redact_text(str(err))}. {self.not_changed_on_failure[0].upper()}"
                f"{self.not_changed_on_failure[1:]}; evidence is in the audit log.",
                action=self.name,
                changed=0,
            )
            self.audit.append_outcome(
                AuditRecord(
                    **base,
                    result="failed",
                    changed=0,
                    before=_summary(plan.changes),
                    error=str(wrapped),
                )
            )
            raise wrapped from err
        self.audit.append_outcome(
            AuditRecord(
                **base,
                result="ok",
                changed=result.changed,
                before=_summary(result.before),
                after=_summary(result.after),
                backup=result.backup,
                error=None,
            )
        )
        return result

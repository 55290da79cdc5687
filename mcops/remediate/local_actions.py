"""Single-host actions (the lab, a VM install): restart the server process and change
its pool size. The admin-API remediations live in `admin_actions` (re-exported here).

A process is anything with the small `LocalProcess` protocol (the lab's handle, a test
fixture). A restart is not reversible, and its plan says so; `SetPoolSize` is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from mcops.errors import ScopeExceeded, StalePlan, VerificationFailed
from mcops.jsonable import canonical_hash
from mcops.remediate.admin_actions import (
    EndMeeting,
    ReRegisterController,
    StopStaleActors,
    not_reversible,
)
from mcops.remediate.audit import AuditLog
from mcops.remediate.base import ApplyResult, Plan, Remediation

__all__ = [
    "EndMeeting",
    "LocalProcess",
    "ReRegisterController",
    "RestartLocalServer",
    "SetPoolSize",
    "StopStaleActors",
]

POOL_VAR = "DATABASE_MAX_CONNECTIONS"


@runtime_checkable
class LocalProcess(Protocol):
    """A restartable server process on this host."""

    @property
    def pid(self) -> int: ...

    @property
    def command(self) -> Sequence[str]: ...

    @property
    def env(self) -> Mapping[str, str]: ...

    def restart(self, *, env: Mapping[str, str] | None = None) -> None:
        """Stop and start again (with `env` replacing the environment when given)."""


class RestartLocalServer(Remediation):
    """docker restart / systemctl restart for a single host (runbook 000 several steps)."""

    name = "restart_local_server"
    not_changed_on_failure = "the process may have been stopped; check it is running"

    def __init__(
        self, process: LocalProcess, *, reason: str = "", audit: AuditLog | None = None
    ) -> None:
        super().__init__(reason=reason, audit=audit)
        self.process = process

    @property
    def target(self) -> str:
        return f"local process {' '.join(self.process.command[:4])}"

    def _plan(self) -> Plan:
        pid = self.process.pid
        return Plan(
            action=self.name,
            target=self.target,
            changes=(
                {
                    "pid": pid,
                    "command": " ".join(self.process.command),
                    "effect": "every actor stops; they are re-spawned on demand",
                },
            ),
            fingerprint=f"pid={pid}",
            summary=f"restart pid {pid}",
            reversible=False,
            notes=not_reversible("a restart cannot be undone"),
            state={"pid": pid},
        )

    def _apply(self, plan: Plan) -> ApplyResult:
        if self.process.pid != plan.state["pid"]:
            # Restarted since the plan (by us or anyone): what the plan asked for happened.
            return ApplyResult(
                plan=plan,
                status="nothing_to_do",
                changed=0,
                message=f"pid is now {self.process.pid}: already restarted",
            )
        self.process.restart()
        if self.process.pid == plan.state["pid"]:
            raise VerificationFailed(
                f"{self.name}: pid is still {plan.state['pid']} after restart",
                action=self.name,
                changed=1,
            )
        return ApplyResult(
            plan=plan,
            status="applied",
            changed=1,
            before=plan.changes,
            after=({"pid": self.process.pid},),
        )

    def _undo(self, result: ApplyResult) -> ApplyResult:
        raise NotImplementedError  # the base class refuses: the plan is not reversible


class SetPoolSize(Remediation):
    """DATABASE_MAX_CONNECTIONS=n and restart (Clearing Mailbox Backlog step 3)."""

    name = "set_pool_size"
    not_changed_on_failure = "the process may have been restarted; check its environment"

    def __init__(
        self,
        process: LocalProcess,
        size: int,
        *,
        bounds: tuple[int, int] = (1, 100),
        reason: str = "",
        audit: AuditLog | None = None,
    ) -> None:
        super().__init__(reason=reason, audit=audit)
        low, high = bounds
        if not low <= size <= high:
            raise ScopeExceeded(f"pool size {size} outside the allowed {low}..{high}")
        self.process = process
        self.size = size

    @property
    def target(self) -> str:
        return f"local process {' '.join(self.process.command[:4])} {POOL_VAR}"

    def _state(self) -> dict[str, Any]:
        return {"pid": self.process.pid, "value": self.process.env.get(POOL_VAR)}

    def _plan(self) -> Plan:
        state = self._state()
        changes: tuple[dict[str, Any], ...] = ()
        if state["value"] != str(self.size):
            changes = (
                {"variable": POOL_VAR, "now": state["value"], "new": str(self.size)},
                {"restart pid": state["pid"], "command": " ".join(self.process.command)},
            )
        return Plan(
            action=self.name,
            target=self.target,
            changes=changes,
            fingerprint=canonical_hash(state),
            summary=f"{POOL_VAR} {state['value']} → {self.size}, then restart"
            if changes
            else f"nothing to do: {POOL_VAR} is already {self.size}",
            notes=(
                "only this variable changes; other settings are kept",
                "undo restarts again with the previous value",
            ),
            state=state,
        )

    def _set(self, value: str | None) -> None:
        env = {k: v for k, v in self.process.env.items() if k != POOL_VAR}
        if value is not None:
            env[POOL_VAR] = value
        self.process.restart(env=env)

    def _apply(self, plan: Plan) -> ApplyResult:
        state = self._state()
        if state["value"] == str(self.size):
            return ApplyResult(
                plan=plan,
                status="nothing_to_do",
                changed=0,
                message=f"{POOL_VAR} is already {self.size}",
            )
        if canonical_hash(state) != plan.fingerprint:
            raise StalePlan(
                f"{self.name}: the process changed since the plan ({plan.state} → {state}); "
                "nothing was changed — make a new plan",
                action=self.name,
            )
        self._set(str(self.size))
        if self.process.env.get(POOL_VAR) != str(self.size) or self.process.pid == state["pid"]:
            raise VerificationFailed(
                f"{self.name}: after restart {POOL_VAR}={self.process.env.get(POOL_VAR)} pid="
                f"{self.process.pid}",
                action=self.name,
                changed=1,
            )
        return ApplyResult(
            plan=plan,
            status="applied",
            changed=1,
            before=({POOL_VAR: state["value"], "pid": state["pid"]},),
            after=({POOL_VAR: str(self.size), "pid": self.process.pid},),
            undo_state={"previous": state["value"]},
        )

    def _undo(self, result: ApplyResult) -> ApplyResult:
        if self.process.env.get(POOL_VAR) != str(self.size):
            raise StalePlan(
                f"{self.name} undo: {POOL_VAR} changed after the apply; nothing was restored",
                action=self.name,
            )
        previous = result.undo_state["previous"]
        self._set(previous)
        return ApplyResult(
            plan=result.plan,
            status="undone",
            changed=1,
            before=result.after,
            after=({POOL_VAR: previous},),
        )

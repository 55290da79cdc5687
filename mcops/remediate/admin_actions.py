"""The admin-API remediations of runbooks 000/004: end a meeting, re-register with the
global controller, stop stale actors. The server is reached through `AdminApi`; none of
these can be undone, and each plan says so.

SQLAlchemy and prometheus_client's parser load when a plan needs them, not at import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mcops.errors import RemediationError, ScopeExceeded, StalePlan, VerificationFailed
from mcops.jsonable import canonical_hash
from mcops.remediate.admin_api import AdminApi, AdminApiError
from mcops.remediate.audit import AuditLog
from mcops.remediate.base import ApplyResult, Plan, Remediation, require_id
from mcops.remediate.sql_base import make_engine, read_only

if TYPE_CHECKING:
    import sqlalchemy as sa

__all__ = ["EndMeeting", "ReRegisterController", "StopStaleActors", "not_reversible"]


def not_reversible(why: str) -> tuple[str, ...]:
    """The plan note of an action that cannot be undone."""
    return (f"not reversible: {why}",)


class _AdminAction(Remediation):
    not_changed_on_failure = "the server state is as the audit record's 'changed' says"

    def __init__(self, admin: AdminApi, *, reason: str = "", audit: AuditLog | None = None) -> None:
        super().__init__(reason=reason, audit=audit)
        self.admin = admin

    def _undo(self, result: ApplyResult) -> ApplyResult:
        raise NotImplementedError  # the base class refuses: these plans are not reversible


class EndMeeting(_AdminAction):
    """POST /admin/meetings/{id}/end (runbook 004 Scenario 3 Option 1)."""

    name = "end_meeting"

    def __init__(
        self,
        admin: AdminApi,
        meeting_id: str,
        *,
        database: str | sa.Engine | None = None,
        reason: str = "",
        audit: AuditLog | None = None,
    ) -> None:
        super().__init__(admin, reason=reason, audit=audit)
        self.meeting_id = require_id("meeting_id", meeting_id)
        # The store knows a meeting's status after its actor stopped; the admin API only
        # while the actor is live. Give the database when you have it.
        self.engine = None if database is None else make_engine(database)

    @property
    def target(self) -> str:
        return f"{self.admin.target} meeting {self.meeting_id}"

    def _status(self) -> dict[str, Any]:
        if self.engine is not None:
            import sqlalchemy as sa

            from mcops.schema import meetings

            with read_only(self.engine) as conn:
                row = (
                    conn.execute(
                        sa.select(
                            meetings.c.status, meetings.c.participant_count, meetings.c.mc_id
                        ).where(meetings.c.meeting_id == self.meeting_id)
                    )
                    .mappings()
                    .first()
                )
            if row is None:
                raise ScopeExceeded(
                    f"no meeting {self.meeting_id!r} in the meetings table; check the id",
                    action=self.name,
                )
            return dict(row)
        try:
            state = self.admin.request("GET", f"/admin/actors/meeting/{self.meeting_id}")
        except AdminApiError as err:
            if err.status != 404:
                raise
            return {"status": "not live (ending loads it from the store)"}
        return {k: state.get(k) for k in ("status", "participant_count", "connections")}

    def _plan(self) -> Plan:
        state = self._status()
        done = state["status"] == "ended"
        changes = () if done else ({"meeting_id": self.meeting_id, **state, "new": "ended"},)
        return Plan(
            action=self.name,
            target=self.target,
            changes=changes,
            fingerprint=canonical_hash(state["status"]),
            summary="nothing to do: already ended" if done else "end 1 meeting",
            reversible=False,
            notes=not_reversible("participants are disconnected"),
        )

    def _apply(self, plan: Plan) -> ApplyResult:
        state = self._status()
        if state["status"] == "ended":
            return ApplyResult(
                plan=plan, status="nothing_to_do", changed=0, message="the meeting is already ended"
            )
        answer = self.admin.request("POST", f"/admin/meetings/{self.meeting_id}/end")
        if not isinstance(answer, dict) or answer.get("status") != "ended":
            raise VerificationFailed(
                f"{self.name}: server answered {answer!r}", action=self.name, changed=1
            )
        return ApplyResult(
            plan=plan, status="applied", changed=1, before=plan.changes, after=(answer,)
        )


class ReRegisterController(_AdminAction):
    """POST /admin/gc/register (runbook 004 Scenario 6 Option 4)."""

    name = "reregister_controller"

    def __init__(
        self,
        admin: AdminApi,
        *,
        force: bool = False,
        reason: str = "",
        audit: AuditLog | None = None,
    ) -> None:
        super().__init__(admin, reason=reason, audit=audit)
        self.force = force

    @property
    def target(self) -> str:
        return f"{self.admin.target} gc registration"

    def _registered(self) -> float | None:
        from prometheus_client.parser import text_string_to_metric_families

        for family in text_string_to_metric_families(self.admin.text("/metrics")):
            if family.name == "mc_gc_registered":
                return family.samples[0].value if family.samples else None
        return None

    def _plan(self) -> Plan:
        registered = self._registered()
        mc_id = (self.admin.request("GET", "/admin/config") or {}).get("mc_id")
        needed = self.force or registered != 1
        return Plan(
            action=self.name,
            target=self.target,
            changes=({"mc_id": mc_id, "mc_gc_registered": registered, "will": "re-register"},)
            if needed
            else (),
            fingerprint=canonical_hash([mc_id, registered if not self.force else "force"]),
            summary="re-register with the global controller"
            if needed
            else "nothing to do: mc_gc_registered is 1 (force=True to re-register anyway)",
            reversible=False,
            notes=not_reversible("registration is an upsert; harmless"),
            state={"mc_id": mc_id},
        )

    def _apply(self, plan: Plan) -> ApplyResult:
        if not self.force and self._registered() == 1:
            return ApplyResult(
                plan=plan, status="nothing_to_do", changed=0, message="already registered"
            )
        try:
            answer = self.admin.request("POST", "/admin/gc/register")
        except AdminApiError as err:
            raise VerificationFailed(
                f"{self.name}: registration failed ({err}); check the GC database and "
                "network policy (runbook 004 Scenario 6)",
                action=self.name,
            ) from err
        return ApplyResult(
            plan=plan, status="applied", changed=1, before=plan.changes, after=(answer,)
        )


class StopStaleActors(_AdminAction):
    """Stop actors idle at least `idle_seconds` (runbook 000 Memory Leak step 2).

    Stops exactly the planned actors, one DELETE each, rather than POST stop-idle: an
    actor that became idle after the plan was not reviewed, so it is left alone.
    """

    name = "stop_stale_actors"

    def __init__(
        self,
        admin: AdminApi,
        idle_seconds: float,
        *,
        actor_type: str | None = None,
        max_actors: int = 1000,
        reason: str = "",
        audit: AuditLog | None = None,
    ) -> None:
        super().__init__(admin, reason=reason, audit=audit)
        if idle_seconds < 0:
            raise ScopeExceeded(f"idle_seconds must be >= 0, got {idle_seconds}")
        self.idle_seconds = idle_seconds
        self.actor_type = None if actor_type is None else require_id("actor_type", actor_type)
        self.max_actors = max_actors

    @property
    def target(self) -> str:
        kind = self.actor_type or "all types"
        return f"{self.admin.target} actors ({kind}) idle >= {self.idle_seconds}s"

    def _actors(self) -> dict[tuple[str, str], dict[str, Any]]:
        params = {"limit": 100000, **({"actor_type": self.actor_type} if self.actor_type else {})}
        listing = self.admin.request("GET", "/admin/actors", params=params) or []
        return {(a["actor_type"], a["actor_id"]): a for a in listing}

    def _plan(self) -> Plan:
        idle = [a for a in self._actors().values() if a["idle_seconds"] >= self.idle_seconds]
        idle.sort(key=lambda a: (a["actor_type"], a["actor_id"]))
        if len(idle) > self.max_actors:
            raise ScopeExceeded(
                f"{len(idle)} idle actors exceed max_actors={self.max_actors}; raise the "
                "idle threshold or max_actors deliberately",
                action=self.name,
            )
        keys = [[a["actor_type"], a["actor_id"]] for a in idle]
        return Plan(
            action=self.name,
            target=self.target,
            changes=tuple(
                {k: a[k] for k in ("actor_type", "actor_id", "idle_seconds", "mailbox_depth")}
                for a in idle
            ),
            fingerprint=canonical_hash(keys),
            summary=f"stop {len(idle)} idle actor(s)",
            reversible=False,
            notes=not_reversible("stopped actors are re-spawned on their next message"),
            state={"keys": keys},
        )

    def _apply(self, plan: Plan) -> ApplyResult:
        live = self._actors()
        planned = [tuple(k) for k in plan.state["keys"]]
        todo = [k for k in planned if k in live]
        busy = [k for k in todo if live[k]["idle_seconds"] < self.idle_seconds]
        if busy:
            raise StalePlan(
                f"{self.name}: {len(busy)} planned actor(s) became active since the plan "
                f"(first: {busy[0]}); nothing was stopped — make a new plan",
                action=self.name,
            )
        if not todo:
            return ApplyResult(
                plan=plan,
                status="nothing_to_do",
                changed=0,
                message="every planned actor is already stopped",
            )
        stopped: list[dict[str, str]] = []
        for actor_type, actor_id in todo:
            try:
                self.admin.request("DELETE", f"/admin/actors/{actor_type}/{actor_id}")
            except AdminApiError as err:
                if err.status == 404:
                    continue  # stopped meanwhile (inactivity sweep): the goal holds
                raise RemediationError(
                    f"{self.name}: stopping {actor_type}/{actor_id} failed ({err}); stopped "
                    f"before the error: {stopped or 'none'}; not stopped: "
                    f"{todo[len(stopped) :]}",
                    action=self.name,
                    changed=len(stopped),
                ) from err
            stopped.append({"actor_type": actor_type, "actor_id": actor_id})
        return ApplyResult(
            plan=plan,
            status="applied",
            changed=len(stopped),
            before=plan.changes,
            after=tuple(stopped),
        )

"""Local-platform actions against the real actor server (tests.support.running_server):
a real child process restarted for real, and its admin API over HTTP on loopback."""

from __future__ import annotations

import time
from collections.abc import Mapping

import pytest

from mcops.errors import RemediationError, ScopeExceeded, StalePlan
from mcops.remediate import ActionRefused
from mcops.remediate.admin_api import AdminApi
from mcops.remediate.local_actions import (
    POOL_VAR,
    EndMeeting,
    LocalProcess,
    ReRegisterController,
    RestartLocalServer,
    SetPoolSize,
    StopStaleActors,
)
from tests.support.server_process import ADMIN_TOKEN, ServerProcess, running_server

pytestmark = pytest.mark.slow


class ServerHandle:
    """`LocalProcess` over the test-support ServerProcess (the lab will have its own)."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server

    @property
    def pid(self) -> int:
        assert self.server.proc is not None
        return self.server.proc.pid

    @property
    def command(self) -> list[str]:
        assert self.server.proc is not None
        return [str(a) for a in self.server.proc.args]

    @property
    def env(self) -> Mapping[str, str]:
        return self.server.env

    def restart(self, *, env: Mapping[str, str] | None = None) -> None:
        if env is not None:
            self.server.env = dict(env)
        self.server.restart()


@pytest.fixture
def server(sqlite_url):
    with running_server(sqlite_url) as srv:
        yield srv


@pytest.fixture
def admin(server):
    with AdminApi(server.url, ADMIN_TOKEN) as api:
        yield api


def test_set_pool_size_restarts_with_new_value_and_undo(server, admin, audit):
    handle = ServerHandle(server)
    assert isinstance(handle, LocalProcess)
    action = SetPoolSize(handle, 30, audit=audit)
    plan = action.plan()
    assert plan.changes[0] == {"variable": POOL_VAR, "now": None, "new": "30"}
    pid = handle.pid
    assert handle.pid == pid and POOL_VAR not in handle.env, "plan restarted nothing"
    result = action.apply(plan)
    assert handle.pid != pid
    assert admin.request("GET", "/admin/config")["database_max_connections"] == 30
    assert action.plan().empty and action.apply(plan).status == "nothing_to_do"
    action.undo(result)
    assert admin.request("GET", "/admin/config")["database_max_connections"] == 10
    assert [r["result"] for r in audit.outcomes()] == ["ok", "ok", "ok"]
    with pytest.raises(ScopeExceeded):
        SetPoolSize(handle, 500)


def test_restart_local_server(server, admin, audit):
    handle = ServerHandle(server)
    action = RestartLocalServer(handle, audit=audit)
    plan = action.plan()
    assert plan.changes[0]["pid"] == handle.pid and not plan.reversible
    result = action.apply(plan)
    assert result.after[0]["pid"] == handle.pid != plan.state["pid"]
    assert admin.request("GET", "/admin/config")["mc_id"]
    assert action.apply(plan).status == "nothing_to_do"
    with pytest.raises(ActionRefused):
        action.undo(result)


def test_end_meeting(server, admin, audit, sqlite_url):
    with server.client("did:plc:alice") as user:
        meeting_id = user.post("/meetings", json={}).json()["meeting_id"]
    live = EndMeeting(admin, meeting_id, audit=audit)
    assert live.plan().changes[0]["status"] == "active"
    action = EndMeeting(admin, meeting_id, database=sqlite_url, audit=audit)
    plan = action.plan()
    assert plan.changes[0]["status"] == "active" and not plan.reversible
    result = action.apply(plan)
    assert result.after[0]["status"] == "ended"
    assert action.plan().empty, "the store says ended even after the actor stopped"
    assert action.apply(plan).status == "nothing_to_do"
    with pytest.raises(ScopeExceeded):
        EndMeeting(admin, "no-such", database=sqlite_url).plan()


def test_reregister_controller(admin, audit):
    assert ReRegisterController(admin, audit=audit).plan().empty, "registered at start"
    action = ReRegisterController(admin, force=True, audit=audit)
    plan = action.plan()
    assert plan.changes[0]["mc_id"] == "mc-local-1"
    result = action.apply(plan)
    assert result.after[0] == {"registered": True, "mc_id": "mc-local-1"}


def test_stop_stale_actors_stops_exactly_the_plan(server, admin, audit):
    with server.client("did:plc:alice") as user:
        user.post("/xrpc/blue.catbird.mls.createConvo", json={"convo_id": "old"})
        time.sleep(1.2)
        user.post("/xrpc/blue.catbird.mls.createConvo", json={"convo_id": "new"})
        action = StopStaleActors(admin, 1.0, actor_type="conversation", audit=audit)
        plan = action.plan()
        assert [c["actor_id"] for c in plan.changes] == ["old"]
        result = action.apply(plan)
        assert result.after == ({"actor_type": "conversation", "actor_id": "old"},)
        live = {a["actor_id"] for a in admin.request("GET", "/admin/actors")}
        assert "old" not in live and "new" in live, "only the planned actor was stopped"
        assert action.apply(plan).status == "nothing_to_do"

        time.sleep(1.2)
        stale = StopStaleActors(admin, 1.0, actor_type="conversation", audit=audit)
        plan = stale.plan()
        assert [c["actor_id"] for c in plan.changes] == ["new"]
        user.get("/xrpc/blue.catbird.mls.getEpoch", params={"convo_id": "new"})
        with pytest.raises(StalePlan, match="became active"):
            stale.apply(plan)
    assert audit.outcomes()[-1]["result"] == "refused"


def test_apply_against_a_dead_server_fails_and_is_audited(server, admin, audit):
    action = StopStaleActors(admin, 0, audit=audit)
    plan = action.plan()
    server.stop()
    with pytest.raises(RemediationError) as err:
        action.apply(plan)
    assert err.value.changed == 0
    (record,) = audit.outcomes()
    assert record["result"] == "failed" and "SourceUnreachable" in record["error"]
    server.start()  # leave it running for the fixture to stop

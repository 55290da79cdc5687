"""Runbook 004 Scenario 1 Option 4, "Increase mailbox capacity": the ConfigMap key change
and the mailbox_backlog scenario that offers it last, through the real `kubernetes` client
against kmock (no cluster can run here; kmock is a local API double speaking the real REST
paths, see kube_double.py)."""

from __future__ import annotations

import pytest

from mcops.errors import ScopeExceeded, StalePlan
from mcops.evidence import Recorder
from mcops.findings import Finding
from mcops.investigation import Investigation
from mcops.remediate import ActionRefused
from mcops.remediate.kube_config_value import SetConfigMapValue, configmap_for_key
from mcops.scenarios.mailbox_backlog import mailbox_capacity, restart_after
from tests.mcops.remediate.kube_double import deployment, running_kube

NS, NAME, CM = "dark-tower", "meeting-controller", "mc-config"
CM_KEY = ("v1/configmaps", NS, CM)
CM_PATH = f"/api/v1/namespaces/{NS}/configmaps/{CM}"


def configmap(data):
    meta = {"name": CM, "namespace": NS, "uid": "cm-uid", "resourceVersion": "10"}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data}


def reading_from_configmap(*, env_from: bool = False):
    dep = deployment(NS, NAME)
    container = dep["spec"]["template"]["spec"]["containers"][0]
    if env_from:
        container["envFrom"] = [{"configMapRef": {"name": "other"}}, {"configMapRef": {"name": CM}}]
    else:
        ref = {"configMapKeyRef": {"name": CM, "key": "ACTOR_MAILBOX_SIZE"}}
        container["env"] = [{"name": "ACTOR_MAILBOX_SIZE", "valueFrom": ref}]
    return dep


@pytest.fixture
def kube():
    with running_kube() as (mock, api):
        mock.objects["apps/v1/deployments", NS, NAME] = reading_from_configmap()
        mock.objects[CM_KEY] = configmap({"ACTOR_MAILBOX_SIZE": "1000", "LOG_LEVEL": "info"})
        yield mock, api


def data(mock):
    return dict(mock.objects[CM_KEY].raw)["data"]


def patches(mock):
    return [r for r in mock if r.method.value == "PATCH"]


def test_plan_shows_now_to_new_apply_undo_restores(kube, audit):
    mock, api = kube
    action = SetConfigMapValue(api, NS, CM, key="ACTOR_MAILBOX_SIZE", multiply_by=2, audit=audit)
    plan = action.plan()
    (dry,) = patches(mock)
    assert dry.url.path == CM_PATH and dry.params == {"dryRun": "All"}
    assert data(mock)["ACTOR_MAILBOX_SIZE"] == "1000", "the plan stored nothing"
    assert list(plan.changes) == [{"path": "data.ACTOR_MAILBOX_SIZE", "now": "1000", "new": "2000"}]
    assert any("restart" in note for note in plan.notes)

    result = action.apply(plan)
    real = patches(mock)[-1]
    assert "dryRun" not in real.params
    assert real.data[0] == {"op": "test", "path": "/metadata/resourceVersion", "value": "10"}
    assert data(mock) == {"ACTOR_MAILBOX_SIZE": "2000", "LOG_LEVEL": "info"}
    annotations = dict(mock.objects[CM_KEY].raw)["metadata"]["annotations"]
    assert annotations == {"mcops.io/before.ACTOR_MAILBOX_SIZE": "1000"}
    # a fresh plan (the notebook run again) doubles the first value: already done
    assert action.plan().empty
    # idempotent: the same plan again changes nothing (it would not double twice)
    n = len(patches(mock))
    assert action.apply(plan).status == "nothing_to_do" and len(patches(mock)) == n
    action.undo(result)
    assert data(mock) == {"ACTOR_MAILBOX_SIZE": "1000", "LOG_LEVEL": "info"}
    assert not dict(mock.objects[CM_KEY].raw)["metadata"].get("annotations")
    assert [(r["mode"], r["result"]) for r in audit.outcomes()] == [
        ("apply", "ok"),
        ("apply", "ok"),
        ("undo", "ok"),
    ]


def test_a_key_that_was_absent_is_removed_again_by_undo(kube, audit):
    mock, api = kube
    action = SetConfigMapValue(api, NS, CM, key="ACTOR_MAILBOX_SIZE_NEW", value="4000", audit=audit)
    plan = action.plan()
    assert plan.changes[0]["now"] is None and plan.changes[0]["new"] == "4000"
    result = action.apply(plan)
    assert data(mock)["ACTOR_MAILBOX_SIZE_NEW"] == "4000"
    action.undo(result)
    assert "ACTOR_MAILBOX_SIZE_NEW" not in data(mock)


def test_a_configmap_changed_since_the_plan_is_refused(kube, audit):
    mock, api = kube
    action = SetConfigMapValue(api, NS, CM, key="ACTOR_MAILBOX_SIZE", multiply_by=2, audit=audit)
    plan = action.plan()
    mock.objects[CM_KEY].patch({"metadata": {"resourceVersion": "11"}})
    with pytest.raises(StalePlan, match="changed since the plan"):
        action.apply(plan)
    assert data(mock)["ACTOR_MAILBOX_SIZE"] == "1000"
    with pytest.raises(ScopeExceeded, match="not found"):
        SetConfigMapValue(api, NS, "nope", key="K", value="1", audit=audit).plan()
    with pytest.raises(ScopeExceeded, match="exactly one"):
        SetConfigMapValue(api, NS, CM, key="K", audit=audit)


@pytest.mark.parametrize("env_from", [False, True])
def test_the_configmap_is_the_one_the_deployment_reads_the_key_from(kube, env_from):
    mock, api = kube
    mock.objects["apps/v1/deployments", NS, NAME] = reading_from_configmap(env_from=env_from)
    assert configmap_for_key(api, NS, NAME, "ACTOR_MAILBOX_SIZE") == CM
    assert configmap_for_key(api, NS, NAME, "NOT_THERE") is None


# ---- mailbox_backlog: offered last, only when the mailbox fired, root cause first


def investigation(*findings):
    params = {"window": "1h", "platform": "kubernetes", "namespace": NS, "deployment": NAME}
    recorder = Recorder(scenario="mailbox_backlog", parameters=params, display=lambda b: None)
    inv = Investigation(recorder)
    inv.record(*(Finding.make(check, level, check) for check, level in findings))
    return inv


def test_not_offered_without_a_backlog(kube):
    _, api = kube
    inv = investigation(("mailbox_depth", "ok"), ("slow_queries", "ok"))
    assert mailbox_capacity(inv, api_client=api) == []


def test_blocked_while_the_root_cause_still_fires(kube, audit):
    mock, api = kube
    inv = investigation(("mailbox_depth", "critical"), ("slow_queries", "warning"))
    (action,) = mailbox_capacity(inv, api_client=api)
    action.audit = audit
    plan = action.plan()
    assert plan.changes[0]["new"] == "2000"  # remediation.mailbox_size_factor: 2
    (blocker,) = plan.blocked_by
    assert "address the root cause first" in blocker and "slow_queries still fire" in blocker
    with pytest.raises(ActionRefused, match="root cause first"):
        action.apply(plan)
    assert data(mock)["ACTOR_MAILBOX_SIZE"] == "1000"
    report = inv.remediate(action)
    (restart,) = restart_after(inv, [report], api_client=api)
    assert restart.name == "rollout_restart"


def test_once_the_causes_are_ok_it_applies_and_the_restart_follows(kube, audit):
    mock, api = kube
    inv = investigation(("mailbox_depth", "critical"), ("slow_queries", "ok"), ("db_pool", "ok"))
    inv.params["apply_remediation"] = True
    (action,) = mailbox_capacity(inv, api_client=api)
    action.audit = audit
    report = inv.remediate(action)
    assert report.result.status == "applied" and data(mock)["ACTOR_MAILBOX_SIZE"] == "2000"
    (restart,) = restart_after(inv, [report], api_client=api)
    restart.audit = audit
    assert inv.remediate(restart).result.status == "applied"  # "... and restart pods"
    template = dict(mock.objects["apps/v1/deployments", NS, NAME].raw)["spec"]["template"]
    assert "kubectl.kubernetes.io/restartedAt" in template["metadata"]["annotations"]
    again = inv.remediate(action)  # a second run: nothing to change, so nothing to restart
    assert again.plan.empty and restart_after(inv, [again], api_client=api) == []

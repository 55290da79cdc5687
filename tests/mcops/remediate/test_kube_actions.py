"""Kubernetes actions against the kmock API double (kmock stands in for a cluster
because none can run here; see kube_double.py for what the double honours).

Plans must be server-side dry runs (asserted on the recorded request: verb, path,
body, ``dryRun=All``) that store nothing; apply sends exactly the planned body guarded
by the planned resourceVersion; undo re-applies the captured previous spec."""

from __future__ import annotations

import datetime as dt

import pytest

from mcops.errors import RemediationError, ScopeExceeded, StalePlan
from mcops.remediate import ActionRefused
from mcops.remediate.kube_actions import RolloutRestart, Scale
from mcops.remediate.kube_pods import DeletePod
from mcops.remediate.kube_rollback import PatchResources, RolloutUndo
from mcops.thresholds import default_thresholds
from tests.mcops.remediate.kube_double import deployment, pod, replica_set, running_kube

NS, NAME = "dark-tower", "meeting-controller"
DEP = ("apps/v1/deployments", NS, NAME)
PATH = f"/apis/apps/v1/namespaces/{NS}/deployments/{NAME}"


@pytest.fixture
def kube():
    with running_kube() as (mock, api):
        mock.objects[DEP] = deployment()
        yield mock, api


def stored(mock):
    return dict(mock.objects[DEP].raw)


def patches(mock):
    return [r for r in mock if r.method.value == "PATCH"]


def test_scale_plan_is_a_dry_run_apply_exact_idempotent_undo(kube, audit):
    mock, api = kube
    action = Scale(api, NS, NAME, replicas=5, audit=audit)
    plan = action.plan()
    (dry,) = patches(mock)
    assert dry.url.path == PATH and dry.params == {"dryRun": "All"}
    assert dry.data == {"spec": {"replicas": 5}}
    assert stored(mock)["spec"]["replicas"] == 3, "the plan stored nothing"
    assert list(plan.changes) == [{"path": "spec.replicas", "now": 3, "new": 5}]
    assert plan.fingerprint == "resourceVersion=100"

    result = action.apply(plan)
    real = patches(mock)[-1]
    assert "dryRun" not in real.params
    assert real.data == {"spec": {"replicas": 5}, "metadata": {"resourceVersion": "100"}}
    assert stored(mock)["spec"]["replicas"] == 5 and result.changed == 1
    assert action.plan().empty
    n = len(patches(mock))
    assert action.apply(plan).status == "nothing_to_do" and len(patches(mock)) == n
    action.undo(result)
    assert stored(mock)["spec"]["replicas"] == 3
    assert [(r["mode"], r["result"]) for r in audit.outcomes()] == [
        ("apply", "ok"),
        ("apply", "ok"),
        ("undo", "ok"),
    ]


def test_scale_is_bounded(kube, audit):
    _, api = kube
    with pytest.raises(ScopeExceeded, match="max_replica_change=5"):
        Scale(api, NS, NAME, replicas=20, audit=audit).plan()
    with pytest.raises(ScopeExceeded):
        Scale(api, NS, "*", replicas=2, audit=audit)
    with pytest.raises(ScopeExceeded, match="not found"):
        Scale(api, NS, "nope", replicas=2, audit=audit).plan()


@pytest.mark.parametrize("now", [4, 5, 7])
def test_relief_scale_to_the_thresholds_target_never_scales_down(now, audit):
    target = default_thresholds().remediation.scale_replicas  # the runbook's --replicas=5
    with running_kube() as (mock, api):
        mock.objects[DEP] = deployment(replicas=now)
        action = Scale(api, NS, NAME, replicas=target, audit=audit)
        plan = action.plan()
        if now < target:
            assert list(plan.changes) == [{"path": "spec.replicas", "now": now, "new": target}]
            assert action.apply(plan).changed == 1
            assert stored(mock)["spec"]["replicas"] == target
            return
        assert plan.empty and plan.summary == (
            f"nothing to do: already at {now} ≥ {target} replicas; a relief scale never scales down"
        )
        assert patches(mock) == [], "not even a dry run is sent"
        result = action.apply(plan)
        assert (result.status, result.changed) == ("nothing_to_do", 0)
        assert "never scales down" in result.message
        assert stored(mock)["spec"]["replicas"] == now and patches(mock) == []


def test_relief_scale_planned_below_target_does_not_scale_down_after_a_scale_out(kube, audit):
    mock, api = kube
    action = Scale(api, NS, NAME, replicas=5, audit=audit)
    plan = action.plan()  # 3 → 5
    mock.objects[DEP].patch({"metadata": {"resourceVersion": "101"}, "spec": {"replicas": 8}})
    result = action.apply(plan)
    assert (result.status, result.changed) == ("nothing_to_do", 0)
    assert stored(mock)["spec"]["replicas"] == 8
    assert len(patches(mock)) == 1, "only the dry run was sent"


def test_an_empty_relief_plan_is_stale_once_replicas_drop_below_target(kube, audit):
    mock, api = kube
    mock.objects[DEP].patch({"spec": {"replicas": 6}})
    action = Scale(api, NS, NAME, replicas=5, audit=audit)
    plan = action.plan()
    assert plan.empty
    mock.objects[DEP].patch({"metadata": {"resourceVersion": "102"}, "spec": {"replicas": 2}})
    with pytest.raises(StalePlan, match="make a new plan"):
        action.apply(plan)
    assert stored(mock)["spec"]["replicas"] == 2
    assert audit.outcomes()[-1]["result"] == "refused"


def test_stale_resource_version_is_refused_and_audited(kube, audit):
    mock, api = kube
    action = Scale(api, NS, NAME, replicas=4, audit=audit)
    plan = action.plan()
    mock.objects[DEP].patch(
        {
            "metadata": {"resourceVersion": "101"},
            "spec": {"template": {"metadata": {"labels": {"x": "y"}}}},
        }
    )
    with pytest.raises(StalePlan, match="100 → 101"):
        action.apply(plan)
    assert stored(mock)["spec"]["replicas"] == 3
    assert len(patches(mock)) == 1, "only the dry run was sent"
    assert audit.outcomes()[-1]["result"] == "refused"


def test_failed_write_is_audited_and_changes_nothing(kube, audit):
    mock, api = kube
    action = Scale(api, NS, NAME, replicas=4, audit=audit)
    plan = action.plan()
    mock.fail_writes = "etcdserver: request timed out"
    with pytest.raises(RemediationError) as err:
        action.apply(plan)
    assert err.value.changed == 0 and "500" in str(err.value)
    assert stored(mock)["spec"]["replicas"] == 3
    (record,) = audit.outcomes()
    assert record["result"] == "failed" and record["plan_hash"] == plan.plan_hash


def test_rollout_restart_stamps_annotation_and_undo_restores_template(kube, audit):
    mock, api = kube
    clock = lambda: dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)  # noqa: E731
    action = RolloutRestart(api, NS, NAME, clock=clock, audit=audit)
    plan = action.plan()
    key = "kubectl.kubernetes.io/restartedAt"
    assert plan.changes[0]["path"] == f"spec.template.metadata.annotations.{key}"
    assert plan.changes[0]["new"] == "2026-11-23T10:00:00Z"
    assert "annotations" not in stored(mock)["spec"]["template"]["metadata"]
    result = action.apply(plan)
    assert stored(mock)["spec"]["template"]["metadata"]["annotations"][key] == (
        "2026-11-23T10:00:00Z"
    )
    assert action.apply(plan).status == "nothing_to_do"
    action.undo(result)
    undo = patches(mock)[-1]
    assert undo.data[0] == {"op": "test", "path": "/metadata/resourceVersion", "value": "101"}
    assert stored(mock)["spec"]["template"] == deployment()["spec"]["template"]


def test_rollout_undo_copies_previous_revision_template(kube, audit):
    mock, api = kube
    dep = deployment()
    mock.objects["apps/v1/replicasets", NS, f"{NAME}-h1"] = replica_set(
        dep, revision=1, image="mc:1"
    )
    mock.objects["apps/v1/replicasets", NS, f"{NAME}-h2"] = replica_set(
        dep, revision=2, image="mc:2"
    )
    foreign = replica_set(deployment(name="other"), revision=1, image="evil:1")
    mock.objects["apps/v1/replicasets", NS, "other-h1"] = foreign
    action = RolloutUndo(api, NS, NAME, audit=audit)
    plan = action.plan()
    assert "revision 2 to revision 1" in plan.notes[0]
    assert {"path": "spec.template.spec.containers[0].image", "now": "mc:2", "new": "mc:1"} in (
        plan.changes
    )
    assert patches(mock)[-1].params == {"dryRun": "All"}
    assert stored(mock)["spec"]["template"]["spec"]["containers"][0]["image"] == "mc:2"
    result = action.apply(plan)
    template = stored(mock)["spec"]["template"]
    assert template["spec"]["containers"] == [{"name": NAME, "image": "mc:1"}]
    assert "pod-template-hash" not in template["metadata"]["labels"]
    action.undo(result)
    assert stored(mock)["spec"]["template"] == dep["spec"]["template"]
    with pytest.raises(ScopeExceeded, match="revision 7"):
        RolloutUndo(api, NS, NAME, to_revision=7, audit=audit).plan()


def test_patch_resources_changes_one_container_and_undo(kube, audit):
    mock, api = kube
    action = PatchResources(api, NS, NAME, container=NAME, limits={"memory": "2Gi"}, audit=audit)
    plan = action.plan()
    assert list(plan.changes) == [
        {
            "path": "spec.template.spec.containers[0].resources.limits.memory",
            "now": "1Gi",
            "new": "2Gi",
        }
    ]
    result = action.apply(plan)
    containers = stored(mock)["spec"]["template"]["spec"]["containers"]
    assert containers[0]["resources"]["limits"] == {"memory": "2Gi", "cpu": "1"}
    assert containers[1] == {"name": "sidecar", "image": "envoy:1"}
    assert action.plan().empty
    action.undo(result)
    assert stored(mock)["spec"]["template"] == deployment()["spec"]["template"]
    with pytest.raises(ScopeExceeded, match="not in"):
        PatchResources(api, NS, NAME, container="nope", limits={"cpu": "2"}).plan()


def test_quantities_compare_as_the_server_normalises_them(kube, audit):
    mock, api = kube
    # the API server stores "4000m" as "4": an already-applied patch must look applied
    mock.objects[DEP].patch(
        {
            "spec": {
                "template": {
                    "spec": {
                        "containers": [
                            {
                                "name": NAME,
                                "image": "mc:2",
                                "resources": {"limits": {"cpu": "4", "memory": "1Gi"}},
                            },
                            {"name": "sidecar", "image": "envoy:1"},
                        ]
                    }
                }
            }
        }
    )
    plan = PatchResources(api, NS, NAME, container=NAME, limits={"cpu": "4000m"}).plan()
    assert plan.empty


def test_delete_pod_dry_run_uid_precondition_not_reversible(kube, audit):
    mock, api = kube
    key = ("v1/pods", NS, "mc-abc")
    mock.objects[key] = pod(NS, "mc-abc", uid="pod-uid-1")
    action = DeletePod(api, NS, "mc-abc", audit=audit)
    plan = action.plan()
    dry = list(mock)[-1]
    assert dry.method.value == "DELETE" and dry.params == {"dryRun": "All"}
    assert dry.data["preconditions"] == {"uid": "pod-uid-1"}
    assert not mock.objects[key].deleted, "the plan deleted nothing"
    assert plan.changes[0]["owner"] == "ReplicaSet/meeting-controller-h2"
    assert not plan.reversible and "Deployment recreates the pod" in plan.notes[0]
    result = action.apply(plan)
    assert list(mock)[-1].data["preconditions"] == {"uid": "pod-uid-1"}
    assert mock.objects[key].deleted and result.changed == 1
    assert action.apply(plan).status == "nothing_to_do"
    with pytest.raises(ActionRefused, match="not reversible"):
        action.undo(result)
    assert audit.outcomes()[-1]["result"] == "refused"


def test_delete_pod_refuses_a_recreated_pod(kube, audit):
    mock, api = kube
    key = ("v1/pods", NS, "mc-0")
    mock.objects[key] = pod(NS, "mc-0", uid="old")
    action = DeletePod(api, NS, "mc-0", audit=audit)
    plan = action.plan()
    mock.objects[key].patch({"metadata": {"uid": "new"}})
    with pytest.raises(StalePlan, match="new pod"):
        action.apply(plan)
    assert not mock.objects[key].deleted

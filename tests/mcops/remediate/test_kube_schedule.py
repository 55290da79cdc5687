"""Runbook 000 Memory Leak Mitigation step 5 on Kubernetes: the daily-restart CronJob,
through the real `kubernetes` client against kmock (no cluster can run here; kmock is a
local API double speaking the real REST paths, see kube_double.py)."""

from __future__ import annotations

import pytest

from mcops.errors import ScopeExceeded
from mcops.evidence import Recorder
from mcops.findings import Finding
from mcops.investigation import Investigation
from mcops.remediate import ActionRefused
from mcops.remediate.kube_schedule import ScheduleDailyRestart
from mcops.scenarios.memory_leak import crontab_line, daily_restart
from tests.mcops.remediate.kube_double import deployment, running_kube

NS, NAME = "catbird", "catbird-mls-server"
CRON = ("batch/v1/cronjobs", NS, f"{NAME}-daily-restart")
CRON_PATH = f"/apis/batch/v1/namespaces/{NS}/cronjobs"


@pytest.fixture
def kube():
    with running_kube() as (mock, api):
        mock.objects["apps/v1/deployments", NS, NAME] = deployment(NS, NAME)
        yield mock, api


def writes(mock):
    return [r for r in mock if r.method.value in ("POST", "DELETE", "PATCH", "PUT")]


def stored(mock):
    try:
        obj = mock.objects[CRON]
    except KeyError:
        return None
    return None if obj.deleted else dict(obj.raw)


def test_plan_shows_the_cronjob_apply_creates_it_once_undo_deletes_it(kube, audit):
    mock, api = kube
    # "0 4 * * * docker restart catbird-mls-server" — Restart at 4am daily
    action = ScheduleDailyRestart(api, NS, NAME, schedule="0 4 * * *", audit=audit)
    plan = action.plan()
    assert writes(mock) == [] and stored(mock) is None, "the plan wrote nothing"
    (row,) = plan.changes
    assert row["object"] == f"cronjob/{NAME}-daily-restart"
    assert row["schedule"] == "0 4 * * *"
    assert row["command"] == f"kubectl rollout restart deployment/{NAME}"
    assert plan.reversible and not plan.refusal

    result = action.apply(plan)
    (create,) = writes(mock)
    assert create.method.value == "POST" and create.url.path == CRON_PATH
    obj = stored(mock)
    assert obj["spec"]["schedule"] == "0 4 * * *"
    container = obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["kubectl", "rollout", "restart", f"deployment/{NAME}"]
    assert result.status == "applied" and result.changed == 1

    # idempotent: a fresh plan is empty, the same plan again changes nothing
    assert action.plan().empty
    assert action.apply(plan).status == "nothing_to_do" and len(writes(mock)) == 1

    undone = action.undo(result)
    assert undone.status == "undone" and stored(mock) is None
    assert writes(mock)[-1].method.value == "DELETE"
    assert [(r["mode"], r["result"]) for r in audit.outcomes()] == [
        ("apply", "ok"),
        ("apply", "ok"),
        ("undo", "ok"),
    ]


def test_a_cronjob_with_another_schedule_is_never_overwritten(kube, audit):
    mock, api = kube
    earlier = ScheduleDailyRestart(api, NS, NAME, schedule="0 3 * * *", audit=audit)
    earlier.apply(earlier.plan())
    action = ScheduleDailyRestart(api, NS, NAME, schedule="0 4 * * *", audit=audit)
    plan = action.plan()
    assert plan.refusal and "not overwritten" in plan.refusal
    assert list(plan.changes) == [{"path": "schedule", "now": "0 3 * * *", "new": "0 4 * * *"}]
    with pytest.raises(ActionRefused, match="not overwritten"):
        action.apply(plan)
    assert stored(mock)["spec"]["schedule"] == "0 3 * * *"
    assert audit.outcomes()[-1]["result"] == "refused"


def test_bounds(kube, audit):
    _, api = kube
    with pytest.raises(ScopeExceeded, match="not found"):
        ScheduleDailyRestart(api, NS, "nope", schedule="0 4 * * *", audit=audit).plan()
    with pytest.raises(ScopeExceeded, match="5-field"):
        ScheduleDailyRestart(api, NS, NAME, schedule="daily", audit=audit)
    with pytest.raises(ScopeExceeded):
        ScheduleDailyRestart(api, NS, "*", schedule="0 4 * * *", audit=audit)


# ---- the memory_leak scenario's step 5: planned only when a leak check fired


def investigation(**params):
    recorder = Recorder(
        scenario="memory_leak", parameters={"window": "1h", **params}, display=lambda b: None
    )
    return Investigation(recorder)


def leak(inv, level):
    inv.record(Finding.make("actor_count_trend", level, "active actors over the window"))


def test_memory_leak_plans_the_cronjob_only_when_the_leak_check_fired(kube, tmp_path):
    mock, api = kube
    params = {"platform": "kubernetes", "namespace": NS, "deployment": NAME}
    quiet = investigation(**params)
    leak(quiet, "ok")
    assert daily_restart(quiet, api_client=api) == []
    assert crontab_line(quiet).empty

    inv = investigation(**params)
    leak(inv, "warning")
    (action,) = daily_restart(inv, api_client=api)
    report = inv.remediate(action)
    assert report.mode == "plan" and stored(mock) is None
    assert report.plan.changes[0]["schedule"] == "0 4 * * *"  # remediation.daily_restart_cron
    (summary,) = inv.recorder.summary()["remediations"]
    assert (summary["action"], summary["changes"]) == ("schedule_daily_restart", 1)
    assert crontab_line(inv).empty, "on Kubernetes the CronJob is the schedule"


def test_on_one_host_the_plan_is_the_crontab_line_for_a_person():
    inv = investigation(platform="local", log_source="docker:catbird-mls-server")
    leak(inv, "critical")
    assert daily_restart(inv) == []
    (row,) = crontab_line(inv).to_dict(orient="records")
    # the runbook's line: "0 4 * * * docker restart catbird-mls-server"
    assert row["crontab_line"] == "0 4 * * * docker restart catbird-mls-server"
    assert row["applied"].startswith("no")

"""service_restart's step 4 (``kubectl rollout status``), called directly, at each edge
of "complete": every replica updated, ready and available, the newest generation seen.

No Kubernetes cluster can run here (no API server binaries), so the deployment lives in
kmock, a local API double speaking the real REST paths, read through the real
`kubernetes` client.
"""

from __future__ import annotations

import pytest

from mcops.evidence import Recorder
from mcops.investigation import Investigation
from mcops.scenarios import service_restart as fetch
from tests.mcops.remediate.kube_double import deployment, running_kube

NS, NAME = "dark-tower", "meeting-controller"
DONE = {
    "observedGeneration": 4,
    "replicas": 3,
    "updatedReplicas": 3,
    "readyReplicas": 3,
    "availableReplicas": 3,
}


def investigation(**params) -> Investigation:
    recorder = Recorder(
        scenario="service_restart",
        parameters={
            "platform": "kubernetes",
            "namespace": NS,
            "deployment": NAME,
            "rollout_timeout": "1s",
            **params,
        },
        display=lambda bundle: None,
    )
    return Investigation(recorder)


@pytest.mark.parametrize(
    ("change", "complete"),
    [
        ({}, True),
        ({"observedGeneration": 3}, False),  # the controller has not seen the restart yet
        ({"updatedReplicas": 2}, False),
        ({"readyReplicas": 2}, False),
        ({"availableReplicas": 2}, False),
        ({"replicas": 4}, False),  # an old pod still runs beside the new ones
    ],
)
def test_rollout_is_complete_only_when_every_replica_is_new_ready_and_available(change, complete):
    with running_kube() as (mock, api):
        dep = deployment(NS, NAME, replicas=3)
        dep["metadata"]["generation"] = 4
        dep["status"] = {**DONE, **change}
        mock.objects["apps/v1/deployments", NS, NAME] = dep
        frame = fetch.rollout_status(investigation(), api_client=api)
    (row,) = frame.to_dict(orient="records")
    assert row["complete"] is complete
    assert row["wanted"] == 3
    # complete returns at once; otherwise the wait is bounded by rollout_timeout (1 s)
    assert row["waited_s"] < 1 if complete else 1 <= row["waited_s"] < 5


def test_instances_is_the_deployments_replicas_and_one_on_a_host():
    with running_kube() as (mock, api):
        mock.objects["apps/v1/deployments", NS, NAME] = deployment(NS, NAME, replicas=3)
        assert fetch.instances(investigation(), api_client=api) == 3
    assert fetch.instances(investigation(platform="local")) == 1

"""Runbook 004 Scenario 2 (Actor Panics): what to read, from where, and the fixes to plan.

The panic counter ``mc_actor_panics_total{actor_type}`` comes from the metrics backend:
Prometheus (``increase`` over the window) or the service's ``/metrics`` (the counter
since the process started, or two scrapes for the runbook's "watch");
rollouts from the Kubernetes API. The judges in `mcops.checks.panics` only see frames.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from mcops.checks.panics import counts_from_vector
from mcops.errors import SourceConfigError
from mcops.scenarios._shared import deployment, kube_api, namespace, on_kubernetes

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

    from mcops.investigation import Investigation
    from mcops.remediate import Action

__all__ = ["WATCH_INTERVAL_S", "counts", "increases", "remediations", "rollouts"]

#: the runbook's "watch -n 5" without Prometheus: two scrapes this far apart
WATCH_INTERVAL_S = 5.0
_REASON = "runbook 004 Scenario 2: actor panics"


def counts(inv: Investigation) -> pd.DataFrame:
    """Steps 1–2: panics by actor type, over the window (Prometheus) or since the service
    started (a scrape). ``attrs["over"]`` says which."""
    frame = inv.metrics.measure("panics")
    counts = counts_from_vector(frame)
    counts.attrs["over"] = frame.attrs.get("over", "")
    return counts


def increases(inv: Investigation, *, points: int = 120) -> pd.DataFrame:
    """Step 5: panics per minute over the window (Prometheus), else between two scrapes
    5 s apart (the runbook's "watch"). ``attrs["per"]`` names the interval of a value."""
    watch = inv.metrics.sampling(samples=2, interval=WATCH_INTERVAL_S)
    return watch.measure("panic_increases", points=points)


def rollouts(inv: Investigation, *, api_client: ApiClient | None = None) -> pd.DataFrame:
    """``kubectl rollout history``: only on platform=kubernetes with a deployment.

    ``api_client`` defaults to the kubeconfig / in-cluster credentials.
    """
    if not on_kubernetes(inv):
        platform = str(inv.params.get("platform") or "local")
        raise SourceConfigError(
            f"platform is {platform!r}: there is no rollout history to read",
            source="kubernetes",
            fix="run with -p platform=kubernetes -p deployment=NAME on a cluster",
        )
    name = deployment(inv)
    if not name:
        raise SourceConfigError(
            "deployment is empty", source="kubernetes", fix="pass -p deployment=NAME"
        )
    from mcops.sources.kube import KubeSource  # the kubernetes client is slow to import

    return KubeSource(api_client).rollout_history(namespace(inv), name)


def remediations(
    inv: Investigation,
    *,
    pods: list[str] | tuple[str, ...] = (),
    rollout_suspect: bool | None = None,
    api_client: ApiClient | None = None,
) -> list[Action]:
    """The runbook's fixes as actions (plans unless apply_remediation): only on Kubernetes.

    Rollout undo when a rollout is the suspect (default: the ``recent_rollout`` finding
    names one); otherwise delete the pods whose logs show a panic
    (`mcops.checks.panics.affected_pods`).
    """
    if not on_kubernetes(inv):
        return []
    if rollout_suspect is None:
        rollout_suspect = any(f.check == "recent_rollout" and f.count > 0 for f in inv.findings)
    from mcops.remediate import DeletePod, RolloutUndo

    api, ns, name = kube_api(api_client), namespace(inv), deployment(inv)
    if rollout_suspect and name:
        return [RolloutUndo(api, ns, name, reason=_REASON)]
    return [DeletePod(api, ns, pod, reason=_REASON) for pod in dict.fromkeys(pods)]

"""Runbook 004 Scenario 2 (Actor Panics): what to read, from where, and the fixes to plan.

The panic counter ``mc_actor_panics_total{actor_type}`` comes from Prometheus
(``increase`` over the window) or, without Prometheus, from the service's ``/metrics``
(the counter since the process started, or two scrapes for the runbook's "watch");
rollouts from the Kubernetes API. The judges in `mcops.checks.panics` only see frames.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pandas as pd

from mcops import promql
from mcops.checks.panics import counts_from_scrape, counts_from_vector, increases_from_samples
from mcops.errors import SourceConfigError
from mcops.scenarios._shared import deployment, kube_api, namespace, on_kubernetes, service_url
from mcops.sources.scrape import sample, scrape

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

    from mcops.investigation import Investigation
    from mcops.remediate import Action

__all__ = ["WATCH_INTERVAL_S", "counts", "increases", "remediations", "rollouts"]

#: the runbook's "watch -n 5" without Prometheus: two scrapes this far apart
WATCH_INTERVAL_S = 5.0
_REASON = "runbook 004 Scenario 2: actor panics"


def _duration(window: timedelta) -> str:
    return f"{max(1, int(window.total_seconds()))}s"


def counts(inv: Investigation) -> pd.DataFrame:
    """Steps 1–2: panics by actor type, from Prometheus over the window, else one scrape.

    ``attrs["over"]`` says what the numbers cover ("the last 1h" or "since the
    service started").
    """
    if inv.params.get("prometheus_url"):
        query = promql.render("mc_panics", window=_duration(inv.window))
        frame = counts_from_vector(inv.prometheus.instant(query, at=inv.until))
        frame.attrs["over"] = f"in the last {inv.params.get('window') or '1h'}"
        return frame
    url = service_url(inv)
    frame = counts_from_scrape(scrape(url))
    inv.recorder.source("metrics", "ok", f"scraped {url}/metrics")
    frame.attrs["over"] = "since the service started"
    return frame


def increases(inv: Investigation, *, points: int = 120) -> pd.DataFrame:
    """Step 5: panics per minute over the window (Prometheus), else two scrapes 5 s apart.

    ``attrs["per"]`` names the interval each value covers.
    """
    if inv.params.get("prometheus_url"):
        # whole seconds: Prometheus rejects a fractional "7.5s" step
        step = timedelta(seconds=max(1, int(inv.window.total_seconds() / points)))
        frame = inv.prometheus.query_range(
            promql.render("mc_panics", window="1m"), start=inv.since, end=inv.until, step=step
        )
        frame.attrs["per"] = "minute"
        return frame
    samples = sample(service_url(inv), samples=2, interval=WATCH_INTERVAL_S)
    frame = increases_from_samples(samples)
    frame.attrs["per"] = f"{WATCH_INTERVAL_S:g} s"
    return frame


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

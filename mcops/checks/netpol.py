"""Runbook 004 Scenario 6 step 6 and Option 3: does a NetworkPolicy block MC → GC?

``kubectl get networkpolicy`` lists the policies; whether one of them stops the MC from
reaching the global controller on port 8080 is Kubernetes' own rule, applied here to
the listed specs: a pod is isolated for egress when a policy with ``Egress`` in its
``policyTypes`` selects it, and then only what some egress rule of those policies allows
may leave it. What the specs alone cannot settle (``ipBlock`` peers, named ports,
namespace selectors on labels other than ``kubernetes.io/metadata.name``) is said to
be undecided rather than guessed. Changing a policy is left to people: the finding says
who (the Infrastructure Team) and mcops plans no change.

The frame is one row per policy (``policy``, ``spec``: the policy's spec as the API
returns it, camelCase keys) with ``attrs``: ``mc_labels``, ``gc_labels`` (pod labels),
``namespace`` (of both: the runbook runs MC and GC in one namespace) and ``gc_port``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from mcops.findings import Finding, Level

__all__ = ["allows_gc", "network_policy", "selects"]

_NS_NAME = "kubernetes.io/metadata.name"
_ESCALATE = (
    "Escalate to the Infrastructure Team (#infra-oncall): changing NetworkPolicies is "
    "theirs to do, mcops plans no change (runbook 004 Scenario 6 Option 3: ensure egress "
    "to global-controller:8080 is allowed)."
)

Verdict = bool | None  # True allowed, False blocked, None the spec alone cannot tell


def selects(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """Whether a label selector matches ``labels`` (an empty selector matches all)."""
    selector = selector or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        present = key in labels
        if op == "In" and (not present or labels[key] not in values):
            return False
        if op == "NotIn" and present and labels[key] in values:
            return False
        if (op == "Exists" and not present) or (op == "DoesNotExist" and present):
            return False
    return True


def _any(verdicts: Iterable[Verdict]) -> Verdict:
    """True if one is True, else None if one is undecided, else False."""
    seen = list(verdicts)
    return True if True in seen else (None if None in seen else False)


def _namespace_matches(selector: Mapping[str, Any], namespace: str) -> Verdict:
    keys = {*(selector.get("matchLabels") or {})}
    keys |= {e.get("key") for e in selector.get("matchExpressions") or []}
    if keys - {_NS_NAME}:  # labels of the namespace object, which we do not read
        return None
    return selects(selector, {_NS_NAME: namespace})


def _peer(peer: Mapping[str, Any], gc_labels: Mapping[str, str], namespace: str) -> Verdict:
    if "ipBlock" in peer:
        return None  # pod IPs are not in the spec
    pods = peer.get("podSelector")
    namespaces = peer.get("namespaceSelector")
    pod_ok = True if pods is None else selects(pods, gc_labels)
    if namespaces is None:  # the policy's own namespace, where the GC runs
        return pod_ok
    ns_ok = _namespace_matches(namespaces, namespace)
    return False if pod_ok is False or ns_ok is False else (None if ns_ok is None else True)


def _port(port: Mapping[str, Any], gc_port: int) -> Verdict:
    if (port.get("protocol") or "TCP") != "TCP":
        return False
    number = port.get("port")
    if number is None:
        return True  # every port of the protocol
    if isinstance(number, str) and not number.isdigit():
        return None  # a named port: the GC container's port names are not read
    end = port.get("endPort") or int(number)
    return int(number) <= gc_port <= int(end)


def _rule(rule: Mapping[str, Any], gc_labels: Mapping[str, str], ns: str, gc_port: int) -> Verdict:
    peers = rule.get("to") or []
    ports = rule.get("ports") or []
    to = True if not peers else _any(_peer(p, gc_labels, ns) for p in peers)
    through = True if not ports else _any(_port(p, gc_port) for p in ports)
    if to is False or through is False:
        return False
    return None if to is None or through is None else True


def restricts_egress(spec: Mapping[str, Any]) -> bool:
    """``policyTypes`` names Egress (absent: an ``egress`` section makes it one)."""
    types = spec.get("policyTypes")
    return "Egress" in types if types else "egress" in spec


def allows_gc(
    spec: Mapping[str, Any], gc_labels: Mapping[str, str], namespace: str, gc_port: int
) -> Verdict:
    """Whether one egress rule of this policy lets traffic reach the GC pods on gc_port."""
    return _any(_rule(r, gc_labels, namespace, gc_port) for r in spec.get("egress") or [])


def _summary(spec: Mapping[str, Any]) -> str:
    import yaml  # PyYAML loads when a policy is shown, not with the check

    keep = {k: spec[k] for k in ("podSelector", "policyTypes", "egress") if k in spec}
    return yaml.safe_dump(keep, sort_keys=False, default_flow_style=None, width=100).strip()


def _word(verdict: Verdict) -> str:
    return {True: "yes", False: "no", None: "cannot tell"}[verdict]


def network_policy(frame: pd.DataFrame) -> Finding:
    """Step 6 judged: critical when the MC's egress is restricted and nothing allows the GC."""
    check = "network_policy"
    attrs = frame.attrs
    mc, gc = attrs.get("mc_labels") or {}, attrs.get("gc_labels") or {}
    ns, port = str(attrs.get("namespace") or "default"), int(attrs.get("gc_port") or 8080)
    rows, verdicts, names = [], [], []
    for policy, spec in zip(frame.get("policy", []), frame.get("spec", []), strict=True):
        chosen = selects(spec.get("podSelector"), mc)
        egress = chosen and restricts_egress(spec)
        verdict = allows_gc(spec, gc, ns, port) if egress else None
        if egress:
            verdicts.append(verdict)
            names.append(str(policy))
        rows.append(
            {
                "policy": policy,
                "selects_mc": chosen,
                "restricts_egress": egress,
                "allows_gc": _word(verdict) if egress else "n/a",
                "yaml": _summary(spec),
            }
        )
    target = f"the GC pods ({_labels(gc)}) on port {port}"
    if not verdicts:
        why = "no NetworkPolicy in" if frame.empty else "no NetworkPolicy restricts egress in"
        return Finding.make(
            check,
            Level.OK,
            f"MC → GC egress not restricted: {why} {ns} selects the MC ({_labels(mc)})",
            rows=rows,
            count=0,
        )
    allowed = _any(verdicts)
    shown = ", ".join(names)
    if allowed:
        return Finding.make(
            check, Level.OK, f"NetworkPolicy allows MC → {target} ({shown})", rows=rows, count=0
        )
    if allowed is None:
        return Finding.make(
            check,
            Level.WARNING,
            f"NetworkPolicy may block MC → GC: {shown} restrict egress and the spec alone "
            f"cannot tell whether {target} are allowed",
            detail="ipBlock peers, named ports or namespace labels need a person's look "
            f"(kubectl get networkpolicy -n {ns} -o yaml). " + _ESCALATE,
            rows=rows,
            count=len(names),
        )
    return Finding.make(
        check,
        Level.CRITICAL,
        f"NetworkPolicy blocks MC → GC: {shown} restrict the MC's egress and no rule "
        f"allows {target}",
        detail=_ESCALATE,
        rows=rows,
        count=len(names),
    )


def _labels(labels: Mapping[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items())) or "no labels"

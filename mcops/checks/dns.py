"""Runbook 004 Scenario 6 root cause 5, "DNS Issues: Cannot resolve GC service name"
(Fix: Check CoreDNS, Infrastructure Team), and Network Debugging's
``nslookup meeting-controller.dark-tower.svc.cluster.local``.

The host names of ``service_url`` and ``gc_url``, resolved from where mcops runs (the
runbook's nslookup runs in a debug pod in the cluster: a name that resolves here but not
there is CoreDNS's, not this check's). A name that does not resolve is critical; an IP
literal needs no DNS.
"""

from __future__ import annotations

import pandas as pd

from mcops.findings import Finding, Level

__all__ = ["DNS_COLUMNS", "dns_resolution"]

DNS_COLUMNS = ["parameter", "host", "ip_literal", "addresses", "ms", "error"]

_FIX = (
    "DNS Issues (Scenario 6 root cause 5). Fix: Check CoreDNS, Infrastructure Team "
    "(#infra-oncall, PagerDuty: SRE)."
)
_WHERE = (
    "Resolved from where mcops runs, not from inside the MC pod as the runbook's nslookup "
    "in a debug pod does."
)


def dns_resolution(frame: pd.DataFrame) -> Finding:
    """Any host without an answer (``error`` set) → critical naming it; else ok.

    One row per host (``DNS_COLUMNS``); ``attrs["not_given"]``: the URL parameters that
    were empty, named in the title so a partial answer is not read as all clear."""
    check = "dns_resolution"
    if frame.empty or "host" not in frame:
        return Finding.not_checked(check, "no host name to resolve")
    errors = frame["error"].fillna("").astype(str)
    failed = frame[(errors != "").to_numpy()]
    cols = [c for c in DNS_COLUMNS if c in frame]
    if len(failed):
        names = ", ".join(
            f"{h} ({p})" for h, p in zip(failed["host"], failed["parameter"], strict=True)
        )
        return Finding.make(
            check,
            Level.CRITICAL,
            f"Cannot resolve {names}: {failed['error'].iloc[0]}",
            detail=f"{_FIX} {_WHERE}",
            rows=frame[cols],
            count=len(failed),
        )
    literal = frame["ip_literal"].astype(bool)
    if literal.all():
        title = f"{', '.join(frame['host'])}: IP literal(s), no DNS needed"
    else:
        named = frame[~literal.to_numpy()]
        title = f"{', '.join(named['host'])} resolve(s)"
        if literal.any():
            title += f"; {', '.join(frame[literal.to_numpy()]['host'])}: no DNS needed"
    if missing := list(frame.attrs.get("not_given") or ()):
        title += f" ({', '.join(missing)} not given: pass -p {missing[0]}=http://HOST:PORT/...)"
    return Finding.make(check, Level.OK, title, detail=_WHERE, rows=frame[cols], count=0)

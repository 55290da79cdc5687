"""004 Scenario 6 root cause 5, "DNS Issues: Cannot resolve GC service name — Fix: Check
CoreDNS, Infrastructure Team", and Network Debugging's ``nslookup``, judged.

Resolved from where mcops runs, like gc_reachable: a name that does not resolve means
heartbeats cannot reach the GC from here, "P2 ... GC heartbeat intermittent".
"""

import pandas as pd

from mcops.checks import dns
from mcops.findings import Level
from mcops.severity import assess


def frame(*rows: tuple, not_given: tuple[str, ...] = ()) -> pd.DataFrame:
    out = pd.DataFrame([list(r) for r in rows], columns=dns.DNS_COLUMNS)
    out.attrs["not_given"] = list(not_given)
    return out


GC = ("gc_url", "global-controller.dark-tower.svc.cluster.local", False, "10.1.2.3", 1.2, "")
SERVICE_IP = ("service_url", "127.0.0.1", True, "127.0.0.1", 0.0, "")
UNRESOLVED = ("gc_url", "global-controller.invalid", False, "", float("nan"), "Name unknown")


def test_a_name_that_resolves_is_ok():
    found = dns.dns_resolution(frame(GC))
    assert found.level == Level.OK
    assert found.title == "global-controller.dark-tower.svc.cluster.local resolve(s)"


def test_an_ip_literal_needs_no_dns():
    found = dns.dns_resolution(frame(SERVICE_IP, not_given=("gc_url",)))
    assert found.level == Level.OK
    assert found.title.startswith("127.0.0.1: IP literal(s), no DNS needed")
    assert "gc_url not given: pass -p gc_url=" in found.title


def test_an_unresolvable_name_is_critical_naming_host_and_fix():
    found = dns.dns_resolution(frame(SERVICE_IP, UNRESOLVED))
    assert found.level == Level.CRITICAL and found.count == 1
    assert found.title == "Cannot resolve global-controller.invalid (gc_url): Name unknown"
    assert "Check CoreDNS, Infrastructure Team" in found.detail
    assert assess([found], scheme="P").level == "P2"


def test_nothing_to_resolve_is_not_checked():
    assert not dns.dns_resolution(frame()).checked

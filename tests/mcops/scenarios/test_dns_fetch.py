"""gc_integration's DNS step (004 Scenario 6 root cause 5, Network Debugging's nslookup),
resolved for real with `socket.getaddrinfo` on a constructed Investigation.

``localhost`` resolves everywhere; a name under ``.invalid`` is guaranteed never to
resolve (RFC 2606), so the failing case needs no network and no mock of our code. The
timeout is shown with a resolver that does not answer in time.
"""

from __future__ import annotations

import threading
import time

from mcops.checks import dns
from mcops.evidence import Recorder
from mcops.findings import Level
from mcops.investigation import Investigation
from mcops.scenarios import gc_integration as fetch


def investigation(**params) -> Investigation:
    recorder = Recorder(
        scenario="gc_integration",
        parameters={"window": "1h", **params},
        display=lambda bundle: None,
    )
    return Investigation(recorder)


def test_localhost_resolves_and_an_ip_literal_needs_no_dns():
    inv = investigation(service_url="http://127.0.0.1:8080", gc_url="http://localhost:9/health")
    frame = fetch.dns(inv)
    assert frame["parameter"].tolist() == ["service_url", "gc_url"]
    assert frame["host"].tolist() == ["127.0.0.1", "localhost"]
    assert frame["ip_literal"].tolist() == [True, False]
    assert frame["error"].tolist() == ["", ""]
    assert frame["addresses"][1]  # 127.0.0.1 and/or ::1
    found = dns.dns_resolution(frame)
    assert found.level == Level.OK
    assert found.title == "localhost resolve(s); 127.0.0.1: no DNS needed"


def test_a_name_under_invalid_does_not_resolve_and_is_critical():
    inv = investigation(
        service_url="http://[::1]:8080",
        gc_url="http://global-controller.dark-tower.invalid:8080/health",
    )
    inv.check("dns_resolution", lambda: fetch.dns(inv), dns.dns_resolution)
    [finding] = inv.findings
    assert finding.checked and finding.level == Level.CRITICAL
    assert finding.title.startswith("Cannot resolve global-controller.dark-tower.invalid (gc_url)")
    assert "Check CoreDNS, Infrastructure Team" in finding.detail


def test_a_resolver_that_hangs_is_given_up_on_after_the_timeout():
    release = threading.Event()

    def stuck(host, port, **options):
        release.wait(5)
        return []

    inv = investigation(gc_url="http://global-controller:8080/health")
    started = time.perf_counter()
    try:
        frame = fetch.dns(inv, timeout=0.2, resolve=stuck)
    finally:
        release.set()
    assert time.perf_counter() - started < 2
    assert frame["error"][0] == "no DNS answer within 0.2 s"
    assert frame.attrs["not_given"] == ["service_url"]
    assert dns.dns_resolution(frame).level == Level.CRITICAL


def test_empty_urls_are_not_checked_with_the_fix():
    inv = investigation(service_url="", gc_url="")
    inv.check("dns_resolution", lambda: fetch.dns(inv), dns.dns_resolution)
    [finding] = inv.findings
    assert not finding.checked
    assert "service_url and gc_url are empty" in finding.title
    assert "fix: pass -p gc_url=http://global-controller" in finding.title

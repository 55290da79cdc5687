"""``kubectl get endpoints -n dark-tower meeting-controller`` (004 Network Debugging).

The severity table: "P1 ... All pods crash-looping" — no ready endpoint, traffic reaches
no pod; "P2 ... Single pod failing" — some endpoints not ready.
"""

import pandas as pd

from mcops.checks import endpoints
from mcops.findings import Level
from mcops.severity import assess


def frame(*ready: bool, found: bool = True) -> pd.DataFrame:
    rows = [
        {"address": f"10.0.0.{i}", "ready": r, "pod": f"mc-{i}", "node": "n", "source": "endpoints"}
        for i, r in enumerate(ready)
    ]
    out = pd.DataFrame(rows, columns=endpoints.ENDPOINT_COLUMNS)
    out.attrs.update(service="dark-tower/meeting-controller", found=found)
    return out


def p_level(finding) -> str:
    return assess([finding], scheme="P").level


def test_all_endpoints_ready_is_ok():
    found = endpoints.service_endpoints(frame(True, True))
    assert found.level == Level.OK
    assert found.title == "dark-tower/meeting-controller: all 2 endpoints ready"


def test_one_not_ready_of_three_is_a_warning_and_p2():
    found = endpoints.service_endpoints(frame(True, False, True))
    assert found.level == Level.WARNING and found.count == 1
    assert "1 of 3 endpoints not ready" in found.title
    assert [r["pod"] for r in found.data] == ["mc-1"]
    assert p_level(found) == "P2"


def test_none_ready_is_critical_and_p1():
    found = endpoints.service_endpoints(frame(False, False))
    assert found.level == Level.CRITICAL
    assert "the Service has no ready endpoints: traffic reaches no pod" in found.title
    assert p_level(found) == "P1"


def test_no_address_at_all_is_critical_too():
    found = endpoints.service_endpoints(frame())
    assert found.level == Level.CRITICAL and "(0 of 0 ready)" in found.title


def test_a_missing_service_is_critical_and_p1():
    found = endpoints.service_endpoints(frame(found=False))
    assert found.level == Level.CRITICAL
    assert found.title.startswith("Service dark-tower/meeting-controller not found")
    assert p_level(found) == "P1"

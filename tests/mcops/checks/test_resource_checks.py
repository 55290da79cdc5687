"""Resource pressure (004 Scenario 7): ratios from scrapes, memory and capacity bands."""

import pandas as pd
import pytest

from mcops.checks import resources
from mcops.findings import Level

T = pd.date_range("2026-11-23T12:00Z", periods=3, freq="1s")


def ratio(*values: float) -> pd.DataFrame:
    return pd.DataFrame({"timestamp": T[: len(values)], "value": list(values)})


@pytest.mark.parametrize(
    ("now", "level"),
    [(0.69, Level.OK), (0.70, Level.INFO), (0.85, Level.INFO), (0.851, Level.WARNING)],
)
def test_memory_usage_is_judged_now_against_70_and_85_percent(now, level):
    found = resources.memory_usage(ratio(0.95, now))  # an earlier peak does not count
    assert found.level == level
    assert found.data[0]["peak_percent"] == 95.0


@pytest.mark.parametrize(
    ("now", "level"),
    [(0.8, Level.OK), (0.81, Level.WARNING), (0.99, Level.WARNING), (1.0, Level.CRITICAL)],
)
def test_capacity_warns_above_80_percent_and_is_critical_when_full(now, level):
    assert resources.capacity(ratio(now)).level == level


def test_no_limit_configured_is_not_checked():
    found = resources.memory_usage(pd.DataFrame(columns=["timestamp", "value"]))
    assert not found.checked
    assert "limit" in found.title


# ---------------------------------------------------------------- diagnostics 2 and 3


def limits_row(
    memory_limit: str | None = "2Gi",
    *,
    limit_bytes: float = 2 * 1024**3,
    usage_bytes: float = float("nan"),
) -> dict:
    return {
        "container": "meeting-controller",
        "cpu_request": "1000m",
        "cpu_limit": "4000m",
        "memory_request": "1Gi",
        "memory_limit": memory_limit,
        "cpu_limit_cores": 4.0,
        "memory_limit_bytes": limit_bytes if memory_limit else float("nan"),
        "cpu_usage_cores": float("nan"),
        "memory_usage_bytes": usage_bytes,
    }


def test_no_memory_limit_is_a_warning_oom_protection_off_p3():
    # 004 Scenario 7 step 2 "kubectl describe deployment ... | grep -A 10 Limits:";
    # Scenario 7 "Severity: Warning" -> P3 ("Non-critical issue, workaround available").
    from mcops.severity import assess

    found = resources.resource_limits(pd.DataFrame([limits_row(None)]))
    assert found.level == Level.WARNING
    assert "no memory limit on meeting-controller: OOM protection off" in found.title
    assert assess([found], scheme="P").level == "P3"
    limited = resources.resource_limits(pd.DataFrame([limits_row()]))
    assert limited.level == Level.OK and "usage unknown" in limited.title


@pytest.mark.parametrize(
    ("ratio", "level"), [(0.69, Level.OK), (0.85, Level.INFO), (0.851, Level.WARNING)]
)
def test_usage_against_the_limit_uses_the_85_percent_mchighmemory_edge(ratio, level):
    # 004 Scenario 7 symptoms "Memory usage >85%"; recovery "memory should be <70%"
    row = limits_row(usage_bytes=ratio * 2 * 1024**3)
    found = resources.resource_limits(pd.DataFrame([row]))
    assert found.level == level
    assert found.data[0]["memory_percent"] == round(100 * ratio, 1)


def events(*rows: tuple[str, str]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "last_timestamp": T[0],
                "type": "Warning",
                "reason": reason,
                "object_kind": "Pod",
                "object_name": f"mc-{i}",
                "message": message,
                "count": 2,
            }
            for i, (reason, message) in enumerate(rows)
        ]
    )


@pytest.mark.parametrize(
    ("reason", "message", "level"),
    [
        ("OOMKilling", "Memory cgroup out of memory: Killed process 7", Level.CRITICAL),
        ("OOMKilled", "", Level.CRITICAL),
        ("BackOff", "Container was OOM-killed before", Level.CRITICAL),  # grep -i "oom"
        ("Failed", "Container mc was killed", Level.CRITICAL),  # grep -i "killed"
        ("Killing", "Stopping container mc", Level.OK),  # a normal stop: "killed" is no match
        ("BackOff", "Back-off restarting failed container", Level.OK),
    ],
)
def test_oom_events_grep_oom_or_killed_is_critical(reason, message, level):
    # 004 Scenario 7 step 3: kubectl get events ... | grep -i "oom\|killed"
    assert resources.oom_events(events((reason, message))).level == level


def test_oom_events_count_and_severity_p2():
    from mcops.severity import assess

    found = resources.oom_events(
        events(("OOMKilling", "out of memory"), ("Pulled", "image pulled"))
    )
    assert found.count == 2 and found.data[0]["object_name"] == "mc-0"  # the event's count
    assert "1 pod(s)" in found.title
    # an OOM kill restarts a pod: 004 P2 "Single pod failing" (a critical finding → P2)
    assert assess([found], scheme="P").level == "P2"
    assert resources.oom_events(events()).level == Level.OK

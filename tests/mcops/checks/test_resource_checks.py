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

"""`window` and `until` parsing, and the PromQL templates' parameter checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

import mcops.sources
from mcops import promql
from mcops.errors import ParameterError
from mcops.sources.timewindow import parse_window, resolve_range, resolve_until


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1h", timedelta(hours=1)),
        ("15m", timedelta(minutes=15)),
        ("7d", timedelta(days=7)),
        ("30s", timedelta(seconds=30)),
        (" 2w ", timedelta(weeks=2)),
        ("1.5h", timedelta(minutes=90)),
    ],
)
def test_parse_window(text, expected):
    assert parse_window(text) == expected


@pytest.mark.parametrize("text", ["", "1", "h", "1y", "-5m", "0m", "1 hour"])
def test_bad_window_names_parameter_value_and_example(text):
    with pytest.raises(ParameterError, match=r"window=.*e\.g\. '") as err:
        parse_window(text)
    assert err.value.name == "window"


def test_resolve_until():
    fixed = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    assert resolve_until("", clock=lambda: fixed) == fixed
    assert resolve_until(None, clock=lambda: fixed) == fixed
    assert resolve_until("2026-11-23T10:00:00Z") == fixed
    assert resolve_until("2026-11-23T11:00:00+01:00") == fixed
    assert resolve_until(datetime(2026, 11, 23, 10, 0)) == fixed  # naive is UTC
    other = datetime(2026, 11, 23, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    assert resolve_until(other).tzinfo == UTC
    with pytest.raises(ParameterError, match=r"until='yesterday'.*2026-11-23T10:00:00Z"):
        resolve_until("yesterday")
    assert resolve_range("1h", "2026-11-23T10:00:00Z") == (fixed - timedelta(hours=1), fixed)


def test_promql_templates_validate_parameters():
    assert promql.render("p95_by_message_type") == (
        "histogram_quantile(0.95, sum by (le, message_type) "
        "(rate(actor_message_duration_bucket[5m])))"
    )
    assert promql.render("spawn_rate", window="1h") == "rate(actor_spawns_total[1h])"
    assert promql.render("container_memory", pod_regex='mc-"x') == (
        'container_memory_working_set_bytes{pod=~"mc-\\"x"}'
    )
    with pytest.raises(ParameterError, match=r"not a PromQL duration"):
        promql.render("spawn_rate", window="5m]) or vector(1) #")
    with pytest.raises(ParameterError, match=r"quantile"):
        promql.render("p95_latency", q="2")
    with pytest.raises(ParameterError, match=r"unknown parameter"):
        promql.render("active_actors", window="5m")
    with pytest.raises(ParameterError, match=r"no PromQL template"):
        promql.render("nope")


def test_public_api_is_exported():
    for name in mcops.sources.__all__:
        assert getattr(mcops.sources, name) is not None
    assert mcops.sources.KubeSource.__name__ == "KubeSource"

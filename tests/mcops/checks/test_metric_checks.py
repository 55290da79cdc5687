"""Key metrics are placed in the runbook's bands, worst first."""

import pandas as pd
import pytest

from mcops.checks import metrics
from mcops.findings import Level


def snap(rows):
    return pd.DataFrame(
        [{"key": k, "value": v, "operation": op, "source": "scrape"} for k, v, op in rows]
    )


def test_normal_service_is_ok():
    finding = metrics.key_metrics(
        snap(
            [
                ("active_actors", 500, ""),
                ("spawn_rate_per_minute", 5, ""),
                ("p95_latency_ms", 25, "add_members"),
                ("error_rate", 0.0, ""),
                ("db_pool_active", 8, ""),
            ]
        )
    )
    assert finding.level is Level.OK and finding.count == 0
    assert "All 5 key metrics" in finding.title


def test_runbook_critical_example_is_critical_and_named():
    # runbook 000 "Critical (System Degraded)"
    finding = metrics.key_metrics(
        snap(
            [
                ("active_actors", 15000, ""),
                ("spawn_rate_per_minute", 200, ""),
                ("p95_latency_ms", 500, "send_message"),
                ("error_rate", 0.05, ""),
                ("db_pool_active", 20, ""),
            ]
        )
    )
    assert finding.level is Level.CRITICAL
    assert finding.count >= 4
    assert finding.data[0]["level"] == "critical"
    levels = [row["level"] for row in finding.data]
    assert levels == sorted(levels, key=lambda lv: -int(Level.parse(lv)))


def test_metric_check_picks_the_worst_operation():
    finding = metrics.metric_check(
        "p95_latency",
        snap(
            [
                ("p95_latency_ms", 0.5, "get_epoch"),
                ("p95_latency_ms", 150, "add_members"),
            ]
        ),
        "p95_latency_ms",
    )
    assert finding.level is Level.WARNING
    assert "add_members" in finding.title


def test_missing_metric_is_not_checked():
    assert not metrics.metric_check("db_pool", snap([]), "db_pool_active").checked
    assert not metrics.key_metrics(snap([])).checked


def test_an_operation_the_table_does_not_know_uses_the_general_bands():
    finding = metrics.key_metrics(snap([("p95_latency_ms", 300, "brand_new_rpc")]))
    assert finding.level is Level.CRITICAL
    assert finding.data[0]["operation"] == "brand_new_rpc"


# 000 Tuning Parameters, Database Connection Pool: "10+ active and maxed out: increase to 20".
# A pool at its configured max is exhausted whatever the absolute bands say.
@pytest.mark.parametrize(
    ("active", "maximum", "level"),
    [
        (9, 10, Level.OK),
        (10, 10, Level.CRITICAL),
        (11, 10, Level.CRITICAL),
        (10, 12, Level.OK),
        (4, 4, Level.CRITICAL),
        (3, 4, Level.OK),
    ],
)
def test_the_pool_at_its_max_is_exhausted(active, maximum, level):
    finding = metrics.metric_check(
        "db_pool", snap([("db_pool_active", active, ""), ("db_pool_max", maximum, "")])
    )
    assert finding.level is level
    if level is Level.CRITICAL:
        assert f"{active} of {maximum} connections" in finding.title


def test_without_a_known_max_the_runbook_bands_apply():
    assert metrics.metric_check("db_pool", snap([("db_pool_active", 10, "")])).level is Level.OK
    assert metrics.metric_check("db_pool", snap([("db_pool_active", 11, "")])).level is (
        Level.WARNING
    )


@pytest.mark.parametrize(
    ("registered", "level"), [(0, Level.CRITICAL), (0.5, Level.CRITICAL), (1, Level.OK)]
)
def test_registration_gauge(registered, level):
    """004 P1 "Complete GC registration failure": mc_gc_registered 0 (0.5: one of two
    replicas averaged, still a replica the GC does not know)."""
    finding = metrics.metric_check("registration", snap([("gc_registered", registered, "")]))
    assert finding.level is level


def test_each_key_metric_becomes_the_finding_of_the_check_that_owns_it():
    findings = metrics.metric_findings(
        snap(
            [
                ("db_pool_active", 10, ""),
                ("db_pool_max", 10, ""),
                ("actor_panics", 2, ""),
                ("mc_mailbox_depth", 50, ""),
                ("actor_mailbox_size", 1001, ""),
                ("epoch_conflicts", 1, ""),
            ]
        )
    )
    by_check = {f.check: f.level for f in findings}
    assert by_check == {
        "db_pool": Level.CRITICAL,
        "actor_panics": Level.CRITICAL,
        "mailbox_depth": Level.CRITICAL,  # the worst of its two keys: 1001 > 1000
        "duplicate_epochs": Level.CRITICAL,
    }
    assert metrics.metric_findings(snap([])) == []


def test_the_exhausted_pool_says_what_to_do():
    finding = metrics.metric_check(
        "db_pool", snap([("db_pool_active", 10, ""), ("db_pool_max", 10, "")])
    )
    assert "DATABASE_MAX_CONNECTIONS=20" in finding.title  # 000 Tuning: "Increase to 20"
    assert "30 for a while" in finding.title  # Clearing Mailbox Backlog step 3
    ok = metrics.metric_check("db_pool", snap([("db_pool_active", 7, ""), ("db_pool_max", 10, "")]))
    assert ok.level is Level.OK and "current setting OK" in ok.title

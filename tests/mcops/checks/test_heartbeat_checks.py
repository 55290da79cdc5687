"""GC integration (004 Scenario 6): heartbeat failure ratio, gaps, registration status."""

from datetime import UTC, datetime, timedelta

import pandas as pd
import sqlalchemy as sa

from mcops.checks import heartbeats
from mcops.findings import Level
from mcops.sources import sql
from mcops.thresholds import load_thresholds
from server.store.schema import meeting_controllers, metadata

T0 = pd.Timestamp("2026-11-23T00:00:00Z")
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
THIRTY = timedelta(seconds=30)


def counter(successes, failures, *, step_s=1, since=None):
    rows = [
        {
            "timestamp": T0 + pd.Timedelta(seconds=i * step_s),
            "metric": heartbeats.COUNTER,
            "value": float(v),
            "result": result,
        }
        for result, points in (("success", successes), ("failure", failures))
        for i, v in enumerate(points)
    ]
    frame = pd.DataFrame(rows)
    frame.attrs["since"] = since
    return frame


def test_counts_are_growth_between_samples_with_resets_handled():
    table = heartbeats.heartbeat_counts(counter([10, 12, 3], [0, 1, 1]))
    assert table.values.tolist() == [["failure", 1.0, 1.0], ["success", 5.0, 3.0]]


def test_a_series_born_in_the_window_counts_its_first_value():
    frame = counter([4, 6], [2, 2])
    early = heartbeats.heartbeat_counts(frame, since=T0 - pd.Timedelta(minutes=5))
    assert dict(zip(early["result"], early["increase"], strict=True)) == {
        "failure": 2.0,
        "success": 6.0,
    }
    on_time = heartbeats.heartbeat_counts(frame, since=T0)
    assert dict(zip(on_time["result"], on_time["increase"], strict=True)) == {
        "failure": 0.0,
        "success": 2.0,
    }


def test_failure_ratio_bands_follow_the_alerts():
    critical = heartbeats.failure_ratio(counter([0, 2], [0, 8]))
    assert critical.level is Level.CRITICAL and critical.count == 8
    assert "8 of 10 GC heartbeats failed in the window" in critical.title
    assert heartbeats.failure_ratio(counter([0, 7], [0, 3])).level is Level.WARNING
    assert heartbeats.failure_ratio(counter([0, 5], [0, 5])).level is Level.WARNING  # 50 %
    assert heartbeats.failure_ratio(counter([0, 9], [0, 1])).level is Level.OK  # 10 %


def test_scrapes_without_a_heartbeat_between_them_use_the_totals():
    finding = heartbeats.failure_ratio(counter([40, 40], [60, 60]))
    assert finding.level is Level.CRITICAL
    assert "60 of 100 GC heartbeats failed since the service started" in finding.title


def test_no_counter_is_not_checked_and_no_attempt_is_a_warning():
    assert not heartbeats.failure_ratio(pd.DataFrame()).checked
    idle = heartbeats.failure_ratio(counter([0, 0], [0, 0]))
    assert idle.checked and idle.level is Level.WARNING and "stuck" in idle.title


def test_gaps_are_runs_without_a_successful_heartbeat():
    frame = counter([1, 2, 2, 2, 2, 2, 3, 4], [0] * 8, step_s=5)
    found = heartbeats.gaps(frame, interval_s=5)
    assert found["seconds"].tolist() == [25.0]
    assert found["gap_start"].iloc[0] == T0 + pd.Timedelta(seconds=5)
    assert heartbeats.gaps(counter([1, 2, 3, 4], [0] * 4, step_s=5), interval_s=5).empty


def test_stale_after_is_the_runbooks_30s_unless_overridden(tmp_path):
    assert heartbeats.stale_after() == THIRTY
    path = tmp_path / "t.yaml"
    path.write_text(
        "metrics:\n  gc_heartbeat_age_seconds:\n    bands:\n      recent: {level: ok, upto: 5}\n"
    )
    assert heartbeats.stale_after(load_thresholds(path)) == timedelta(seconds=5)


def controllers(*rows):
    columns = ["id", "region", "capacity", "current_sessions", "last_heartbeat", "status"]
    return pd.DataFrame([dict(zip(columns, r, strict=True)) for r in rows], columns=columns)


def ago(seconds):
    return pd.Timestamp(NOW - timedelta(seconds=seconds))


def test_a_fresh_active_controller_is_ok():
    table = controllers(("mc-1", "eu", 100, 3, ago(4), "active"))
    finding = heartbeats.registration(table, now=NOW, mc_id="mc-1", max_age=THIRTY)
    assert finding.level is Level.OK and finding.count == 0
    assert [row["age_s"] for row in finding.data] == [4.0]


def test_unregistered_controllers_are_critical_004_severity_p1_complete_registration_failure():
    # 004 Severity Classification P1: "Complete GC registration failure" — no row, or a
    # status that is neither 'active' nor 'draining'.
    table = controllers(
        ("mc-1", "eu", 100, 3, ago(4), "active"),
        ("mc-2", "eu", 100, 0, ago(45), "active"),
        ("mc-5", "us", 100, 0, ago(1), "inactive"),
    )
    everyone = heartbeats.registration(table, now=NOW, max_age=THIRTY)
    assert everyone.level is Level.CRITICAL and everyone.count == 2  # mc-5 and late mc-2
    assert everyone.title.startswith("1 MC not registered with the GC: mc-5 status is 'inactive'")
    assert "mc-2 last heartbeat 45s ago (> 30s)" in everyone.title  # listed after the worst
    one = heartbeats.registration(table, now=NOW, mc_id="mc-5", max_age=THIRTY)
    assert one.level is Level.CRITICAL
    missing = heartbeats.registration(table, now=NOW, mc_id="mc-9", max_age=THIRTY)
    assert missing.level is Level.CRITICAL and "mc-9 has no row" in missing.title
    empty = heartbeats.registration(controllers(), now=NOW, max_age=THIRTY)
    assert empty.level is Level.CRITICAL and "empty" in empty.title
    fine = heartbeats.registration(table, now=NOW, mc_id="mc-1", max_age=THIRTY)
    assert fine.level is Level.OK  # the others are not this MC's business


def test_draining_is_registered_by_design_004_s7_option4_and_graceful_drain():
    # 004 Scenario 7 Option 4 / Graceful Drain Procedure step 1: status = 'draining' "stops
    # new meetings from being assigned while allowing current ones to finish".
    table = controllers(
        ("mc-1", "eu", 100, 3, ago(4), "active"),
        ("mc-3", "us", 100, 0, ago(1), "draining"),
    )
    everyone = heartbeats.registration(table, now=NOW, max_age=THIRTY)
    assert everyone.level is Level.INFO and everyone.count == 0
    assert (
        everyone.title == "mc-3 draining: no new meetings, by design; 1 other MC active and on time"
    )
    alone = heartbeats.registration(table, now=NOW, mc_id="mc-3", max_age=THIRTY)
    assert alone.level is Level.INFO and alone.title == "mc-3 draining: no new meetings, by design"
    # a draining MC still heartbeats: late is late, whatever the status
    late = controllers(("mc-3", "us", 100, 0, ago(31), "draining"))
    assert heartbeats.registration(late, now=NOW, max_age=THIRTY).level is Level.WARNING


def test_heartbeat_age_edge_is_30s_and_late_is_a_warning_004_s6_verify_recovery():
    # 004 Scenario 6 "Verify recovery": last_heartbeat > NOW() - INTERVAL '30 seconds';
    # thresholds.yaml gc_heartbeat_age_seconds: recent (ok) up to 30 s inclusive, late warning.
    # Late is "GC heartbeat intermittent" (004 P2), not a registration failure (P1).
    def judged(age_s, **options):
        table = controllers(("mc-1", "eu", 100, 3, ago(age_s), "active"))
        return heartbeats.registration(table, now=NOW, **options)

    for options in ({"max_age": THIRTY}, {}):  # {}: the default limit is the runbook's 30 s
        at_edge = judged(30, **options)
        assert at_edge.level is Level.OK and at_edge.count == 0
        past = judged(30.001, **options)
        assert past.level is Level.WARNING and past.count == 1
        late = judged(31, **options)
        assert late.title == "GC heartbeat intermittent: mc-1 last heartbeat 31s ago (> 30s)"
    silent = controllers(("mc-4", "us", 100, 0, None, "active"))
    never = heartbeats.registration(silent, now=NOW, max_age=THIRTY)
    assert never.level is Level.WARNING and "mc-4 never sent a heartbeat" in never.title


def test_the_late_edge_and_level_come_from_thresholds(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text(
        "metrics:\n  gc_heartbeat_age_seconds:\n    bands:\n"
        "      recent: {level: ok, upto: 5}\n      late: {level: critical}\n"
    )
    table = controllers(("mc-1", "eu", 100, 3, ago(6), "active"))
    custom = load_thresholds(path)
    assert heartbeats.registration(table, now=NOW, thresholds=custom).level is Level.CRITICAL
    assert heartbeats.registration(table, now=NOW).level is Level.OK


def test_a_heartbeat_after_the_window_end_is_age_zero():
    table = controllers(("mc-1", "eu", 100, 3, ago(-2), "active"))
    finding = heartbeats.registration(table, now=NOW, max_age=THIRTY)
    assert finding.level is Level.OK and finding.data[0]["age_s"] == 0.0
    assert "oldest 0s ago" in finding.title


def test_registration_reads_sqlites_naive_utc_text(tmp_path):
    url = f"sqlite:///{tmp_path / 'gc.db'}"
    writer = sa.create_engine(url)
    metadata.create_all(writer, tables=[meeting_controllers])
    stamp = NOW.replace(tzinfo=None)  # as the server stores it on SQLite
    with writer.begin() as conn:
        conn.execute(
            meeting_controllers.insert(),
            [
                dict(id="mc-1", region="eu", capacity=100, current_sessions=0,
                     last_heartbeat=stamp - timedelta(seconds=2), status="active"),
                dict(id="mc-2", region="eu", capacity=100, current_sessions=0,
                     last_heartbeat=stamp - timedelta(seconds=90), status="active"),
            ],
        )  # fmt: skip
    writer.dispose()
    engine = sql.connect(url)
    try:
        table = sql.query(engine, "meeting_controllers", limit=1000)
    finally:
        engine.dispose()
    finding = heartbeats.registration(table, now=NOW, max_age=THIRTY)
    assert finding.level is Level.WARNING and finding.count == 1  # mc-2 is late, registered
    assert {row["id"]: row["age_s"] for row in finding.data} == {"mc-1": 2.0, "mc-2": 90.0}

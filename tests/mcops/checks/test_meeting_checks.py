"""Meeting lifecycle (004 Scenario 3): counts, activity, log errors, staleness, GC-MC mismatch."""

from datetime import UTC, datetime, timedelta

import pandas as pd

from mcops.checks import meetings
from mcops.findings import Level

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def gauges(meetings_active: list[float], connections: list[float]) -> pd.DataFrame:
    stamps = pd.date_range("2026-11-23T11:58Z", periods=len(meetings_active), freq="1min")
    return pd.DataFrame(
        [
            {"timestamp": t, "metric": name, "value": v}
            for name, values in zip(meetings.GAUGES, (meetings_active, connections), strict=True)
            for t, v in zip(stamps, values, strict=True)
        ]
    )


def test_fewer_connections_than_meetings_is_a_warning_judged_on_the_newest_values():
    found = meetings.meeting_counts(gauges([3, 3, 2], [0, 1, 1]))
    assert found.level == Level.WARNING
    assert found.count == 1
    assert list(found.data) == [{"meetings_active": 2.0, "connections_active": 1.0}]
    assert meetings.meeting_counts(gauges([3, 2], [0, 2])).level == Level.OK
    assert meetings.meeting_counts(gauges([0], [0])).level == Level.OK


def test_counts_say_not_checked_when_a_gauge_is_missing():
    only_meetings = gauges([1], [1]).query("metric == 'mc_meetings_active'")
    found = meetings.meeting_counts(only_meetings)
    assert not found.checked
    assert "mc_connections_active" in found.title
    assert not meetings.meeting_counts(pd.DataFrame()).checked


def processed(values: list[float], actor_type: str = "meeting") -> pd.DataFrame:
    stamps = pd.date_range("2026-11-23T11:00Z", periods=len(values), freq="20min")
    return pd.DataFrame(
        {
            "timestamp": stamps,
            "metric": "mc_message_processing_duration_seconds_count",
            "value": values,
            "actor_type": actor_type,
        }
    )


def test_no_meeting_message_for_the_stale_hour_with_meetings_active_is_a_warning():
    since = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
    idle = processed([40, 40, 40, 40])
    found = meetings.meeting_activity(
        idle, since=since, active_meetings=3, window=HOUR, stale_after=HOUR
    )
    assert found.level == Level.WARNING and found.count == 3
    # a shorter window cannot tell: it reports, it does not judge
    short = meetings.meeting_activity(
        idle, since=since, active_meetings=3, window=HOUR - timedelta(seconds=1), stale_after=HOUR
    )
    assert short.level == Level.INFO
    # no meetings, nothing to be stale; messages processed, not stale
    quiet = dict(since=since, window=HOUR, stale_after=HOUR)
    assert meetings.meeting_activity(idle, active_meetings=0, **quiet).level == Level.INFO
    busy = meetings.meeting_activity(processed([40, 45, 45, 52]), active_meetings=3, **quiet)
    assert busy.level == Level.INFO and busy.count == 12
    # other actor types' messages do not count
    other = meetings.meeting_activity(
        processed([1, 9, 20, 30], actor_type="conversation"), active_meetings=3, **quiet
    )
    assert other.level == Level.WARNING


def test_meeting_errors_groups_error_lines_about_meetings_and_ignores_the_rest():
    lines = pd.DataFrame(
        {
            "level": ["ERROR", "ERROR", "INFO", "WARN", "ERROR"],
            "msg": [
                "Meeting m1 session lost",
                "Meeting m1 session lost",
                "Meeting m2 created",
                "lifecycle: end message dropped",
                "database timeout",
            ],
        }
    )
    found = meetings.meeting_errors(lines)
    assert found.level == Level.WARNING and found.count == 3
    assert list(found.data) == [
        {"message": "Meeting m1 session lost", "lines": 2},
        {"message": "lifecycle: end message dropped", "lines": 1},
    ]
    assert meetings.meeting_errors(lines.iloc[[2, 4]]).level == Level.OK


def gc_rows(*rows: tuple[str, datetime]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"meeting_id": m, "mc_id": "mc-1", "status": "active", "updated_at": at} for m, at in rows]
    )


def test_stale_meetings_report_their_idle_minutes():
    frame = gc_rows(("m-old", NOW - 2 * HOUR), ("m-older", NOW - 3 * HOUR))
    found = meetings.stale_meetings(frame, now=NOW, stale_after=HOUR)
    assert found.level == Level.WARNING and found.count == 2
    assert [r["idle_minutes"] for r in found.data] == [120.0, 180.0]
    assert "1 h" in found.title
    assert meetings.stale_meetings(frame.iloc[:0], now=NOW, stale_after=HOUR).level == Level.OK


def test_gc_mc_mismatch_lists_only_meetings_without_a_live_actor():
    frame = gc_rows(("m-1", NOW), ("m-2", NOW), ("m-3", NOW)).assign(live_on_mc=[True, False, True])
    frame.attrs["mc_id"] = "mc-1"
    found = meetings.gc_mc_mismatch(frame)
    assert found.level == Level.WARNING and found.count == 1
    assert [r["meeting_id"] for r in found.data] == ["m-2"]
    assert "live_on_mc" not in found.data[0]
    assert "1 of 3" in found.title and "mc-1" in found.title
    served = frame.assign(live_on_mc=True)
    assert meetings.gc_mc_mismatch(served).level == Level.OK


# 004 Severity Upgrade Triggers: "P3 affects multiple meetings -> Upgrade to P2" counts
# meetings, not rows or log lines: Finding.affected_meetings is the distinct meeting ids.


def test_distinct_meetings_counts_ids_once_and_none_without_ids():
    frame = pd.DataFrame({"meeting_id": ["m1", "m1", "m2", None, ""]})
    assert meetings.distinct_meetings(frame) == 2
    refs = pd.DataFrame({"meeting_id": [None, None], "meeting_ref": ["m7", "m7"]})
    assert meetings.distinct_meetings(refs) == 1  # the logs' id pulled from the message
    assert meetings.distinct_meetings(pd.DataFrame({"meeting_id": [None, ""]})) is None
    assert meetings.distinct_meetings(pd.DataFrame({"msg": ["no id here"]})) is None


def test_meeting_errors_affect_distinct_meetings_004_upgrade_trigger():
    lines = pd.DataFrame(
        {
            "level": ["ERROR", "ERROR", "WARN"],
            "msg": ["Meeting m1 session lost", "Meeting m1 session lost", "meeting m2 stuck"],
            "meeting_id": ["m1", "m1", None],
            "meeting_ref": ["m1", "m1", "m2"],
        }
    )
    one = meetings.meeting_errors(lines.iloc[:2])  # two lines, one meeting
    assert one.count == 2 and one.affected_meetings == 1
    both = meetings.meeting_errors(lines)
    assert both.count == 3 and both.affected_meetings == 2
    no_ids = meetings.meeting_errors(lines[["level", "msg"]])
    assert no_ids.level == Level.WARNING and no_ids.affected_meetings is None


def test_stale_meetings_and_mismatch_affect_distinct_meetings_004_upgrade_trigger():
    frame = gc_rows(("m-1", NOW - 2 * HOUR), ("m-1", NOW - 3 * HOUR), ("m-2", NOW - 2 * HOUR))
    stale = meetings.stale_meetings(frame, now=NOW, stale_after=HOUR)
    assert stale.count == 3 and stale.affected_meetings == 2
    single = meetings.stale_meetings(frame.iloc[:2], now=NOW, stale_after=HOUR)
    assert single.affected_meetings == 1  # one meeting: P3 stays P3
    mismatch = meetings.gc_mc_mismatch(frame.assign(live_on_mc=[False, False, True]))
    assert mismatch.count == 2 and mismatch.affected_meetings == 1
    served = meetings.gc_mc_mismatch(frame.assign(live_on_mc=True))
    assert served.level == Level.OK and served.affected_meetings is None


def test_meeting_activity_affects_the_active_meetings_004_upgrade_trigger():
    # the counter has no meeting label; the mc_meetings_active gauge counts meetings
    since = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
    quiet = dict(since=since, window=HOUR, stale_after=HOUR)
    idle = meetings.meeting_activity(processed([40, 40, 40, 40]), active_meetings=2, **quiet)
    assert idle.level == Level.WARNING and idle.affected_meetings == 2
    busy = meetings.meeting_activity(processed([40, 45, 45, 52]), active_meetings=2, **quiet)
    assert busy.level == Level.INFO and busy.affected_meetings is None

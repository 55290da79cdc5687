"""Log detectors: error grouping, crash-loop cadence, spawn loops, panics."""

import pandas as pd

from mcops.checks import logs
from mcops.findings import Level

T0 = pd.Timestamp("2026-11-23T10:00:00Z")


def frame(rows):
    df = pd.DataFrame(rows, columns=["ts", "level", "msg", "convo_id"])
    df["ts"] = pd.to_datetime(df["ts"], utc=True)
    return df


def crashes(convo, n, every_s, start=T0):
    return [
        (
            start + pd.Timedelta(seconds=i * every_s),
            "ERROR",
            f"Actor crashed: database transaction failed for conversation {convo}",
            None,
        )
        for i in range(n)
    ]


def test_crash_loop_is_told_from_spread_out_crashes():
    rows = crashes("convo-abc123", 45, 5) + crashes("convo-def456", 3, 60)
    cadence = logs.crash_cadence(frame(rows))
    assert list(cadence["convo_id"]) == ["convo-abc123", "convo-def456"]
    assert list(cadence["crashes"]) == [45, 3]
    assert list(cadence["pattern"]) == ["crash loop", "recurring"]
    assert cadence.loc[0, "median_gap_s"] == 5.0
    finding = logs.crash_loop(frame(rows))
    assert finding.level is Level.CRITICAL
    assert "convo-abc123" in finding.title


def test_ids_come_from_the_message_text_when_no_column():
    # convo_id column empty: the id is extracted from "conversation <id>" (conversation_ref)
    df = frame(crashes("convo-x", 2, 30))
    df["conversation_ref"] = "convo-x"
    cadence = logs.crash_cadence(df)
    assert list(cadence["convo_id"]) == ["convo-x"] and cadence.loc[0, "pattern"] == "recurring"


def test_an_old_burst_is_not_an_active_loop():
    rows = crashes("c1", 10, 5)
    later = T0 + pd.Timedelta(hours=2)
    finding = logs.crash_loop(frame(rows), until=later)
    assert finding.level is Level.WARNING


def test_spawn_loop_counts_per_conversation():
    rows = [(T0, "INFO", "Spawning new actor for conversation c1", "c1")] * 5
    rows += [(T0, "INFO", "Spawning new actor for conversation c2", "c2")]
    finding = logs.spawn_loop(frame(rows))
    assert finding.level is Level.CRITICAL
    assert finding.data == ({"convo_id": "c1", "spawns": 5},)


def test_error_logs_group_by_shape_and_escalate_on_crashes():
    rows = crashes("c1", 3, 1) + crashes("c2", 2, 1)
    rows += [(T0, "ERROR", "pool timed out after 30 s", None), (T0, "INFO", "fine", None)]
    finding = logs.error_logs(frame(rows))
    assert finding.level is Level.CRITICAL
    assert finding.count == 2  # two patterns
    assert finding.data[0]["count"] == 5
    assert "<id>" in finding.data[0]["pattern"]


def test_error_logs_ok_and_malformed_note():
    df = frame([(T0, "INFO", "hello", None)])
    df.attrs["malformed"] = 3
    finding = logs.error_logs(df)
    assert finding.level is Level.OK
    assert "3 malformed" in finding.title

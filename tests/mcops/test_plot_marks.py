"""Faults, restarts and remediations drawn on every time axis, from real server logs.

The server is the real process on SQLite: a fault is injected and cleared over its
admin API and it is restarted; its log file is read with `mcops.sources.logs` as a
notebook would. Each mark must then be a dashed vertical line at its log line's time.
"""

from __future__ import annotations

import pandas as pd
import pytest

from mcops import plot_marks, plots
from mcops.remediate.audit import AuditLog, AuditRecord
from mcops.sources.logs import read_logs
from tests.support.server_process import running_server

T0 = pd.Timestamp("2026-11-30T08:00:00Z")


def _series(minutes: int = 10) -> pd.DataFrame:
    times = pd.date_range(T0, periods=minutes + 1, freq="1min")
    return pd.DataFrame({"timestamp": times, "value": range(minutes + 1)})


def _vlines(fig) -> list[pd.Timestamp]:
    return [
        pd.Timestamp(shape.x0)
        for shape in fig.layout.shapes
        if shape.type == "line" and shape.x0 == shape.x1
    ]


@pytest.mark.slow
def test_a_fault_its_clearing_and_a_restart_of_the_real_server_are_marked(sqlite_url):
    with running_server(sqlite_url) as server:
        with server.client() as admin:
            admin.put("/admin/faults", json={"slow_db": {"latency_ms": 5}}).raise_for_status()
            admin.delete("/admin/faults/slow_db").raise_for_status()
        server.restart()
        frame = read_logs(f"file:{server.log_file}")
    marks = plot_marks.marks_from_logs(frame)
    assert list(marks["label"]) == ["restart", "fault slow_db", "slow_db cleared", "restart"]
    assert list(marks["kind"]) == ["restart", "fault", "fault cleared", "restart"]
    assert marks["ts"].is_monotonic_increasing

    span = pd.DataFrame({"timestamp": [marks["ts"].min(), marks["ts"].max()], "value": [1.0, 2.0]})
    fig = plots.timeseries(span, title="t", marks=marks)
    assert sorted(_vlines(fig)) == sorted(marks["ts"])
    assert {a.text for a in fig.layout.annotations} >= set(marks["label"])


def test_only_marks_inside_the_plotted_window_are_drawn():
    marks = pd.DataFrame(
        {
            "ts": [
                T0 - pd.Timedelta("1s"),
                T0,
                T0 + pd.Timedelta("10min"),
                T0 + pd.Timedelta("10min 1s"),
            ],
            "kind": ["fault"] * 4,
            "label": ["before", "first", "last", "after"],
        }
    )
    fig = plots.timeseries(_series(10), title="t", marks=marks)
    assert _vlines(fig) == [T0, T0 + pd.Timedelta("10min")]  # the window's ends included


def test_a_busy_window_keeps_the_latest_marks_only():
    times = pd.date_range(T0, periods=plot_marks.MAX_MARKS + 1, freq="10s")
    marks = pd.DataFrame(
        {"ts": times, "kind": "fault", "label": [f"f{i}" for i in range(len(times))]}
    )
    fig = plots.timeseries(_series(10), title="t", marks=marks)
    assert _vlines(fig) == list(times[1:])


def test_plots_take_the_running_investigations_marks_and_survive_a_failing_source():
    marks = pd.DataFrame(
        {"ts": [T0 + pd.Timedelta("5min")], "kind": ["restart"], "label": ["restart"]}
    )
    try:
        plot_marks.use_marks(lambda: marks)
        assert _vlines(plots.timeseries(_series(), title="t")) == [T0 + pd.Timedelta("5min")]

        def broken() -> pd.DataFrame:
            raise OSError("log file gone")

        plot_marks.use_marks(broken)
        assert _vlines(plots.timeseries(_series(), title="t")) == []
    finally:
        plot_marks.use_marks(None)
    assert _vlines(plots.timeseries(_series(), title="t")) == []


def test_changes_the_audit_log_recorded_are_marked_intents_and_refusals_are_not(tmp_path):
    audit = AuditLog(tmp_path / "audit.jsonl")
    at = {"target": "db", "plan_hash": "h", "changed": 1}
    audit.append(
        AuditRecord(
            "reset_epoch", mode="apply", result="intent", when="2026-11-30T08:02:59+00:00", **at
        )
    )
    audit.append(
        AuditRecord(
            "reset_epoch", mode="apply", result="ok", when="2026-11-30T08:03:00+00:00", **at
        )
    )
    audit.append(
        AuditRecord("reset_epoch", mode="undo", result="ok", when="2026-11-30T08:04:00+00:00", **at)
    )
    audit.append(
        AuditRecord(
            "end_meetings", mode="apply", result="refused", when="2026-11-30T08:05:00+00:00", **at
        )
    )
    audit.append(
        AuditRecord(
            "end_meetings", mode="apply", result="failed", when="2026-11-30T08:06:00+00:00", **at
        )
    )
    marks = plot_marks.marks_from_audit(audit.records())
    assert list(marks["label"]) == ["reset_epoch", "reset_epoch undone"]
    assert set(marks["kind"]) == {"remediation"}
    assert list(marks["ts"]) == [T0 + pd.Timedelta("3min"), T0 + pd.Timedelta("4min")]


def test_logs_without_time_or_message_give_no_marks():
    assert plot_marks.marks_from_logs(pd.DataFrame({"msg": ["Server started"]})).empty
    assert plot_marks.marks_from_logs(pd.DataFrame()).empty

"""Plots draw what they claim: bands, worst-first ordering, empty-input figures."""

import pandas as pd

from mcops import plots
from mcops.findings import Finding, Level


def test_timeseries_draws_one_line_per_label_and_threshold_bands():
    ts = pd.date_range("2026-11-23", periods=5, freq="1min", tz="UTC")
    frame = pd.DataFrame(
        {
            "timestamp": list(ts) * 2,
            "value": [1, 2, 3, 4, 5, 10, 20, 30, 40, 50],
            "message_type": ["get_epoch"] * 5 + ["add_members"] * 5,
        }
    )
    bands = [(0, 50, Level.OK), (50, 200, Level.WARNING), (200, float("inf"), Level.CRITICAL)]
    fig = plots.timeseries(frame, title="p95", by="message_type", bands=bands)
    assert sorted(t.name for t in fig.data) == ["add_members", "get_epoch"]
    assert len(fig.layout.shapes) >= 3  # three bands plus threshold lines
    # the first warning line is in view even though every value is below it
    assert fig.layout.yaxis.range[1] >= 50 * 1.1


def test_findings_overview_puts_the_worst_first():
    fig = plots.findings_overview(
        [
            Finding.make("health", "ok", "up"),
            Finding.make("duplicate_epochs", "critical", "2 duplicates"),
            Finding.make("readiness", "warning", "slow"),
        ]
    )
    assert list(fig.data[0].y) == ["duplicate_epochs", "readiness", "health"]
    assert fig.data[0].marker.color[0] == plots.LEVEL_COLORS[Level.CRITICAL]


def test_empty_inputs_give_an_annotated_figure():
    fig = plots.bars(pd.DataFrame({"c": [], "n": []}), x="c", y="n", title="crashes")
    assert "nothing to show" in fig.layout.annotations[0].text
    assert plots.timeseries(pd.DataFrame(), title="t").layout.annotations[0].text

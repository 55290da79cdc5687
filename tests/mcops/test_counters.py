"""The one counter-reset rule (`mcops.counters`), at its boundaries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd

from mcops.counters import counted, growth

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def series(*values: float, start: datetime = T0, every: float = 10) -> pd.Series:
    index = pd.DatetimeIndex([start + timedelta(seconds=every * i) for i in range(len(values))])
    return pd.Series(values, index=index, dtype="float64")


def test_a_rise_counts_as_itself_and_a_drop_counts_the_new_value():
    rise = pd.Series([2.0, 0.0, -5.0])
    assert counted(rise, pd.Series([7.0, 7.0, 2.0])).tolist() == [2.0, 0.0, 2.0]


def test_growth_across_a_restart():
    # 5 → 7 (+2), restart → 1 (+1), → 4 (+3)
    assert growth(series(5, 7, 1, 4)) == 6


def test_a_series_born_in_the_window_counts_its_first_value():
    born = series(3, 5, start=T0 + timedelta(minutes=5))
    assert growth(born, since=T0) == 5  # 3 at birth + 2
    assert growth(born) == 2  # without a window start, only what it grew
    # first sample within two intervals of the start: it was there before, not born
    assert growth(series(3, 5, start=T0 + timedelta(seconds=20)), since=T0) == 2
    assert growth(series(3, 5, start=T0 + timedelta(seconds=21)), since=T0) == 5


def test_no_samples_no_growth():
    assert growth(pd.Series([], dtype="float64")) == 0.0

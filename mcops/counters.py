"""Counter arithmetic, the one place a counter reset is handled.

A counter only rises; a lower value than the one before means the process restarted, and
the new value is what it counted since (as Prometheus's ``increase`` treats it). Pure
pandas, so the judges in `mcops.checks` and the scrape backend share it.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from mcops.utc import timestamp

__all__ = ["counted", "growth"]


def counted(rise: pd.Series, current: pd.Series) -> pd.Series:
    """What each step of a counter counts: its rise, or after a reset its new value."""
    return rise.where(rise >= 0, current)


def growth(values: pd.Series, *, since: datetime | None = None) -> float:
    """How much a counter (values indexed by time, sorted) grew, resets handled.

    With ``since``: a series whose first sample comes after ``since`` (plus two sample
    intervals of slack) was born in the window, or history is missing, so its first value
    counts as growth too.
    """
    if values.empty:
        return 0.0
    rise = values.diff().iloc[1:]
    grown = float(counted(rise, values.iloc[1:]).sum())
    if since is not None and _born_after(values, since):
        grown += float(values.iloc[0])
    return grown


def _born_after(values: pd.Series, since: datetime) -> bool:
    step = values.index.to_series().diff().median() if len(values) > 1 else pd.NaT
    slack = max(pd.Timedelta(seconds=1), 2 * step) if pd.notna(step) else pd.Timedelta(1, "s")
    return bool(pd.Timestamp(values.index[0]) > timestamp(since) + slack)

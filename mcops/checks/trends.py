"""Actor-aware detectors over time series that no dashboard panel gives directly.

Inputs are long frames (``timestamp``, ``value``, label columns) from a Prometheus range
query or a sampled scrape; :func:`series` sums them into one series per timestamp.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mcops.counters import growth
from mcops.findings import Finding, Level

__all__ = [
    "Drain",
    "Trend",
    "drain_estimate",
    "heartbeat_gaps",
    "linear_trend",
    "mailbox_growth",
    "meeting_age_distribution",
    "series",
    "trend_finding",
]


def series(frame: pd.DataFrame) -> pd.Series:
    """Sum a long frame over its labels: one value per timestamp, sorted by time."""
    if frame.empty:
        return pd.Series(dtype="float64")
    return frame.groupby("timestamp")["value"].sum().sort_index()


@dataclass(frozen=True)
class Trend:
    """A least-squares line through a series: growth per hour and how straight it is."""

    slope_per_hour: float
    r2: float
    start: float
    end: float
    hours: float

    @property
    def growth(self) -> float:
        """Relative growth over the window (0.5 = +50 %); from nothing to something is inf."""
        if self.start <= 0:
            return math.inf if self.end > self.start else 0.0
        return (self.end - self.start) / self.start

    def hours_until(self, limit: float) -> float:
        """Hours until the line reaches ``limit``; inf when not growing."""
        if self.slope_per_hour <= 0:
            return math.inf
        return max(0.0, (limit - self.end) / self.slope_per_hour)


def linear_trend(values: pd.Series) -> Trend:
    """Fit ``value = a + b·t``; r² says whether 'growing linearly' is a fair description."""
    values = values.dropna()
    if len(values) < 3:
        raise ValueError(f"a trend needs at least 3 points, got {len(values)}; widen `window`")
    hours = (values.index - values.index[0]).total_seconds().to_numpy() / 3600.0
    y = values.to_numpy(dtype="float64")
    slope, intercept = np.polyfit(hours, y, 1)
    fitted = intercept + slope * hours
    ss_res = float(((y - fitted) ** 2).sum())
    ss_tot = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - ss_res / ss_tot if ss_tot > 0 else 0.0
    return Trend(
        slope_per_hour=float(slope),
        r2=r2,
        start=float(fitted[0]),
        end=float(fitted[-1]),
        hours=float(hours[-1]),
    )


def trend_finding(
    check: str,
    values: pd.Series,
    *,
    what: str,
    unit: str = "",
    limit: float | None = None,
    min_r2: float = 0.8,
    min_growth: float = 0.2,
) -> Finding:
    """Runbook 000 FM4 step 1: 'if growing linearly, likely a leak'.

    Warning when the fit is straight (r² ≥ ``min_r2``) and the series grew by at least
    ``min_growth`` over the window; critical when it will reach ``limit`` within a day.
    """
    if values.dropna().shape[0] < 3:
        return Finding.not_checked(check, f"fewer than 3 samples of {what}; widen `window`")
    trend = linear_trend(values)
    rows = [
        {
            "slope_per_hour": round(trend.slope_per_hour, 3),
            "r2": round(trend.r2, 3),
            "start": round(trend.start, 3),
            "end": round(trend.end, 3),
            "hours": round(trend.hours, 3),
            "hours_until_limit": None if limit is None else round(trend.hours_until(limit), 2),
        }
    ]
    leaking = trend.r2 >= min_r2 and trend.slope_per_hour > 0 and trend.growth >= min_growth
    if not leaking:
        return Finding.make(
            check,
            Level.OK,
            f"{what} is not growing steadily "
            f"({trend.slope_per_hour:+.1f}{unit}/h, r²={trend.r2:.2f})",
            rows=rows,
            count=0,
        )
    level = Level.WARNING
    eta = ""
    if limit is not None and trend.hours_until(limit) <= 24:
        level = Level.CRITICAL
        eta = f"; reaches {limit:g}{unit} in {trend.hours_until(limit):.1f} h"
    return Finding.make(
        check,
        level,
        f"{what} grows linearly: {trend.slope_per_hour:+.1f}{unit}/h (r²={trend.r2:.2f}){eta}",
        detail=(
            "Steady growth that never falls back is the leak signature: actors are not "
            "being cleaned up. Identify stale actors, restart to clear them, and set an "
            "inactivity timeout."
        ),
        rows=rows,
        count=1,
    )


@dataclass(frozen=True)
class Drain:
    """Arrival vs processing for a mailbox, and when (if ever) it empties."""

    depth: float
    processing_per_s: float
    arrival_per_s: float

    @property
    def seconds_to_drain(self) -> float:
        """inf when arrivals keep up with processing: the backlog never drains."""
        if self.depth <= 0:
            return 0.0
        net = self.processing_per_s - self.arrival_per_s
        return self.depth / net if net > 0 else math.inf


def drain_estimate(depth: pd.Series, processed_total: pd.Series) -> Drain:
    """004 Scenario 1 step 3: processing rate from the counter, arrival = processing + growth.

    ``depth`` is the mailbox depth over time; ``processed_total`` the cumulative count of
    processed messages (``mc_message_processing_duration_seconds_count``) over the same
    window. Counter resets are handled as Prometheus does (a drop adds the new value).
    """
    depth = depth.dropna()
    processed_total = processed_total.dropna()
    if len(depth) < 2 or len(processed_total) < 2:
        raise ValueError("a drain estimate needs two samples of depth and of the processed counter")
    span = (processed_total.index[-1] - processed_total.index[0]).total_seconds()
    processing = growth(processed_total) / span if span > 0 else 0.0
    growth_span = (depth.index[-1] - depth.index[0]).total_seconds()
    rising = float(depth.iloc[-1] - depth.iloc[0]) / growth_span if growth_span > 0 else 0.0
    return Drain(
        depth=float(depth.iloc[-1]),
        processing_per_s=processing,
        arrival_per_s=max(0.0, processing + rising),
    )


def mailbox_growth(
    depth: pd.Series,
    processed_total: pd.Series,
    *,
    warning: float = 100,
    critical: float = 500,
    check: str = "processing_vs_arrival",
) -> Finding:
    """Is the backlog growing, and how long until it drains at current rates."""
    drain = drain_estimate(depth, processed_total)
    eta = drain.seconds_to_drain
    rows = [
        {
            "depth": drain.depth,
            "processing_per_s": round(drain.processing_per_s, 3),
            "arrival_per_s": round(drain.arrival_per_s, 3),
            "seconds_to_drain": None if math.isinf(eta) else round(eta, 1),
        }
    ]
    if drain.depth <= 0 and drain.arrival_per_s <= drain.processing_per_s:
        return Finding.make(check, Level.OK, "Mailboxes are empty and keep up", rows=rows, count=0)
    if math.isinf(eta):
        level = Level.CRITICAL if drain.depth >= warning else Level.WARNING
        title = (
            f"Backlog of {drain.depth:.0f} never drains: {drain.arrival_per_s:.1f} msg/s "
            f"arrive, {drain.processing_per_s:.1f} msg/s are processed"
        )
    else:
        level = (
            Level.CRITICAL
            if drain.depth > critical
            else Level.WARNING
            if drain.depth > warning
            else Level.OK
        )
        title = f"Backlog of {drain.depth:.0f} drains in about {eta:.0f}s at current rates"
    return Finding.make(
        check,
        level,
        title,
        detail="If processing is slower than arrival, the actor is overwhelmed: scale out or "
        "find the slow handler (p99 by actor type).",
        rows=rows,
        count=1,
    )


def heartbeat_gaps(
    successes: pd.Series, *, interval_s: float, tolerance: float = 3.0
) -> pd.DataFrame:
    """Periods in which the success counter did not move for ``tolerance`` intervals.

    ``successes`` is the cumulative ``mc_gc_heartbeats_total{result="success"}``; a gap
    is a run of samples without an increase lasting more than ``tolerance × interval``.
    """
    values = successes.dropna().sort_index()
    columns = ["gap_start", "gap_end", "seconds"]
    if len(values) < 2:
        return pd.DataFrame(columns=columns)
    moved = values.diff().fillna(1) != 0
    last_move = values.index.to_series().where(moved).ffill()
    gaps = []
    start = None
    for ts, mv, lm in zip(values.index, moved, last_move, strict=True):
        if not mv and start is None:
            start = lm
        if mv and start is not None:
            gaps.append((start, ts))
            start = None
    if start is not None:
        gaps.append((start, values.index[-1]))
    frame = pd.DataFrame(gaps, columns=["gap_start", "gap_end"])
    if frame.empty:
        return pd.DataFrame(columns=columns)
    frame["seconds"] = (frame["gap_end"] - frame["gap_start"]).dt.total_seconds()
    return frame[frame["seconds"] > tolerance * interval_s].reset_index(drop=True)


_AGE_BINS = [0, 1, 6, 24, math.inf]
_AGE_LABELS = ["< 1 h", "1–6 h", "6–24 h", "> 24 h"]


def meeting_age_distribution(
    meetings: pd.DataFrame, *, now: pd.Timestamp, column: str = "updated_at"
) -> pd.DataFrame:
    """Stuck-session ages: how many active meetings were last touched how long ago."""
    if meetings.empty:
        return pd.DataFrame({"age": _AGE_LABELS, "meetings": [0] * len(_AGE_LABELS)})
    touched = pd.to_datetime(meetings[column], utc=True)
    hours = (now - touched).dt.total_seconds() / 3600.0
    binned = pd.cut(hours, bins=_AGE_BINS, labels=_AGE_LABELS, right=False)
    counts = binned.value_counts().reindex(_AGE_LABELS, fill_value=0)
    return pd.DataFrame({"age": _AGE_LABELS, "meetings": counts.to_numpy()})

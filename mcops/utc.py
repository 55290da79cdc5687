"""UTC, the one time zone of evidence: now, and any moment turned into aware UTC.

Naive datetimes are taken as UTC (the runbook databases store naive UTC timestamps).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd

__all__ = ["iso_now", "now", "timestamp", "to_utc"]


def now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def iso_now() -> str:
    """The current time as ISO 8601 to the second, as summary.json records it."""
    return now().isoformat(timespec="seconds")


def to_utc(value: datetime) -> datetime:
    """Naive datetimes are taken as UTC; aware ones converted."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def timestamp(moment: datetime | pd.Timestamp | str) -> pd.Timestamp:
    """A pandas Timestamp in UTC, for comparing with frames' ``datetime64[ns, UTC]``."""
    stamp = pd.Timestamp(moment)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")

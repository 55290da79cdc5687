"""Runbook 000 FM4 (Memory Leak) / Memory Leak Mitigation: the live actors, from the server.

The trends are read with `Investigation.metric_range`; what only the server knows, its
live actors and how long each has idled against its own inactivity timeout, comes from
the admin API here, so `mcops.checks.leaks.stale_actors` judges a frame.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from mcops.sources.service import ServiceSource

__all__ = ["live_actors"]


def _seconds(value: Any) -> float:
    try:
        seconds = float(value) if value is not None else math.nan
    except (TypeError, ValueError):
        return math.nan
    return seconds if seconds > 0 else math.nan


def live_actors(service: ServiceSource) -> pd.DataFrame:
    """``GET /admin/actors``, with the server's ``inactivity_timeout`` (``/admin/config``)."""
    actors = service.actors()
    timeout = _seconds(service.config().get("inactivity_timeout"))
    return actors.assign(inactivity_timeout=timeout)

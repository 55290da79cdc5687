"""Runbook 000 FM3 cause "Database replication lag (if using replicas)".

A reader served by a lagging replica sees an old ``current_epoch`` and can commit that
epoch a second time. The frame is one row per replica (``replica``, ``state``,
``lag_seconds``): ``pg_stat_replication`` on a primary, the replay delay on a standby.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from mcops.classify import classify
from mcops.findings import Finding, Level

if TYPE_CHECKING:
    from mcops.thresholds import Thresholds

__all__ = ["replication_lag"]

_CHECK = "replication_lag"


def replication_lag(frame: pd.DataFrame, *, thresholds: Thresholds | None = None) -> Finding:
    """Warning when a replica is behind by more than ``replication_lag_seconds`` (1 s).

    No replica at all: ok, "not a cause". A replica whose ``replay_lag`` is NULL has
    replayed everything it was sent (PostgreSQL clears it when the replica is idle): 0 s.
    """
    missing = [c for c in ("replica", "state", "lag_seconds") if c not in frame.columns]
    if missing:
        raise ValueError(f"{_CHECK}: the frame lacks columns {missing}; pass replica_lag rows")
    if frame.empty:
        return Finding.make(_CHECK, Level.OK, "no replicas: not a cause", count=0)
    lags = pd.to_numeric(frame["lag_seconds"], errors="coerce").fillna(0.0)
    rows = frame.assign(lag_seconds=lags)
    verdicts = [classify("replication_lag_seconds", float(v), thresholds=thresholds) for v in lags]
    rows = rows.assign(band=[v.band.name for v in verdicts])
    worst = max(range(len(verdicts)), key=lambda i: (verdicts[i].level, lags.iloc[i]))
    level = verdicts[worst].level
    lagging = rows[[v.level >= Level.WARNING for v in verdicts]]
    n = len(rows)
    if level < Level.WARNING:
        return Finding.make(
            _CHECK,
            Level.OK,
            f"{n} replica(s) in sync: the largest lag {verdicts[worst].text}",
            rows=rows,
            count=0,
        )
    return Finding.make(
        _CHECK,
        level,
        f"{len(lagging)} of {n} replica(s) behind: {rows['replica'].iloc[worst]} "
        f"{verdicts[worst].text}",
        detail=(
            "Reads of current_epoch from a lagging replica can fork an epoch: send the "
            "conversation reads and commits to the primary."
        ),
        rows=lagging,
    )

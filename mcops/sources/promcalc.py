"""Prometheus arithmetic in pandas: ``rate`` between samples and ``histogram_quantile``.

Used on scrapes (no Prometheus given) so a notebook still gets spawn rates and p95 by
message_type. ``histogram_quantile`` follows Prometheus's algorithm exactly: buckets
sorted by ``le``, cumulative counts made monotonic, linear interpolation inside the
bucket holding the rank, the lower bound of the first bucket taken as 0, and the
``+Inf`` bucket answered with the highest finite bound.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from mcops.sources.promframe import FRAME_COLUMNS

__all__ = ["bucket_quantile", "histogram_quantile", "rate"]

_COUNTER_TYPES = {"counter", "histogram", "summary", "gaugehistogram"}
_COUNTER_SUFFIXES = ("_total", "_count", "_sum", "_bucket")


def _label_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c not in FRAME_COLUMNS]


def _is_counter(frame: pd.DataFrame) -> pd.Series:
    types = frame.attrs.get("types") or {}
    names = frame["metric"].astype("str")

    def counter(name: str) -> bool:
        kind = types.get(name)
        if kind in (None, "unknown", "untyped"):  # untyped: go by the naming convention
            return name.endswith(_COUNTER_SUFFIXES)
        return kind in _COUNTER_TYPES

    return names.map(counter).astype(bool)


def rate(earlier: pd.DataFrame, later: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per-second increase of every counter series between two scrapes.

    With one argument, the frame is a ``sample()`` result and its first and last
    scrapes are used. A counter that went down was reset: its rate is ``later / dt``,
    as Prometheus counts it. Gauges are left out.
    """
    if later is None:
        stamps = earlier["timestamp"]
        later = earlier[stamps == stamps.max()]
        earlier = earlier[stamps == stamps.min()]
    earlier = earlier[_is_counter(earlier)]
    later = later[_is_counter(later)]
    keys = ["metric", *sorted(set(_label_columns(earlier)) | set(_label_columns(later)))]

    def keyed(frame: pd.DataFrame) -> pd.DataFrame:
        out = pd.DataFrame(
            {k: frame[k].astype("str").fillna("") if k in frame else "" for k in keys},
            index=frame.index,
        )
        out["timestamp"] = frame["timestamp"]
        out["value"] = frame["value"]
        return out.reset_index(drop=True)

    joined = keyed(earlier).merge(keyed(later), on=keys, suffixes=("_0", "_1"))
    seconds = (joined["timestamp_1"] - joined["timestamp_0"]).dt.total_seconds()
    delta = joined["value_1"] - joined["value_0"]
    delta = delta.where(delta >= 0, joined["value_1"])
    result = joined[keys].copy()
    result.insert(0, "timestamp", joined["timestamp_1"])
    result.insert(2, "value", (delta / seconds.where(seconds > 0)).astype("float64"))
    for column in keys:
        result[column] = result[column].replace("", np.nan).astype("category")
    return result[["timestamp", "metric", "value", *keys[1:]]].reset_index(drop=True)


def bucket_quantile(q: float, bounds: Sequence[float], counts: Sequence[float]) -> float:
    """Prometheus's ``bucketQuantile`` for one histogram (bounds need not be sorted)."""
    if math.isnan(q):
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    pairs = sorted(zip(bounds, counts, strict=True), key=lambda p: p[0])
    if len(pairs) < 2 or not math.isinf(pairs[-1][0]):
        return math.nan
    upper = [b for b, _ in pairs]
    cumulative = list(np.maximum.accumulate([c for _, c in pairs]))
    observations = cumulative[-1]
    if observations == 0 or math.isnan(observations):
        return math.nan
    rank = q * observations
    b = next(i for i, c in enumerate(cumulative) if c >= rank)
    if b == len(upper) - 1:
        return upper[-2]
    if b == 0 and upper[0] <= 0:
        return upper[0]
    start, end, count = 0.0, upper[b], cumulative[b]
    if b > 0:
        start = upper[b - 1]
        count -= cumulative[b - 1]
        rank -= cumulative[b - 1]
    return start + (end - start) * (rank / count)


def histogram_quantile(q: float, frame: pd.DataFrame, *, by: Sequence[str] = ()) -> pd.DataFrame:
    """``histogram_quantile(q, sum by (le, *by) (frame))`` for every ``*_bucket`` metric.

    ``frame`` holds bucket counts or their rates (from ``rate``). Result columns:
    ``metric`` (the histogram's name without ``_bucket``), the ``by`` labels, ``value``.
    """
    buckets = frame[frame["metric"].astype("str").str.endswith("_bucket")]
    missing = [c for c in ["le", *by] if c not in buckets.columns]
    if missing:
        raise KeyError(f"histogram_quantile needs label column(s) {missing}; have {list(frame)}")
    data = pd.DataFrame(
        {
            "metric": buckets["metric"].astype("str").str.removesuffix("_bucket"),
            "le": buckets["le"].astype("str").astype("float64"),
            "value": buckets["value"].to_numpy(),
            **{c: buckets[c].astype("str") for c in by},
        }
    )
    groups = ["metric", *by]
    summed = data.groupby([*groups, "le"], observed=True, sort=True)["value"].sum().reset_index()
    rows = []
    for key, group in summed.groupby(groups, observed=True, sort=True):
        values = key if isinstance(key, tuple) else (key,)
        value = bucket_quantile(q, group["le"].tolist(), group["value"].tolist())
        rows.append({**dict(zip(groups, values, strict=True)), "value": value})
    return pd.DataFrame(rows, columns=[*groups, "value"]).astype({"value": "float64"})

"""Prometheus arithmetic in pandas: ``increases``/``rate`` between samples, ``histogram_quantile``.

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

from mcops.counters import counted
from mcops.sources.promframe import FRAME_COLUMNS

__all__ = ["bucket_quantile", "histogram_quantile", "increases", "rate"]

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


def _series_keys(frame: pd.DataFrame) -> list[str]:
    return ["metric", *sorted(_label_columns(frame))]


def increases(frame: pd.DataFrame) -> pd.DataFrame:
    """How much each counter series rose since its previous sample, resets handled.

    Resets as `mcops.counters.counted` counts them: a value lower than the one before
    means the process restarted, and the new value is the increase. One row per series
    per sample after its first, in the metrics-frame shape; ``seconds`` is the time
    since that series' previous sample.
    """
    keys = _series_keys(frame)
    if frame.empty:
        return pd.DataFrame(columns=["timestamp", "metric", "value", *keys[1:], "seconds"])
    data = pd.DataFrame(
        {k: frame[k].astype("str").where(frame[k].notna(), "") for k in keys},
        index=frame.index,
    )
    data["timestamp"] = frame["timestamp"]
    data["value"] = frame["value"].astype("float64")
    data = data.sort_values([*keys, "timestamp"], kind="stable")
    grouped = data.groupby(keys, sort=False, observed=True)
    before = grouped["value"].shift(1)
    elapsed = data["timestamp"] - grouped["timestamp"].shift(1)
    rise = data["value"] - before
    data["value"] = counted(rise, data["value"])  # a drop: reset, count anew
    data["seconds"] = elapsed.dt.total_seconds()
    data = data[before.notna()]
    for column in keys:
        data[column] = data[column].replace("", np.nan).astype("category")
    columns = ["timestamp", "metric", "value", *keys[1:], "seconds"]
    return data[columns].reset_index(drop=True)


def rate(earlier: pd.DataFrame, later: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per-second increase of every counter series over the scrapes in the frame(s).

    ``earlier`` alone is a ``sample()`` result (every scrape counts); with ``later`` the
    two scrapes are joined. Resets are `increases`'s; gauges are left out. A series
    missing from the first scrape has no rate (as Prometheus needs two points).
    """
    frame = earlier if later is None else pd.concat([earlier, later], ignore_index=True)
    if later is not None:
        frame.attrs["types"] = {**later.attrs.get("types", {}), **earlier.attrs.get("types", {})}
    else:
        frame.attrs["types"] = earlier.attrs.get("types", {})
    counters = frame[_is_counter(frame)] if not frame.empty else frame
    grown = increases(counters)
    keys = _series_keys(counters)
    if grown.empty:
        return grown.drop(columns="seconds")
    totals = grown.groupby(keys, observed=True, sort=False, dropna=False)
    summed = totals.agg(
        timestamp=("timestamp", "max"), value=("value", "sum"), seconds=("seconds", "sum")
    ).reset_index()
    summed["value"] = (summed["value"] / summed["seconds"].where(summed["seconds"] > 0)).astype(
        "float64"
    )
    for column in keys:
        summed[column] = summed[column].astype("category")
    return summed[["timestamp", "metric", "value", *keys[1:]]].reset_index(drop=True)


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

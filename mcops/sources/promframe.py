"""Prometheus API results → one long DataFrame, built vectorised.

Shape (shared with scrapes): ``timestamp`` (datetime64[ns, UTC]), ``metric`` (the
``__name__`` label), ``value`` (float64), then one categorical column per label.
Why vectorised: ``MetricRangeDataFrame`` builds a frame per series and takes ~3.4 s and
~212 MB for 2000 series x 720 points; flattening the value pairs once, casting the
value strings with Arrow (which understands "NaN", "+Inf") and repeating label codes
per series is >10x faster at a fraction of the memory (benchmarks/prom_frame_bench.py).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from operator import itemgetter
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "FRAME_COLUMNS",
    "empty_frame",
    "frame_from_result",
    "frame_from_series",
    "gc_paused",
]

#: the fixed leading columns of every metrics frame; label columns follow, sorted.
FRAME_COLUMNS = ("timestamp", "metric", "value")

_first = itemgetter(0)
_second = itemgetter(1)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic GC while parsing/building large results.

    Millions of short-lived lists and strings trigger collections that walk the
    whole parsed response; FIELD-NOTES measured 2-3x from pausing it.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def empty_frame(labels: Sequence[str] = ()) -> pd.DataFrame:
    """A metrics frame with no rows but the right dtypes."""
    frame = pd.DataFrame(
        {
            "timestamp": pd.Series([], dtype="datetime64[ns, UTC]"),
            "metric": pd.Series([], dtype="category"),
            "value": pd.Series([], dtype="float64"),
        }
    )
    for label in labels:
        frame[label] = pd.Series([], dtype="category")
    return frame


def _nanos(pairs: Sequence[Sequence[Any]], n: int) -> np.ndarray:
    """The float-second timestamps of one series as int64 nanoseconds."""
    seconds = np.fromiter(map(_first, pairs), dtype=np.float64, count=n)
    return np.rint(seconds * 1e9).astype(np.int64)


def _values(strings: list[Any]) -> np.ndarray:
    # Prometheus sends sample values as strings; Arrow's cast handles NaN and ±Inf.
    array = pa.array(strings, type=pa.string())
    return pc.cast(array, pa.float64()).to_numpy(zero_copy_only=False)


def _codes_dtype(categories: int) -> type[np.signedinteger]:
    if categories < 127:
        return np.int8
    if categories < 32767:
        return np.int16
    return np.int32


def _label_columns(metrics: Sequence[Mapping[str, str]], lengths: np.ndarray) -> dict[str, Any]:
    keys = sorted({key for metric in metrics for key in metric})
    columns: dict[str, Any] = {}
    for key in keys:
        per_series = [metric.get(key) for metric in metrics]
        categories = sorted({v for v in per_series if v is not None})
        index = {v: i for i, v in enumerate(categories)}
        codes = np.fromiter(
            (index[v] if v is not None else -1 for v in per_series),
            dtype=_codes_dtype(len(categories)),
            count=len(per_series),
        )
        name = "metric" if key == "__name__" else key
        columns[name] = pd.Categorical.from_codes(np.repeat(codes, lengths), categories=categories)
    return columns


def frame_from_series(
    metrics: Sequence[Mapping[str, str]], points: Sequence[Sequence[Sequence[Any]]]
) -> pd.DataFrame:
    """One row per (series, point): ``points[i]`` are ``[ts, "value"]`` pairs of ``metrics[i]``.

    Filled series by series into preallocated arrays, so no per-point Python list
    of the whole result is ever built (that is where MetricRangeDataFrame's time and
    memory go).
    """
    if not metrics:
        return empty_frame()
    with gc_paused():
        return _build(metrics, points)


def _build(
    metrics: Sequence[Mapping[str, str]], points: Sequence[Sequence[Sequence[Any]]]
) -> pd.DataFrame:
    lengths = np.fromiter((len(p) for p in points), dtype=np.int64, count=len(points))
    total = int(lengths.sum())
    nanos = np.empty(total, dtype=np.int64)
    values = np.empty(total, dtype=np.float64)
    offset = 0
    for pairs, n in zip(points, lengths.tolist(), strict=True):
        if not n:
            continue
        end = offset + n
        nanos[offset:end] = _nanos(pairs, n)
        values[offset:end] = _values(list(map(_second, pairs)))
        offset = end
    stamps = pd.DatetimeIndex(nanos.view("M8[ns]")).tz_localize("UTC")
    columns: dict[str, Any] = {"timestamp": stamps, "value": values}
    columns.update(_label_columns(metrics, lengths))
    if "metric" not in columns:
        columns["metric"] = pd.Categorical.from_codes(np.full(total, -1, np.int8), categories=[])
    labels = sorted(k for k in columns if k not in FRAME_COLUMNS)
    return pd.DataFrame({k: columns[k] for k in (*FRAME_COLUMNS, *labels)}, copy=False)


def frame_from_result(result_type: str, result: Any) -> pd.DataFrame:
    """Any ``data`` of /api/v1/query or /query_range: vector, matrix, scalar or string."""
    if result_type == "matrix":
        return frame_from_series([s["metric"] for s in result], [s["values"] for s in result])
    if result_type == "vector":
        return frame_from_series([s["metric"] for s in result], [[s["value"]] for s in result])
    if result_type == "scalar":
        return frame_from_series([{}], [[result]])
    if result_type == "string":
        frame = empty_frame()
        frame.attrs["string"] = result
        return frame
    raise ValueError(f"unknown Prometheus resultType {result_type!r}")

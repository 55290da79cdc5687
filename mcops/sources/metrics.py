"""One metrics backend per investigation: Prometheus when given, else scrapes of ``/metrics``.

Why: a scenario asks for a measurement (a range, a rate, a quantile, "memory over its
limit") and must not care which source answers; the choice is made once, by
`Investigation.metrics`, and each backend reports what happened to the investigation's
source states (``prometheus`` through `PrometheusSource`'s observer, ``metrics`` here).

Every method returns a DataFrame or raises a `SourceError`. Shape: ``timestamp``
(datetime64[ns, UTC]), ``value`` (float64) and one column per label; ``range`` and
``instant`` also keep ``metric`` (the series' ``__name__``), as `promframe` builds it.
``quantile``, ``rate``, ``ratio`` and ``measure`` give ``timestamp``, the ``by`` labels
(or the labels the measurement's PromQL keeps), ``value``.

Named measurements (``measure(name, **params)``) are those whose PromQL needs
Kubernetes labels (container limits, pods) and whose scrape recipe is different:
``memory_ratio``, ``cpu_ratio``, ``capacity_ratio`` (``pod_regex``), ``panics`` (the
counter over the window, or since the process started), ``panic_increases`` (per
interval) and ``key_metrics`` (the snapshot frame of `mcops.snapshot`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, MutableMapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

import pandas as pd

from mcops import promql, snapshot
from mcops.errors import SourceConfigError, SourceError
from mcops.sources import promcalc
from mcops.sources.prometheus import PrometheusSource
from mcops.sources.promframe import FRAME_COLUMNS
from mcops.sources.scrape import metrics_url, sample

__all__ = ["MEASUREMENTS", "MetricsBackend", "PrometheusMetrics", "ScrapeMetrics", "resolve"]

_BARE_METRIC = re.compile(r"^[A-Za-z_:][A-Za-z0-9_:]*$")
_LABEL = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PANICS = "mc_actor_panics_total"
#: the measurements both backends implement
MEASUREMENTS = (
    "memory_ratio",
    "cpu_ratio",
    "capacity_ratio",
    "panics",
    "panic_increases",
    "key_metrics",
)


class MetricsBackend(Protocol):
    """What a scenario asks of its metrics, whichever source answers."""

    name: str
    """``prometheus`` or ``metrics`` (the source state it reports)."""
    history: bool
    """Whether the window's past can be read (Prometheus), or only now (scrapes)."""

    def sampling(self, *, samples: int, interval: float) -> MetricsBackend:
        """The same backend with another scrape sampling (Prometheus ignores it)."""
        ...

    def range(self, metric_or_template: str, **params: Any) -> pd.DataFrame:
        """A PromQL template (`mcops.promql`) or a bare metric name over the window."""
        ...

    def instant(self, metric_or_template: str, **params: Any) -> pd.DataFrame:
        """The same at ``until`` (Prometheus) or the last scrape."""
        ...

    def quantile(self, q: float, histogram: str, *, by: Iterable[str] = ()) -> pd.DataFrame:
        """``histogram_quantile(q, sum by (le, *by) (rate(<histogram>_bucket[5m])))``."""
        ...

    def rate(self, counter: str, *, by: Iterable[str] = ()) -> pd.DataFrame:
        """``sum by (*by) (rate(counter[5m]))`` per second."""
        ...

    def ratio(self, numerator: str, denominator: str, *, by: Iterable[str] = ()) -> pd.DataFrame:
        """``sum(numerator) / sum(denominator)`` where the denominator is above 0."""
        ...

    def measure(self, name: str, **params: Any) -> pd.DataFrame:
        """A named measurement (`MEASUREMENTS`)."""
        ...


def resolve(name: str, **params: Any) -> str:
    """The PromQL of template ``name``, or ``name`` itself when it is a bare metric."""
    if name in promql.TEMPLATES:
        return promql.render(name, **params)
    if _BARE_METRIC.match(name) and not params:
        return name
    raise SourceConfigError(
        f"{name!r} is neither a PromQL template nor a metric name",
        source="prometheus",
        fix=f"use one of: {', '.join(sorted(promql.TEMPLATES))}, or a metric name",
    )


def _by(labels: Iterable[str]) -> tuple[str, ...]:
    names = tuple(labels)
    for label in names:
        if not _LABEL.match(label):
            raise SourceConfigError(f"{label!r} is not a label name", source="prometheus")
    return names


def _sum(labels: Iterable[str]) -> str:
    names = _by(labels)
    return f"sum by ({', '.join(names)})" if names else "sum"


def _metric(name: str) -> str:
    if not _BARE_METRIC.match(name):
        raise SourceConfigError(f"{name!r} is not a metric name", source="prometheus")
    return name


def _derived(frame: pd.DataFrame) -> pd.DataFrame:
    """A computed series: no ``metric`` name; columns timestamp, labels, value."""
    labels = [c for c in frame.columns if c not in FRAME_COLUMNS]
    return frame[["timestamp", *labels, "value"]].reset_index(drop=True)


def _unknown(name: str) -> SourceConfigError:
    return SourceConfigError(
        f"no metrics measurement named {name!r}",
        source="metrics",
        fix=f"use one of: {', '.join(MEASUREMENTS)}",
    )


def _duration(window: timedelta) -> str:
    return f"{max(1, int(window.total_seconds()))}s"


# --------------------------------------------------------------------------- Prometheus


@dataclass(frozen=True)
class PrometheusMetrics:
    """Prometheus's answers over ``since``..``until`` (about 240 points, whole seconds).

    ``source`` builds the client on first use (its failures are recorded by the caller).
    """

    source: Callable[[], PrometheusSource]
    since: datetime
    until: datetime
    window_label: str = "1h"
    name: str = "prometheus"
    history: bool = True

    @property
    def window(self) -> timedelta:
        return self.until - self.since

    def sampling(self, *, samples: int, interval: float) -> PrometheusMetrics:
        return self

    def _range(self, text: str, *, points: int = 240) -> pd.DataFrame:
        """Steps back from ``until``, so the last point is ``until`` itself: with the grid
        started at ``since`` it could end a step early, and a counter that rose in the
        last seconds (a panic just now) would be missed."""
        seconds = self.window.total_seconds()
        step = max(1, round(seconds / points))  # whole seconds
        start = self.until - timedelta(seconds=step * (seconds // step))
        return self.source().query_range(text, start=start, end=self.until, step=step)

    def range(self, metric_or_template: str, **params: Any) -> pd.DataFrame:
        return self._range(resolve(metric_or_template, **params))

    def instant(self, metric_or_template: str, **params: Any) -> pd.DataFrame:
        return self.source().instant(resolve(metric_or_template, **params), at=self.until)

    def quantile(self, q: float, histogram: str, *, by: Iterable[str] = ()) -> pd.DataFrame:
        labels = ", ".join(("le", *_by(by)))
        bucket = f"{_metric(histogram)}_bucket"
        text = f"histogram_quantile({float(q):g}, sum by ({labels}) (rate({bucket}[5m])))"
        return _derived(self._range(text))

    def rate(self, counter: str, *, by: Iterable[str] = ()) -> pd.DataFrame:
        text = f"{_sum(by)} (rate({_metric(counter)}[5m]))"
        return _derived(self._range(text))

    def ratio(self, numerator: str, denominator: str, *, by: Iterable[str] = ()) -> pd.DataFrame:
        group = _sum(by)
        text = f"{group} ({_metric(numerator)}) / ({group} ({_metric(denominator)}) > 0)"
        return _derived(self._range(text))

    def measure(self, name: str, **params: Any) -> pd.DataFrame:
        if name in ("memory_ratio", "cpu_ratio", "capacity_ratio"):
            return _derived(self.range(f"mc_{name}", **params))
        if name == "panics":
            text = promql.render("mc_panics", window=_duration(self.window))
            frame = _derived(self.source().instant(text, at=self.until))
            frame.attrs["over"] = f"in the last {self.window_label}"
            return frame
        if name == "panic_increases":
            points = int(params.get("points", 120))
            frame = self._range(promql.render("mc_panics", window="1m"), points=points)
            frame = _derived(frame)
            frame.attrs["per"] = "minute"
            return frame
        if name == "key_metrics":
            spawn = str(params.get("spawn_window", "1h"))
            window = str(params.get("window", "5m"))
            return snapshot.from_prometheus(
                self.source(), window=window, spawn_window=spawn, at=self.until
            )
        raise _unknown(name)


# --------------------------------------------------------------------------- scrapes


@dataclass(frozen=True)
class ScrapeMetrics:
    """``samples`` scrapes of ``service_url/metrics``, ``interval`` s apart, taken at the
    first call and shared by every call (and every view with the same sampling).

    ``url`` gives the service URL (raising when it is not given); ``observer`` is told
    each sampling's outcome (None: answered) with a detail for summary.json.
    """

    url: Callable[[], str]
    observer: Callable[[SourceError | None, str], None]
    samples: int = 3
    interval: float = 1.0
    sampler: Callable[..., pd.DataFrame] = sample
    cache: MutableMapping[tuple[int, float], pd.DataFrame] = field(default_factory=dict)
    name: str = "metrics"
    history: bool = False

    def sampling(self, *, samples: int, interval: float) -> ScrapeMetrics:
        return replace(self, samples=samples, interval=interval)

    def scrapes(self) -> pd.DataFrame:
        """The shared samples (a range-shaped metrics frame, ``attrs["types"]`` kept)."""
        key = (self.samples, float(self.interval))
        if key not in self.cache:
            url = self.url()
            try:
                frame = self.sampler(metrics_url(url), samples=self.samples, interval=self.interval)
            except SourceError as err:
                self.observer(err, "")
                raise
            self.observer(None, f"scraped /metrics {self.samples}x, {self.interval:g}s apart")
            self.cache[key] = frame
        return self.cache[key]

    def _named(self, *names: str) -> pd.DataFrame:
        frame = self.scrapes()
        picked = frame[frame["metric"].astype("str").isin(names)].reset_index(drop=True)
        picked.attrs["types"] = frame.attrs.get("types", {})
        return picked

    def range(self, metric_or_template: str, **params: Any) -> pd.DataFrame:
        text = resolve(metric_or_template, **params)
        if not _BARE_METRIC.match(text):
            raise SourceConfigError(
                f"{metric_or_template} ({text}) needs Prometheus: a scrape has no history to "
                "compute it from",
                source="prometheus",
                fix="pass -p prometheus_url=http://prometheus:9090",
            )
        return self._named(text)

    def instant(self, metric_or_template: str, **params: Any) -> pd.DataFrame:
        frame = self.range(metric_or_template, **params)
        if frame.empty:
            return frame
        return frame[frame["timestamp"] == frame["timestamp"].max()].reset_index(drop=True)

    def _last(self) -> pd.Timestamp:
        return self.scrapes()["timestamp"].max()

    def quantile(self, q: float, histogram: str, *, by: Iterable[str] = ()) -> pd.DataFrame:
        """Between the first and last scrape; no observation in between gives no row."""
        labels = _by(by)
        empty = pd.DataFrame(columns=["timestamp", *labels, "value"])
        grown = promcalc.rate(self._named(f"{_metric(histogram)}_bucket"))
        if grown.empty:
            return empty
        result = promcalc.histogram_quantile(float(q), grown, by=labels)
        result = result.dropna(subset=["value"]).drop(columns=["metric"])
        return result.assign(timestamp=self._last())[["timestamp", *labels, "value"]]

    def rate(self, counter: str, *, by: Iterable[str] = ()) -> pd.DataFrame:
        labels = _by(by)
        grown = promcalc.rate(self._named(_metric(counter)))
        return _summed(grown.assign(timestamp=self._last()), labels)

    def ratio(self, numerator: str, denominator: str, *, by: Iterable[str] = ()) -> pd.DataFrame:
        """At every scrape; scrapes whose denominator is missing or 0 are left out."""
        labels = _by(by)
        top = _summed(self._named(_metric(numerator)), labels)
        bottom = _summed(self._named(_metric(denominator)), labels)
        keys = ["timestamp", *labels]
        joined = top.merge(bottom[bottom["value"] > 0], on=keys, suffixes=("", "_of"))
        joined["value"] = joined["value"] / joined["value_of"]
        return joined[[*keys, "value"]].reset_index(drop=True)

    def measure(self, name: str, **params: Any) -> pd.DataFrame:
        if name == "memory_ratio":  # a local server exports MEMORY_LIMIT_BYTES
            return self.ratio("process_resident_memory_bytes", "mc_memory_limit_bytes")
        if name == "cpu_ratio":  # a local process: CPU seconds per second, over one core
            return self.rate("process_cpu_seconds_total")
        if name == "capacity_ratio":
            return self.ratio("mc_meetings_active", "mc_meeting_capacity")
        if name == "panics":  # the counter since the process started
            frame = _summed(self.instant(_PANICS), ("actor_type",))
            frame.attrs["over"] = "since the service started"
            return frame
        if name == "panic_increases":
            rows = self._named(_PANICS)
            if rows.empty or "actor_type" not in rows:
                frame = pd.DataFrame(columns=["timestamp", "actor_type", "value"])
            else:
                frame = _summed(promcalc.increases(rows), ("actor_type",))
            frame.attrs["per"] = f"{self.interval:g} s"
            return frame
        if name == "key_metrics":
            return snapshot.from_samples(self.scrapes())
        raise _unknown(name)


def _summed(frame: pd.DataFrame, labels: tuple[str, ...]) -> pd.DataFrame:
    """Sum the series per timestamp and ``labels`` (a missing label reads as "unknown")."""
    columns = ["timestamp", *labels, "value"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    keyed = frame.assign(
        **{
            k: frame[k].astype("string").fillna("unknown") if k in frame else "unknown"
            for k in labels
        }
    )
    summed = keyed.groupby(["timestamp", *labels], observed=True)["value"].sum()
    return summed.reset_index()[columns]

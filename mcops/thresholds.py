"""Every number of the runbooks, in one declarative place.

The numbers live in ``thresholds.yaml`` next to this module, so that an operator can read
and override them without reading Python. ``load_thresholds()`` turns the packaged file
(deep-merged with an optional user file) into frozen dataclasses and checks every key
and type, so a typo in an override fails loudly instead of silently keeping a default.

`mcops.classify` answers "is this value normal?" from these numbers.

The file is read, and PyYAML loaded, on first use (`default_thresholds` caches it), not
at import: importing a check costs no YAML.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any

from mcops.durations import parse_duration
from mcops.errors import ParameterError
from mcops.findings import Level

__all__ = [
    "AlertSpec",
    "Band",
    "MetricSpec",
    "OperationClass",
    "Thresholds",
    "default_thresholds",
    "format_value",
    "load_thresholds",
    "parse_duration",
]


# --------------------------------------------------------------------------- the schema


@dataclass(frozen=True)
class BandSpec:
    """One named range of a metric as written in YAML; see the file's conventions."""

    level: Level
    upto: float | None = None
    inclusive: bool = True
    note: str = ""


@dataclass(frozen=True)
class MetricSpec:
    """A metric's unit, where the runbook defines it, and its bands in ascending order."""

    unit: str
    runbook: str
    bands: Mapping[str, BandSpec]


@dataclass(frozen=True)
class OperationClass:
    """A class of operation: the p95 band it should sit in and its message timeout."""

    band: str
    timeout: timedelta


@dataclass(frozen=True)
class PoolTuning:
    """Runbook 000's DbConfig and pool tuning table."""

    default_max: int
    reduce_below: int
    reduce_to: int
    ok_upto: int
    increase_to: int
    scale_out_at: int
    temporary_max: int


@dataclass(frozen=True)
class InactivityTier:
    min_messages_per_hour: float
    timeout: timedelta


@dataclass(frozen=True)
class Inactivity:
    cleanup_interval: timedelta
    tiers: Mapping[str, InactivityTier]


@dataclass(frozen=True)
class Windows:
    """Time spans the runbooks name (lookbacks, staleness, escalation delays)."""

    stale_conversation: timedelta
    stale_meeting: timedelta
    epoch_conflict_recheck: timedelta
    mailbox_critical_escalate_after: timedelta
    rate_window: timedelta
    spawn_rate_window: timedelta
    acknowledge_within: timedelta


@dataclass(frozen=True)
class AlertSpec:
    """What deploy/prometheus/alerts.rules.yml must say for one alert."""

    severity: str
    threshold: float
    for_duration: timedelta


@dataclass(frozen=True)
class SevLevel:
    description: str
    escalation: str


@dataclass(frozen=True)
class PLevel:
    description: str
    response_time: timedelta
    escalation: str
    escalate_after: timedelta


@dataclass(frozen=True)
class Upgrade:
    p2_to_p1_after: timedelta
    p2_page_after: timedelta
    multiple_meetings: int


@dataclass(frozen=True)
class SeverityTables:
    sev: Mapping[str, SevLevel]
    p: Mapping[str, PLevel]
    upgrade: Upgrade


@dataclass(frozen=True)
class Remediation:
    scale_replicas: int
    memory_limit: str
    daily_restart_cron: str
    mailbox_size_factor: int


@dataclass(frozen=True)
class Logs:
    quick_check_tail: int


@dataclass(frozen=True)
class Network:
    """004 Scenario 5 root cause 5: timed round trips (numbers mcops chose, see the YAML)."""

    probes: int
    service_rtt_ms: float
    database_rtt_ms: float


@dataclass(frozen=True)
class Thresholds:
    """All runbook numbers. Build with load_thresholds(); every field is read-only."""

    metrics: Mapping[str, MetricSpec]
    operation_classes: Mapping[str, OperationClass]
    operations: Mapping[str, str]
    pool: PoolTuning
    inactivity: Inactivity
    windows: Windows
    alerts: Mapping[str, AlertSpec]
    severity: SeverityTables
    recovery: Mapping[str, tuple[timedelta, timedelta]]
    remediation: Remediation
    logs: Logs
    network: Network

    def bands(self, metric: str) -> tuple[Band, ...]:
        """The metric's bands, lowest first, with their lower edges filled in."""
        return _bands(self._metric(metric))

    def _metric(self, metric: str) -> MetricSpec:
        try:
            return self.metrics[metric]
        except KeyError:
            raise ParameterError(
                f"unknown metric {metric!r}; known metrics: {', '.join(sorted(self.metrics))}",
                name="metric",
            ) from None


# --------------------------------------------------------------------------- loading

_PACKAGED = "thresholds.yaml"
#: libyaml's safe loader is ~10x faster than the pure-Python one; both are safe.
#: Scalars YAML has no literal for: durations ("5m") and finding levels ("warning").
_CONVERTERS = {timedelta: parse_duration, Level: Level.parse}


def load_thresholds(path: str | Path | None = None) -> Thresholds:
    """The packaged defaults, deep-merged with the YAML file at ``path`` when given.

    Raises ParameterError naming the offending key (and the allowed keys) for an unknown
    key, a wrong type, or bands that are not in ascending order.
    """
    from mcops.typed_yaml import build_typed, deep_merge, read_yaml_mapping

    data = _packaged_data()
    if path is not None:
        user = read_yaml_mapping(Path(path), what="thresholds file")
        data = deep_merge(data, user)
    thresholds = build_typed(Thresholds, data, "thresholds", converters=_CONVERTERS)
    _validate(thresholds)
    return thresholds


@cache
def default_thresholds() -> Thresholds:
    """The packaged defaults, loaded once (callers' default for ``thresholds=``)."""
    return load_thresholds()


def _packaged_data() -> dict[str, Any]:
    from importlib import resources

    import yaml

    from mcops.typed_yaml import LOADER

    text = resources.files("mcops").joinpath(_PACKAGED).read_text(encoding="utf-8")
    return yaml.load(text, Loader=LOADER)


def _validate(thresholds: Thresholds) -> None:
    for name, spec in thresholds.metrics.items():
        _bands(spec, name)
    for op, cls in thresholds.operations.items():
        if cls not in thresholds.operation_classes:
            raise ParameterError(
                f"thresholds.operations.{op}: unknown class {cls!r}; "
                f"allowed: {', '.join(thresholds.operation_classes)}",
                name=f"thresholds.operations.{op}",
            )
    p95_bands = thresholds.metrics["p95_latency_ms"].bands
    for cls_name, cls in thresholds.operation_classes.items():
        if cls.band not in p95_bands:
            raise ParameterError(
                f"thresholds.operation_classes.{cls_name}.band: unknown band {cls.band!r}; "
                f"allowed: {', '.join(p95_bands)}",
                name=f"thresholds.operation_classes.{cls_name}.band",
            )


# --------------------------------------------------------------------------- classifying


@dataclass(frozen=True)
class Band:
    """A named range ``lower .. upper`` of one metric, with the level it means."""

    metric: str
    name: str
    level: Level
    unit: str
    lower: float | None
    lower_inclusive: bool
    upper: float | None
    upper_inclusive: bool
    note: str = ""

    def contains(self, value: float) -> bool:
        above = (
            self.lower is None
            or value > self.lower
            or (self.lower_inclusive and value == self.lower)
        )
        below = (
            self.upper is None
            or value < self.upper
            or (self.upper_inclusive and value == self.upper)
        )
        return above and below

    @property
    def range_text(self) -> str:
        """The range as the runbook writes it: ``< 10 ms``, ``10–50 ms``, ``> 200 ms``."""
        lo = None if self.lower is None else format_value(self.lower, self.unit, bare=True)
        hi = None if self.upper is None else format_value(self.upper, self.unit, bare=True)
        suffix = _unit_suffix(self.unit)
        if lo is None and hi is None:
            return "any value"
        if lo is None:
            return f"{'≤' if self.upper_inclusive else '<'} {hi}{suffix}"
        if hi is None:
            return f"{'≥' if self.lower_inclusive else '>'} {lo}{suffix}"
        return f"{lo}–{hi}{suffix}"


def _bands(spec: MetricSpec, metric: str = "") -> tuple[Band, ...]:
    bands: list[Band] = []
    lower: float | None = None
    lower_inclusive = True
    items = list(spec.bands.items())
    for i, (name, b) in enumerate(items):
        last = i == len(items) - 1
        if (b.upto is None) != last:
            raise ParameterError(
                f"thresholds.metrics.{metric}.bands.{name}: only the last band may omit `upto`",
                name=f"thresholds.metrics.{metric}.bands.{name}",
            )
        if b.upto is not None and lower is not None and b.upto < lower:
            raise ParameterError(
                f"thresholds.metrics.{metric}.bands.{name}.upto={b.upto} is below the "
                f"previous band's edge {lower}; bands must be in ascending order",
                name=f"thresholds.metrics.{metric}.bands.{name}.upto",
            )
        bands.append(
            Band(
                metric,
                name,
                b.level,
                spec.unit,
                lower,
                lower_inclusive,
                b.upto,
                b.inclusive,
                b.note,
            )
        )
        lower, lower_inclusive = b.upto, not b.inclusive
    return tuple(bands)


def _unit_suffix(unit: str) -> str:
    if unit == "ratio":
        return " %"
    if unit == "bytes":
        return " GiB"
    if unit.startswith("/"):
        return unit
    return f" {unit}"


def format_value(value: float, unit: str, *, bare: bool = False) -> str:
    if unit == "ratio":
        number = f"{value * 100:.4g}"
    elif unit == "bytes":
        number = f"{value / 2**30:.4g}"
    else:
        number = f"{value:.6g}"
    return number if bare else f"{number}{_unit_suffix(unit)}"

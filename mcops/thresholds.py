"""Every number of the runbooks, in one declarative place.

The numbers live in ``thresholds.yaml`` next to this module, so that an operator can read
and override them without reading Python. ``load_thresholds()`` turns the packaged file
(deep-merged with an optional user file) into frozen dataclasses and checks every key
and type, so a typo in an override fails loudly instead of silently keeping a default.

``classify()`` answers "is this value normal?" with the runbook's own range text, e.g.
``25 ms is normal (10–50 ms) for add_members``.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from mcops.durations import parse_duration
from mcops.errors import ParameterError
from mcops.findings import Level

__all__ = [
    "AlertSpec",
    "Band",
    "Classification",
    "MetricSpec",
    "Thresholds",
    "classify",
    "default_thresholds",
    "inactivity_timeout_for",
    "level_of",
    "load_thresholds",
    "parse_duration",
    "pool_advice",
    "timeout_for",
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


@dataclass(frozen=True)
class Logs:
    quick_check_tail: int


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
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_thresholds(path: str | Path | None = None) -> Thresholds:
    """The packaged defaults, deep-merged with the YAML file at ``path`` when given.

    Raises ParameterError naming the offending key (and the allowed keys) for an unknown
    key, a wrong type, or bands that are not in ascending order.
    """
    data = _packaged_data()
    if path is not None:
        user = _read_yaml(Path(path))
        data = _deep_merge(data, user)
    thresholds = _build(Thresholds, data, "thresholds")
    _validate(thresholds)
    return thresholds


@cache
def default_thresholds() -> Thresholds:
    """The packaged defaults, loaded once (callers' default for ``thresholds=``)."""
    return load_thresholds()


def _packaged_data() -> dict[str, Any]:
    text = resources.files("mcops").joinpath(_PACKAGED).read_text(encoding="utf-8")
    return yaml.load(text, Loader=_LOADER)


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        loaded = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
    except OSError as err:
        raise ParameterError(
            f"cannot read thresholds file {path}: {err.strerror}; pass an existing YAML file",
            name="thresholds",
        ) from err
    except yaml.YAMLError as err:
        raise ParameterError(f"thresholds file {path} is not valid YAML: {err}") from err
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ParameterError(
            f"thresholds file {path} must hold a mapping at the top level, "
            f"got {type(loaded).__name__}",
            name="thresholds",
        )
    return loaded


def _deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _build(kind: Any, value: Any, where: str) -> Any:
    """Convert YAML data to ``kind`` (a type hint), naming ``where`` on any mismatch."""
    origin = typing.get_origin(kind)
    if dataclasses.is_dataclass(kind):
        return _build_dataclass(kind, value, where)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(kind)
        if value is None and type(None) in options:
            return None
        (inner,) = [option for option in options if option is not type(None)]
        return _build(inner, value, where)
    if origin is Mapping:
        _, inner = typing.get_args(kind)
        if not isinstance(value, Mapping):
            raise _type_error(where, "a mapping", value)
        return types.MappingProxyType(
            {str(k): _build(inner, v, f"{where}.{k}") for k, v in value.items()}
        )
    if origin is tuple:
        args = typing.get_args(kind)
        if not isinstance(value, (list, tuple)) or len(value) != len(args):
            raise _type_error(where, f"a list of {len(args)} items", value)
        return tuple(
            _build(a, v, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, value, strict=True))
        )
    return _build_scalar(kind, value, where)


def _build_dataclass(kind: Any, value: Any, where: str) -> Any:
    if not isinstance(value, Mapping):
        raise _type_error(where, "a mapping", value)
    fields = {f.name: f for f in dataclasses.fields(kind)}
    hints = typing.get_type_hints(kind)
    unknown = [key for key in value if key not in fields]
    if unknown:
        raise ParameterError(
            f"unknown key {where}.{unknown[0]}; allowed keys here: {', '.join(fields)}",
            name=f"{where}.{unknown[0]}",
        )
    missing = [
        name
        for name, f in fields.items()
        if name not in value
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise ParameterError(f"missing key {where}.{missing[0]}", name=f"{where}.{missing[0]}")
    built = {key: _build(hints[key], item, f"{where}.{key}") for key, item in value.items()}
    return kind(**built)


def _build_scalar(kind: Any, value: Any, where: str) -> Any:
    if kind is timedelta:
        try:
            return parse_duration(value)
        except ValueError as err:
            raise ParameterError(f"{where}: {err}", name=where) from None
    if kind is Level:
        try:
            return Level.parse(value)
        except ValueError as err:
            raise ParameterError(f"{where}: {err}", name=where) from None
    if kind is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise _type_error(where, "a number", value)
    if kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise _type_error(where, "an integer", value)
    if kind is bool:
        if isinstance(value, bool):
            return value
        raise _type_error(where, "true or false", value)
    if kind is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
        raise _type_error(where, "a string", value)
    raise TypeError(f"no converter for {kind!r} at {where}")  # a schema bug, not user input


def _type_error(where: str, expected: str, value: Any) -> ParameterError:
    return ParameterError(
        f"{where}: expected {expected}, got {value!r} ({type(value).__name__})", name=where
    )


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
        lo = None if self.lower is None else _fmt(self.lower, self.unit, bare=True)
        hi = None if self.upper is None else _fmt(self.upper, self.unit, bare=True)
        suffix = _unit_suffix(self.unit)
        if lo is None and hi is None:
            return "any value"
        if lo is None:
            return f"{'≤' if self.upper_inclusive else '<'} {hi}{suffix}"
        if hi is None:
            return f"{'≥' if self.lower_inclusive else '>'} {lo}{suffix}"
        return f"{lo}–{hi}{suffix}"


@dataclass(frozen=True)
class Classification:
    """A value, the band it falls in, and the sentence to show an on-call engineer."""

    metric: str
    value: float
    level: Level
    band: Band
    text: str

    def __str__(self) -> str:
        return self.text


def classify(
    metric: str,
    value: float,
    *,
    thresholds: Thresholds | None = None,
    operation: str | None = None,
) -> Classification:
    """The band of ``value`` for ``metric`` (a key of thresholds.yaml's ``metrics``).

    With ``operation`` (only for ``p95_latency_ms``), a value in a band that is fine in
    general but slower than that operation's class is reported at level info.
    """
    t = thresholds or default_thresholds()
    bands = t.bands(metric)
    band = next(b for b in bands if b.contains(value))  # bands cover the whole line
    shown = _fmt(value, band.unit)
    level = band.level
    text = f"{shown} is {band.name} ({band.range_text})"
    if operation is not None:
        if metric != "p95_latency_ms":
            raise ParameterError(
                f"operation= applies to p95_latency_ms only, not {metric!r}", name="operation"
            )
        expected = next(b for b in bands if b.name == _operation_class(t, operation).band)
        text = f"{shown} is {band.name} ({band.range_text} for {operation})"
        if band.name != expected.name:
            text = (
                f"{shown} is {band.name} ({band.range_text}) for {operation}, "
                f"expected {expected.name} ({expected.range_text})"
            )
            if level == Level.OK and bands.index(band) > bands.index(expected):
                level = Level.INFO
    if band.note:
        text = f"{text}: {band.note}"
    return Classification(metric=metric, value=value, level=level, band=band, text=text)


def level_of(
    metric: str,
    value: float,
    *,
    thresholds: Thresholds | None = None,
    operation: str | None = None,
) -> Level:
    """Just the level of ``classify()``, for checks that need no display text."""
    return classify(metric, value, thresholds=thresholds, operation=operation).level


def timeout_for(operation: str, *, thresholds: Thresholds | None = None) -> float:
    """Message timeout in seconds for an operation (or an operation class name)."""
    t = thresholds or default_thresholds()
    if operation in t.operation_classes:
        return t.operation_classes[operation].timeout.total_seconds()
    return _operation_class(t, operation).timeout.total_seconds()


def inactivity_timeout_for(
    messages_per_hour: float, *, thresholds: Thresholds | None = None
) -> timedelta:
    """The inactivity timeout of the most active tier the conversation's rate reaches."""
    if messages_per_hour < 0:
        raise ParameterError(
            f"messages_per_hour must be ≥ 0, got {messages_per_hour}", name="messages_per_hour"
        )
    t = thresholds or default_thresholds()
    tiers = sorted(t.inactivity.tiers.values(), key=lambda tier: -tier.min_messages_per_hour)
    for tier in tiers:
        if messages_per_hour >= tier.min_messages_per_hour:
            return tier.timeout
    return tiers[-1].timeout  # below every tier's minimum: the least active one


def pool_advice(active: int, max: int, *, thresholds: Thresholds | None = None) -> str:
    """Runbook 000's pool tuning table for ``active`` connections out of ``max``."""
    if active < 0 or max <= 0:
        raise ParameterError(
            f"pool_advice needs active ≥ 0 and max > 0, got active={active}, max={max}",
            name="active",
        )
    p = (thresholds or default_thresholds()).pool
    maxed = active >= max
    if maxed and active >= p.scale_out_at:
        return (
            f"{active}/{max} connections in use ({p.scale_out_at}+, maxed out): "
            "scale horizontally (add servers)"
        )
    if maxed and active >= p.ok_upto:
        return (
            f"{active}/{max} connections in use ({p.ok_upto}+, maxed out): "
            f"increase the pool to {p.increase_to} (DATABASE_MAX_CONNECTIONS={p.increase_to}; "
            f"to clear a backlog now, {p.temporary_max} for a while)"
        )
    if maxed:
        return (
            f"{active}/{max} connections in use (maxed out below {p.ok_upto}): "
            f"raise the pool to {p.default_max}, the runbook's default"
        )
    if active < p.reduce_below and max > p.reduce_to:
        return (
            f"{active}/{max} connections in use (< {p.reduce_below}): "
            f"reduce the pool to {p.reduce_to} to save resources"
        )
    return f"{active}/{max} connections in use: current setting OK"


def _operation_class(t: Thresholds, operation: str) -> OperationClass:
    try:
        return t.operation_classes[t.operations[operation]]
    except KeyError:
        raise ParameterError(
            f"unknown operation {operation!r}; known operations: {', '.join(t.operations)} "
            "(add it under `operations:` in a thresholds file)",
            name="operation",
        ) from None


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


def _fmt(value: float, unit: str, *, bare: bool = False) -> str:
    if unit == "ratio":
        number = f"{value * 100:.4g}"
    elif unit == "bytes":
        number = f"{value / 2**30:.4g}"
    else:
        number = f"{value:.6g}"
    return number if bare else f"{number}{_unit_suffix(unit)}"

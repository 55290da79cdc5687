"""Is this value normal? A value placed in its runbook band, with the runbook's words.

``classify()`` answers with the runbook's own range text, e.g. ``25 ms is normal
(10–50 ms) for add_members``; the other helpers read the runbooks' per-operation
timeouts, inactivity tiers and pool tuning table from `mcops.thresholds`, which loads
when a value is first classified (the checks import this module at their top).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from mcops.errors import ParameterError
from mcops.findings import Level

if TYPE_CHECKING:
    from mcops.thresholds import Band, OperationClass, Thresholds

__all__ = [
    "Classification",
    "classify",
    "inactivity_timeout_for",
    "level_of",
    "pool_advice",
    "timeout_for",
]


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
    from mcops.thresholds import default_thresholds, format_value

    t = thresholds or default_thresholds()
    bands = t.bands(metric)
    band = next(b for b in bands if b.contains(value))  # bands cover the whole line
    shown = format_value(value, band.unit)
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
    from mcops.thresholds import default_thresholds

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
    from mcops.thresholds import default_thresholds

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
    from mcops.thresholds import default_thresholds

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

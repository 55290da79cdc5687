"""The runbooks' PromQL, as named templates with validated parameters.

PromQL has no bind parameters, so values are never pasted raw: durations must look
like a PromQL duration, label names must be identifiers, and label values are quoted
as PromQL string literals (escaping backslashes and quotes). Notebooks ask for a query
by name: ``promql.render("p95_by_message_type", window="5m")``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from string import Formatter

from mcops.errors import ParameterError

__all__ = ["TEMPLATES", "Template", "quote", "render", "selector"]

_DURATION = re.compile(r"^\d+(ms|s|m|h|d|w|y)$")
_LABEL = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


@dataclass(frozen=True)
class Template:
    """One named query: its text with ``{placeholders}``, where it comes from, defaults."""

    text: str
    source: str
    defaults: Mapping[str, str] = field(default_factory=dict)

    @property
    def parameters(self) -> tuple[str, ...]:
        """The placeholder names, in order of first use."""
        names = (name for _, name, _, _ in Formatter().parse(self.text) if name)
        return tuple(dict.fromkeys(names))


def quote(value: str) -> str:
    """A PromQL string literal for ``value`` (JSON escaping is valid PromQL escaping)."""
    return json.dumps(str(value))


def selector(**labels: str) -> str:
    """``selector(pod="mc-1")`` → ``pod="mc-1"`` (for use inside ``{...}``)."""
    parts = []
    for name, value in sorted(labels.items()):
        if not _LABEL.match(name):
            raise ParameterError(f"label name {name!r} is not a PromQL identifier", name=name)
        parts.append(f"{name}={quote(value)}")
    return ",".join(parts)


_W = {"window": "5m"}

TEMPLATES: dict[str, Template] = {
    # runbook 000, Monitoring Actor Health and the dashboard
    "active_actors": Template("actor_registry_active_actors", "000 Key Metrics 1"),
    "spawn_rate": Template("rate(actor_spawns_total[{window}])", "000 Key Metrics 2", _W),
    "stop_rate": Template("rate(actor_stops_total[{window}])", "000 dashboard", _W),
    "p95_latency": Template(
        "histogram_quantile({q}, sum by (le) (rate(actor_message_duration_bucket[{window}])))",
        "000 Key Metrics 3",
        {"q": "0.95", **_W},
    ),
    "p95_by_message_type": Template(
        "histogram_quantile({q}, sum by (le, message_type) "
        "(rate(actor_message_duration_bucket[{window}])))",
        "000 Performance Profiling",
        {"q": "0.95", **_W},
    ),
    "p95_gauge": Template("actor_message_duration_p95", "000 Key Metrics 3 (curl)"),
    "error_rate": Template(
        "sum(rate(actor_errors_total[{window}])) / sum(rate(actor_messages_total[{window}]))",
        "000 Key Metrics 4",
        _W,
    ),
    "errors_by_type": Template(
        "sum by (error_type) (rate(actor_errors_total[{window}]))", "000 dashboard", _W
    ),
    "db_pool_active": Template("db_pool_connections_active", "000 Key Metrics 5"),
    "db_pool": Template(
        '{{__name__=~"db_pool_connections_(active|idle|max)"}}', "000 Key Metrics 5"
    ),
    "mailbox_size": Template("actor_mailbox_size", "000 FM2"),
    "epoch_conflicts_1h": Template("actor_epoch_conflicts_1h", "000 EpochConflictDetected"),
    # runbook 004, MC service
    "mc_mailbox_depth": Template("mc_actor_mailbox_depth", "004 Scenario 1"),
    "mc_processing_rate": Template(
        "sum by (actor_type) (rate(mc_message_processing_duration_seconds_count[{window}]))",
        "004 Scenario 1",
        _W,
    ),
    "mc_latency_quantile": Template(
        "histogram_quantile({q}, sum by (le, actor_type) "
        "(rate(mc_message_processing_duration_seconds_bucket[{window}])))",
        "004 Scenario 1 (p99) / Scenario 5 (p95)",
        {"q": "0.99", **_W},
    ),
    "mc_latency_p95": Template(
        "histogram_quantile(0.95, sum by (le) "
        "(rate(mc_message_processing_duration_seconds_bucket[{window}])))",
        "004 Scenario 5",
        _W,
    ),
    "mc_messages_dropped": Template(
        "sum by (actor_type) (increase(mc_messages_dropped_total[{window}]))",
        "004 Scenario 1",
        _W,
    ),
    "mc_panics": Template(
        "sum by (actor_type) (increase(mc_actor_panics_total[{window}]))", "004 Scenario 2", _W
    ),
    "mc_meetings_active": Template("mc_meetings_active", "004 Scenario 3"),
    "mc_connections_active": Template("mc_connections_active", "004 Scenario 3"),
    "mc_gc_heartbeat_p95": Template(
        "histogram_quantile(0.95, sum by (le) "
        "(rate(mc_gc_heartbeat_duration_seconds_bucket[{window}])))",
        "004 Scenario 5",
        _W,
    ),
    "mc_gc_heartbeats": Template(
        "sum by (result) (increase(mc_gc_heartbeats_total[{window}]))", "004 Scenario 6", _W
    ),
    "mc_gc_registered": Template("mc_gc_registered", "004 Scenario 6"),
    "container_memory": Template(
        "container_memory_working_set_bytes{{pod=~{pod_regex}}}",
        "004 Scenario 7",
        {"pod_regex": "meeting-controller-.*"},
    ),
    "container_memory_limit": Template(
        "container_spec_memory_limit_bytes{{pod=~{pod_regex}}}",
        "004 Scenario 7",
        {"pod_regex": "meeting-controller-.*"},
    ),
    "container_cpu": Template(
        "rate(container_cpu_usage_seconds_total{{pod=~{pod_regex}}}[{window}])",
        "004 Scenario 7",
        {"pod_regex": "meeting-controller-.*", **_W},
    ),
    # the recording rule mcops:mc_cpu_usage:ratio inline (a user's Prometheus may lack our
    # rules): cores used over the CFS quota on Kubernetes, else over one core
    "mc_cpu_ratio": Template(
        "sum by (pod) (rate(container_cpu_usage_seconds_total"
        '{{pod=~{pod_regex}, container!=""}}[{window}])) / sum by (pod) '
        '(container_spec_cpu_quota{{pod=~{pod_regex}, container!=""}} / '
        'container_spec_cpu_period{{pod=~{pod_regex}, container!=""}}) or max by (instance) '
        "(rate(process_cpu_seconds_total[{window}]) and on (instance, job) mc_meeting_capacity)",
        "004 Scenario 5 step 4 / Scenario 7 (MCHighCPU)",
        {"pod_regex": "meeting-controller-.*", **_W},
    ),
    # mcops:mc_memory_usage:ratio inline: working set over the container limit, else the
    # server's RSS over MEMORY_LIMIT_BYTES (mc_memory_limit_bytes)
    "mc_memory_ratio": Template(
        'max by (pod) (container_memory_working_set_bytes{{pod=~{pod_regex}, container!=""}}) '
        '/ max by (pod) (container_spec_memory_limit_bytes{{pod=~{pod_regex}, container!=""}} '
        "> 0) or max by (instance) (process_resident_memory_bytes) / max by (instance) "
        "(mc_memory_limit_bytes > 0)",
        "004 Scenario 7 steps 1, 4 (MCHighMemory)",
        {"pod_regex": "meeting-controller-.*"},
    ),
    # instance:mc_meeting_capacity_usage:ratio inline
    "mc_capacity_ratio": Template(
        "max by (instance) (mc_meetings_active / (mc_meeting_capacity > 0))",
        "004 Scenario 7 (MCCapacityWarning)",
    ),
    "process_memory": Template("process_resident_memory_bytes", "local stand-in for 004 S7"),
    "process_cpu": Template(
        "rate(process_cpu_seconds_total[{window}])", "local stand-in for 004 S7", _W
    ),
}

_QUOTED = {"pod_regex"}


def _check(name: str, key: str, value: object) -> str:
    text = str(value)
    if key in _QUOTED:
        return quote(text)
    if key == "window":
        if not _DURATION.match(text):
            raise ParameterError(
                f"{name}: window={text!r} is not a PromQL duration, e.g. '5m' or '1h'",
                name="window",
            )
        return text
    if key == "q":
        if not _NUMBER.match(text) or not 0 <= float(text) <= 1:
            raise ParameterError(f"{name}: q={text!r} must be a quantile in [0, 1]", name="q")
        return text
    raise ParameterError(f"{name}: unknown parameter {key!r}", name=key)


def render(name: str, **params: object) -> str:
    """The PromQL text of template ``name`` with validated, quoted parameters."""
    template = TEMPLATES.get(name)
    if template is None:
        raise ParameterError(
            f"no PromQL template named {name!r}; known: {', '.join(sorted(TEMPLATES))}",
            name=name,
        )
    values = {**dict(template.defaults), **params}
    unknown = set(values) - set(template.parameters)
    if unknown:
        raise ParameterError(
            f"{name}: unknown parameter(s) {sorted(unknown)}; it takes {list(template.parameters)}",
            name=sorted(unknown)[0],
        )
    return template.text.format(**{k: _check(name, k, v) for k, v in values.items()})

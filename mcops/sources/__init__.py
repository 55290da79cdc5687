"""Data sources → tidy pandas DataFrames (or a specific SourceError, never a union).

    prometheus   PrometheusSource, instant, query_range     the Prometheus HTTP API
    scrape       scrape, sample                              /metrics without Prometheus
    promcalc     rate, histogram_quantile                    Prometheus arithmetic in pandas
    logs         read_logs                                   file:, docker:, k8s: log sources
    sql          connect, query                              the runbooks' named SQL
    kube         KubeSource                                  pods, rollouts, events, logs, top
    service      ServiceSource                               /health, /ready, /admin/*
    http_client  HttpClient                                  one client: service + admin API
    timewindow   parse_window, resolve_until, resolve_range  notebook `window` / `until`

Nothing is imported until asked for: each name loads its module on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mcops.lazy import lazy_attributes

# eager: `scrape` is also a submodule's name, and importing that submodule anywhere would
# bind the module here in place of the function
from mcops.sources.scrape import sample, scrape

#: Each public name and the module that defines it, imported on first use (PEP 562): a
#: notebook that reads no database never loads SQLAlchemy, none on one host the
#: Kubernetes client.
_WHERE = {
    "KubeSource": "mcops.sources.kube",
    "PrometheusSource": "mcops.sources.prometheus",
    "ServiceSource": "mcops.sources.service",
    "connect": "mcops.sources.sql",
    "histogram_quantile": "mcops.sources.promcalc",
    "instant": "mcops.sources.prometheus",
    "parse_window": "mcops.sources.timewindow",
    "query": "mcops.sources.sql",
    "query_range": "mcops.sources.prometheus",
    "rate": "mcops.sources.promcalc",
    "read_logs": "mcops.sources.logs",
    "redact_url": "mcops.secrets",
    "resolve_range": "mcops.sources.timewindow",
    "resolve_until": "mcops.sources.timewindow",
}

if TYPE_CHECKING:
    from mcops.secrets import redact_url
    from mcops.sources.kube import KubeSource
    from mcops.sources.logs import read_logs
    from mcops.sources.promcalc import histogram_quantile, rate
    from mcops.sources.prometheus import PrometheusSource, instant, query_range
    from mcops.sources.service import ServiceSource
    from mcops.sources.sql import connect, query
    from mcops.sources.timewindow import parse_window, resolve_range, resolve_until

__all__ = [
    "KubeSource",
    "PrometheusSource",
    "ServiceSource",
    "connect",
    "histogram_quantile",
    "instant",
    "parse_window",
    "query",
    "query_range",
    "rate",
    "read_logs",
    "redact_url",
    "resolve_range",
    "resolve_until",
    "sample",
    "scrape",
]


__getattr__, __dir__ = lazy_attributes(__name__, _WHERE)

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

Nothing is imported eagerly beyond these modules' definitions; the kubernetes client
loads when `KubeSource` is first used through `read_logs("k8s:...")` or imported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mcops.secrets import redact_url
from mcops.sources.logs import read_logs
from mcops.sources.promcalc import histogram_quantile, rate
from mcops.sources.prometheus import PrometheusSource, instant, query_range
from mcops.sources.scrape import sample, scrape
from mcops.sources.service import ServiceSource
from mcops.sources.sql import connect, query
from mcops.sources.timewindow import parse_window, resolve_range, resolve_until

if TYPE_CHECKING:
    from mcops.sources.kube import KubeSource

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


def __getattr__(name: str) -> Any:
    # The kubernetes client takes ~0.5 s to import; load it only when asked for.
    if name == "KubeSource":
        from mcops.sources.kube import KubeSource

        return KubeSource
    raise AttributeError(f"module 'mcops.sources' has no attribute {name!r}")

"""Read a service's ``/metrics`` directly when no Prometheus is given.

``scrape`` gives a frame shaped like an instant query (timestamp, metric, value, label
columns); ``sample`` scrapes N times to give a range-shaped frame. ``rate`` and
``histogram_quantile`` (in `promcalc`) then answer the runbook's questions — p95 by
message_type, spawn rate — from scrapes alone, with Prometheus's own arithmetic.

httpx and prometheus_client's parser load at the first scrape or parse, not at import
(`mcops.sources` imports this module eagerly, so every notebook would pay for them).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

import pandas as pd

from mcops.bundle import record_query
from mcops.errors import SourceAuthError, SourceConfigError, SourceQueryError, SourceUnreachable
from mcops.secrets import redact_url
from mcops.sources.promframe import FRAME_COLUMNS, empty_frame
from mcops.utc import now

if TYPE_CHECKING:
    import httpx

__all__ = ["metrics_url", "parse_exposition", "sample", "scrape"]


def metrics_url(service_url: str) -> str:
    """``http://host:8080`` → ``http://host:8080/metrics`` (an explicit path is kept)."""
    url = service_url.rstrip("/")
    return url if url.endswith("/metrics") else f"{url}/metrics"


def parse_exposition(text: str, *, at: datetime) -> pd.DataFrame:
    """Prometheus text exposition → metrics frame; ``attrs["types"]`` maps sample → type.

    ``_created`` samples are dropped, as Prometheus does by default.
    """
    from prometheus_client.parser import text_string_to_metric_families

    names: list[str] = []
    values: list[float] = []
    stamps: list[float] = []
    labels: list[dict[str, str]] = []
    types: dict[str, str] = {}
    default_ts = at.timestamp()
    families = list(text_string_to_metric_families(text))
    # The text format exposes a counter's/histogram's creation time as its own gauge
    # family ``<name>_created``; Prometheus ignores those, so do we.
    stamped = {f.name for f in families if f.type in ("counter", "histogram", "summary")}
    for family in families:
        for s in family.samples:
            if s.name.endswith("_created") and s.name.removesuffix("_created") in stamped:
                continue
            types[s.name] = family.type
            names.append(s.name)
            values.append(float(s.value))
            stamps.append(float(s.timestamp) if s.timestamp is not None else default_ts)
            labels.append(dict(s.labels))
    keys = sorted({k for lab in labels for k in lab})
    if not names:
        frame = empty_frame(keys)
    else:
        frame = pd.DataFrame(
            {
                "timestamp": pd.to_datetime(stamps, unit="s", utc=True).as_unit("ns"),
                "metric": pd.Categorical(names),
                "value": pd.Series(values, dtype="float64"),
                **{k: pd.Categorical([lab.get(k) for lab in labels]) for k in keys},
            }
        )
        frame = frame[[*FRAME_COLUMNS, *keys]]
    frame.attrs["types"] = types
    return frame


def scrape(
    url: str,
    *,
    timeout: float = 10.0,
    headers: dict[str, str] | None = None,
    client: httpx.Client | None = None,
    clock: Callable[[], datetime] = now,
) -> pd.DataFrame:
    """One scrape of ``url`` (``service_url`` or its ``/metrics``) as a metrics frame."""
    import httpx

    target = metrics_url(url)
    shown = redact_url(target)
    if not target.startswith(("http://", "https://")):
        raise SourceConfigError(
            f"service_url={redact_url(url)!r} is not an http(s) URL",
            source="metrics",
            target=shown,
            fix="write e.g. 'http://127.0.0.1:8080'",
        )
    try:
        if client is None:
            response = httpx.get(target, timeout=timeout, headers=headers)
        else:
            response = client.get(target, timeout=timeout, headers=headers)
    except httpx.TimeoutException:
        raise SourceUnreachable(
            f"{shown} did not answer within {timeout:g}s",
            source="metrics",
            target=shown,
            fix="check that the service is up (service_url), or raise the timeout",
        ) from None
    except httpx.HTTPError as err:
        raise SourceUnreachable(
            f"{shown} refused the connection ({type(err).__name__})",
            source="metrics",
            target=shown,
            fix="check service_url and that the service is running",
        ) from None
    if response.status_code in (401, 403):
        raise SourceAuthError(
            f"{shown} answered HTTP {response.status_code}",
            source="metrics",
            target=shown,
            fix="pass the headers the metrics endpoint needs",
        )
    if response.status_code != 200:
        body = " ".join(response.text.split())[:160]
        raise SourceQueryError(
            f"{shown} answered HTTP {response.status_code}: {body}",
            source="metrics",
            target=shown,
            fix="check that service_url points at the service (it must serve /metrics)",
        )
    try:
        return parse_exposition(response.text, at=clock())
    except ValueError as err:
        raise SourceQueryError(
            f"{shown} did not return Prometheus text exposition: {err}",
            source="metrics",
            target=shown,
            fix="check that service_url points at the service's metrics port",
        ) from None


def sample(
    url: str,
    *,
    samples: int,
    interval: float,
    timeout: float = 10.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], datetime] = now,
) -> pd.DataFrame:
    """Scrape ``samples`` times, ``interval`` seconds apart: a range-shaped frame."""
    import httpx

    if samples < 1:
        raise ValueError(f"samples must be >= 1, got {samples}")
    record_query(
        "metrics",
        f"GET {metrics_url(url)}",
        name="scrape",
        target=metrics_url(url),
        parameters={"samples": samples, "interval_s": interval},
    )
    frames: list[pd.DataFrame] = []
    types: dict[str, str] = {}
    with httpx.Client() as client:
        for i in range(samples):
            if i:
                sleep(interval)
            frame = scrape(url, timeout=timeout, client=client, clock=clock)
            types.update(frame.attrs["types"])
            frames.append(frame)
    result = pd.concat(frames, ignore_index=True)
    for column in result.columns[len(FRAME_COLUMNS) :].union(["metric"]):
        result[column] = result[column].astype("category")
    result.attrs["types"] = types
    return result

"""Scraping /metrics directly, and Prometheus arithmetic on the scraped frames.

The target is a real prometheus_client HTTP server on a loopback port with metrics
the test controls; histogram_quantile is checked against hand-computed Prometheus
results (linear interpolation inside the bucket).
"""

from __future__ import annotations

import functools
import math
import threading
from datetime import UTC, datetime, timedelta
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pandas as pd
import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from mcops.errors import SourceQueryError, SourceUnreachable
from mcops.sources.promcalc import bucket_quantile, histogram_quantile, rate
from mcops.sources.scrape import parse_exposition, sample, scrape
from tests.support.ports import free_port, refusing_port


@pytest.fixture
def metrics():
    registry = CollectorRegistry()
    hist = Histogram(
        "actor_message_duration",
        "ms",
        ["message_type"],
        buckets=[10, 50, 100, 200],
        registry=registry,
    )
    spawns = Counter("actor_spawns", "spawns", registry=registry)
    active = Gauge("actor_registry_active_actors", "active", registry=registry)
    for v in [5] * 50 + [30] * 40 + [150] * 10:
        hist.labels("send_message").observe(v)
    for v in [5] * 99 + [300]:
        hist.labels("get_epoch").observe(v)
    spawns.inc(3)
    active.set(42)
    port = free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    try:
        yield f"http://127.0.0.1:{port}", spawns
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_scrape_is_shaped_like_an_instant_query(metrics):
    url, _ = metrics
    frame = scrape(url)
    assert list(frame.columns) == ["timestamp", "metric", "value", "le", "message_type"]
    assert str(frame["timestamp"].dtype) == "datetime64[ns, UTC]"
    values = frame.set_index("metric")["value"]
    assert values["actor_registry_active_actors"] == 42.0
    assert values["actor_spawns_total"] == 3.0
    assert not frame["metric"].astype(str).str.endswith("_created").any()
    assert frame.attrs["types"]["actor_spawns_total"] == "counter"


def test_p95_by_message_type_from_a_scrape(metrics):
    url, _ = metrics
    p95 = histogram_quantile(0.95, scrape(url), by=["message_type"])
    result = dict(zip(p95["message_type"], p95["value"], strict=True))
    # send_message: rank 95 falls in (100, 200] holding 10 -> 100 + 100 * 5/10
    assert result["send_message"] == pytest.approx(150.0)
    # get_epoch: rank 95 in the first bucket (0, 10] holding 99 -> 10 * 95/99
    assert result["get_epoch"] == pytest.approx(10 * 95 / 99)
    p99 = histogram_quantile(0.995, scrape(url), by=["message_type"])
    # rank 99.5 of get_epoch lands in +Inf: Prometheus answers the highest finite bound
    assert p99.set_index("message_type").loc["get_epoch", "value"] == 200.0


def test_rate_from_two_samples(metrics):
    url, spawns = metrics
    ticks = iter(
        [datetime(2026, 11, 23, 10, 0, tzinfo=UTC), datetime(2026, 11, 23, 10, 0, 10, tzinfo=UTC)]
    )

    def sleep(_):
        spawns.inc(20)

    frame = sample(url, samples=2, interval=10, sleep=sleep, clock=lambda: next(ticks))
    assert frame["timestamp"].nunique() == 2
    rates = rate(frame).set_index("metric")
    assert rates.loc["actor_spawns_total", "value"] == pytest.approx(2.0)
    assert "actor_registry_active_actors" not in rates.index  # a gauge has no rate


def test_counter_reset_is_counted_like_prometheus():
    t0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    text = "# TYPE x counter\nx_total {v}\n"
    before = parse_exposition(text.format(v=100), at=t0)
    after = parse_exposition(text.format(v=30), at=t0 + timedelta(seconds=10))
    assert rate(before, after)["value"].tolist() == [3.0]


def test_bucket_quantile_edges():
    inf = math.inf
    assert math.isnan(bucket_quantile(0.5, [1, 2], [1, 2]))  # no +Inf bucket
    assert math.isnan(bucket_quantile(0.5, [1, inf], [0, 0]))  # no observations
    assert bucket_quantile(-1, [1, inf], [1, 1]) == -inf
    assert bucket_quantile(0.5, [inf, 1, 2], [4, 2, 4]) == 1.0  # unsorted input


def test_quantile_over_rates_matches_prometheus_semantics():
    frame = pd.DataFrame(
        {
            "timestamp": pd.Timestamp("2026-11-23T10:00:00Z"),
            "metric": ["h_bucket"] * 3,
            "value": [1.0, 3.0, 4.0],
            "le": ["0.1", "0.5", "+Inf"],
        }
    )
    # rank 2 of 4 lies in (0.1, 0.5] holding 2: 0.1 + 0.4 * (2-1)/2 = 0.3
    assert histogram_quantile(0.5, frame)["value"].tolist() == [pytest.approx(0.3)]


def test_scrape_errors():
    with (
        refusing_port() as port,
        pytest.raises(SourceUnreachable, match=r"refused the connection.*service_url"),
    ):
        scrape(f"http://127.0.0.1:{port}")


def test_scrape_of_a_service_without_metrics(tmp_path):
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    server.RequestHandlerClass.log_message = lambda *a: None
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with pytest.raises(SourceQueryError, match=r"HTTP 404.*must serve /metrics"):
            scrape(f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)

"""PrometheusSource against a real Prometheus binary.

Live data: Prometheus scrapes a prometheus_client HTTP server started in the test
with gauges we set. History: an OpenMetrics file backfilled with
`promtool tsdb create-blocks-from openmetrics` into the TSDB Prometheus starts on.
"""

from __future__ import annotations

import math
import subprocess
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from prometheus_client import CollectorRegistry, Gauge, start_http_server

from mcops import promql
from mcops.errors import SourceAuthError, SourceConfigError, SourceQueryError, SourceUnreachable
from mcops.sources.prometheus import PrometheusSource, instant, query_range
from tests.support.ports import free_port, refusing_port
from tests.support.prometheus import running_prometheus

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def target():
    registry = CollectorRegistry()
    gauge = Gauge("mc_actor_mailbox_depth", "depth", ["actor_type"], registry=registry)
    gauge.labels("meeting").set(42)
    gauge.labels("connection").set(7)
    port = free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture(scope="module")
def scraping(target):
    """One Prometheus scraping `target` for the tests that only query it: each would
    otherwise wait for its own first scrape (about 5 s after start in Prometheus 2.42)."""
    with running_prometheus(targets=[target]) as url:
        yield url


def wait_for(prom, query, *, rows, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        frame = prom.instant(query)
        if len(frame) >= rows:
            return frame
        time.sleep(0.2)
    raise AssertionError(f"{query} never returned {rows} rows")


def test_instant_and_range_from_a_live_scrape(scraping):
    url = scraping  # the gauges were set once, before the first scrape
    prom = PrometheusSource(url)
    frame = wait_for(prom, promql.render("mc_mailbox_depth"), rows=2)
    assert list(frame.columns[:3]) == ["timestamp", "metric", "value"]
    assert str(frame["timestamp"].dtype) == "datetime64[ns, UTC]"
    by_type = dict(zip(frame["actor_type"], frame["value"], strict=True))
    assert by_type == {"meeting": 42.0, "connection": 7.0}
    assert set(frame["metric"]) == {"mc_actor_mailbox_depth"}
    assert set(frame["job"]) == {"mcops-server"}
    time.sleep(1.5)
    end = datetime.now(UTC)
    ranged = query_range(
        url, "mc_actor_mailbox_depth", start=end - timedelta(seconds=30), end=end, step="1s"
    )
    assert len(ranged) >= 4
    for _, series in ranged.groupby("actor_type", observed=True):
        assert series["timestamp"].is_monotonic_increasing
    assert set(ranged.groupby("actor_type", observed=True)["value"].max()) == {42.0, 7.0}
    scalar = instant(prom, "scalar(sum(mc_actor_mailbox_depth))")
    assert scalar["value"].tolist() == [49.0]


def backfill(tmp_path, start):
    lines = ["# TYPE actor_registry_active_actors gauge"]
    values = ["100", "200", "NaN", "+Inf", "400"]
    for i, v in enumerate(values):
        ts = int((start + timedelta(minutes=i)).timestamp())
        lines.append(f'actor_registry_active_actors{{instance="a"}} {v} {ts}')
    lines.append("# EOF")
    source = tmp_path / "history.om"
    source.write_text("\n".join(lines) + "\n")
    tsdb = tmp_path / "tsdb"
    subprocess.run(
        ["promtool", "tsdb", "create-blocks-from", "openmetrics", str(source), str(tsdb)],
        check=True,
        capture_output=True,
    )
    return tsdb


def test_range_over_backfilled_history_with_nan_and_inf(tmp_path):
    start = (datetime.now(UTC) - timedelta(hours=5)).replace(second=0, microsecond=0)
    tsdb = backfill(tmp_path, start)
    with running_prometheus(tsdb_dir=tsdb) as url:
        frame = query_range(
            url,
            "actor_registry_active_actors",
            start=start,
            end=start + timedelta(minutes=4),
            step=60,
        )
    assert frame["timestamp"].tolist() == [(start + timedelta(minutes=i)) for i in range(5)]
    values = frame["value"].tolist()
    assert values[:2] == [100.0, 200.0] and math.isnan(values[2])
    assert values[3] == math.inf and values[4] == 400.0
    assert set(frame["instance"]) == {"a"}


def test_bad_promql_names_prometheus_error(scraping):
    with pytest.raises(SourceQueryError, match=r"bad_data: .*parse error"):
        instant(scraping, "rate(up[5m")
    assert instant(scraping, "absent_metric_mcops").empty


def test_refused_connection_says_how_to_fix():
    with (
        refusing_port() as port,
        pytest.raises(SourceUnreachable, match=r"refused the connection.*scrape service_url"),
    ):
        instant(f"http://127.0.0.1:{port}", "up")
    with pytest.raises(SourceConfigError, match=r"not an http"):
        PrometheusSource("prometheus:9090")


class _Slow(BaseHTTPRequestHandler):
    status = 200
    delay = 0.0

    def log_message(self, *args):
        pass

    def do_GET(self):
        time.sleep(self.delay)
        body = b'{"status":"error","errorType":"auth","error":"no"}'
        self.send_response(self.status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def fake_api():
    def start(status, delay):
        handler = type("H", (_Slow,), {"status": status, "delay": delay})
        server = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    servers = []
    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_auth_and_timeout_statuses(fake_api):
    """A proxy in front of Prometheus that answers 401/403 or stalls (http.server)."""
    with pytest.raises(SourceAuthError, match=r"HTTP 401"):
        instant(fake_api(401, 0), "up")
    with pytest.raises(SourceAuthError, match=r"HTTP 403"):
        PrometheusSource(fake_api(403, 0), bearer_token="t").instant("up")
    with pytest.raises(SourceUnreachable, match=r"did not answer within 0.3s"):
        PrometheusSource(fake_api(200, 2.0), timeout=0.3).instant("up")


def test_every_promql_template_is_accepted_by_a_real_prometheus(scraping):
    """The notebooks' queries are text: a typo would only show during an incident."""
    prom = PrometheusSource(scraping)
    for name in sorted(promql.TEMPLATES):
        frame = prom.instant(promql.render(name))  # raises SourceQueryError on bad PromQL
        assert list(frame.columns[:3]) == ["timestamp", "metric", "value"], name

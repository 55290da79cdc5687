"""The metrics backend: chosen once per investigation, counter resets counted once, and the
same measurement from Prometheus and from scrapes of the same real server agreeing."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
import pandas as pd
import pytest

from mcops.evidence import Recorder
from mcops.investigation import Investigation
from mcops.sources import promcalc
from mcops.sources.metrics import PrometheusMetrics, ScrapeMetrics
from mcops.sources.prometheus import PrometheusSource
from mcops.sources.scrape import parse_exposition
from tests.support.prometheus import running_prometheus
from tests.support.server_process import running_server

T0 = pd.Timestamp("2026-11-23T10:00:00Z")


def frame(rows: list[tuple[int, str, str, float]]) -> pd.DataFrame:
    """The sampled shape (timestamp, metric, value, labels) from (second, metric, type, v)."""
    data = pd.DataFrame(
        [
            {"timestamp": T0 + timedelta(seconds=s), "metric": m, "value": v, "actor_type": a}
            for s, m, a, v in rows
        ]
    )
    data["actor_type"] = data["actor_type"].replace("", pd.NA)
    for column in ("metric", "actor_type"):
        data[column] = data[column].astype("category")
    data.attrs["types"] = {"mc_actor_panics_total": "counter", "mc_meetings_active": "gauge"}
    return data


RESET = [
    (0, "mc_actor_panics_total", "meeting", 3.0),
    (5, "mc_actor_panics_total", "meeting", 5.0),
    (10, "mc_actor_panics_total", "meeting", 1.0),  # restarted: 1 new, not -4
    (0, "mc_actor_panics_total", "conversation", 0.0),
    (5, "mc_actor_panics_total", "conversation", 0.0),
    (10, "mc_actor_panics_total", "conversation", 2.0),
    (0, "mc_meetings_active", "", 9.0),
    (10, "mc_meetings_active", "", 4.0),
]


class Sampler:
    """A stand-in for `scrape.sample` that counts its calls."""

    def __init__(self, result: pd.DataFrame) -> None:
        self.result, self.calls = result, 0

    def __call__(self, url: str, *, samples: int, interval: float) -> pd.DataFrame:
        self.calls += 1
        return self.result


def scrapes(result: pd.DataFrame, **options: float) -> tuple[ScrapeMetrics, Sampler, list]:
    told: list = []
    sampler = Sampler(result)
    backend = ScrapeMetrics(
        lambda: "http://svc:8080",
        lambda error, detail: told.append((error, detail)),
        sampler=sampler,
        **options,  # type: ignore[arg-type]
    )
    return backend, sampler, told


# --------------------------------------------------------------------------- resets


def test_a_counter_that_drops_was_reset_and_its_new_value_is_the_increase():
    grown = promcalc.increases(frame(RESET)[lambda f: f["metric"] == "mc_actor_panics_total"])
    meeting = grown[grown["actor_type"] == "meeting"]
    assert meeting["value"].tolist() == [2.0, 1.0]
    assert meeting["seconds"].tolist() == [5.0, 5.0]
    rates = promcalc.rate(frame(RESET)).set_index("actor_type")["value"]
    assert rates["meeting"] == pytest.approx(3.0 / 10)  # 2 + 1 over 10 s
    assert rates["conversation"] == pytest.approx(2.0 / 10)
    assert len(rates) == 2  # the gauge has no rate


def test_scrape_backend_counts_panics_per_interval_with_the_reset():
    backend, _, _ = scrapes(frame(RESET), samples=3, interval=5.0)
    increases = backend.measure("panic_increases")
    meeting = increases[increases["actor_type"] == "meeting"]
    assert meeting["value"].tolist() == [2.0, 1.0]
    assert increases.attrs["per"] == "5 s"
    counts = backend.measure("panics").set_index("actor_type")["value"]
    assert counts.to_dict() == {"conversation": 2.0, "meeting": 1.0}  # the last scrape


# --------------------------------------------------------------------------- scrape arithmetic


def exposition(meeting: list[int], conversation: list[int], cpu: float) -> str:
    """Cumulative bucket counts for le = 0.1, 0.5, 1, +Inf per actor type."""
    lines = ["# TYPE mc_message_processing_duration_seconds histogram"]
    for actor_type, counts in (("meeting", meeting), ("conversation", conversation)):
        for le, count in zip(("0.1", "0.5", "1.0", "+Inf"), counts, strict=True):
            lines.append(
                f'mc_message_processing_duration_seconds_bucket{{actor_type="{actor_type}",'
                f'le="{le}"}} {count}'
            )
    lines += ["# TYPE process_cpu_seconds_total counter", f"process_cpu_seconds_total {cpu}"]
    lines += ["# TYPE rss gauge", "rss 50", "# TYPE limit gauge"]
    lines += ["limit 100"] if cpu < 1.5 else []
    return "\n".join(lines) + "\n"


def parsed(*texts: str) -> pd.DataFrame:
    at = T0.to_pydatetime()
    frames = [parse_exposition(t, at=at + timedelta(seconds=i)) for i, t in enumerate(texts)]
    result = pd.concat(frames, ignore_index=True)
    for column in result.columns[3:].union(["metric"]):
        result[column] = result[column].astype("category")
    result.attrs["types"] = frames[0].attrs["types"]
    return result


def test_quantile_rate_and_ratio_from_scrapes():
    before = exposition([100, 100, 100, 100], [0, 0, 0, 0], cpu=1.0)
    after = exposition([100, 100, 110, 110], [10, 10, 10, 10], cpu=1.85)
    backend, _, _ = scrapes(parsed(before, after))
    p95 = backend.quantile(0.95, "mc_message_processing_duration_seconds", by=("actor_type",))
    assert list(p95.columns) == ["timestamp", "actor_type", "value"]
    values = p95.set_index("actor_type")["value"]
    assert values["meeting"] == pytest.approx(0.5 + 0.5 * 0.95)  # Prometheus' interpolation
    assert values["conversation"] == pytest.approx(0.095)
    quiet, _, _ = scrapes(parsed(before, before))  # no traffic: no latency, not zero
    assert quiet.quantile(0.95, "mc_message_processing_duration_seconds").empty
    cpu = backend.measure("cpu_ratio")
    assert cpu["value"].tolist() == [pytest.approx(0.85)]  # 85 % of one core
    ratio = backend.ratio("rss", "limit")
    assert ratio["value"].tolist() == [0.5]  # the second scrape has no limit: left out


# --------------------------------------------------------------------------- chosen once


def investigation(**params: str) -> Investigation:
    recorder = Recorder(
        scenario="triage", parameters={"window": "1h", **params}, display=lambda b: None
    )
    return Investigation(recorder)


def test_the_backend_is_chosen_once_and_its_scrapes_are_shared():
    inv = investigation(service_url="http://svc:8080")
    backend = inv.metrics
    assert isinstance(backend, ScrapeMetrics) and inv.metrics is backend
    sampler = Sampler(frame(RESET))
    inv._cache["metrics"] = ScrapeMetrics(backend.url, backend.observer, sampler=sampler)
    inv.metric_range("mc_meetings_active")
    inv.metrics.rate("mc_actor_panics_total", by=("actor_type",))
    inv.metrics.instant("mc_meetings_active")
    inv.metrics.measure("panics")
    assert sampler.calls == 1  # one sampling for every call of the same sampling
    inv.metric_range("mc_meetings_active", samples=5, interval=2.0)
    assert sampler.calls == 2
    assert inv.recorder.summary()["sources"]["metrics"]["state"] == "ok"
    prom = investigation(prometheus_url="http://127.0.0.1:9", service_url="http://svc:8080")
    assert isinstance(prom.metrics, PrometheusMetrics) and prom.metrics is prom.metrics
    assert prom.metrics.history and not inv.metrics.history


# --------------------------------------------------------------------------- both agree


def _meetings(server, count: int) -> None:
    with server.client("did:plc:alice") as alice:
        for i in range(count):
            assert alice.post("/meetings", json={"meeting_id": f"m{i}"}).status_code == 200


def _wait(prom: str, query: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = httpx.get(f"{prom}/api/v1/query", params={"query": query}, timeout=5).json()
        if answer["data"]["result"]:
            return
        time.sleep(0.3)
    raise TimeoutError(f"Prometheus never answered {query!r}")


@pytest.mark.slow
def test_prometheus_and_scrapes_measure_the_same_server_alike(tmp_path):
    env = {"MEMORY_LIMIT_BYTES": str(4 * 1024**3)}
    with (
        running_server(f"sqlite:///{tmp_path / 's.db'}", env=env) as server,
        running_prometheus(targets=[f"127.0.0.1:{server.port}"]) as prom,
    ):
        _meetings(server, 3)
        _wait(prom, "mc_meetings_active >= 3")
        # the range's last step must lie after that scrape: two more 1 s scrape intervals
        time.sleep(2.0)
        until = datetime.now(UTC)
        on_prom = PrometheusMetrics(
            lambda: PrometheusSource(prom), since=until - timedelta(minutes=2), until=until
        )
        on_scrape = ScrapeMetrics(lambda: server.url, lambda e, d: None, interval=1.0)

        def last(measured: pd.DataFrame) -> float:
            return float(measured.sort_values("timestamp")["value"].iloc[-1])

        capacity = [last(b.measure("capacity_ratio")) for b in (on_prom, on_scrape)]
        assert capacity[0] == pytest.approx(capacity[1]) and capacity[0] > 0
        memory = [last(b.measure("memory_ratio")) for b in (on_prom, on_scrape)]
        assert memory[0] == pytest.approx(memory[1], rel=0.25)
        gauge = [last(b.instant("mc_meetings_active")) for b in (on_prom, on_scrape)]
        assert gauge == [3.0, 3.0]
        # a range's grid steps back from until, so its last point is until itself: over
        # 907 s the step is 4 s, and a grid from `since` would end 3 s early (a panic in
        # those seconds was missed by panic_recurrence)
        odd = PrometheusMetrics(
            lambda: PrometheusSource(prom), since=until - timedelta(seconds=907), until=until
        )
        stamps = pd.to_datetime(odd.range("mc_meetings_active")["timestamp"], utc=True)
        assert abs(stamps.max() - pd.Timestamp(until)) < pd.Timedelta(seconds=1)  # whole s
        assert stamps.diff().dropna().dt.total_seconds().eq(4).all()

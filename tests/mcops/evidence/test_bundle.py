"""The bundle a check leaves (data/ and queries.json) and what a replay reads back.

Investigations are built directly (no kernel): ``MCOPS_EVIDENCE_DIR`` points where the
runner would point it, and a second investigation with ``MCOPS_REPLAY_DIR`` judges
the kept frame without its source.
"""

from __future__ import annotations

import json
from datetime import datetime

import pandas as pd
import pytest
import sqlalchemy as sa

from mcops import schema
from mcops.bundle import REPLAY_DIR_ENV, read_frame
from mcops.checks import database
from mcops.errors import SourceUnreachable
from mcops.evidence import Recorder
from mcops.findings import Finding
from mcops.investigation import Investigation
from mcops.sources.metrics import PrometheusMetrics
from mcops.sources.prometheus import PrometheusSource

UNTIL = "2026-11-30T10:00:00Z"


def investigation(**params) -> Investigation:
    recorder = Recorder(
        scenario="epoch_conflicts",
        parameters={"window": "1h", "until": UNTIL, **params},
        display=lambda bundle: None,
    )
    return Investigation(recorder)


def seeded(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    engine = sa.create_engine(url)
    schema.metadata.create_all(engine, tables=[schema.conversations, schema.messages])
    at = datetime(2026, 11, 30, 9, 30)
    with engine.begin() as conn:
        conn.execute(schema.conversations.insert().values(id="c1", current_epoch=2))
        for i in (1, 2):
            conn.execute(
                schema.messages.insert().values(
                    id=i, convo_id="c1", message_type="commit", epoch=2, created_at=at
                )
            )
    engine.dispose()
    return url


class FakePrometheus:
    """The two calls PrometheusSource makes; one p95 series per call."""

    def custom_query(self, query, params=None):
        return []

    def custom_query_range(self, query, start_time, end_time, step, params=None):
        stamp = end_time.timestamp()
        return [{"metric": {"message_type": "commit"}, "values": [[stamp, "0.25"]]}]


def p95_ok(frame: pd.DataFrame) -> Finding:
    return Finding.make("p95_latency", "ok", f"{len(frame)} series", rows=frame)


@pytest.fixture
def evidence(tmp_path, monkeypatch):
    out = tmp_path / "ev"
    out.mkdir()
    monkeypatch.setenv("MCOPS_EVIDENCE_DIR", str(out))
    monkeypatch.delenv(REPLAY_DIR_ENV, raising=False)
    return out


def queries(out) -> dict:
    return json.loads((out / "queries.json").read_text())


def test_a_sql_check_keeps_its_frame_and_the_sql_with_its_bound_parameters(tmp_path, evidence):
    inv = investigation(database_url=seeded(tmp_path))
    frame = inv.check(
        "duplicate_epochs",
        lambda: inv.sql("duplicate_epochs", since=inv.since),
        database.duplicate_epochs,
    )
    assert len(frame) == 1
    doc = queries(evidence)
    [sql] = [q for q in doc["queries"] if q["source"] == "sql"]
    assert sql["check"] == "duplicate_epochs"
    assert sql["name"] == "duplicate_epochs"
    assert "FROM messages" in sql["query"] and ":since" in sql["query"]
    assert sql["parameters"]["since"].startswith("2026-11-30T09:00:00")  # bound, not formatted
    assert sql["target"].startswith("sqlite:///")
    assert doc["window"] == {
        "since": "2026-11-30T09:00:00+00:00",
        "until": "2026-11-30T10:00:00+00:00",
    }
    assert doc["checks"]["duplicate_epochs"]["data"] == "data/duplicate_epochs.parquet"
    kept = read_frame(evidence, "duplicate_epochs")
    pd.testing.assert_frame_equal(kept, frame, check_dtype=False)


def test_a_metrics_check_keeps_the_promql_and_its_range(evidence):
    inv = investigation(prometheus_url="http://prometheus:9090")
    source = PrometheusSource("http://prometheus:9090", transport=FakePrometheus())
    metrics = PrometheusMetrics(lambda: source, since=inv.since, until=inv.until)
    inv.check(
        "p95_latency",
        lambda: metrics.quantile(
            0.95, "mc_message_processing_duration_seconds", by=["message_type"]
        ),
        p95_ok,
    )
    [prom] = queries(evidence)["queries"]
    assert prom["check"] == "p95_latency"
    assert prom["source"] == "prometheus" and prom["name"] == "query_range"
    assert prom["query"] == (
        "histogram_quantile(0.95, sum by (le, message_type) "
        "(rate(mc_message_processing_duration_seconds_bucket[5m])))"
    )
    assert prom["since"] == "2026-11-30T09:00:00+00:00"
    assert prom["until"] == "2026-11-30T10:00:00+00:00"
    assert prom["parameters"] == {"step": "15"}
    assert (evidence / "data" / "p95_latency.parquet").is_file()


def test_queries_outside_a_check_are_kept_without_one_and_passwords_never(tmp_path, evidence):
    inv = investigation(database_url=seeded(tmp_path))
    inv.sql("duplicate_epochs")
    inv.frame_or_empty(
        lambda: PrometheusSource(
            "http://ops:hunter22@prometheus:9090", transport=FakePrometheus()
        ).instant("up")
    )
    doc = queries(evidence)
    assert [q["check"] for q in doc["queries"]] == [None, None]
    assert "hunter22" not in (evidence / "queries.json").read_text()


def test_a_replay_judges_the_kept_frame_and_repeats_not_checked(tmp_path, evidence, monkeypatch):
    inv = investigation(database_url=seeded(tmp_path))
    inv.check("duplicate_epochs", lambda: inv.sql("duplicate_epochs"), database.duplicate_epochs)

    def down() -> pd.DataFrame:
        raise SourceUnreachable("cannot connect to prometheus:9090", source="prometheus")

    inv.check("p95_latency", down, p95_ok)
    recorded = {f.check: f.to_dict() for f in inv.findings}

    monkeypatch.setenv("MCOPS_EVIDENCE_DIR", str(tmp_path / "replayed"))
    monkeypatch.setenv(REPLAY_DIR_ENV, str(evidence))
    (tmp_path / "db.sqlite").unlink()  # nothing to fetch from any more
    again = investigation()

    def unreachable() -> pd.DataFrame:
        raise AssertionError("a replay never fetches")

    again.check("duplicate_epochs", unreachable, database.duplicate_epochs)
    again.check("p95_latency", unreachable, p95_ok)
    replayed = {f.check: f.to_dict() for f in again.findings}
    assert replayed == recorded
    assert replayed["duplicate_epochs"]["level"] == "critical"
    assert replayed["p95_latency"]["title"].startswith("not checked: prometheus: cannot connect")
    # the replay is a bundle too
    assert (tmp_path / "replayed" / "data" / "duplicate_epochs.parquet").is_file()


def test_a_frame_parquet_cannot_hold_is_noted_not_fatal(evidence):
    inv = investigation()
    mixed = pd.DataFrame({"value": [1, "one"]})  # neither a number nor a string column
    inv.check("p95_latency", lambda: mixed, p95_ok)
    entry = queries(evidence)["checks"]["p95_latency"]
    assert entry["data"] is None and "Parquet" in entry["error"]


def test_nested_values_come_back_exactly_as_they_were_read(evidence):
    """Response bodies (dicts of different keys, lists, text) are kept as JSON text."""
    inv = investigation()
    bodies = pd.DataFrame({"body": [{"status": "ok"}, {"ready": False}, [1, 2], "plain"]})
    inv.check("p95_latency", lambda: bodies, p95_ok)
    assert read_frame(evidence, "p95_latency")["body"].tolist() == bodies["body"].tolist()


def test_a_second_run_into_the_same_directory_starts_a_fresh_bundle(tmp_path, evidence):
    (evidence / "data").mkdir()
    (evidence / "data" / "old_check.parquet").write_bytes(b"stale")
    inv = investigation(database_url=seeded(tmp_path))
    inv.check("duplicate_epochs", lambda: inv.sql("duplicate_epochs"), database.duplicate_epochs)
    assert sorted(p.name for p in (evidence / "data").iterdir()) == ["duplicate_epochs.parquet"]


@pytest.mark.parametrize("given", ["up", "not given", "gone"])
def test_the_services_health_replays_as_it_was_judged(tmp_path, evidence, monkeypatch, given):
    """probe_health keeps /health and /ready as check "health"; liveness and readiness are
    judged again from it, and "not given" (not checked) stays apart from "unreachable"."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b'{"status": "ok"}' if self.path == "/health" else b'{"ready": false}'
            self.send_response(200 if self.path == "/health" else 503)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    if given == "gone":
        server.shutdown()
        server.server_close()
    inv = investigation(service_url="" if given == "not given" else url)
    inv.probe_health()
    if given == "up":
        server.shutdown()
        server.server_close()
    recorded = {f.check: f.to_dict() for f in inv.findings}
    summary = {"findings": list(recorded.values())}  # what the runner writes
    (evidence / "summary.json").write_text(json.dumps(summary))

    monkeypatch.setenv("MCOPS_EVIDENCE_DIR", str(tmp_path / "replayed"))
    monkeypatch.setenv(REPLAY_DIR_ENV, str(evidence))
    again = investigation()  # no service_url: a replay reaches nothing
    again.probe_health()
    replayed = {f.check: f.to_dict() for f in again.findings}
    assert {c: (f["level"], f["title"]) for c, f in replayed.items()} == {
        c: (f["level"], f["title"]) for c, f in recorded.items()
    }
    expected = {"up": "critical", "not given": "info", "gone": "info"}[given]  # /ready 503
    assert replayed["readiness"]["level"] == expected

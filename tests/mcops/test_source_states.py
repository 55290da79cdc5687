"""Honest sources: summary.json says what happened at a source's first failed query.

Real sockets on loopback stand for each failure: a closed port refuses, a listener that
never answers times out, a ``.invalid`` host name does not resolve (RFC 6761 reserves
it, so no resolver can answer it). A source no query reached is never "ok".
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from mcops.errors import SourceError, SourceUnreachable, connection_state
from mcops.evidence import Recorder
from mcops.investigation import Investigation
from mcops.sources.prometheus import PrometheusSource
from mcops.sources.service import ServiceSource
from mcops.sources.sql import connect
from tests.support.ports import refusing_port
from tests.support.server_process import running_server


@contextmanager
def silent_listener() -> Iterator[int]:
    """Accepts connections (the kernel's backlog) and never answers a byte."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]


def failure(call) -> SourceError:
    with pytest.raises(SourceError) as err:
        call()
    return err.value


def sql_failure(url: str) -> SourceError:
    """Connecting checks the URL with ``SELECT 1`` (and disposes the engine on failure)."""
    return failure(lambda: connect(url, connect_timeout=2))


# --------------------------------------------------------------------------- classification


def test_a_closed_port_is_refused_by_every_client():
    with refusing_port() as port:
        prom = PrometheusSource(f"http://127.0.0.1:{port}", timeout=2)
        assert failure(lambda: prom.instant("up")).state == "refused"
        service = ServiceSource(f"http://127.0.0.1:{port}", timeout=2)
        assert failure(service.health).state == "refused"
        assert sql_failure(f"postgresql://u@127.0.0.1:{port}/x").state == "refused"


def test_a_silent_server_times_out():
    with silent_listener() as port:
        prom = PrometheusSource(f"http://127.0.0.1:{port}", timeout=0.5)
        err = failure(lambda: prom.instant("up"))
        assert (err.state, type(err)) == ("timed out", SourceUnreachable)
        service = ServiceSource(f"http://127.0.0.1:{port}", timeout=0.5)
        assert failure(service.health).state == "timed out"


def test_a_name_that_does_not_resolve_is_a_dns_failure():
    prom = PrometheusSource("http://prometheus.mcops-test.invalid:9090", timeout=2)
    err = failure(lambda: prom.instant("up"))
    assert err.state == "DNS failure"
    assert "does not resolve" in str(err)
    service = ServiceSource("http://mc.mcops-test.invalid:8080", timeout=2)
    assert failure(service.health).state == "DNS failure"


def test_a_wrong_password_is_auth_and_a_bad_url_misconfigured():
    assert sql_failure("postgresql://nosuchuser:pw@127.0.0.1:5432/test").state == "auth"
    assert failure(lambda: PrometheusSource("prometheus:9090")).state == "misconfigured"


@pytest.mark.parametrize(
    ("error", "state"),
    [
        (TimeoutError("x"), "timed out"),
        (ConnectionRefusedError(111, "Connection refused"), "refused"),
        (socket.gaierror(-2, "Name or service not known"), "DNS failure"),
        (OSError(113, "No route to host"), "unreachable"),
    ],
)
def test_connection_state_reads_the_cause_chain(error, state):
    try:
        try:
            raise error
        except OSError as inner:
            raise RuntimeError("wrapped") from inner
    except RuntimeError as outer:
        assert connection_state(outer) == state


# --------------------------------------------------------------------------- investigation


def investigation(**params) -> Investigation:
    recorder = Recorder(
        scenario="triage", parameters={"window": "1h", **params}, display=lambda b: None
    )
    return Investigation(recorder)


def states(inv: Investigation) -> dict[str, str]:
    return {name: s["state"] for name, s in inv.recorder.summary()["sources"].items()}


def test_an_unreachable_prometheus_is_recorded_at_its_first_query_not_before():
    with refusing_port() as port:
        inv = investigation(prometheus_url=f"http://127.0.0.1:{port}")
        inv.prometheus  # noqa: B018 - building the client queries nothing
        assert "prometheus" not in states(inv)
        with pytest.raises(SourceUnreachable):
            inv.metric_range("active_actors")
    assert states(inv) == {"prometheus": "refused"}
    summary = inv.recorder.summary()
    assert "refused the connection" in summary["sources"]["prometheus"]["detail"]


@pytest.mark.slow  # a real server process
def test_the_first_failure_sticks_and_an_answer_before_it_is_ok(tmp_path):
    with running_server(f"sqlite:///{tmp_path / 's.db'}", workdir=tmp_path / "srv") as srv:
        inv = investigation(service_url=srv.url)
        inv.probe_health()
        assert states(inv)["service"] == "ok"
        srv.stop()
        inv.probe_health()
        assert states(inv)["service"] == "refused"
    assert inv.recorder.summary()["findings"][0]["level"] == "critical"  # health: down


def test_an_unreachable_service_probed_first_is_never_ok():
    with refusing_port() as port:
        inv = investigation(service_url=f"http://127.0.0.1:{port}")
        inv.probe_health()
    assert states(inv) == {"service": "refused"}


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_a_missing_column_is_a_query_error_not_an_unreachable_database(tmp_path, dialect):
    """The database answered: a schema without the optional writer id is the query's
    problem (that check is "not checked"), never "cannot connect"."""
    import sqlalchemy as sa

    if dialect == "sqlite":
        url = f"sqlite:///{tmp_path / 'r.db'}"
    else:
        url = "postgresql://postgres@127.0.0.1:5432/test"
    writer = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    name = f"messages_nocol_{dialect}"
    with writer.begin() as conn:
        conn.execute(sa.text(f"DROP TABLE IF EXISTS {name}"))
        conn.execute(sa.text(f"CREATE TABLE {name} (id TEXT, convo_id TEXT)"))
    try:
        engine = connect(url)
        with pytest.raises(SourceError) as err, engine.connect() as conn:
            try:
                conn.execute(sa.text(f"SELECT server_id FROM {name}"))
            except sa.exc.DBAPIError as raw:
                from mcops.sources.sql import _classify

                raise _classify(raw, url) from None
        assert (err.value.state, "server_id" in str(err.value)) == ("query error", True)
        engine.dispose()
    finally:
        with writer.begin() as conn:
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {name}"))
        writer.dispose()

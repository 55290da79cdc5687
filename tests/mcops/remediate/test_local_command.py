"""RestartByCommand against real HTTP services on loopback: how it refuses and fails.

The success path (a killed lab server restarted with `mcops lab restart`) runs in
tests/notebooks/test_procedures.py; here the service is this test process's own
Prometheus client, whose ``process_start_time_seconds`` never moves, so a command that
"succeeds" without restarting anything must fail verification.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from prometheus_client import REGISTRY, generate_latest

from mcops.errors import SourceConfigError, SourceQueryError, VerificationFailed
from mcops.remediate.audit import AuditLog
from mcops.remediate.local_command import RestartByCommand, process_start_time


@contextmanager
def serving(body: bytes) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def this_process() -> Iterator[str]:
    with serving(generate_latest(REGISTRY)) as url:
        yield url


def test_start_time_is_read_from_the_process_collector(this_process):
    started = process_start_time(this_process)
    assert started is not None and started > 1_600_000_000


def test_a_service_without_the_metric_cannot_be_verified_so_is_not_planned():
    with serving(b"# TYPE up gauge\nup 1\n") as url, pytest.raises(SourceQueryError) as err:
        RestartByCommand(url, "true").plan()
    assert "process_start_time_seconds" in str(err.value)


def test_nothing_answering_is_a_start_not_an_error():
    with serving(b"") as url:
        pass  # closed: the port refuses now
    assert process_start_time(url) is None


@pytest.mark.parametrize("missing", ["restart_command", "service_url"])
def test_an_empty_command_or_url_is_not_planned_and_names_the_fix(missing, this_process):
    command = "" if missing == "restart_command" else "true"
    url = "" if missing == "service_url" else this_process
    with pytest.raises(SourceConfigError) as err:
        RestartByCommand(url, command).plan()
    assert missing in str(err.value) and "restart_command=" in err.value.fix


def test_a_command_that_fails_is_reported_with_its_output_and_audited(this_process, tmp_path):
    audit = AuditLog(tmp_path / "audit.jsonl")
    action = RestartByCommand(
        this_process, ["sh", "-c", "echo no unit mc >&2; exit 5"], audit=audit
    )
    plan = action.plan()
    assert not plan.reversible and plan.changes[0]["command"].startswith("sh -c")
    with pytest.raises(VerificationFailed) as err:
        action.apply(plan)
    assert "exited 5" in str(err.value) and "no unit mc" in str(err.value)
    (record,) = audit.outcomes()
    assert record["result"] == "failed" and record["changed"] == 1


def test_a_command_that_restarts_nothing_fails_verification_in_bounded_time(this_process, tmp_path):
    audit = AuditLog(tmp_path / "audit.jsonl")
    action = RestartByCommand(this_process, "true", ready_timeout=1.0, audit=audit)
    with pytest.raises(VerificationFailed) as err:
        action.apply(action.plan())
    assert "no new process answered" in str(err.value)


def test_a_password_in_the_command_never_reaches_the_plan(this_process):
    action = RestartByCommand(this_process, "mcctl --password=hunter2secret restart")
    plan = action.plan()
    assert "hunter2secret" not in str(plan.changes) + plan.summary + action.target
    assert "--password=***" in plan.summary


def test_a_password_flag_in_any_parameter_is_a_secret_the_evidence_masks():
    from mcops.secrets import secret_values

    found = secret_values({"restart_command": "mcctl --token s3cr3t-t0ken restart"})
    assert "s3cr3t-t0ken" in found

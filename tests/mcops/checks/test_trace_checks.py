"""Runbook 000 "Tracing Message Flow" → "Follow a request": the fetcher and the judge,
on a log written from the runbook's expected trace alone and on the real server's log."""

from __future__ import annotations

from pathlib import Path

import pytest

from mcops.checks.trace import request_trace
from mcops.findings import Level
from mcops.scenarios.trace import request_lines
from mcops.sources.logs import read_logs
from tests.support.server_process import running_server

# The runbook's "Expected trace", with timestamps and two lines of another request.
RUNBOOK_TRACE = """\
2026-11-01T12:00:00.001Z TRACE [add_members] START - convo: test-convo
2026-11-01T12:00:00.002Z DEBUG Spawning new actor for conversation test-convo
2026-11-01T12:00:00.003Z DEBUG ConversationActor test-convo starting at epoch 5
2026-11-01T12:00:00.004Z DEBUG Spawning new actor for conversation test-convo-2
2026-11-01T12:00:00.005Z TRACE Sending AddMembers message to actor
2026-11-01T12:00:00.006Z TRACE Actor processing AddMembers
2026-11-01T12:00:00.007Z DEBUG Adding 1 members to conversation test-convo
2026-11-01T12:00:00.008Z DEBUG Members added, new epoch: 6 for conversation test-convo
2026-11-01T12:00:00.009Z TRACE [add_members] COMPLETE - new_epoch: 6
2026-11-01T12:09:00.000Z TRACE [add_members] COMPLETE - new_epoch: 9
"""


def _logs(tmp_path: Path, text: str):
    path = tmp_path / "server.log"
    path.write_text(text, encoding="utf-8")
    return read_logs(f"file:{path}")


def test_the_runbooks_expected_trace_passes_every_step(tmp_path):
    lines = request_lines(_logs(tmp_path, RUNBOOK_TRACE), "test-convo")
    # grep "test-convo" finds 5 lines (not test-convo-2); 3 id-less steps placed by time;
    # the COMPLETE 9 minutes later belongs to nobody here
    assert list(lines["by"]) == ["id", "id", "id", "time", "time", "id", "id", "time"]
    assert lines["ts"].is_monotonic_increasing
    finding = request_trace(lines, request_id="test-convo")
    assert finding.level == Level.OK, finding.title
    assert "start → actor → processing → complete" in finding.title


def test_a_request_that_stops_after_start_is_a_warning(tmp_path):
    first_three = "".join(RUNBOOK_TRACE.splitlines(keepends=True)[:3])
    finding = request_trace(request_lines(_logs(tmp_path, first_three), "test-convo"))
    assert finding.level == Level.WARNING
    assert "missing processing, complete" in finding.title


def test_without_trace_logging_or_lines_it_says_so(tmp_path):
    debug_only = "".join(line + "\n" for line in RUNBOOK_TRACE.splitlines() if " DEBUG " in line)
    lines = request_lines(_logs(tmp_path, debug_only), "test-convo")
    assert request_trace(lines).level == Level.INFO
    assert "START" in request_trace(lines).title
    nothing = request_trace(request_lines(_logs(tmp_path, RUNBOOK_TRACE), "other"))
    assert nothing.level == Level.INFO and "no log line mentions" in nothing.title


@pytest.mark.slow  # a real server process
def test_the_real_servers_trace_of_add_members(tmp_path):
    db = f"sqlite:///{tmp_path / 's.db'}"
    with running_server(db, env={"LOG_LEVEL": "trace"}, workdir=tmp_path / "srv") as srv:
        with srv.client("did:plc:owner") as client:
            created = client.post(
                "/xrpc/blue.catbird.mls.createConvo", json={"convo_id": "trace-convo"}
            )
            assert created.status_code == 200, created.text
            added = client.post(
                "/xrpc/blue.catbird.mls.addMembers",
                json={"convo_id": "trace-convo", "did_list": ["did:plc:member1"]},
            )
            assert added.status_code == 200, added.text
        logs = read_logs(f"file:{srv.log_file}")
    lines = request_lines(logs, "trace-convo")
    finding = request_trace(lines, request_id="trace-convo")
    assert finding.level == Level.OK, (finding.title, list(lines["msg"]))
    assert set(lines["by"]) == {"id"}, "the server names the conversation on every line"

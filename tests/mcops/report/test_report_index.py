"""The report index, built from hand-written evidence directories."""

from __future__ import annotations

import json
import re

from mcops.report_index import build_index, exit_code, read_entry, write_index
from tests.mcops.report.support import finding, write_evidence


def _index(entries, fail_on=None):
    return build_index(
        entries,
        request=["daily"],
        sets=["daily"],
        parameters={"window": "24h"},
        started_at="2026-11-30T04:00:00Z",
        finished_at="2026-11-30T04:01:00Z",
        fail_on=fail_on,
    )


def test_an_entry_carries_status_severity_worst_level_and_the_html_link(tmp_path):
    write_evidence(
        tmp_path,
        "triage",
        [finding("health"), finding("error_logs", "critical", 12)],
        level="SEV2",
        reason="actor crashes",
    )
    entry = read_entry(tmp_path, "triage")
    assert entry["status"] == "ok"
    assert entry["severity"] == {"scheme": "SEV", "level": "SEV2", "reason": "actor crashes"}
    assert entry["worst_level"] == "critical"
    assert entry["html"] == "triage/triage.html"
    assert [f["check"] for f in entry["findings"]] == ["health", "error_logs"]


def test_a_scenario_without_summary_is_listed_as_an_error_with_why(tmp_path):
    entry = read_entry(tmp_path, "actor_health", failure="actor_health: the run raised OSError")
    assert entry["status"] == "error"
    assert entry["error"] == "actor_health: the run raised OSError"
    assert entry["html"] is None
    assert "no readable summary.json" in read_entry(tmp_path, "triage")["error"]


def test_exit_codes_follow_mcops_run(tmp_path):
    write_evidence(tmp_path, "ok", [finding("health")])
    write_evidence(tmp_path, "warn", [finding("p95_latency", "warning", 1)])
    write_evidence(tmp_path, "broken", [], status="error")
    ok, warn, broken = (read_entry(tmp_path, n) for n in ("ok", "warn", "broken"))
    assert exit_code([ok, warn], None) == 0
    assert exit_code([ok, warn], "warning") == 1
    assert exit_code([ok, warn], "critical") == 0
    assert exit_code([ok, warn, broken], None) == 2
    assert exit_code([ok, broken], "warning") == 2  # an error outranks --fail-on
    assert _index([ok, warn], "warning")["exit_code"] == 1


def test_index_html_names_each_scenario_with_severity_and_link_and_is_offline(tmp_path):
    write_evidence(tmp_path, "triage", [finding("health")], level="SEV4", reason="all healthy")
    write_evidence(
        tmp_path,
        "actor_health",
        [finding("error_rate", "warning", 3)],
        level="SEV3",
        reason="error rate <0.5%> & rising",
    )
    entries = [read_entry(tmp_path, "triage"), read_entry(tmp_path, "actor_health")]
    as_json, as_html = write_index(tmp_path, _index(entries))
    page = as_html.read_text()
    assert 'href="triage/triage.html"' in page and 'href="actor_health/actor_health.html"' in page
    assert "SEV4" in page and "SEV3" in page and "all healthy" in page
    assert "error rate &lt;0.5%&gt; &amp; rising" in page  # escaped
    assert "error_rate" in page  # the warning is on the first screen
    assert not re.search(r"<script|<link|src=|https?://", page), "index.html must be offline"
    stored = json.loads(as_json.read_text())
    assert [e["scenario"] for e in stored["scenarios"]] == ["triage", "actor_health"]
    assert stored["scenarios"][1]["severity"]["level"] == "SEV3"
    assert stored["report"] == "daily" and stored["exit_code"] == 0


def test_a_run_that_raised_is_an_error_even_beside_a_stale_summary(tmp_path):
    write_evidence(tmp_path, "triage", [finding("health")])  # from an earlier report
    entry = read_entry(tmp_path, "triage", failure="triage: the run raised OSError: disk full")
    assert entry["status"] == "error"
    assert entry["error"] == "triage: the run raised OSError: disk full"

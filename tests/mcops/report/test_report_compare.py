"""What changed since the previous report of the same set."""

from __future__ import annotations

import json

import pytest

from mcops.errors import ParameterError
from mcops.report_compare import compare, compare_entries, find_previous, load_previous
from mcops.report_index import build_index, read_entry, write_index
from tests.mcops.report.support import finding, write_evidence


def _report(directory, request, finished_at, scenarios):
    """A report directory: evidence per scenario, then its index."""
    for name, (findings, level) in scenarios.items():
        write_evidence(directory, name, findings, level=level)
    entries = [read_entry(directory, name) for name in scenarios]
    index = build_index(
        entries,
        request=request,
        sets=[],
        parameters={},
        started_at=finished_at,
        finished_at=finished_at,
    )
    write_index(directory, index)
    return entries


def _changes(result, scenario):
    item = next(i for i in result if i["scenario"] == scenario)
    return {c["check"]: c["change"] for c in item["changes"]}, item["severity_change"]


def test_each_check_is_new_resolved_worse_better_or_unchanged(tmp_path):
    before = _report(
        tmp_path / "before",
        ["weekly"],
        "2026-11-23T04:00:00Z",
        {
            "db_consistency": (
                [
                    finding("duplicate_epochs", "critical", 2),
                    finding("sequence_gaps", "warning", 5),
                    finding("epoch_consistency", "warning", 3),
                    finding("left_member_unread", "warning", 1),
                    finding("stale", "ok"),
                ],
                "SEV2",
            ),
            "performance_profile": ([finding("slow_queries", "warning", 4)], "SEV3"),
        },
    )
    after = _report(
        tmp_path / "after",
        ["weekly"],
        "2026-11-30T04:00:00Z",
        {
            "db_consistency": (
                [
                    finding("duplicate_epochs", "ok"),
                    finding("sequence_gaps", "warning", 9),
                    finding("epoch_consistency", "warning", 3),
                    finding("left_member_unread", "info", checked=False),
                    finding("stale", "critical", 1),
                ],
                "SEV2",
            ),
            "performance_profile": ([finding("slow_queries", "critical", 4)], "SEV2"),
            "memory_leak": ([finding("actor_count_trend", "warning", 1)], "SEV3"),
        },
    )
    result = compare_entries(before, after)
    checks, severity = _changes(result, "db_consistency")
    assert checks == {
        "duplicate_epochs": "resolved",
        "sequence_gaps": "worse",  # same level, more rows
        "left_member_unread": "not checked",  # could not run: never "resolved"
        "stale": "new",
    }
    assert severity == "same"
    checks, severity = _changes(result, "performance_profile")
    assert checks == {"slow_queries": "worse"} and severity == "worse"  # SEV3 → SEV2
    checks, severity = _changes(result, "memory_leak")
    assert checks == {"actor_count_trend": "new"} and severity == "new"
    reverse = compare_entries(after, before)
    assert _changes(reverse, "performance_profile") == ({"slow_queries": "better"}, "better")
    assert _changes(reverse, "db_consistency")[0]["sequence_gaps"] == "better"


def test_a_scenario_that_now_errors_is_worse(tmp_path):
    write_evidence(tmp_path / "a", "triage", [finding("health")])
    write_evidence(tmp_path / "b", "triage", [], status="error")
    result = compare_entries(
        [read_entry(tmp_path / "a", "triage")], [read_entry(tmp_path / "b", "triage")]
    )
    assert result[0]["severity_change"] == "worse"
    assert result[0]["after"]["status"] == "error"


def test_the_previous_report_is_the_latest_beside_with_the_same_request(tmp_path):
    reports = tmp_path / "reports"
    _report(reports / "weekly-20261116T040000Z", ["weekly"], "2026-11-16T04:00:00Z", {})
    _report(reports / "weekly-20261123T040000Z", ["weekly"], "2026-11-23T04:00:00Z", {})
    _report(reports / "daily-20261129T040000Z", ["daily"], "2026-11-29T04:00:00Z", {})
    (reports / "notes").mkdir()
    current = reports / "weekly-20261130T040000Z"
    assert find_previous(current, ["weekly"]) == reports / "weekly-20261123T040000Z"
    assert find_previous(current, ["monthly"]) is None
    assert find_previous(tmp_path / "elsewhere" / "weekly", ["weekly"]) is None
    # a report re-written in place is not its own previous
    _report(current, ["weekly"], "2026-11-30T05:00:00Z", {})
    assert find_previous(current, ["weekly"]) == reports / "weekly-20261123T040000Z"


def test_compare_links_the_previous_report_relatively(tmp_path):
    before = tmp_path / "reports" / "weekly-1"
    _report(before, ["weekly"], "2026-11-23T04:00:00Z", {"triage": ([finding("health")], "SEV4")})
    now = tmp_path / "reports" / "weekly-2"
    write_evidence(now, "triage", [finding("health", "critical", 1)], level="SEV1")
    result = compare(before, [read_entry(now, "triage")], report_dir=now)
    assert result["previous_href"] == "../weekly-1"
    assert result["previous_finished_at"] == "2026-11-23T04:00:00Z"
    assert result["scenarios"][0]["changes"][0]["change"] == "new"
    json.dumps(result)


def test_comparing_with_a_directory_that_is_not_a_report_is_a_parameter_error(tmp_path):
    with pytest.raises(ParameterError, match="not a report directory"):
        load_previous(tmp_path)

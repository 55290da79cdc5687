"""The evidence recorder, driven without a kernel (display goes to a list)."""

from __future__ import annotations

import nbformat
import pytest

from mcops.display import FINDING_MIME, LEVEL_COLOURS, SUMMARY_MIME
from mcops.errors import NotebookFailed
from mcops.evidence import Recorder, summary_from_notebook, worst_level
from mcops.export import notebook_to_html
from mcops.findings import Finding


def recorder(**parameters):
    shown = []
    rec = Recorder(scenario="db_consistency", parameters=parameters, display=shown.append)
    return rec, shown


def test_finding_is_shown_with_level_colour_plain_text_and_json():
    rec, shown = recorder()
    rec.add(Finding.make("duplicate_epochs", "critical", "2 duplicates", rows=[{"epoch": 4}]))
    bundle = shown[-1]
    assert LEVEL_COLOURS["critical"] in bundle["text/html"]
    assert bundle["text/plain"].startswith("CRITICAL duplicate_epochs")
    assert bundle[FINDING_MIME]["data"] == [{"epoch": 4}]


def test_re_adding_a_check_replaces_it():
    rec, _ = recorder()
    rec.add(Finding.make("health", "critical", "down"))
    rec.add(Finding.make("health", "ok", "up"))
    assert [f.title for f in rec.findings] == ["up"]


def test_summary_has_the_design_shape_and_redacted_parameters():
    rec, shown = recorder(database_url="postgresql://ops:s3cret-pw@db/catbird", token="env:T")
    rec.source("database", "ok")
    rec.add(Finding.make("sequence_gaps", "warning", "1 gap", rows=[{"seq": 3}]))
    rec.severity("SEV", "SEV3", "gaps", next_scenarios=["crash_loop"])
    rec.remediation({"action": "fix", "mode": "plan", "changes": 1})
    rec.finish()
    summary = shown[-1][SUMMARY_MIME]
    assert summary["status"] == "ok"
    assert summary["parameters"] == {
        "database_url": "postgresql://ops:***@db/catbird",
        "token": "env:T",
    }
    assert summary["severity"]["level"] == "SEV3"
    assert summary["sources"] == {"database": {"state": "ok", "detail": ""}}
    assert summary["remediations"][0]["backup"] is None
    assert set(summary) >= {"scenario", "started_at", "finished_at", "findings", "artifacts"}
    assert "s3cret" not in str(shown)
    assert worst_level(summary["findings"]).name == "WARNING"


def test_nothing_checked_is_an_error_naming_the_source_and_fix():
    rec, shown = recorder()
    rec.source("database", "unreachable: connection refused", "127.0.0.1:1")
    rec.add(Finding.not_checked("duplicate_epochs", "database unreachable"))
    with pytest.raises(NotebookFailed) as err:
        rec.finish()
    assert "database: unreachable: connection refused" in str(err.value)
    assert "fix:" in str(err.value)
    assert shown[-1][SUMMARY_MIME]["status"] == "error"


def test_one_real_check_among_not_checked_is_ok():
    rec, shown = recorder()
    rec.add(Finding.not_checked("p95_latency", "no prometheus"))
    rec.add(Finding.make("health", "ok", "healthy"))
    rec.finish()
    assert shown[-1][SUMMARY_MIME]["status"] == "ok"


def _notebook_with(outputs):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("ctx.finish()")
    cell.outputs = [nbformat.v4.new_output("display_data", data=b) for b in outputs]
    nb.cells = [cell]
    return nb


def test_summary_is_rebuilt_from_records_when_finish_never_ran():
    rec, shown = recorder()
    rec.source("database", "ok")
    rec.add(Finding.make("health", "ok", "healthy"))
    rebuilt = summary_from_notebook(_notebook_with(shown))
    assert rebuilt["findings"][0]["check"] == "health"
    assert rebuilt["sources"] == {"database": {"state": "ok", "detail": ""}}
    assert summary_from_notebook(_notebook_with([])) is None


def test_html_export_draws_summary_from_its_mimetype_without_cdn_scripts():
    rec, shown = recorder()
    rec.add(Finding.make("health", "warning", "slow /health"))
    rec.finish()
    html = notebook_to_html(_notebook_with(shown))
    assert "mcops-summary-output" in html  # our template's block, not the text/html fallback
    assert "slow /health" in html
    assert "cdnjs.cloudflare.com" not in html

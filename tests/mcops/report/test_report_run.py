"""run_report without kernels: an injected runner writes the evidence a run would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mcops.commands.report import summary_lines
from mcops.errors import ParameterError
from mcops.report_run import plan_runs, run_report
from mcops.report_sets import ReportSet
from mcops.runner import RunResult, ScenarioRun
from tests.mcops.report.support import finding, write_evidence

NOTEBOOKS = Path(__file__).parents[1] / "notebooks"
ROOT = Path(__file__).parents[3]
SETS = {"tiny": ReportSet(("ok_check", "nothing_checked"), {"window": "24h"}, "test")}


def fake_run(run: ScenarioRun, notebooks_dir: Path | None, fail_on: str | None) -> RunResult:
    """What run_scenario leaves: ok_check finds ``level``, nothing_checked errors, raises raises."""
    if run.scenario == "raises":
        raise OSError("disk full")
    assert run.out_dir is not None
    level = str(run.parameters.get("level", "warning"))
    status = "error" if run.scenario == "nothing_checked" else "ok"
    out = write_evidence(
        run.out_dir.parent, run.scenario, [finding("duplicate_epochs", level, 1)], status=status
    )
    summary = json.loads((out / "summary.json").read_text())
    return RunResult(run.scenario, out, summary, 0, 0.0)


def _report(tmp_path, names, parameters=None, **options):
    done = []
    report = run_report(
        names,
        parameters or {},
        notebooks_dir=NOTEBOOKS,
        run_one=fake_run,
        sets=SETS,
        on_done=lambda scenario, status: done.append((scenario, status)),
        **options,
    )
    return report, done


def test_plan_checks_every_scenario_and_merges_set_defaults_under_p(tmp_path):
    runs, sets = plan_runs(
        ["tiny", "raises"], {"window": "2h"}, out_dir=tmp_path, notebooks_dir=NOTEBOOKS, sets=SETS
    )
    assert sets == ("tiny",)
    assert [(r.scenario, r.out_dir) for r in runs] == [
        ("ok_check", tmp_path / "ok_check"),
        ("nothing_checked", tmp_path / "nothing_checked"),
        ("raises", tmp_path / "raises"),
    ]
    assert runs[0].parameters == {"window": "2h"}  # -p wins over the set's default
    assert runs[2].parameters == {"window": "2h"}
    again, _ = plan_runs(
        ["tiny", "raises"], {}, out_dir=tmp_path, notebooks_dir=NOTEBOOKS, sets=SETS
    )
    assert again[0].parameters == {"window": "24h"}  # the set's default
    assert again[2].parameters == {}  # named by itself: no set, no default


def test_a_bad_parameter_for_any_scenario_fails_before_anything_runs(tmp_path, monkeypatch):
    out = tmp_path / "report"
    with pytest.raises(ParameterError, match="windwo"):
        _report(tmp_path, ["ok_check", "raises"], {"windwo": "1h"}, out_dir=out)
    monkeypatch.delenv("MCOPS_NO_SUCH_VAR", raising=False)
    with pytest.raises(ParameterError):
        _report(tmp_path, ["ok_check"], {"database_url": "env:MCOPS_NO_SUCH_VAR"}, out_dir=out)
    with pytest.raises(ParameterError, match="not a report directory"):
        _report(tmp_path, ["ok_check"], out_dir=out, compare_with=tmp_path)
    assert not out.exists()


def test_index_and_exit_code_of_a_sequential_report(tmp_path):
    out = tmp_path / "report"
    report, done = _report(tmp_path, ["ok_check"], {"level": "warning"}, out_dir=out, jobs=1)
    assert report.exit_code == 0 and done == [("ok_check", "ok")]
    assert (out / "index.html").is_file() and (out / "index.json").is_file()
    report, _ = _report(
        tmp_path, ["ok_check"], {"level": "warning"}, out_dir=out, jobs=1, fail_on="warning"
    )
    assert report.exit_code == 1
    report, _ = _report(tmp_path, ["ok_check"], out_dir=out, jobs=1, fail_on="critical")
    assert report.exit_code == 0


def test_an_errored_or_crashed_scenario_makes_exit_2_and_keeps_the_others(tmp_path):
    out = tmp_path / "report"
    report, done = _report(tmp_path, ["tiny", "raises"], out_dir=out, jobs=1)
    assert report.exit_code == 2
    assert done == [("ok_check", "ok"), ("nothing_checked", "error"), ("raises", "error")]
    entries = {e["scenario"]: e for e in report.index["scenarios"]}
    assert entries["ok_check"]["worst_level"] == "warning"
    assert entries["nothing_checked"]["status"] == "error"
    assert "OSError: disk full" in entries["raises"]["error"]
    assert json.loads((out / "index.json").read_text())["exit_code"] == 2


def test_worker_processes_run_the_scenarios(tmp_path):
    report, done = _report(tmp_path, ["ok_check", "raises"], out_dir=tmp_path / "r", jobs=2)
    assert sorted(done) == [("ok_check", "ok"), ("raises", "error")]
    assert [e["scenario"] for e in report.index["scenarios"]] == ["ok_check", "raises"]


def test_the_next_report_of_the_same_request_is_compared_with_the_last(tmp_path):
    reports = tmp_path / "reports"
    first, _ = _report(tmp_path, ["ok_check"], {"level": "ok"}, out_dir=reports / "t-1", jobs=1)
    assert first.index["comparison"] is None
    second, _ = _report(tmp_path, ["ok_check"], {"level": "critical"}, out_dir=reports / "t-2")
    comparison = second.index["comparison"]
    assert comparison["previous_href"] == "../t-1"
    assert comparison["scenarios"][0]["changes"][0] == {
        "check": "duplicate_epochs",
        "change": "new",
        "before": {"level": "ok", "count": 1},
        "after": {"level": "critical", "count": 1},
    }
    page = (reports / "t-2" / "index.html").read_text()
    assert "What changed since" in page and 'href="../t-1/index.html"' in page


def test_parameters_in_the_index_are_redacted(tmp_path):
    url = "postgresql://ops:hunter2-secret-pw@db/catbird"
    report, _ = _report(tmp_path, ["ok_check"], {"database_url": url}, out_dir=tmp_path / "r")
    assert "hunter2-secret-pw" not in (tmp_path / "r" / "index.json").read_text()
    assert "hunter2-secret-pw" not in (tmp_path / "r" / "index.html").read_text()
    assert report.index["parameters"]["database_url"].startswith("postgresql://ops:***@")


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "mcops.cli", "report", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "MCOPS_NOTEBOOKS": str(NOTEBOOKS)},
        timeout=120,
        check=False,
    )


def test_cli_unknown_names_are_one_clear_line_and_exit_2(tmp_path):
    out = tmp_path / "r"
    proc = _cli("ok_check", "nope", "--out", str(out))
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0, proc.stderr
    assert "no report set or scenario 'nope'" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not out.exists()


def test_cli_compare_with_a_non_report_is_exit_2_before_any_run(tmp_path):
    out = tmp_path / "r"
    proc = _cli("ok_check", "--compare", str(tmp_path), "--out", str(out), "--no-progress")
    assert proc.returncode == 2
    assert "is not a report directory" in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists()


def test_cli_summary_lists_each_scenario_then_what_changed(tmp_path):
    reports = tmp_path / "reports"
    _report(tmp_path, ["ok_check"], {"level": "ok"}, out_dir=reports / "t-1", jobs=1)
    second, _ = _report(tmp_path, ["ok_check"], {"level": "critical"}, out_dir=reports / "t-2")
    lines = summary_lines(second.index)
    assert lines[0] == "ok_check: ok SEV4 — nothing wrong"
    assert lines[1] == f"compared with {reports / 't-1'}:"
    assert "  ok_check duplicate_epochs: new" in lines

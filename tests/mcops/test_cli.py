"""The `mcops` console entry, run as a subprocess on the small test notebooks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).parent / "notebooks"
ROOT = Path(__file__).parents[2]
PASSWORD = "s3cret-pw-71x"
TOKEN = "tok-9f2e-d00d"


def mcops(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "mcops.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "MCOPS_NOTEBOOKS": str(NOTEBOOKS), **(env or {})},
        timeout=240,
        check=False,
    )


def test_unknown_parameter_is_one_clear_line_and_starts_no_kernel(tmp_path):
    out = tmp_path / "ev"
    proc = mcops("run", "ok_check", "-p", "windwo=1h", "--out", str(out))
    assert proc.returncode == 2
    assert "no parameter 'windwo'" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not out.exists()


def test_wrong_type_names_the_parameter_and_type(tmp_path):
    proc = mcops("run", "ok_check", "-p", "window=5", "--out", str(tmp_path / "ev"))
    assert proc.returncode == 2
    assert "parameter 'window' expects str, got int 5" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_list_shows_scenarios_descriptions_and_parameters():
    proc = mcops("list")
    assert proc.returncode == 0, proc.stderr
    assert "ok_check — OK check: one check runs, one source is missing, a plot" in proc.stdout
    assert 'level: str = "warning"  # level of the duplicate_epochs finding' in proc.stdout
    assert "apply_remediation: bool = False" in proc.stdout


@pytest.mark.slow
def test_ok_run_with_fail_on_writes_evidence_and_exits_1(tmp_path):
    out = tmp_path / "ev"
    proc = mcops("run", "ok_check", "--fail-on", "warning", "--out", str(out), "--no-progress")
    assert proc.returncode == 1, proc.stderr
    assert f"evidence: {out}" in proc.stdout
    assert "WARNING  duplicate_epochs" in proc.stdout
    assert sorted(p.name for p in out.iterdir()) == [
        "manifest.json",  # the SHA-256 of every other file (mcops verify)
        "ok_check.html",
        "ok_check.ipynb",
        "plotly.min.js",  # once per evidence directory, beside the HTML
        "summary.json",
    ]
    summary = json.loads((out / "summary.json").read_text())
    assert list(summary) == [
        "scenario", "status", "started_at", "finished_at", "parameters", "severity",
        "findings", "remediations", "sources", "artifacts",
    ]  # fmt: skip
    assert summary["status"] == "ok"
    assert summary["artifacts"] == ["ok_check.ipynb", "ok_check.html", "plotly.min.js"]
    assert summary["severity"] == {
        "scheme": "SEV",
        "level": "SEV3",
        "reason": "duplicate epochs in 2 conversations",
        "response_time": None,
        "escalation": "",
        "notify": [],
        "upgraded_from": None,
        "triggers": [],
        "quick_fixes": [],
        "next_scenarios": ["db_consistency"],
    }
    assert "mcops run db_consistency" in proc.stdout  # the next command, parameters filled
    dup = summary["findings"][0]
    assert (dup["check"], dup["level"], dup["count"]) == ("duplicate_epochs", "warning", 2)
    assert dup["data"][0] == {"convo_id": "c1", "epoch": 4}
    assert summary["sources"]["prometheus"]["state"] == "not given"
    assert summary["remediations"][0]["mode"] == "plan"
    html = (out / "ok_check.html").read_text()
    assert "plotly-graph-div" in html and "Plotly.newPlot" in html
    assert '<script charset="utf-8" src="plotly.min.js">' in html  # offline, one copy
    assert "plotly.js v" in (out / "plotly.min.js").read_text()
    assert "plotly.js v" not in (out / "ok_check.ipynb").read_text()  # the figure's JSON only
    assert "mcops-summary-output" in html


@pytest.mark.slow
def test_failing_notebook_exits_2_and_still_leaves_evidence(tmp_path):
    out = tmp_path / "ev"
    proc = mcops("run", "raises", "--out", str(out), "--no-progress")
    assert proc.returncode == 2
    assert "raised ZeroDivisionError: division by zero" in proc.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "error"
    assert summary["error"]["cell"] is not None
    assert (out / "raises.ipynb").is_file() and (out / "raises.html").is_file()


@pytest.mark.slow
def test_nothing_checked_exits_2_naming_the_source(tmp_path):
    out = tmp_path / "ev"
    proc = mcops("run", "nothing_checked", "--out", str(out), "--no-progress")
    assert proc.returncode == 2
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "error"
    assert summary["error"]["ename"] == "NotebookFailed"
    assert "database: not given (database_url is empty)" in summary["error"]["message"]
    assert "database: not given" in proc.stdout


@pytest.mark.slow
def test_secrets_never_reach_any_evidence_file(tmp_path):
    out = tmp_path / "ev"
    url = f"postgresql://ops:{PASSWORD}@db/catbird"
    proc = mcops(
        "run", "leaky", "-p", f"database_url={url}", "-p", "api_token=env:MCOPS_TEST_TOKEN",
        "--out", str(out), "--no-progress",
        env={"MCOPS_TEST_TOKEN": TOKEN},
    )  # fmt: skip
    assert proc.returncode == 2  # the notebook ends by raising with both secrets
    files = sorted(p.name for p in out.iterdir())
    assert files == ["audit.jsonl", "leaky.html", "leaky.ipynb", "manifest.json", "summary.json"]
    for path in out.iterdir():
        data = path.read_bytes()
        assert PASSWORD.encode() not in data, path.name
        assert TOKEN.encode() not in data, path.name
    assert PASSWORD not in proc.stdout + proc.stderr
    assert TOKEN not in proc.stdout + proc.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["parameters"]["database_url"] == "postgresql://ops:***@db/catbird"
    assert summary["parameters"]["api_token"] == "env:MCOPS_TEST_TOKEN"
    assert "audit.jsonl" in summary["artifacts"]
    nb = json.loads((out / "leaky.ipynb").read_text())
    injected = next(
        c for c in nb["cells"] if "injected-parameters" in c["metadata"].get("tags", [])
    )
    assert 'api_token = "env:MCOPS_TEST_TOKEN"' in "".join(injected["source"])
    assert nb["metadata"]["papermill"]["parameters"]["api_token"] == "env:MCOPS_TEST_TOKEN"
    # the kernel did resolve env: (the finding's detail held the token, now masked)
    health = summary["findings"][0]
    assert health["detail"] == "***"
    assert "postgresql://ops:***@db/catbird" in health["title"]


def test_a_password_on_the_command_line_gets_one_warning_line():
    from mcops.commands.run import secret_warnings

    given = {
        "database_url": f"postgresql://u:{PASSWORD}@h/db",
        "admin_token": TOKEN,
        "service_url": "http://127.0.0.1:8080",
        "prometheus_url": "env:PROM",
        "window": "1h",
    }
    lines = secret_warnings(given)
    assert len(lines) == 2
    assert lines[0].startswith("warning: -p database_url") and "env:DATABASE_URL" in lines[0]
    assert "env:ADMIN_TOKEN" in lines[1]
    assert not any(PASSWORD in line or TOKEN in line for line in lines)
    assert secret_warnings({"database_url": "env:DATABASE_URL", "admin_token": ""}) == []


def test_an_errored_run_states_its_error_once_first_and_no_verdict():
    from mcops.commands.run import report_lines

    why = "database: refused (127.0.0.1:1) — fix: give a reachable source"
    summary = {
        "status": "error",
        "severity": {"scheme": "SEV", "level": "SEV4", "reason": "No check found a problem"},
        "findings": [
            {"check": c, "level": "info", "title": f"not checked: {why}", "checked": False}
            for c in ("epoch_consistency", "duplicate_epochs", "sequence_gaps")
        ]
        + [{"check": "health", "level": "ok", "title": "healthy", "checked": True}],
    }
    error = f"no check of scenario 'db_consistency' could run — {why}"
    lines = report_lines(summary, error=error)
    text = "\n".join(lines)
    assert lines[0] == f"error: {error}"
    assert text.count("refused") == 1 and "SEV4" not in text and "No check found" not in text
    assert "healthy" in text  # what did run is still shown
    ok = report_lines({**summary, "status": "ok"}, error="")
    assert ok[0].startswith("severity SEV4")


@pytest.mark.slow
def test_several_scenarios_run_in_turn_each_into_its_own_dir_and_exit_with_the_worst(tmp_path):
    out = tmp_path / "ev"
    proc = mcops("run", "ok_check", "raises", "ok_check", "--out", str(out), "--no-progress")
    assert proc.returncode == 2, proc.stdout + proc.stderr  # raises errored: the worst exit
    assert proc.stdout.count("ok_check: ok in") == 1  # named twice, run once
    assert "raises: error in" in proc.stdout
    assert f"evidence: {out / 'ok_check'}" in proc.stdout
    for scenario in ("ok_check", "raises"):
        summary = json.loads((out / scenario / "summary.json").read_text())
        assert summary["scenario"] == scenario
    assert "Traceback" not in proc.stderr


def test_several_scenarios_check_every_parameter_before_any_kernel(tmp_path):
    out = tmp_path / "ev"
    proc = mcops("run", "ok_check", "nope", "--out", str(out))
    assert proc.returncode == 2
    assert "nope" in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists()  # ok_check, first, did not run
    proc = mcops("run", "ok_check", "raises", "-p", "level=critical", "--out", str(out))
    assert proc.returncode == 2  # raises declares no level: said before ok_check runs
    assert "raises" in proc.stderr and "level" in proc.stderr
    assert not out.exists()

"""Where the lab lives, what `lab inject` lists, and how empty parameters meet the lab —
without starting one (tests that start real labs are in test_lab.py)."""

from __future__ import annotations

import json
import os

import pytest

from mcops import notebook
from mcops.cli import build_parser, main
from mcops.commands.run import with_lab_parameters
from mcops.lab import LAB_DIR_ENV, LAB_TOKEN_ENV, Lab, LabError, lab_home, running_lab_parameters
from mcops.lab_faults import DRIVEN, LAB_FAULTS, fault_listing
from mcops.notebook import ParametersNeeded, lab_fallback
from mcops.params import SOURCE_PARAMETERS
from mcops.registry import SCENARIOS
from server.faults import FAULTS

EMPTY = {name: "" for name in SOURCE_PARAMETERS} | {"admin_token": "", "window": "1h"}
LAB = {
    "service_url": "http://127.0.0.1:1234",
    "prometheus_url": "",
    "database_url": "sqlite:////lab/server.db",
    "log_source": "file:/lab/server.log",
    "admin_token": f"env:{LAB_TOKEN_ENV}",
}


@pytest.fixture(autouse=True)
def no_real_lab(tmp_path, monkeypatch):
    """Never the user's lab: every test here has an empty lab home of its own."""
    monkeypatch.setenv(LAB_DIR_ENV, str(tmp_path / "lab-home"))
    for name in notebook.HEADLESS_ENV:
        monkeypatch.delenv(name, raising=False)


# ---- the lab's home ----------------------------------------------------------------------
def test_lab_home_is_per_user_not_per_directory(tmp_path, monkeypatch):
    assert lab_home() == tmp_path / "lab-home"
    monkeypatch.delenv(LAB_DIR_ENV)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert lab_home() == tmp_path / "state" / "mcops" / "lab"
    monkeypatch.setenv("XDG_STATE_HOME", "relative/ignored")  # the XDG spec: absolute only
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert lab_home() == tmp_path / "home" / ".local" / "state" / "mcops" / "lab"
    monkeypatch.chdir(tmp_path)
    assert Lab().root == lab_home().resolve()


def test_a_lab_given_a_root_uses_it(tmp_path):
    assert Lab(tmp_path / "elsewhere").root == (tmp_path / "elsewhere").resolve()


def test_no_lab_no_parameters(tmp_path):
    assert running_lab_parameters() is None


def test_a_lab_whose_server_died_gives_no_parameters(tmp_path):
    home = tmp_path / "lab-home"
    home.mkdir()
    (home / "admin-token").write_text("t0ken")
    state = {
        "server_url": "http://127.0.0.1:9",
        "server_pid": 2**22 + 12345,  # above pid_max on Linux: never alive
        "database_url": "sqlite:///x.db",
        "log_file": "x.log",
    }
    (home / "state.json").write_text(json.dumps(state))
    assert running_lab_parameters() is None
    (home / "state.json").write_text("{not json")
    assert running_lab_parameters() is None


def test_status_without_a_lab_says_how_to_start_one(capsys):
    assert main(["lab", "status"]) == 2
    assert "mcops lab up" in capsys.readouterr().err


def test_leftovers_are_the_labs_own_data_only(tmp_path):
    lab = Lab(tmp_path / "lab")
    lab.root.mkdir()
    for name in ("server.db", "server.db-wal", "server.log", "admin-token", "notes.txt"):
        (lab.root / name).write_text("x")
    (lab.root / "prometheus" / "data").mkdir(parents=True)
    assert sorted(p.name for p in lab.leftovers()) == [
        "prometheus",
        "server.db",
        "server.db-wal",
        "server.log",
    ]
    lab.clean()
    assert sorted(p.name for p in lab.root.iterdir()) == ["admin-token", "notes.txt"]


# ---- lab inject's faults ----------------------------------------------------------------
def test_every_server_fault_is_listed_with_the_scenarios_it_reproduces():
    listed = {fault.name: fault for fault in LAB_FAULTS}
    assert len(listed) == len(LAB_FAULTS), "a fault is listed twice"
    assert set(FAULTS) <= set(listed), f"not listed: {sorted(set(FAULTS) - set(listed))}"
    assert set(listed) - set(FAULTS) == DRIVEN  # the rest are driven by the CLI
    for fault in LAB_FAULTS:
        assert fault.scenarios and set(fault.scenarios) <= set(SCENARIOS), fault
        assert fault.reproduces[:3] in ("000", "004"), fault  # a runbook's section


def test_inject_help_lists_every_fault_and_its_scenario():
    lab = build_parser()._subparsers._group_actions[0].choices["lab"]  # type: ignore[union-attr]
    inject = lab._subparsers._group_actions[0].choices["inject"]  # type: ignore[union-attr]
    text = inject.format_help()
    assert fault_listing() in text
    for fault in LAB_FAULTS:
        line = next(line for line in text.splitlines() if line.strip().startswith(fault.name))
        assert all(scenario in line for scenario in fault.scenarios), line
    assert "epoch_race" in text and "epoch_conflicts" in text


def test_an_unknown_fault_is_refused_with_the_list(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["lab", "inject", "no_such_fault"])
    assert exit_.value.code == 2
    assert "epoch_race" in capsys.readouterr().err


# ---- empty parameters --------------------------------------------------------------------
def test_headless_runs_keep_their_parameters(monkeypatch):
    from mcops.bundle import REPLAY_DIR_ENV
    from mcops.runner import EVIDENCE_DIR_ENV

    assert set(notebook.HEADLESS_ENV) == {EVIDENCE_DIR_ENV, REPLAY_DIR_ENV}
    monkeypatch.setattr("mcops.lab.running_lab_parameters", lambda: dict(LAB))
    assert lab_fallback("triage", EMPTY, interactive=False) == EMPTY
    monkeypatch.setenv(EVIDENCE_DIR_ENV, "/tmp/evidence")
    assert notebook._interactive() is False


def test_outside_ipython_nothing_changes():
    assert notebook._interactive() is False  # pytest is no IPython kernel
    assert lab_fallback("triage", EMPTY) == EMPTY


def test_empty_sources_come_from_the_running_lab(monkeypatch, capsys):
    monkeypatch.setattr("mcops.lab.running_lab_parameters", lambda: dict(LAB))
    filled = lab_fallback("triage", EMPTY, interactive=True)
    assert filled == {**EMPTY, **{k: v for k, v in LAB.items() if v}}
    line = capsys.readouterr().out.strip()
    assert line.startswith("parameters from the running lab: service_url=http://127.0.0.1:1234")
    assert f"admin_token=env:{LAB_TOKEN_ENV}" in line and "\n" not in line


def test_given_sources_are_never_mixed_with_the_labs(monkeypatch, capsys):
    monkeypatch.setattr("mcops.lab.running_lab_parameters", lambda: dict(LAB))
    prod = {**EMPTY, "service_url": "https://mc.prod.example:8080"}
    assert lab_fallback("triage", prod, interactive=True) == prod
    assert capsys.readouterr().out == ""


def test_no_source_and_no_lab_shows_what_to_set_and_stops(monkeypatch):
    shown: list[str] = []
    monkeypatch.setattr(notebook, "_show_markdown", shown.append)
    with pytest.raises(ParametersNeeded) as stopped:
        lab_fallback("db_consistency", EMPTY, interactive=True)
    (text,) = shown
    assert 'service_url = "http://127.0.0.1:8080"' in text
    assert 'database_url = "env:DB_URL"' in text and "mcops lab up" in text
    assert "-p " not in text  # notebook terms, not CLI flags
    assert stopped.value._render_traceback_() == [str(stopped.value)]  # one line in Jupyter


def test_a_notebook_without_source_parameters_is_left_alone(monkeypatch):
    monkeypatch.setattr(notebook, "_show_markdown", lambda text: pytest.fail(text))
    assert lab_fallback("postmortem", {"evidence_dirs": ""}, interactive=True) == {
        "evidence_dirs": ""
    }


# ---- mcops run --lab ----------------------------------------------------------------------
def test_run_lab_fills_only_what_was_not_given(monkeypatch, capsys):
    monkeypatch.setattr("mcops.lab.running_lab_parameters", lambda: dict(LAB))
    given = {"service_url": "http://127.0.0.1:5555", "log_source": "", "window": "15m"}
    merged = with_lab_parameters(given)
    assert merged["service_url"] == "http://127.0.0.1:5555"
    assert merged["log_source"] == LAB["log_source"] and merged["window"] == "15m"
    assert "prometheus_url" not in merged  # the lab has none: the notebook's default stays
    out = capsys.readouterr().out
    assert "database_url=sqlite:////lab/server.db" in out and "service_url" not in out


def test_run_lab_without_a_lab_is_a_one_line_error_before_any_kernel(capsys):
    with pytest.raises(LabError, match="no lab is running"):
        with_lab_parameters({})
    assert main(["run", "--lab", "triage", "--out", os.devnull]) == 2
    err = capsys.readouterr().err.strip()
    assert "no lab is running" in err and "mcops lab up" in err and "\n" not in err


def test_running_lab_parameters_hold_no_secret(tmp_path, monkeypatch):
    home = tmp_path / "lab-home"
    monkeypatch.setattr(Lab, "parameters", lambda self: {**LAB, "platform": "local"})
    home.mkdir()
    (home / "admin-token").write_text("s3cret-token\n")
    monkeypatch.delenv(LAB_TOKEN_ENV, raising=False)
    params = running_lab_parameters()
    assert params is not None and "s3cret-token" not in json.dumps(params)
    assert params["admin_token"] == f"env:{LAB_TOKEN_ENV}"
    assert os.environ[LAB_TOKEN_ENV] == "s3cret-token"  # what env: resolves to, here only
    assert set(params) == {*SOURCE_PARAMETERS, "admin_token"}


def test_run_lab_prints_next_commands_that_take_the_lab_again(monkeypatch, capsys, tmp_path):
    from mcops.runner import RunResult

    seen = {}

    def fake_run(scenario, parameters, **_):
        seen.update(parameters)
        summary = {"status": "ok", "findings": [], "severity": {"next_scenarios": ["crash_loop"]}}
        return RunResult(scenario, tmp_path, summary, 0, 0.1)

    monkeypatch.setattr("mcops.lab.running_lab_parameters", lambda: dict(LAB))
    monkeypatch.setattr("mcops.runner.run_scenario", fake_run)
    monkeypatch.setattr("mcops.commands.run.report_lines", lambda summary, error: [])
    assert main(["run", "--lab", "triage", "-p", "window=2h", "--no-progress"]) == 0
    assert seen["service_url"] == LAB["service_url"] and seen["window"] == "2h"
    out = capsys.readouterr().out
    assert "  mcops run --lab crash_loop -p window=2h\n" in out
    assert LAB_TOKEN_ENV not in out.split("next:")[1]

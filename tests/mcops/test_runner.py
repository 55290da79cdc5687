"""run_scenario / run_many through papermill's API on the small test notebooks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mcops.errors import ParameterError
from mcops.runner import ScenarioRun, list_scenarios, run_many, run_scenario

NOTEBOOKS = Path(__file__).parent / "notebooks"


def test_unknown_scenario_lists_known_ones(tmp_path):
    with pytest.raises(ParameterError, match="ok_check"):
        run_scenario("nope", {}, out_dir=tmp_path / "e", notebooks_dir=NOTEBOOKS)
    assert not (tmp_path / "e").exists()


def test_unset_env_reference_fails_before_any_kernel(tmp_path, monkeypatch):
    monkeypatch.delenv("MCOPS_TEST_UNSET", raising=False)
    with pytest.raises(ParameterError, match="MCOPS_TEST_UNSET"):
        run_scenario(
            "ok_check",
            {"database_url": "env:MCOPS_TEST_UNSET"},
            out_dir=tmp_path / "e",
            notebooks_dir=NOTEBOOKS,
        )
    assert not (tmp_path / "e").exists()


def test_list_scenarios():
    assert list_scenarios(NOTEBOOKS) == ["leaky", "nothing_checked", "ok_check", "raises"]


@pytest.mark.slow
def test_run_many_in_one_process_applies_fail_on_per_run(tmp_path):
    results = run_many(
        [
            ScenarioRun("ok_check", {"level": "info"}, tmp_path / "a"),
            ScenarioRun("raises", {}, tmp_path / "b"),
        ],
        notebooks_dir=NOTEBOOKS,
        fail_on="warning",
        progress=False,
    )
    ok, failed = results
    assert (ok.status, ok.exit_code) == ("ok", 0)
    assert json.loads(ok.summary_path.read_text())["findings"][0]["level"] == "info"
    assert (failed.status, failed.exit_code) == ("error", 2)
    error = failed.summary["error"]
    assert error["ename"] == "ZeroDivisionError"
    assert "division by zero" in error["message"]
    saved = json.loads((tmp_path / "b" / "raises.ipynb").read_text())
    assert "".join(saved["cells"][error["cell"]]["source"]) == "1 / 0"
    # the finding recorded before the failure is kept
    assert [f["check"] for f in failed.summary["findings"]] == ["health"]
    assert (tmp_path / "b" / "raises.html").is_file()


@pytest.mark.slow
def test_the_notebook_is_saved_once_at_the_end_not_twice_per_cell(tmp_path, monkeypatch):
    """mcops.papermill_engine: papermill's own engine serialises the whole notebook when
    each cell starts and ends; ours saves when the run ends (a timeout keeps what ran:
    test_kernel_pool's blocked kernel)."""
    from mcops import memory_io

    writes: list[str] = []
    original = memory_io._MemoryIO.write.__func__

    def counted(cls, buf: str, path: str) -> None:
        writes.append(path)
        original(cls, buf, path)

    monkeypatch.setattr(memory_io._MemoryIO, "write", classmethod(counted))
    run = run_scenario("ok_check", {}, out_dir=tmp_path / "a", notebooks_dir=NOTEBOOKS)
    assert run.status == "ok", run.error
    cells = sum(1 for _ in json.loads((tmp_path / "a" / "ok_check.ipynb").read_text())["cells"])
    # papermill saves at the start and twice at the end; its own engine adds two per cell
    assert cells >= 5 and 1 <= len(writes) <= 3, (cells, writes)

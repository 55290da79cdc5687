"""A scenario notebook with its default (empty) parameters, as JupyterLab's Run All runs
it (nbclient, no papermill): with a lab running it investigates the lab and says so;
without one it shows what to set and stops, without a traceback. `mcops run --lab` does
the same explicitly. Real kernels and a real lab (in the test's own directory)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from mcops.lab import LAB_DIR_ENV, Lab, LabState
from tests.notebooks.support import ROOT

pytestmark = pytest.mark.slow

NOTEBOOK = ROOT / "notebooks" / "triage.ipynb"


@pytest.fixture
def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LabState]:
    """A running lab whose home is this test's, for kernels started from here."""
    home = tmp_path / "lab-home"
    monkeypatch.setenv(LAB_DIR_ENV, str(home))
    running = Lab(home)
    state = running.up(with_prometheus=False)
    try:
        yield state
    finally:
        running.down()


def run_all(path: Path) -> tuple[nbformat.NotebookNode, CellExecutionError | None]:
    """Run All as JupyterLab does: no injected parameters, stop at the first error."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=240,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    try:
        client.execute()
    except CellExecutionError as err:
        return nb, err
    return nb, None


def outputs(nb: nbformat.NotebookNode) -> list[dict]:
    return [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]


@pytest.fixture(autouse=True)
def interactive(monkeypatch: pytest.MonkeyPatch) -> None:
    """Kernels started here are not headless runs."""
    for name in ("MCOPS_EVIDENCE_DIR", "MCOPS_REPLAY_DIR"):
        monkeypatch.delenv(name, raising=False)


def test_run_all_with_empty_parameters_and_no_lab_says_what_to_set(tmp_path, monkeypatch):
    monkeypatch.setenv(LAB_DIR_ENV, str(tmp_path / "no-lab"))
    nb, error = run_all(NOTEBOOK)
    assert error is not None and error.ename == "ParametersNeeded"
    setup_cell = next(c for c in nb.cells if "Investigation.start" in c.source)
    markdown, stop = setup_cell.outputs
    text = markdown["data"]["text/markdown"]
    assert 'service_url = "http://127.0.0.1:8080"' in text and "mcops lab up" in text
    assert stop["output_type"] == "error"
    assert len(stop["traceback"]) == 1 and "Traceback" not in stop["traceback"][0]
    later = nb.cells[nb.cells.index(setup_cell) + 1 :]
    assert all(not c.get("outputs") for c in later if c.cell_type == "code"), "Run All stops"


def test_run_all_with_empty_parameters_investigates_the_running_lab(lab):
    nb, error = run_all(NOTEBOOK)
    assert error is None, error
    texts = [o.get("text", "") for o in outputs(nb) if o["output_type"] == "stream"]
    line = next(t for t in texts if t.startswith("parameters from the running lab:"))
    assert f"service_url={lab.server_url}" in line
    assert f"log_source=file:{lab.log_file}" in line
    assert "admin_token=env:MCOPS_LAB_ADMIN_TOKEN" in line
    assert (Path(lab.log_file).parent / "admin-token").read_text().strip() not in json.dumps(
        outputs(nb)
    )


def test_mcops_run_lab_takes_the_running_labs_parameters(lab, tmp_path):
    out = tmp_path / "evidence"
    command = ["run", "--lab", "triage", "--out", str(out), "--no-progress"]
    result = subprocess.run(
        [sys.executable, "-m", "mcops.cli", *command],
        capture_output=True,
        text=True,
        cwd=tmp_path,  # not where the lab was started
        timeout=300,
        env={**os.environ},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("parameters from the running lab: service_url=")
    given = json.loads((out / "summary.json").read_text())["parameters"]
    assert given["service_url"] == lab.server_url
    assert given["admin_token"] == "env:MCOPS_LAB_ADMIN_TOKEN"
    assert given["database_url"] == lab.database_url
    after = result.stdout.split("\nnext:\n", 1)[1:]  # a healthy lab may need no next notebook
    for line in after[0].splitlines() if after else []:
        assert line.startswith("  mcops run --lab "), line  # a new shell lacks the lab's token
        assert "MCOPS_LAB_ADMIN_TOKEN" not in line

"""Nothing hangs (issue 12): a log source that blocks (a FIFO) cannot hold a run.

Two `mcops run`s: a real scenario given a FIFO as its log file refuses it up front and
ends with evidence; a notebook whose cell blocks on a FIFO is stopped by --cell-timeout
and still leaves its evidence, with what was found before the hang.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import nbformat
import pytest

from tests.notebooks.support import mcops_run

pytestmark = pytest.mark.slow

TEST_NOTEBOOKS = Path(__file__).parents[1] / "mcops" / "notebooks"


def test_a_fifo_log_source_is_refused_and_the_run_ends_with_evidence(tmp_path):
    fifo = tmp_path / "server.log"
    os.mkfifo(fifo)
    started = time.monotonic()
    run = mcops_run(
        "triage", tmp_path / "ev", "-p", f"log_source=file:{fifo}", "--cell-timeout", "60"
    )
    assert time.monotonic() - started < 120, run.output
    finding = run.finding("error_logs")
    assert finding["checked"] is False and "not a regular file" in finding["title"], finding
    assert (tmp_path / "ev" / "summary.json").is_file() and (
        tmp_path / "ev" / "triage.html"
    ).is_file()
    assert "Traceback" not in run.output


def test_a_cell_that_blocks_is_stopped_by_the_cell_timeout(tmp_path):
    fifo = tmp_path / "stuck"
    os.mkfifo(fifo)
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    nb = nbformat.read(TEST_NOTEBOOKS / "ok_check.ipynb", as_version=4)
    nb.cells.insert(-1, nbformat.v4.new_code_cell(f"open({str(fifo)!r}).read()  # blocks"))
    nbformat.write(nb, notebooks / "stuck.ipynb")
    started = time.monotonic()
    run = mcops_run("stuck", tmp_path / "ev", "--notebooks", str(notebooks), "--cell-timeout", "5")
    assert time.monotonic() - started < 90, run.output
    assert run.exit_code == 2, run.output
    summary = run.summary
    assert summary["status"] == "error"
    assert "--cell-timeout" in summary["error"]["message"], summary["error"]
    assert [f["check"] for f in summary["findings"]][:1] == ["duplicate_epochs"]  # found before
    assert (tmp_path / "ev" / "stuck.ipynb").is_file()
    assert run.output.count("--cell-timeout") == 1, run.output  # the error, once

"""nbval executes the scenario notebooks cell by cell, as JupyterLab's Run All would.

nbval cannot inject parameters, so each notebook is first parameterised with
papermill's own `parameterize_notebook` (pointing it at a real server or database),
then a separate pytest runs nbval (``--nbval-lax``: notebooks are stored without
outputs, so only errors fail) on that copy.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from papermill.iorw import load_notebook_node
from papermill.parameterize import parameterize_notebook

from tests.notebooks.support import ROOT
from tests.notebooks.test_db_consistency import seed

pytestmark = pytest.mark.slow


def nbval(scenario: str, parameters: dict, workdir: Path) -> subprocess.CompletedProcess:
    nb = load_notebook_node(str(ROOT / "notebooks" / f"{scenario}.ipynb"))
    nbformat.write(parameterize_notebook(nb, parameters), workdir / f"{scenario}.ipynb")
    (workdir / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\n")
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--nbval-lax",
            "--nbval-current-env",
            "-q",
            "-c",
            str(workdir / "pytest.ini"),
            str(workdir / f"{scenario}.ipynb"),
        ],
        capture_output=True,
        text=True,
        cwd=workdir,
        timeout=300,
    )


def test_nbval_runs_db_consistency(sqlite_url, tmp_path):
    seed(sqlite_url, anomalies=True)
    result = nbval("db_consistency", {"database_url": sqlite_url}, tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout

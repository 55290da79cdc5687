"""In JupyterLab the verdict's next scenarios are notebooks one click away, with the same
parameters: a real crashing server, triage run as Run All runs it (nbclient in a kernel
no runner started), then the linked crash_loop notebook run the same way."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from papermill.iorw import load_notebook_node
from papermill.parameterize import parameterize_notebook

from mcops.next_notebooks import NEXT_DIR, carried_parameters, write_next_notebooks
from tests.notebooks.support import ROOT
from tests.notebooks.test_triage import crash_a_conversation
from tests.support.server_process import ADMIN_TOKEN, running_server

SECRET = "s3cret-pw"


def test_the_common_parameters_are_carried_secrets_and_apply_are_not(tmp_path):
    given = {
        "service_url": "http://127.0.0.1:8080",
        "database_url": f"postgresql://ops:{SECRET}@db:5432/mls",
        "admin_token": "env:MCOPS_ADMIN_TOKEN",
        "window": "30m",
        "apply_remediation": True,
        "restart_command": "systemctl restart mls",  # service_restart's own
        "prometheus_url": "",
    }
    carried, secret = carried_parameters(given)
    assert carried == {
        "service_url": "http://127.0.0.1:8080",
        "admin_token": "env:MCOPS_ADMIN_TOKEN",
        "window": "30m",
    }
    assert secret == ["database_url"]
    (written,) = write_next_notebooks(["crash_loop"], given, directory=tmp_path / NEXT_DIR)
    assert written.left_out == ("database_url",)
    text = written.path.read_text()
    assert SECRET not in text
    nb = nbformat.read(written.path, as_version=4)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags") or []]
    assert len(injected) == 1 and 'service_url = "http://127.0.0.1:8080"' in injected[0].source
    assert "apply_remediation" not in injected[0].source


def run_all(path: Path) -> nbformat.NotebookNode:
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=240, resources={"metadata": {"path": str(path.parent)}}).execute()
    return nb


@pytest.mark.slow
def test_triage_links_crash_loop_which_opens_with_the_same_parameters(
    sqlite_url, tmp_path, monkeypatch
):
    for name in ("MCOPS_EVIDENCE_DIR", "MCOPS_REPLAY_DIR"):  # an interactive kernel
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MCOPS_TEST_ADMIN_TOKEN", ADMIN_TOKEN)
    with running_server(sqlite_url) as server:
        crash_a_conversation(server, "convo-next", messages=8)
        params = {
            "service_url": server.url,
            "log_source": f"file:{server.log_file}",
            "admin_token": "env:MCOPS_TEST_ADMIN_TOKEN",
            "window": "10m",
        }
        triage = tmp_path / "triage.ipynb"
        nb = parameterize_notebook(
            load_notebook_node(str(ROOT / "notebooks" / "triage.ipynb")), params
        )
        nbformat.write(nb, triage)
        ran = run_all(triage)

        links = [
            o["data"]["text/markdown"]
            for cell in ran.cells
            for o in cell.get("outputs", [])
            if "text/markdown" in o.get("data", {}) and "**Next**" in o["data"]["text/markdown"]
        ]
        assert links and f"[crash_loop]({NEXT_DIR}/crash_loop.ipynb)" in links[0], links
        nxt = tmp_path / NEXT_DIR / "crash_loop.ipynb"
        injected = next(
            c
            for c in nbformat.read(nxt, 4).cells
            if "injected-parameters" in c.metadata.get("tags") or []
        )
        for name, value in params.items():
            assert f'{name} = "{value}"' in injected.source, injected.source
        after = run_all(nxt)  # opens and runs: the crash loop is found again
        text = "".join(
            str(o.get("data", {}).get("text/plain", "")) + str(o.get("text", ""))
            for cell in after.cells
            for o in cell.get("outputs", [])
        )
        assert "convo-next" in text
    shutil.rmtree(tmp_path / NEXT_DIR)

"""Opening, running and saving a notebook in JupyterLab leaves git clean.

In a clone configured as ``make setup`` configures one (``make git-filter``), a real
JupyterLab server opens ``triage.ipynb`` through its REST API, starts the kernel the
notebook names (``/api/sessions``), runs its cells over the kernel's websocket, and saves
it the way JupyterLab does: outputs, execution counts, the running kernel's kernelspec and
``language_info``, cell timing and widget state, through ``PUT /api/contents``. The file on
disk is then full of outputs, and ``git status`` must still be empty.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import nbformat
import pytest
import websocket

from tests.notebooks.support import ROOT
from tests.support.ports import free_port, wait_http

pytestmark = pytest.mark.slow

NOTEBOOK = "triage.ipynb"
#: what the test clone takes from the working tree (uncommitted edits are tested too)
WORKTREE_FILES = (".gitattributes", "Makefile", *(f"notebooks/{p.name}" for p in
                  sorted((ROOT / "notebooks").glob("*.ipynb"))))  # fmt: skip


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=test", "-c", "user.email=test@localhost", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """A clone of this repository with the git filter and Jupyter hook make setup configures."""
    dest = tmp_path / "mcops"
    git(tmp_path, "clone", "-q", str(ROOT), str(dest))
    for name in WORKTREE_FILES:  # copied before the filter exists: committed byte for byte
        shutil.copyfile(ROOT / name, dest / name)
    git(dest, "add", *WORKTREE_FILES)
    if git(dest, "diff", "--cached", "--name-only").strip():
        git(dest, "commit", "-q", "--no-verify", "-m", "the working tree's notebooks")
    # Files as old as the index is new: git then trusts their stat data instead of passing
    # every notebook through the filter again (one Python start each) to compare contents.
    past = time.time() - 60
    for name in git(dest, "ls-files", "-z").split("\0"):
        if name:
            os.utime(dest / name, (past, past))
    git(dest, "update-index", "--refresh")
    make = subprocess.run(
        ["make", "-s", "git-filter", "jupyter-config", f"VENV={sys.prefix}"],
        cwd=dest,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert make.returncode == 0, make.stderr
    assert "nbstripout" in git(dest, "config", "filter.nbstripout.clean")
    assert git(dest, "status", "--porcelain") == ""
    return dest


def test_every_committed_notebook_is_what_the_filter_makes_of_it(clone):
    """Otherwise git shows a notebook modified as soon as anything touches the file.

    The configured clean command itself, once for every notebook (``--verify``: nothing is
    written, exit 1 naming each notebook it would change)."""
    command = shlex.split(git(clone, "config", "filter.nbstripout.clean"))
    notebooks = [n for n in git(clone, "ls-files", "-z", "*.ipynb").split("\0") if n]
    assert len(notebooks) >= 17
    done = subprocess.run(
        [*command, "--verify", *notebooks], cwd=clone, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"the filter would change: {done.stdout}{done.stderr}"


@contextmanager
def jupyter_lab(root: Path, home: Path) -> Iterator[httpx.Client]:
    """A JupyterLab server on 127.0.0.1 serving ``root``; stopped (with its kernels) after."""
    port, token = free_port(), secrets.token_hex(16)
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_DATA_DIR": str(home / "data"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
        "IPYTHONDIR": str(home / "ipython"),
        "MCOPS_LAB_DIR": str(home / "no-lab"),  # no running lab to borrow sources from
    }
    log = (home / "jupyter.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}",
            "--LabApp.news_url=",
            *(["--allow-root"] if os.geteuid() == 0 else []),  # a container's root
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ],
        cwd=root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/api/status?token={token}", timeout=60)
        with httpx.Client(
            base_url=url, headers={"Authorization": f"token {token}"}, timeout=60
        ) as client:
            yield client
    finally:
        try:
            httpx.post(f"{url}/api/shutdown", headers={"Authorization": f"token {token}"})
            proc.wait(timeout=20)
        except (httpx.HTTPError, subprocess.TimeoutExpired):
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()


class Kernel:
    """A kernel's channels as JupyterLab uses them: JSON messages over the server's websocket."""

    def __init__(self, client: httpx.Client, kernel_id: str) -> None:
        ws_url = str(client.base_url).replace("http", "ws", 1)
        self.session = uuid.uuid4().hex
        self.ws = websocket.create_connection(
            f"{ws_url}/api/kernels/{kernel_id}/channels?session_id={self.session}",
            header=[f"Authorization: {client.headers['Authorization']}"],
            timeout=180,
        )

    def request(self, msg_type: str, content: dict) -> tuple[dict, list[dict]]:
        """Send on shell; the reply and the iopub messages it caused, once the kernel idles."""
        msg_id = uuid.uuid4().hex
        header = {
            "msg_id": msg_id,
            "msg_type": msg_type,
            "session": self.session,
            "username": "test",
            "version": "5.3",
            "date": datetime.now(UTC).isoformat(),
        }
        message = {"header": header, "parent_header": {}, "metadata": {}, "content": content}
        self.ws.send(json.dumps({**message, "channel": "shell", "buffers": []}))
        reply, iopub, idle = None, [], False
        while reply is None or not idle:
            raw = self.ws.recv()
            if not isinstance(raw, str):
                continue  # binary frames carry buffers (widgets): not used here
            msg = json.loads(raw)
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            if msg["channel"] == "shell":
                reply = msg
            elif msg["channel"] == "iopub":
                if msg["msg_type"] == "status":
                    idle = msg["content"]["execution_state"] == "idle"
                else:
                    iopub.append(msg)
        return reply, iopub

    def close(self) -> None:
        self.ws.close()


def run_all(kernel: Kernel, nb: nbformat.NotebookNode) -> int:
    """JupyterLab's Run All: every code cell until the first error; the cells run."""
    ran = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        started = datetime.now(UTC).isoformat()
        reply, iopub = kernel.request("execute_request", {"code": cell.source, "silent": False})
        outputs = []
        for msg in iopub:
            if msg["msg_type"] == "clear_output":
                outputs = []
            elif msg["msg_type"] in ("stream", "display_data", "execute_result", "error"):
                outputs.append(nbformat.v4.output_from_msg(msg))
        cell.outputs = outputs
        cell.execution_count = reply["content"].get("execution_count")
        cell.metadata["execution"] = {  # JupyterLab's "record timing" setting
            "iopub.execute_input": started,
            "shell.execute_reply": reply["header"]["date"],
        }
        ran += 1
        if reply["content"]["status"] != "ok":
            break
    return ran


def test_opening_running_and_saving_a_notebook_in_jupyterlab_leaves_git_clean(clone, tmp_path):
    home = tmp_path / "jupyter-home"
    home.mkdir()
    notebooks = clone / "notebooks"
    with jupyter_lab(notebooks, home) as lab:
        nb = nbformat.from_dict(lab.get(f"/api/contents/{NOTEBOOK}").json()["content"])
        name = nb.metadata["kernelspec"]["name"]
        specs = lab.get("/api/kernelspecs").json()["kernelspecs"]
        assert name in specs, f"JupyterLab has no kernel {name!r} (make setup): {sorted(specs)}"
        session = lab.post(
            "/api/sessions",
            json={"path": NOTEBOOK, "name": NOTEBOOK, "type": "notebook", "kernel": {"name": name}},
        ).json()
        kernel = Kernel(lab, session["kernel"]["id"])
        try:
            info, _ = kernel.request("kernel_info_request", {})
            ran = run_all(kernel, nb)
        finally:
            kernel.close()
        spec = specs[name]["spec"]
        nb.metadata["kernelspec"] = {
            "display_name": spec["display_name"],
            "language": spec["language"],
            "name": name,
        }
        nb.metadata["language_info"] = info["content"]["language_info"]
        nb.metadata["widgets"] = {
            "application/vnd.jupyter.widget-state+json": {
                "state": {},
                "version_major": 2,
                "version_minor": 0,
            }
        }
        assert lab.post(f"/api/contents/{NOTEBOOK}/checkpoints").status_code == 201
        saved = lab.put(
            f"/api/contents/{NOTEBOOK}", json={"type": "notebook", "format": "json", "content": nb}
        )
        assert saved.status_code == 200, saved.text
        assert lab.delete(f"/api/sessions/{session['id']}").status_code == 204

    on_disk = nbformat.read(notebooks / NOTEBOOK, as_version=4)
    code = [c for c in on_disk.cells if c.cell_type == "code"]
    assert ran >= 2 and any(c.outputs for c in code), "the saved notebook holds its outputs"
    assert git(clone, "hash-object", "--no-filters", f"notebooks/{NOTEBOOK}") != git(
        clone, "rev-parse", f"HEAD:notebooks/{NOTEBOOK}"
    ), "the file differs from the commit: only the filter makes it clean"
    assert git(clone, "status", "--porcelain") == "", git(clone, "diff")

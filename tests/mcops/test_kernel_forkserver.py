"""Kernels forked from a fork server (mcops.kernel_forkserver): real servers, real IPython
kernels, runs executed by papermill. What matters: a forked kernel is the kernel a cold
start gives (same path, arguments, directory, environment, namespace), each run is its own
process that inherits nothing of the runs before it, a kernel the server cannot run the
same way starts the usual way, and nothing outlives the process it served."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from contextlib import closing
from pathlib import Path

import pytest

from mcops import kernel_forkserver
from mcops.kernel_forkserver import SERVER_VARIABLE, ForkServer
from mcops.run_kernel import kernel_pythonpath
from mcops.runner import run_scenario
from tests.mcops.test_kernel_pool import LEAVE, _alive, observed, probe_notebooks

pytestmark = pytest.mark.slow

#: What tells a forked kernel from a cold one, if anything did.
LOOK = """\
import json, os, sys
print(json.dumps({
    "pid": os.getpid(),
    "parent": os.getppid(),
    "path": sys.path,
    "argv0": sys.argv[0],
    "arguments": sys.argv[3:],
    "cwd": os.getcwd(),
    "environment": sorted(set(os.environ) - {"MCOPS_KERNEL_SERVER"}),
    "parent_pid_variable": os.environ.get("JPY_PARENT_PID"),
    "names": sorted(n for n in globals() if not n.startswith("_")),
    "leaked": ("leaked_global" in globals(), os.environ.get("MCOPS_LEAKED_VARIABLE"),
               getattr(json, "leaked_attribute", None)),
    "preloaded": "mcops.investigation" in sys.modules,
    "process_group": os.getpgid(0) == os.getpid(),
    "random": [__import__("random").random(), __import__("numpy").random.random()],
}))
"""


@pytest.fixture
def server(monkeypatch):
    """A fork server of this test's own, shared through MCOPS_KERNEL_SERVER."""
    with closing(ForkServer.start({"PYTHONPATH": kernel_pythonpath()})) as started:
        monkeypatch.setenv(SERVER_VARIABLE, str(started.path))
        yield started


def _run(notebooks: Path, name: str, out: Path) -> dict:
    run = run_scenario(name, {}, out_dir=out, notebooks_dir=notebooks)
    assert run.status == "ok", run.error
    return observed(out, name)


def test_a_forked_kernel_is_the_kernel_a_cold_start_gives(tmp_path, monkeypatch):
    notebooks = probe_notebooks(tmp_path / "nb", ("look", LOOK))
    monkeypatch.delenv(SERVER_VARIABLE, raising=False)
    cold = _run(notebooks, "look", tmp_path / "cold")
    with closing(ForkServer.start({"PYTHONPATH": kernel_pythonpath()})) as server:
        monkeypatch.setenv(SERVER_VARIABLE, str(server.path))
        forked = _run(notebooks, "look", tmp_path / "forked")
    assert cold["parent"] == os.getpid() and forked["parent"] != os.getpid()  # it was forked
    assert (cold["preloaded"], forked["preloaded"]) == (False, True)
    for key in ("path", "argv0", "cwd", "environment", "names", "process_group"):
        assert forked[key] == cold[key], key
    # the arguments after the connection file, and the parent jupyter_client names
    assert forked["arguments"] == cold["arguments"]
    assert forked["parent_pid_variable"] == cold["parent_pid_variable"] == str(os.getpid())


def test_each_run_is_a_fresh_process_that_inherits_nothing_of_the_last(tmp_path, server):
    notebooks = probe_notebooks(tmp_path / "nb", ("leave", LOOK + LEAVE), ("look", LOOK))
    first = _run(notebooks, "leave", tmp_path / "first")
    second = _run(notebooks, "look", tmp_path / "second")
    assert first["pid"] != second["pid"] and first["parent"] == second["parent"]
    # each draws its own random numbers, as cold kernels do (Python's and NumPy's)
    assert all(a != b for a, b in zip(first["random"], second["random"], strict=True))
    assert second["leaked"] == [False, None, None]
    assert second["cwd"] == str(notebooks)


def test_a_large_environment_reaches_the_forked_kernel_whole(tmp_path, server, monkeypatch):
    """More than a socket buffer of environment (a CI runner's can be large) still forks."""
    big = "x" * 600_000
    monkeypatch.setenv("MCOPS_TEST_LARGE_VARIABLE", big)
    code = LOOK + "print(len(os.environ['MCOPS_TEST_LARGE_VARIABLE']))\n"
    notebooks = probe_notebooks(tmp_path / "nb", ("look", code))
    seen = _run(notebooks, "look", tmp_path / "run")
    assert seen["parent"] == server._process.pid  # forked, not started the usual way
    assert observed_text(tmp_path / "run" / "look.ipynb").strip().endswith(str(len(big)))


def test_a_process_whose_sys_stdout_is_no_file_still_forks(tmp_path, server, capsys):
    """In a notebook or under capture ``sys.stdout`` has no descriptor; the kernel gets
    the process's descriptors 1 and 2, as a started one inherits them."""
    notebooks = probe_notebooks(tmp_path / "nb", ("look", LOOK))
    seen = _run(notebooks, "look", tmp_path / "run")
    assert seen["parent"] == server._process.pid


def test_a_kernel_the_server_cannot_start_the_same_way_starts_as_usual(
    tmp_path, server, monkeypatch
):
    """Another PYTHONPATH would import other modules: the fork server must not serve it."""
    notebooks = probe_notebooks(tmp_path / "nb", ("look", LOOK))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    seen = _run(notebooks, "look", tmp_path / "run")
    assert seen["parent"] == os.getpid() and not seen["preloaded"]
    assert str(tmp_path) in seen["path"]


def test_a_server_that_is_gone_means_kernels_start_as_usual(tmp_path, monkeypatch):
    notebooks = probe_notebooks(tmp_path / "nb", ("look", LOOK))
    monkeypatch.setenv(SERVER_VARIABLE, str(tmp_path / "no-such-socket"))
    seen = _run(notebooks, "look", tmp_path / "run")
    assert seen["parent"] == os.getpid()


def test_a_blocked_forked_kernel_is_stopped_at_the_cell_timeout(tmp_path, server):
    notebooks = probe_notebooks(
        tmp_path / "nb",
        ("blocks", "import os, time\nprint(os.getpid(), flush=True)\ntime.sleep(600)"),
    )
    run = run_scenario(
        "blocks", {}, out_dir=tmp_path / "run", notebooks_dir=notebooks, cell_timeout=2
    )
    assert run.status == "error" and "longer than 2" in run.error
    pid = int(observed_text(tmp_path / "run" / "blocks.ipynb").split()[0])
    assert not _alive(pid)


def observed_text(path: Path) -> str:
    import nbformat

    executed = nbformat.read(path, as_version=4)
    return "".join(o.get("text", "") for o in executed.cells[-1].outputs)


#: A process that asks the fork server for a kernel, says its pid, and waits to be killed.
ASKER = textwrap.dedent(
    """\
    import asyncio, sys, time
    from mcops.kernel_launch import OneRunKernelManager
    manager = OneRunKernelManager(kernel_name="python3")
    asyncio.run(manager.start_kernel())
    print(manager.provisioner.process.pid, flush=True)
    time.sleep(600)
    """
)


def test_a_kernel_ends_with_the_process_that_asked_for_it(tmp_path, server):
    environment = {**os.environ, "PYTHONPATH": kernel_pythonpath()}
    with subprocess.Popen(
        [sys.executable, "-c", ASKER], stdout=subprocess.PIPE, text=True, env=environment
    ) as asker:
        try:
            kernel = int(asker.stdout.readline())
            assert _alive_now(kernel)
            assert _parent_of(kernel) == server._process.pid  # forked by the server
        finally:
            asker.kill()
    assert not _alive(kernel)


#: A process that starts a fork server, says the server's pid, and waits to be killed.
OWNER = (
    "import time\nfrom mcops.kernel_forkserver import ForkServer\n"
    "server = ForkServer.start()\nprint(server._process.pid, flush=True)\ntime.sleep(600)"
)


def test_a_server_ends_with_the_process_that_started_it():
    with subprocess.Popen(
        [sys.executable, "-c", OWNER], stdout=subprocess.PIPE, text=True
    ) as owner:
        try:
            pid = int(owner.stdout.readline())
            assert _alive_now(pid)
        finally:
            owner.kill()
    assert not _alive(pid)


def test_only_ipykernel_on_the_same_python_and_import_variables_is_forked(server):
    environment = {name: os.environ.get(name) for name in kernel_forkserver.IMPORT_VARIABLES}
    environment = {name: value for name, value in environment.items() if value is not None}
    environment["PYTHONPATH"] = kernel_pythonpath()
    launcher = [sys.executable, "-m", "ipykernel_launcher", "-f", "x.json"]
    assert server.forks(launcher, environment)
    assert not server.forks(["/usr/bin/python3", *launcher[1:]], environment)  # another Python
    assert not server.forks([sys.executable, "-m", "other_kernel", "-f", "x"], environment)
    for name in kernel_forkserver.IMPORT_VARIABLES:
        assert not server.forks(launcher, {**environment, name: "/elsewhere"}), name


def _alive_now(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _parent_of(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])

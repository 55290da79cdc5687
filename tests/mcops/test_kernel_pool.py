"""Warm kernels (mcops.kernel_pool): real IPython kernels started through jupyter_client,
runs executed by papermill on them. What matters: a run on a warm kernel sees exactly
what a run on a cold one would, nothing of one run reaches the next, a dead kernel is
replaced, and the pool stays within the machine."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import nbformat
import pytest

from mcops import kernel_pool as pool_module
from mcops.kernel_forkserver import SERVER_VARIABLE
from mcops.kernel_pool import KERNEL_MEMORY, KernelPool, KernelStartFailed, max_kernels
from mcops.runner import ScenarioRun, kernel_pool, run_many, run_scenario

pytestmark = pytest.mark.slow

NOTEBOOKS = Path(__file__).parent / "notebooks"

#: What a run can see of the runs before it, printed as one JSON line.
OBSERVE = """\
import json, os, sys
print(json.dumps({
    "pid": os.getpid(),
    "cwd": os.getcwd(),
    "global": "leaked_global" in globals(),
    "environment": os.environ.get("MCOPS_LEAKED_VARIABLE"),
    "module": getattr(json, "leaked_attribute", None),
    "evidence_dir": os.environ.get("MCOPS_EVIDENCE_DIR"),
    "audit_log": os.environ.get("MCOPS_AUDIT_LOG"),
    "preloaded": "mcops.investigation" in sys.modules,
}))
"""

#: Everything a careless notebook could leave behind.
LEAVE = """\
import json, os
leaked_global = 1
os.environ["MCOPS_LEAKED_VARIABLE"] = "1"
json.leaked_attribute = 1
os.chdir("/")
"""


def probe_notebooks(directory: Path, *cells: tuple[str, str]) -> Path:
    """Notebooks named by ``cells`` (name, code), with the parameters cell mcops expects."""
    parameters = nbformat.read(NOTEBOOKS / "ok_check.ipynb", as_version=4).cells[1]
    directory.mkdir(parents=True, exist_ok=True)
    for name, code in cells:
        notebook = nbformat.v4.new_notebook(
            cells=[parameters, nbformat.v4.new_code_cell(code)],
            metadata={
                "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                "language_info": {"name": "python"},
            },
        )
        nbformat.write(notebook, directory / f"{name}.ipynb")
    return directory


def observed(out_dir: Path, name: str, cell: int = 1) -> dict:
    executed = nbformat.read(out_dir / f"{name}.ipynb", as_version=4)
    code = [c for c in executed.cells if c.cell_type == "code"]
    text = "".join(o.get("text", "") for o in code[cell].outputs if o.output_type == "stream")
    return json.loads(text.strip().splitlines()[0])


def test_nothing_of_one_run_reaches_the_next_and_each_sees_its_own_evidence_dir(tmp_path):
    notebooks = probe_notebooks(tmp_path / "nb", ("probe", OBSERVE + LEAVE))
    first, second = run_many(
        [
            ScenarioRun("probe", {}, tmp_path / "first"),
            ScenarioRun("probe", {}, tmp_path / "second"),
        ],
        notebooks_dir=notebooks,
        progress=False,
    )
    assert (first.status, second.status) == ("ok", "ok"), (first.error, second.error)
    seen = [observed(tmp_path / "first", "probe"), observed(tmp_path / "second", "probe")]
    for run, look in zip(("first", "second"), seen, strict=True):
        assert look["cwd"] == str(notebooks)  # papermill's cwd: the notebook's directory
        assert (look["global"], look["environment"], look["module"]) == (False, None, None)
        assert look["evidence_dir"] == str((tmp_path / run).resolve())
        assert look["audit_log"] == str((tmp_path / run / "audit.jsonl").resolve())
        assert look["preloaded"] is True  # warm: mcops was imported before the run
    assert seen[0]["pid"] != seen[1]["pid"]  # a fresh process for each run
    executed = nbformat.read(tmp_path / "second" / "probe.ipynb", as_version=4)
    counts = [c.execution_count for c in executed.cells if c.cell_type == "code"]
    assert counts == list(range(1, len(counts) + 1))  # the kernel's preparation counts none


#: The names a notebook's first cell sees, and whether the slow optional import ran.
NAMESPACE = """\
import sys
print(json.dumps({
    "names": sorted(n for n in globals() if not n.startswith("_")),
    "rfc3987_syntax": repr(sys.modules.get("rfc3987_syntax", "never imported")),
}))
"""


def test_a_warm_run_sees_the_namespace_a_cold_run_sees(tmp_path, monkeypatch):
    notebooks = probe_notebooks(tmp_path / "nb", ("names", "import json\n" + NAMESPACE))
    monkeypatch.delenv(SERVER_VARIABLE)  # truly cold: started, not forked
    cold = run_scenario("names", {}, out_dir=tmp_path / "cold", notebooks_dir=notebooks)
    with kernel_pool(1) as kernels:
        warm = run_scenario(
            "names", {}, out_dir=tmp_path / "warm", notebooks_dir=notebooks, kernels=kernels
        )
    assert (cold.status, warm.status) == ("ok", "ok"), (cold.error, warm.error)
    seen_cold, seen_warm = (
        observed(tmp_path / "cold", "names"),
        observed(tmp_path / "warm", "names"),
    )
    assert seen_warm["names"] == seen_cold["names"]  # the preload left no name behind
    assert "pandas" not in seen_warm["names"] and "mcops" not in seen_warm["names"]
    # mcops.slow_imports: both kernels skip the 2 s optional IRI validator jsonschema wants
    assert seen_cold["rfc3987_syntax"] == seen_warm["rfc3987_syntax"] == "None"


@pytest.mark.parametrize("fork", [True, False], ids=["own-fork-server", "started"])
def test_a_pool_without_a_shared_server_forks_from_its_own_or_starts_kernels(
    tmp_path, monkeypatch, fork
):
    """Outside this suite no server is shared: a pool starts its own (closed with it),
    or with ``fork=False`` starts each kernel as jupyter_client does."""
    parent = "print(os.getppid())\n"
    notebooks = probe_notebooks(
        tmp_path / "nb", ("probe", OBSERVE + parent + LEAVE), ("look", OBSERVE + parent)
    )
    monkeypatch.delenv(SERVER_VARIABLE)
    with KernelPool(1, kernel_name="python3", fork=fork) as kernels:
        runs = [
            run_scenario(
                name, {}, out_dir=tmp_path / name, notebooks_dir=notebooks, kernels=kernels
            )
            for name in ("probe", "look")
        ]
        server = kernels._fork_server
        server_pid = server._process.pid if server is not None else None
    assert [run.status for run in runs] == ["ok", "ok"], [run.error for run in runs]
    first, second = observed(tmp_path / "probe", "probe"), observed(tmp_path / "look", "look")
    assert first["pid"] != second["pid"] and first["preloaded"] and second["preloaded"]
    assert (second["global"], second["environment"], second["module"]) == (False, None, None)
    parents = {_printed_parent(tmp_path / name, name) for name in ("probe", "look")}
    if fork:
        assert parents == {server_pid} and not _alive(server_pid)  # closed with the pool
    else:
        assert server is None and parents == {os.getpid()}


def _printed_parent(out_dir: Path, name: str) -> int:
    executed = nbformat.read(out_dir / f"{name}.ipynb", as_version=4)
    text = "".join(o.get("text", "") for o in executed.cells[-1].outputs if "text" in o)
    return int(text.strip().splitlines()[1])


def test_a_kernel_that_died_while_waiting_is_replaced(tmp_path):
    notebooks = probe_notebooks(tmp_path / "nb", ("probe", OBSERVE))
    with kernel_pool(1) as kernels:
        waiting = _wait_ready(kernels)
        os.kill(waiting, signal.SIGKILL)
        assert not _alive(waiting)
        run = run_scenario(
            "probe", {}, out_dir=tmp_path / "run", notebooks_dir=notebooks, kernels=kernels
        )
        assert run.status == "ok", run.error
        assert observed(tmp_path / "run", "probe")["pid"] != waiting


def test_a_run_that_kills_or_blocks_its_kernel_leaves_the_next_run_unharmed(tmp_path):
    notebooks = probe_notebooks(
        tmp_path / "nb",
        ("dies", "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"),
        ("blocks", "import time\ntime.sleep(600)"),
        ("probe", OBSERVE),
    )
    with kernel_pool(1) as kernels:
        died = run_scenario(
            "dies", {}, out_dir=tmp_path / "dies", notebooks_dir=notebooks, kernels=kernels
        )
        blocked = run_scenario(
            "blocks",
            {},
            out_dir=tmp_path / "blocks",
            notebooks_dir=notebooks,
            kernels=kernels,
            cell_timeout=2,
        )
        fine = run_scenario(
            "probe", {}, out_dir=tmp_path / "probe", notebooks_dir=notebooks, kernels=kernels
        )
    assert died.status == "error" and "DeadKernel" in died.summary["error"]["ename"], died.summary
    assert blocked.status == "error" and "longer than 2" in blocked.error, blocked.error
    assert fine.status == "ok", fine.error
    assert observed(tmp_path / "probe", "probe")["preloaded"] is True


def test_the_blocked_kernel_is_shut_down_not_left_running(tmp_path):
    notebooks = probe_notebooks(
        tmp_path / "nb",
        ("blocks", "import os, time\nprint(os.getpid(), flush=True)\ntime.sleep(600)"),
    )
    with kernel_pool(1) as kernels:
        run = run_scenario(
            "blocks",
            {},
            out_dir=tmp_path / "run",
            notebooks_dir=notebooks,
            kernels=kernels,
            cell_timeout=2,
        )
    assert run.status == "error"
    executed = nbformat.read(tmp_path / "run" / "blocks.ipynb", as_version=4)
    pid = int(executed.cells[-1].outputs[0]["text"].split()[0])
    assert not _alive(pid)


def test_closing_the_pool_stops_every_kernel_it_holds():
    with KernelPool(2) as kernels:
        pids = _wait_ready(kernels, count=kernels.size)
    assert not any(_alive(pid) for pid in pids)


def test_the_pool_is_bounded_by_cores_and_memory(monkeypatch):
    monkeypatch.setattr(pool_module, "_available_memory", lambda: 10 * KERNEL_MEMORY)
    monkeypatch.setattr(os, "cpu_count", lambda: 3)
    assert max_kernels() == 3  # cores bind
    monkeypatch.setattr(pool_module, "_available_memory", lambda: 2 * KERNEL_MEMORY - 1)
    assert max_kernels() == 1  # memory binds: one kernel's worth and a little
    monkeypatch.setattr(pool_module, "_available_memory", lambda: 0)
    assert max_kernels() == 1  # never none: a run still gets its kernel
    monkeypatch.setattr(pool_module, "_available_memory", lambda: 2 * KERNEL_MEMORY)
    with KernelPool(50, kernel_name="mcops-no-such-kernel") as kernels:
        assert kernels.size == 2


def test_a_kernel_that_cannot_start_is_one_clear_error(tmp_path):
    with (
        KernelPool(1, kernel_name="mcops-no-such-kernel") as kernels,
        pytest.raises(KernelStartFailed, match=r"mcops-no-such-kernel.*mcops doctor"),
    ):
        kernels.take(cwd=tmp_path)


def _wait_ready(kernels: KernelPool, count: int = 1) -> list[int] | int:
    deadline = time.monotonic() + 120
    while kernels.ready < count:
        assert time.monotonic() < deadline, "no warm kernel within 120 s"
        time.sleep(0.1)
    pids = [kernel.pid for kernel in kernels._ready]
    assert all(pids)
    return pids[0] if count == 1 else pids


def _alive(pid: int) -> bool:
    deadline = time.monotonic() + 10  # a kernel being shut down may take a moment
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        if _zombie(pid):
            return False
        time.sleep(0.1)
    return True


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return False

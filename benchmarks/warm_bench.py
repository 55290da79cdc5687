"""Issue 15's warm-kernel goals, as ratios measured in one run against a lab of its own.

    .venv/bin/python -m benchmarks.warm_bench [--repeats N]

Starts `mcops lab up --fresh` in a temporary MCOPS_LAB_DIR (a user's lab is untouched)
and stops it at the end, also on error. Then, everything through the CLI as a user runs it:

- alert to evidence: `mcops alerts serve` with ``--warm-kernels 1`` and ``0`` (and, with
  ``--before REV``, the receiver of an older revision); a firing alert that falls back to
  triage is POSTed N times (each a new fingerprint), timed from the POST to its
  ``summary.json``. Goal: warm < 3 s and ≤ 0.3× before.
- every scenario in one `mcops report` vs one `mcops run triage`. Goal ≤ 4×.
- `run_bench`'s 10-cell notebook through `mcops run` vs the same cells without mcops
  through `papermill.execute_notebook`, and `mcops run A B C` per notebook. Goal ≤ 1.3×.

Prints a markdown table with each figure and its goal, then the warm triage run's slowest
cells (papermill's per-cell durations): where the alert's seconds go.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import nbformat
import papermill

from benchmarks.run_bench import make_notebook
from mcops.lab import LAB_DIR_ENV, running_lab_parameters
from mcops.runner import default_notebooks_dir, list_scenarios

ROOT = Path(__file__).resolve().parent.parent
MCOPS = [sys.executable, "-m", "mcops.cli"]
#: maps to no scenario, so the receiver runs its fallback: triage
ALERT = "WarmBenchTriage"
#: long enough for the receiver's next warm kernel to start and import mcops
SETTLE = 8.0


@dataclass
class Goal:
    """One measured figure beside what issue 15 asks of it."""

    what: str
    value: str
    goal: str
    met: bool | None

    def row(self) -> str:
        verdict = "" if self.met is None else ("met" if self.met else "not met")
        return f"| {self.what} | {self.value} | {self.goal} | {verdict} |"


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def mcops(*args: str, env: dict[str, str], check: bool = True) -> float:
    """Run the CLI as a user would; return its wall seconds."""
    started = time.perf_counter()
    done = subprocess.run(
        [*MCOPS, *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - started
    if check and done.returncode not in (0, 1):  # 1: a finding reached --fail-on
        raise RuntimeError(
            f"mcops {' '.join(args)}: exit {done.returncode}\n{done.stdout}{done.stderr}"
        )
    return seconds


@contextmanager
def lab(root: Path) -> Iterator[tuple[dict[str, str], dict[str, str]]]:
    """A fresh lab in ``root``: (its parameters, an environment whose children find it and
    hold its admin token). Stopped and purged on the way out, also on error."""
    env = {**os.environ, LAB_DIR_ENV: str(root)}
    try:
        mcops("lab", "up", "--fresh", env=env)
        parameters = running_lab_parameters(root)  # sets the token's env var in os.environ
        if parameters is None:
            raise RuntimeError(f"the lab in {root} did not come up")
        yield parameters, {**os.environ, LAB_DIR_ENV: str(root)}
    finally:
        mcops("lab", "down", "--purge", env=env, check=False)


@contextmanager
def receiver(
    evidence: Path,
    parameters: dict[str, str],
    env: dict[str, str],
    warm: int | None,
    tree: Path = ROOT,
) -> Iterator[str]:
    """`mcops alerts serve --warm-kernels WARM` of the source ``tree`` on a free port; yield
    its URL. ``warm`` None: a tree from before the flag existed (a kernel per alert)."""
    port = free_port()
    args = [arg for name, value in parameters.items() for arg in ("-p", f"{name}={value}")]
    if warm is not None:
        args += ["--warm-kernels", str(warm)]
    log = evidence.parent / f"receiver-{warm}-{tree.name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                *MCOPS,
                "alerts",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--evidence",
                str(evidence),
                *args,
            ],
            cwd=tree,
            env={**env, "PYTHONPATH": str(tree)},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"receiver did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def worktree(revision: str, where: Path) -> Iterator[Path]:
    """The source tree at ``revision`` (a detached git worktree), removed afterwards."""
    subprocess.run(
        ["git", "worktree", "add", "--detach", str(where), revision],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    try:
        yield where
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(where)], cwd=ROOT, check=False)


def alert_to_evidence(url: str, evidence: Path, n: int) -> list[tuple[float, Path]]:
    """POST ``n`` distinct firing alerts one at a time (each waits for the previous run's
    replacement kernel); seconds from each POST to its summary.json, and its evidence dir."""
    runs: list[tuple[float, Path]] = []
    for i in range(n):
        time.sleep(SETTLE)
        alert = {
            "status": "firing",
            "labels": {"alertname": ALERT, "severity": "critical"},
            "annotations": {"summary": "warm_bench"},
            "startsAt": f"2026-11-30T10:{i:02d}:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "fingerprint": f"warm-bench-{i}-{time.time_ns()}",  # never deduplicated
        }
        payload = {"version": "4", "status": "firing", "receiver": "mcops", "alerts": [alert]}
        started = time.perf_counter()
        answer = httpx.post(f"{url}/alerts", json=payload, timeout=10)
        answer.raise_for_status()
        [run_id] = answer.json()["queued"]
        out = evidence / run_id
        while not (out / "summary.json").exists():
            if time.perf_counter() - started > 300:
                raise RuntimeError(f"no summary.json in {out} after 300 s")
            time.sleep(0.02)
        runs.append((time.perf_counter() - started, out))
        summary = json.loads((out / "summary.json").read_text())
        if summary.get("status") == "error":
            raise RuntimeError(f"the triage run failed: {summary.get('error')}")
    return runs


def cell_seconds(notebook: Path) -> list[tuple[float, str]]:
    """Each code cell's duration as papermill recorded it, with the cell's first line."""
    nb = nbformat.read(notebook, as_version=4)
    return [
        (
            float(c.metadata.get("papermill", {}).get("duration") or 0.0),
            next((ln for ln in c.source.splitlines() if ln.strip()), "")[:60],
        )
        for c in nb.cells
        if c.cell_type == "code"
    ]


def plain_notebook(mcops_notebook: Path, out: Path) -> Path:
    """The same notebook with every line that uses mcops removed (papermill's floor)."""
    nb = nbformat.read(mcops_notebook, as_version=4)
    for cell in nb.cells:
        lines = [
            ln
            for ln in cell.source.splitlines()
            if not any(word in ln for word in ("mcops", "ctx", "Finding"))
        ]
        cell.source = "\n".join(lines) or "pass"
    nbformat.write(nb, out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="alerts and runs per figure")
    parser.add_argument(
        "--before",
        metavar="REV",
        default=None,
        help="also time the alert with the receiver of git revision REV (a worktree), the "
        "'today's' of the goal warm ≤ 0.3× before",
    )
    options = parser.parse_args(argv)
    n = options.repeats
    goals: list[Goal] = []
    with tempfile.TemporaryDirectory(prefix="warm-bench-") as tmp:
        root = Path(tmp)
        with lab(root / "lab") as (params, env):
            # a. alert to evidence, warm and cold
            alert_runs: dict[int, list[tuple[float, Path]]] = {}
            for warm in (1, 0):
                evidence = root / f"alerts-{warm}"
                evidence.mkdir()
                with receiver(evidence, params, env, warm) as url:
                    alert_runs[warm] = alert_to_evidence(url, evidence, n + 1)
            # the receiver's first run also pays its own process's first-run imports
            if options.before:
                evidence = root / "alerts-before"
                evidence.mkdir()
                with (
                    worktree(options.before, root / "before") as tree,
                    receiver(evidence, params, env, None, tree) as url,
                ):
                    alert_runs[-1] = alert_to_evidence(url, evidence, n + 1)
            first = {warm: runs.pop(0)[0] for warm, runs in alert_runs.items()}
            warm_s = statistics.median(s for s, _ in alert_runs[1])
            cold_s = statistics.median(s for s, _ in alert_runs[0])
            goals.append(
                Goal("alert → evidence, warm kernel", f"{warm_s:.2f} s", "< 3 s", warm_s < 3)
            )
            goals.append(Goal("alert → evidence, cold kernel", f"{cold_s:.2f} s", "", None))
            goals.append(
                Goal("warm ÷ cold", f"{warm_s / cold_s:.2f}×", "≤ 0.3×", warm_s / cold_s <= 0.3)
            )
            if options.before:
                before_s = statistics.median(s for s, _ in alert_runs[-1])
                goals.append(
                    Goal(f"alert → evidence at {options.before}", f"{before_s:.2f} s", "", None)
                )
                goals.append(
                    Goal(
                        f"warm ÷ {options.before}",
                        f"{warm_s / before_s:.2f}×",
                        "≤ 0.3×",
                        warm_s / before_s <= 0.3,
                    )
                )
            goals.append(
                Goal(
                    "first alert after start, warm / cold",
                    f"{first[1]:.2f} / {first[0]:.2f} s",
                    "",
                    None,
                )
            )
            cells = [cell_seconds(out / "triage.ipynb") for _, out in alert_runs[1]]

            # b. every scenario in one report vs one scenario
            scenarios = list_scenarios(default_notebooks_dir())
            p_args = [a for k, v in params.items() for a in ("-p", f"{k}={v}")]
            one = statistics.median(
                mcops(
                    "run",
                    "--lab",
                    "triage",
                    "--no-progress",
                    "--out",
                    str(root / f"one{i}"),
                    env=env,
                )
                for i in range(n)
            )
            report_dir = root / "report"
            every = mcops(
                "report",
                *scenarios,
                *p_args,
                "--no-png",
                "--no-progress",
                "--out",
                str(report_dir),
                env=env,
                check=False,
            )
            index = json.loads((report_dir / "index.json").read_text())
            failed = [
                f"{s['scenario']} ({(s.get('error') or '?').splitlines()[0][:120]})"
                for s in index.get("scenarios", [])
                if s.get("status") == "error"
            ]
        goals.append(Goal("`mcops run triage` (lab)", f"{one:.2f} s", "", None))
        goals.append(
            Goal(f"`mcops report` all {len(scenarios)} scenarios (lab)", f"{every:.2f} s", "", None)
        )
        goals.append(Goal("report ÷ one scenario", f"{every / one:.2f}×", "≤ 4×", every / one <= 4))

        # c. one notebook: mcops vs papermill alone
        bench_dir = root / "bench"
        bench_dir.mkdir()
        notebook = make_notebook(bench_dir)
        for name in ("bench_a", "bench_b", "bench_c"):
            (bench_dir / f"{name}.ipynb").write_bytes(notebook.read_bytes())
        plain = plain_notebook(notebook, root / "plain.ipynb")
        papermill.execute_notebook(  # warm-up: first kernel start and imports in this process
            str(plain), str(root / "pm-warm.ipynb"), kernel_name="python3", progress_bar=False
        )
        pm_times, pm_cli_times, run_times = [], [], []
        for i in range(n):
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "papermill", "--no-progress-bar", str(plain),
                 str(root / f"pmcli{i}.ipynb")],
                check=True, capture_output=True,
            )  # fmt: skip
            pm_cli_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            papermill.execute_notebook(
                str(plain),
                str(root / f"pm{i}.ipynb"),
                kernel_name="python3",
                progress_bar=False,
            )
            pm_times.append(time.perf_counter() - started)
            run_times.append(
                mcops(
                    "run",
                    "bench",
                    "--notebooks",
                    str(bench_dir),
                    "--no-progress",
                    "--out",
                    str(root / f"run{i}"),
                    env=env,
                )
            )
        many = (
            mcops(
                "run",
                "bench_a",
                "bench_b",
                "bench_c",
                "--notebooks",
                str(bench_dir),
                "--no-progress",
                "--out",
                str(root / "many"),
                env=env,
            )
            / 3
        )
        pm_s, run_s = statistics.median(pm_times), statistics.median(run_times)
        goals.append(Goal("10 cells, papermill API, no mcops", f"{pm_s:.2f} s", "", None))
        pm_cli = statistics.median(pm_cli_times)
        goals.append(Goal("10 cells, papermill CLI, no mcops", f"{pm_cli:.2f} s", "", None))
        goals.append(Goal("10 cells, `mcops run`", f"{run_s:.2f} s", "", None))
        goals.append(
            Goal("`mcops run` ÷ papermill", f"{run_s / pm_s:.2f}×", "≤ 1.3×", run_s / pm_s <= 1.3)
        )
        goals.append(
            Goal(
                "10 cells, `mcops run A B C` per notebook",
                f"{many:.2f} s",
                "≤ 1.3× papermill",
                many / pm_s <= 1.3,
            )
        )

    print(f"repeats {n} (medians); load average {os.getloadavg()[0]:.1f}\n")
    print("| what | measured | goal | |\n|---|---:|---|---|")
    for goal in goals:
        print(goal.row())
    print(f"\nreport: failed scenarios: {', '.join(failed) or 'none'}")
    per_cell = [
        (statistics.median(run[i][0] for run in cells), line)
        for i, (_, line) in enumerate(cells[0])
    ]
    cells_s = statistics.median(sum(s for s, _ in run) for run in cells)
    print(
        f"\nwarm triage runs: cells {cells_s:.2f} s of {warm_s:.2f} s POST → summary "
        "(the rest: kernel hand-over, nbclient, redaction, HTML, writes); slowest cells, median:"
    )
    print("| cell | s |\n|---|---:|")
    for seconds, line in sorted(per_cell, reverse=True)[:5]:
        print(f"| `{line}` | {seconds:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

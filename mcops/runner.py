"""Run scenario notebooks headless with papermill and write the evidence directory.

One run: check parameters (no kernel for a typo), execute into memory (the unredacted
notebook never touches the disk), redact, then write ``SCENARIO.ipynb``,
``SCENARIO.html`` and ``summary.json``, and redact ``audit.jsonl`` if the kernel's
remediations wrote one. A failed notebook still leaves its evidence, with ``"status":
"error"``; a full disk is `EvidenceUnwritable` (before the kernel when it is full already),
and every file is written whole or not at all (`mcops.storage`).

The kernel learns where evidence goes from its environment: ``MCOPS_EVIDENCE_DIR``
(backups) and ``MCOPS_AUDIT_LOG`` (audit records, one JSON object per line).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from mcops import errors
from mcops.evidence import nothing_checked_message, summary_from_notebook, worst_level
from mcops.findings import Level
from mcops.params import check_parameters, describe_notebook
from mcops.run_kernel import (
    AUDIT_LOG,
    AUDIT_LOG_ENV,
    CELL_TIMEOUT,
    EVIDENCE_DIR_ENV,
    KERNEL,
    Failure,
    execute,
    kernel_pool,
)
from mcops.scenario_dir import (
    NOTEBOOKS_ENV,
    NotebooksDir,
    default_notebooks_dir,
    find_notebook,
    list_scenarios,
    notebooks_dir_and_origin,
)
from mcops.secrets import Redactor, redactor_for, resolve
from mcops.storage import EVIDENCE_ELSEWHERE, check_room, storage_errors, write_atomic
from mcops.utc import iso_now

if TYPE_CHECKING:
    from mcops.kernel_pool import KernelPool

__all__ = [
    "AUDIT_LOG_ENV",
    "EVIDENCE_DIR_ENV",
    "NOTEBOOKS_ENV",
    "NotebooksDir",
    "RunResult",
    "ScenarioRun",
    "default_notebooks_dir",
    "find_notebook",
    "kernel_pool",
    "list_scenarios",
    "notebooks_dir_and_origin",
    "run_many",
    "run_scenario",
]

SUMMARY = "summary.json"

EXIT_OK = 0
EXIT_FAIL_ON = 1
EXIT_ERROR = 2


@dataclass(frozen=True)
class RunResult:
    """What one scenario run left behind."""

    scenario: str
    out_dir: Path
    summary: dict[str, Any] = field(repr=False)
    exit_code: int
    seconds: float

    @property
    def status(self) -> str:
        return str(self.summary["status"])

    @property
    def error(self) -> str:
        """The readable error message, empty when the notebook ran."""
        return str((self.summary.get("error") or {}).get("message", ""))

    @property
    def summary_path(self) -> Path:
        return self.out_dir / SUMMARY


class ScenarioRun(NamedTuple):
    """One entry of a `run_many` batch."""

    scenario: str
    """Notebook name without ``.ipynb``."""
    parameters: Mapping[str, Any] = {}
    """Values as papermill takes them (``env:NAME`` allowed)."""
    out_dir: Path | None = None
    """Evidence directory; None: ``evidence/<UTC timestamp>-SCENARIO``."""


def run_many(
    runs: Sequence[ScenarioRun],
    *,
    notebooks_dir: Path | None = None,
    fail_on: Level | str | None = None,
    progress: bool = True,
    cell_timeout: float | None = CELL_TIMEOUT,
) -> list[RunResult]:
    """Run several scenarios one after another; each next kernel warms while one runs."""
    with kernel_pool(1) as kernels:
        return [
            run_scenario(
                run.scenario,
                run.parameters,
                out_dir=run.out_dir,
                notebooks_dir=notebooks_dir,
                fail_on=fail_on,
                progress=progress,
                cell_timeout=cell_timeout,
                kernels=kernels,
            )
            for run in runs
        ]


def run_scenario(
    scenario: str,
    parameters: Mapping[str, Any],
    *,
    out_dir: Path | None = None,
    notebooks_dir: Path | None = None,
    fail_on: Level | str | None = None,
    progress: bool = True,
    kernel_name: str = KERNEL,
    cell_timeout: float | None = CELL_TIMEOUT,
    kernels: KernelPool | None = None,
) -> RunResult:
    """Execute ``notebooks_dir/SCENARIO.ipynb`` and write its evidence into ``out_dir``.

    Raises ParameterError before any kernel starts (unknown scenario or parameter,
    wrong type, unset ``env:`` variable). A notebook that fails is not an exception:
    the result has ``exit_code`` 2 and the error in its summary — so does a cell that
    runs longer than ``cell_timeout`` seconds (None: no limit). EvidenceUnwritable when
    ``out_dir`` cannot take the evidence (disk full, quota, read-only), before any kernel
    starts if it is so already. With ``kernels``, the run takes a warm kernel of the pool.
    """
    clock = time.perf_counter()
    notebook = find_notebook(scenario, notebooks_dir or default_notebooks_dir())
    given = check_parameters(parameters, describe_notebook(notebook), scenario=scenario)
    for name, value in given.items():
        resolve(value, name=name)  # an unset env: variable fails here, not in the kernel
    threshold = Level.parse(fail_on) if fail_on is not None else None
    redactor = redactor_for(given)
    out = Path(out_dir) if out_dir is not None else _default_out_dir(scenario)
    check_room(out)  # a full disk is said now, not after the notebook ran
    started_at = iso_now()
    executed, failure = execute(
        notebook, given, out=out, kernel_name=kernel_name, progress=progress,
        timeout=cell_timeout, kernels=kernels,
    )  # fmt: skip
    from mcops.bundle import QUERIES
    from mcops.bundle_figures import write_figures
    from mcops.bundle_manifest import seal

    with storage_errors(out, elsewhere=EVIDENCE_ELSEWHERE):  # the disk filled during the run
        summary = _write_evidence(
            scenario, executed, failure, given=given, out=out, redactor=redactor,
            started_at=started_at, notebook=notebook,
        )  # fmt: skip
        _scrub(out / QUERIES, redactor)  # the kernel wrote it: no known secret leaves with it
        write_figures(out)  # PNGs when MCOPS_FIGURES=png and Chromium is here; never fatal
        seal(out)  # last: the SHA-256 of every file written above (`mcops verify`)
    exit_code = _exit_code(summary, threshold)
    return RunResult(scenario, out, summary, exit_code, time.perf_counter() - clock)


def _write_evidence(
    scenario: str,
    executed: Any,
    failure: Failure | None,
    *,
    given: Mapping[str, Any],
    out: Path,
    redactor: Redactor,
    started_at: str,
    notebook: Path,
) -> dict[str, Any]:
    import nbformat

    from mcops.export import write_report

    artifacts: list[str] = []
    kernel_summary: dict[str, Any] = {}
    error_cell: tuple[int, int | None] | None = None
    if executed is not None:
        executed = redactor.notebook(executed)
        executed.metadata.setdefault("papermill", {})["output_path"] = str(out / notebook.name)
        kernel_summary = summary_from_notebook(executed) or {}
        error_cell = _error_cell(executed)
        write_atomic(out / f"{scenario}.ipynb", nbformat.writes(executed) + "\n")
        artifacts.append(f"{scenario}.ipynb")
    summary: dict[str, Any] = {
        "scenario": scenario,
        "status": "ok",
        "started_at": started_at,
        "finished_at": iso_now(),
        "parameters": {
            **kernel_summary.get("parameters", {}),
            **{name: redactor.parameter(value) for name, value in given.items()},
        },
        "severity": kernel_summary.get("severity"),
        "findings": kernel_summary.get("findings", []),
        "remediations": kernel_summary.get("remediations", []),
        "sources": kernel_summary.get("sources", {}),
        "artifacts": artifacts,
    }
    error = _error(scenario, failure, error_cell, summary)
    if error is not None:
        summary["status"] = "error"
        summary["error"] = error
    if executed is not None:
        artifacts += write_report(executed, out, scenario, summary=redactor.value(summary))
    if _redact_audit_log(out / AUDIT_LOG, redactor):
        artifacts.append(AUDIT_LOG)
    summary = redactor.value(summary)
    write_atomic(out / SUMMARY, json.dumps(summary, indent=2) + "\n")
    for name in [*artifacts, SUMMARY]:
        _scrub(out / name, redactor)
    return summary


def _error(
    scenario: str,
    failure: Failure | None,
    cell: tuple[int, int | None] | None,
    summary: Mapping[str, Any],
) -> dict[str, Any] | None:
    if failure is None:
        message = nothing_checked_message(scenario, summary["findings"], summary["sources"])
        if message is None:
            return None
        return {"cell": None, "ename": "NotebookFailed", "evalue": message, "message": message}
    index, count = cell if cell is not None else (None, None)
    if failure.ename in errors.__all__:
        message = failure.evalue  # our own errors are complete sentences already
    else:
        where = f"cell {index}" if index is not None else "the notebook"
        message = f"{scenario}: {where} raised {failure.ename}: {failure.evalue}"
    return {
        "cell": index,
        "execution_count": count,
        "ename": failure.ename,
        "evalue": failure.evalue,
        "message": message,
    }


def _error_cell(nb: Any) -> tuple[int, int | None] | None:
    """Index (in the saved notebook) and execution count of the first failing cell."""
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                return index, cell.get("execution_count")
    return None


def _exit_code(summary: Mapping[str, Any], threshold: Level | None) -> int:
    if summary["status"] == "error":
        return EXIT_ERROR
    worst = worst_level(summary["findings"])
    if threshold is not None and worst is not None and worst >= threshold:
        return EXIT_FAIL_ON
    return EXIT_OK


def _redact_audit_log(path: Path, redactor: Redactor) -> bool:
    """Rewrite the kernel's audit log with secrets masked; False when there is none."""
    if not path.is_file():
        return False
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            lines.append(json.dumps(redactor.value(json.loads(line))))
        except json.JSONDecodeError:
            lines.append(redactor.text(line))
    write_atomic(path, "".join(f"{line}\n" for line in lines))  # a full disk keeps the old
    return True


def _scrub(path: Path, redactor: Redactor) -> None:
    """Last guard: no file leaves with a known secret, whatever the kernel printed."""
    if not path.is_file() or not redactor.secrets:
        return
    text = path.read_text(encoding="utf-8")
    if redactor.leaks(text):
        for secret in redactor.secrets:
            text = text.replace(secret, "***")
        write_atomic(path, text)


def _default_out_dir(scenario: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    base = Path("evidence") / f"{stamp}-{scenario}"
    candidate, n = base, 1
    while candidate.exists():
        n += 1
        candidate = base.with_name(f"{base.name}-{n}")
    return candidate

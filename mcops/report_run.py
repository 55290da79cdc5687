"""Run a report: several scenarios, each into ``DIR/<scenario>/``, then the index.

Every scenario's parameters are checked before any kernel starts, so a typo in a
scheduled weekly report fails in a second, not after the first notebook. Scenarios run
``jobs`` at a time, each on a warm kernel of one pool (`mcops.kernel_pool`): a kernel
is started and has mcops imported while the scenarios before it run, and it learns where
its evidence goes when it is taken, so the runs can share this process.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from contextlib import nullcontext
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

from mcops.params import check_parameters, describe_notebook
from mcops.report_compare import compare, find_previous, load_previous
from mcops.report_index import build_index, read_entry, write_index
from mcops.report_sets import SETS, ReportSet, resolve
from mcops.runner import (
    RunResult,
    ScenarioRun,
    default_notebooks_dir,
    find_notebook,
    kernel_pool,
    list_scenarios,
    run_scenario,
)
from mcops.secrets import redactor_for
from mcops.secrets import resolve as resolve_secret
from mcops.storage import EVIDENCE_ELSEWHERE, check_room, storage_errors
from mcops.utc import iso_now

__all__ = ["Done", "Report", "Start", "default_jobs", "default_out_dir", "plan_runs", "run_report"]

#: Called in the parent as each scenario finishes: its name and status (ok/error).
Done = Callable[[str, str], None]
#: Called in the parent once every parameter is checked: how many scenarios will run.
Start = Callable[[int], None]
#: Runs one scenario (the default takes a warm kernel of the report's pool).
RunOne = Callable[[ScenarioRun, Path | None, str | None], RunResult]


class Report(NamedTuple):
    """What `run_report` wrote."""

    out_dir: Path
    index: dict[str, Any]
    """The content of index.json."""
    exit_code: int
    """0, 1 (a finding reached ``fail_on``) or 2 (a scenario errored)."""


def default_jobs() -> int:
    """Two scenarios at a time, or one on a single core."""
    return min(2, os.cpu_count() or 1)


def default_out_dir(request: Sequence[str]) -> Path:
    """``evidence/reports/<request>-<UTC stamp>/``: beside earlier reports, so they are
    compared, and kept out of git like all evidence."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Path("evidence") / "reports" / f"{'+'.join(request)}-{stamp}"


def plan_runs(
    names: Sequence[str],
    parameters: Mapping[str, Any],
    *,
    out_dir: Path,
    notebooks_dir: Path | None = None,
    sets: Mapping[str, ReportSet] = SETS,
) -> tuple[list[ScenarioRun], tuple[str, ...]]:
    """The runs of a request, every parameter checked; ParameterError before any kernel."""
    notebooks = notebooks_dir or default_notebooks_dir()
    selection = resolve(names, list_scenarios(notebooks), sets=sets)
    runs = []
    for scenario in selection.scenarios:
        given = {**selection.defaults[scenario], **parameters}
        declared = describe_notebook(find_notebook(scenario, notebooks))
        checked = check_parameters(given, declared, scenario=scenario)
        for name, value in checked.items():
            resolve_secret(value, name=name)  # an unset env: variable fails now
        runs.append(ScenarioRun(scenario, checked, out_dir / scenario))
    return runs, selection.sets


def run_report(
    names: Sequence[str],
    parameters: Mapping[str, Any],
    *,
    out_dir: Path | None = None,
    notebooks_dir: Path | None = None,
    jobs: int | None = None,
    fail_on: str | None = None,
    compare_with: Path | None = None,
    on_start: Start | None = None,
    on_done: Done | None = None,
    run_one: RunOne | None = None,
    sets: Mapping[str, ReportSet] = SETS,
) -> Report:
    """Run the scenarios of ``names`` (sets and scenarios) and write the report's index.

    Raises ParameterError before any run for unknown names, bad parameters, or a
    ``compare_with`` that is not a report; EvidenceUnwritable when ``out_dir``'s disk is
    full, over quota or read-only. Without ``compare_with`` the latest earlier
    report of the same request beside ``out_dir`` is compared, if there is one.
    """
    out = Path(out_dir) if out_dir is not None else default_out_dir(names)
    runs, used_sets = plan_runs(
        names, parameters, out_dir=out, notebooks_dir=notebooks_dir, sets=sets
    )
    previous = compare_with or find_previous(out, names)
    if compare_with is not None:
        load_previous(compare_with)  # not a report: say so before any kernel starts
    check_room(out)  # a full disk is said before any kernel starts
    if on_start is not None:
        on_start(len(runs))
    started_at = iso_now()
    failures = _execute(
        runs,
        notebooks_dir=notebooks_dir,
        fail_on=fail_on,
        jobs=jobs or default_jobs(),
        on_done=on_done or (lambda _scenario, _status: None),
        run_one=run_one or _run_one,
    )
    entries = [
        read_entry(out, run.scenario, failure=failures.get(run.scenario, "")) for run in runs
    ]
    redactor = redactor_for(parameters)
    index = build_index(
        entries,
        request=names,
        sets=used_sets,
        parameters={name: redactor.parameter(value) for name, value in parameters.items()},
        started_at=started_at,
        finished_at=iso_now(),
        fail_on=fail_on,
        comparison=compare(previous, entries, report_dir=out) if previous else None,
    )
    index = redactor.value(index)
    with storage_errors(out, elsewhere=EVIDENCE_ELSEWHERE):
        write_index(out, index)
    return Report(out, index, int(index["exit_code"]))


def _run_one(
    run: ScenarioRun, notebooks_dir: Path | None, fail_on: str | None, *, kernels: Any = None
) -> RunResult:
    return run_scenario(
        run.scenario,
        run.parameters,
        out_dir=run.out_dir,
        notebooks_dir=notebooks_dir,
        fail_on=fail_on,
        progress=False,
        kernels=kernels,
    )


def _execute(
    runs: Sequence[ScenarioRun],
    *,
    notebooks_dir: Path | None,
    fail_on: str | None,
    jobs: int,
    on_done: Done,
    run_one: RunOne,
) -> dict[str, str]:
    """Run everything; return, per scenario that raised instead of finishing, why."""
    failures: dict[str, str] = {}
    workers = max(1, min(jobs, len(runs)))
    warm = run_one is _run_one and len(runs) > 1  # one run alone gains nothing from a pool
    with kernel_pool(workers) if warm else nullcontext() as kernels:
        if kernels is not None:
            run_one = partial(_run_one, kernels=kernels)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mcops-report") as pool:
            futures: dict[Future[RunResult], str] = {
                pool.submit(run_one, run, notebooks_dir, fail_on): run.scenario for run in runs
            }
            for future in as_completed(futures):
                scenario = futures[future]
                try:
                    status = future.result().status
                except Exception as exc:  # one broken run must not lose the others' evidence
                    failures[scenario] = _why(scenario, exc)
                    status = "error"
                on_done(scenario, status)
    return failures


def _why(scenario: str, exc: BaseException) -> str:
    return f"{scenario}: the run raised {type(exc).__name__}: {exc} (no evidence written)"

"""Replay an evidence bundle offline: the notebook again, its checks fed the recorded data.

``mcops replay DIR`` re-executes DIR's scenario notebook with DIR's parameters, every
source parameter blanked (no database, service, Prometheus or log source is reachable,
and the Kubernetes client gets no configuration), remediations never applied, ``until``
set to the recorded window's end, and ``MCOPS_REPLAY_DIR`` telling `Investigation.check`
to judge the frames kept in ``DIR/data`` (`mcops.bundle`). Its findings are then
compared with the recorded ones (check, level, title, count).

What a replay cannot reproduce, it says instead of comparing:

- findings recorded outside `Investigation.check` (``inv.record(...)``: procedure
  steps, findings derived from a checked frame) have no frame of their own in ``data/``:
  each is compared when the replay judged it the same (derived from replayed frames, as
  triage's key metrics are), and listed as not replayable otherwise;
- a frame Parquet could not hold (``queries.json`` gives the error);
- remediations: none is planned in a replay (no target is reachable), so the checks
  that judge a remediation's result (kind ``verification`` in the registry:
  ``duplicates_removed`` after a plan, a procedure's steps) are listed, not compared.

A bundle whose files no longer match its ``manifest.json`` is refused: replaying
changed data would prove nothing (``ignore_manifest`` replays it anyway).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mcops.bundle import REPLAY_DIR_ENV, read_queries
from mcops.bundle_manifest import MANIFEST, Drift, verify
from mcops.errors import McopsError
from mcops.run_kernel import environment_set
from mcops.runner import SUMMARY, RunResult, find_notebook, run_scenario

__all__ = ["COMPARED", "Replay", "compare", "replay", "replay_parameters"]

#: The fields of a finding a replay must reproduce.
COMPARED = ("level", "title", "count")
#: Parameters that reach a source or hold a secret: blank in a replay.
_SOURCE = re.compile(r"(?i)(_url$|^log_source$|token|password|secret|api_?key)")


@dataclass(frozen=True)
class Replay:
    """What one replay found."""

    bundle: Path
    run: RunResult | None
    """The replay's own run (its evidence in ``run.out_dir``); None when refused."""
    identical: tuple[str, ...] = ()
    differences: tuple[str, ...] = ()
    not_replayable: tuple[str, ...] = ()
    drift: Drift | None = None
    """How the bundle differs from its manifest; None when it has no manifest."""

    @property
    def refused(self) -> bool:
        return self.run is None

    @property
    def exit_code(self) -> int:
        drifted = self.drift is not None and not self.drift.ok
        return 1 if (self.refused or self.differences or drifted) else 0

    def lines(self) -> list[str]:
        """The report `mcops replay` prints."""
        out: list[str] = []
        if self.drift is None:
            out.append(f"{self.bundle} has no {MANIFEST}: its files could not be verified")
        elif not self.drift.ok:
            out.append(f"{self.bundle} does not match its {MANIFEST}:")
            out += [f"  {line}" for line in self.drift.lines()]
        if self.run is None:
            out.append("not replayed: the recorded data is not what was recorded")
            return out
        out.append(f"replayed {self.run.scenario} offline into {self.run.out_dir}")
        if self.identical:
            out.append(f"identical ({len(self.identical)}): {', '.join(self.identical)}")
        if self.differences:
            out.append(f"different ({len(self.differences)}):")
            out += [f"  {line}" for line in self.differences]
        if self.not_replayable:
            out.append("not replayable (compared no further):")
            out += [f"  {line}" for line in self.not_replayable]
        out.append("remediations: not planned in a replay (no target is reachable)")
        verdict = "differ" if self.differences else "are identical"
        out.append(f"the replayed findings {verdict}")
        return out


def replay_parameters(
    summary: Mapping[str, Any], queries: Mapping[str, Any], declared: Sequence[str]
) -> dict[str, Any]:
    """The recorded parameters the notebook declares, with every source and secret blank,
    nothing applied, and ``until`` at the end of the recorded window."""
    parameters: dict[str, Any] = {}
    for name, value in (summary.get("parameters") or {}).items():
        if name not in declared:
            continue
        secret = isinstance(value, str) and ("***" in value or value.startswith("env:"))
        parameters[name] = "" if _SOURCE.search(name) or secret else value
    if "apply_remediation" in declared:
        parameters["apply_remediation"] = False
    until = (queries.get("window") or {}).get("until")
    if until and "until" in declared:
        parameters["until"] = until
    return parameters


def compare(
    recorded: Sequence[Mapping[str, Any]],
    replayed: Sequence[Mapping[str, Any]],
    checks: Mapping[str, Mapping[str, Any]],
) -> tuple[list[str], list[str], list[str]]:
    """(identical check ids, differences, not replayable) of two summary.json finding
    lists; ``checks`` is queries.json's: the checks whose frame (or "not checked") the
    bundle kept."""
    before = {f["check"]: f for f in recorded}
    after = {f["check"]: f for f in replayed}
    identical: list[str] = []
    differences: list[str] = []
    not_replayable: list[str] = []
    for check, finding in before.items():
        entry = checks.get(check)
        if _judges_a_remediation(check):
            not_replayable.append(f"{check}: judges a remediation's result (none in a replay)")
            continue
        if entry is None:  # judged outside inv.check: compared when the replay judged it
            again = after.get(check)
            changed = [f for f in COMPARED if again is None or finding.get(f) != again.get(f)]
            if not changed:
                identical.append(check)
            else:
                why = "not judged in the replay" if again is None else "judged differently"
                not_replayable.append(f"{check}: recorded outside inv.check; {why}")
            continue
        if not entry.get("data") and not entry.get("not_checked"):
            not_replayable.append(f"{check}: {entry.get('error', 'no frame kept')}")
            continue
        again = after.get(check)
        if again is None:
            differences.append(f"{check}: not judged in the replay")
            continue
        changed = [
            f"{field} {finding.get(field)!r} → {again.get(field)!r}"
            for field in COMPARED
            if finding.get(field) != again.get(field)
        ]
        if changed:
            differences.append(f"{check}: {'; '.join(changed)}")
        else:
            identical.append(check)
    differences += [
        f"{check}: only in the replay ({again.get('level')}: {again.get('title')})"
        for check, again in after.items()
        if check not in before and check in checks
    ]
    return identical, differences, not_replayable


def _judges_a_remediation(check: str) -> bool:
    """A check of kind ``verification`` reads the state a remediation left (duplicates
    removed, stale meetings ended): a replay plans none, so it cannot judge it again."""
    from mcops.registry import CHECKS

    spec = CHECKS.get(check)
    return spec is not None and spec.kind == "verification"


def replay(
    bundle: Path,
    *,
    out_dir: Path | None = None,
    notebooks_dir: Path | None = None,
    ignore_manifest: bool = False,
    progress: bool = False,
) -> Replay:
    """Replay ``bundle`` into ``out_dir`` (default: ``<bundle>-replay``) and compare."""
    from mcops.params import describe_notebook
    from mcops.runner import default_notebooks_dir

    bundle = Path(bundle).resolve()
    summary = _summary(bundle)
    drift = verify(bundle) if (bundle / MANIFEST).is_file() else None
    if drift is not None and not drift.ok and not ignore_manifest:
        return Replay(bundle, None, drift=drift)
    scenario = str(summary["scenario"])
    notebook = find_notebook(scenario, notebooks_dir or default_notebooks_dir())
    queries = read_queries(bundle)
    parameters = replay_parameters(summary, queries, list(describe_notebook(notebook)))
    out = Path(out_dir) if out_dir is not None else _next_to(bundle)
    if out.resolve() == bundle:
        raise McopsError(f"--out {out} is the bundle itself — fix: replay into another dir")
    with _offline(bundle):
        run = run_scenario(
            scenario, parameters, out_dir=out, notebooks_dir=notebook.parent, progress=progress
        )
    identical, differences, not_replayable = compare(
        summary.get("findings", []), run.summary.get("findings", []), queries["checks"]
    )
    if run.status != summary.get("status"):
        differences.insert(0, f"run status {summary.get('status')!r} → {run.status!r} {run.error}")
    return Replay(bundle, run, tuple(identical), tuple(differences), tuple(not_replayable), drift)


def _summary(bundle: Path) -> dict[str, Any]:
    path = bundle / SUMMARY
    if not path.is_file():
        raise McopsError(
            f"{bundle} has no {SUMMARY} — fix: point at an evidence directory written by "
            "`mcops run`"
        )
    return json.loads(path.read_text(encoding="utf-8"))


def _next_to(bundle: Path) -> Path:
    candidate, n = bundle.with_name(f"{bundle.name}-replay"), 1
    while candidate.exists():
        n += 1
        candidate = bundle.with_name(f"{bundle.name}-replay-{n}")
    return candidate


def _offline(bundle: Path) -> AbstractContextManager[None]:
    """The kernel's environment: the bundle to read, and no Kubernetes configuration."""
    return environment_set(
        {
            REPLAY_DIR_ENV: str(bundle),
            "KUBECONFIG": str(bundle / "no-kubeconfig-in-a-replay"),
            "KUBERNETES_SERVICE_HOST": "",
        }
    )

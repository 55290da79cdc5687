"""`mcops alerts serve`: an Alertmanager webhook that opens the right notebook.

A firing alert starts its scenario notebook headless, in plan mode only (the receiver
forces ``apply_remediation=False``), with the alert's labels as parameters. An alert
whose scenario has no notebook yet runs ``triage`` instead, and the run says why.
Repeats of one alert (same fingerprint and start) are run once; work waits in a
bounded queue (a full queue answers 503 so Alertmanager retries later); each run's
evidence is served back under ``/runs`` (`mcops.alerts_http`).

Execution and the notebooks' declared parameters are injected (``execute``,
``declared``), so tests drive the real app with a tiny notebook directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections import OrderedDict
from collections.abc import Callable, Collection, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = [
    "FALLBACK_SCENARIO",
    "LABEL_PARAMETERS",
    "AlertReceiver",
    "AlertRun",
    "BadPayload",
    "Declared",
    "Executor",
    "QueueFull",
    "declared_in",
    "parameters_for",
]

#: alert labels that become notebook parameters of the same name
LABEL_PARAMETERS = ("namespace", "deployment", "convo_id", "meeting_id", "mc_id")
#: the scenario run when an alert's own notebook does not exist yet
FALLBACK_SCENARIO = "triage"

#: ``execute(scenario, parameters, out_dir)`` → ``{"exit_code": int, "summary": dict}``
Executor = Callable[[str, dict[str, Any], Path], Mapping[str, Any]]
#: ``declared(scenario)`` → the notebook's parameter names, None when it has no notebook
Declared = Callable[[str], Collection[str] | None]


@dataclass
class AlertRun:
    """One alert turned into one notebook run (mutable: its status moves on)."""

    id: str
    alert: str
    scenario: str
    fingerprint: str
    starts_at: str
    parameters: dict[str, Any]
    received_at: str
    note: str = ""
    ignored_parameters: list[str] = field(default_factory=list)
    status: str = "queued"  # queued | running | ok | error
    exit_code: int | None = None
    finished_at: str = ""
    evidence_dir: str = ""
    summary: dict[str, Any] = field(default_factory=dict)

    def public(self) -> dict[str, Any]:
        """The JSON shape of GET /runs/{id}: the run plus the evidence files it left."""
        data = asdict(self)
        folder = Path(self.evidence_dir) if self.evidence_dir else None
        data["files"] = (
            sorted(p.name for p in folder.iterdir() if p.is_file())
            if folder is not None and folder.is_dir()
            else []
        )
        return data


def parameters_for(
    alert: Mapping[str, Any],
    defaults: Mapping[str, Any],
    *,
    declared: Collection[str] | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """The notebook parameters for one alert, and the names dropped as undeclared.

    Receiver defaults first, then the alert's labels (``LABEL_PARAMETERS``); with
    ``declared``, only names the notebook declares are kept. ``startsAt`` becomes
    ``incident_started`` (004: "P2 persists for > 2 hours → P1" needs the start).
    ``apply_remediation`` is always False: an alert never changes anything by itself.
    """
    labels = alert.get("labels") or {}
    params = dict(defaults)
    for name in LABEL_PARAMETERS:
        if labels.get(name):
            params[name] = str(labels[name])
    started = str(alert.get("startsAt") or "")
    if started and not started.startswith("0001-"):  # Go's zero time: not started
        params["incident_started"] = started
    if labels.get("runbook") == "004":  # runbook 004 classifies in P1–P4
        params.setdefault("severity_scheme", "P")
    params["apply_remediation"] = False
    if declared is None:
        return params, []
    kept = {k: v for k, v in params.items() if k in declared}
    added = ("severity_scheme", "incident_started")  # ours, not the user's: drop quietly
    ignored = sorted(k for k in params if k not in declared and k not in added)
    return kept, ignored


def declared_in(notebooks_dir: Path) -> Declared:
    """``declared`` for the notebooks in ``notebooks_dir`` (read at each alert: new
    notebooks are picked up without a restart)."""

    def declared(scenario: str) -> Collection[str] | None:
        from mcops.params import describe_notebook

        path = notebooks_dir / f"{scenario}.ipynb"
        if not path.is_file():
            return None
        return frozenset(describe_notebook(path))

    return declared


class QueueFull(Exception):
    """Raised by `AlertReceiver.accept` when the new runs do not fit the queue."""


class BadPayload(ValueError):
    """The body is not an Alertmanager webhook (version 4) payload."""


def _check_payload(payload: Any) -> list[Mapping[str, Any]]:
    if not isinstance(payload, dict) or not isinstance(payload.get("alerts"), list):
        raise BadPayload("expected an Alertmanager webhook: an object with 'alerts': [...]")
    for index, alert in enumerate(payload["alerts"]):
        if not isinstance(alert, dict) or not isinstance(alert.get("labels"), dict):
            raise BadPayload(f"alerts[{index}] is not an object with a 'labels' object")
        if not alert["labels"].get("alertname"):
            raise BadPayload(f"alerts[{index}] has no 'alertname' label")
    return payload["alerts"]


_SCENARIO_NAME = re.compile(r"[a-z][a-z0-9_]*")
_START = re.compile(r"^(?P<base>[^.]+?)(?:\.(?P<fraction>\d+))?(?P<zone>Z|[+-]\d\d:?\d\d)?$")


def _start_key(starts_at: Any) -> str:
    """``startsAt`` to millisecond precision: the webhook says nanoseconds, Alertmanager's
    API milliseconds, and both name the same firing."""
    text = str(starts_at or "")
    match = _START.match(text)
    if match is None:
        return text
    fraction = (match["fraction"] or "").ljust(3, "0")[:3]
    return f"{match['base']}.{fraction}{match['zone'] or ''}"


class AlertReceiver:
    """Deduplicate, queue and execute alert-triggered runs, one at a time."""

    def __init__(
        self,
        *,
        scenarios: Mapping[str, str],
        defaults: Mapping[str, Any],
        evidence_root: Path,
        execute: Executor,
        declared: Declared | None = None,
        max_queue: int = 20,
        max_runs_kept: int = 500,
        max_seen: int = 10_000,
    ) -> None:
        self.scenarios = dict(scenarios)
        self.defaults = dict(defaults)
        self.evidence_root = Path(evidence_root)
        self.execute = execute
        self.declared = declared
        self.max_queue = max_queue
        self.max_runs_kept = max_runs_kept
        self.max_seen = max_seen
        self.runs: OrderedDict[str, AlertRun] = OrderedDict()
        self._seen: OrderedDict[tuple[str, str], str] = OrderedDict()
        self._queue: asyncio.Queue[AlertRun] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._counter = 0

    @property
    def queue(self) -> asyncio.Queue[AlertRun]:
        if self._queue is None:  # created on the serving loop, not at construction
            self._queue = asyncio.Queue(maxsize=self.max_queue)
        return self._queue

    # ---- intake --------------------------------------------------------------------
    def _scenario(self, name: str, labels: Mapping[str, Any]) -> tuple[str, str, Any] | None:
        """(scenario, note, declared names) for an alert; None when nothing can run."""
        wanted = str(labels.get("scenario") or self.scenarios.get(name) or "")
        if wanted and not _SCENARIO_NAME.fullmatch(wanted):  # a label never names a path
            return self._fallback(f"scenario label {wanted!r} is not a scenario name")
        if self.declared is None:
            return (wanted, "", None) if wanted else None
        if wanted:
            names = self.declared(wanted)
            if names is not None:
                return wanted, "", names
            return self._fallback(f"no notebook for scenario {wanted!r} yet")
        return self._fallback(f"alert {name!r} maps to no scenario")

    def _fallback(self, why: str) -> tuple[str, str, Any] | None:
        names = None if self.declared is None else self.declared(FALLBACK_SCENARIO)
        if self.declared is not None and names is None:
            return None
        return FALLBACK_SCENARIO, f"{why}; ran {FALLBACK_SCENARIO} instead", names

    def accept(self, payload: Any) -> tuple[list[AlertRun], list[str]]:
        """Queue a run per new firing alert; return (queued runs, reasons for skipped ones).

        Raises BadPayload for a body that is not a webhook payload, and QueueFull when
        the new runs do not fit, before queuing any of them (Alertmanager then retries
        the whole group and deduplication keeps the retry from running twice).
        """
        alerts = _check_payload(payload)
        fresh: list[tuple[tuple[str, str], str, AlertRun]] = []
        skipped: list[str] = []
        for alert in alerts:
            labels = alert["labels"]
            name = str(labels["alertname"])
            if alert.get("status", "firing") != "firing":
                skipped.append(f"{name}: {alert.get('status')}, not firing")
                continue
            key = (str(alert.get("fingerprint") or name), _start_key(alert.get("startsAt")))
            if key in self._seen or any(key == k for k, _, _ in fresh):
                skipped.append(f"{name}: already run as {self._seen.get(key, 'this batch')}")
                continue
            chosen = self._scenario(name, labels)
            if chosen is None:
                skipped.append(f"{name}: no scenario notebook and no {FALLBACK_SCENARIO}")
                continue
            scenario, note, names = chosen
            params, ignored = parameters_for(alert, self.defaults, declared=names)
            now = datetime.now(UTC)
            self._counter += 1
            run = AlertRun(
                id=f"{now:%Y%m%dT%H%M%S}-{self._counter:04d}-{scenario}",
                alert=name,
                scenario=scenario,
                fingerprint=key[0],
                starts_at=key[1],
                parameters=params,
                received_at=now.isoformat(),
                note=note,
                ignored_parameters=ignored,
            )
            fresh.append((key, name, run))
        if len(fresh) > self.queue.maxsize - self.queue.qsize():
            raise QueueFull(f"{len(fresh)} new runs, {self.queue.qsize()} already waiting")
        for key, _, run in fresh:
            self._seen[key] = run.id
            while len(self._seen) > self.max_seen:
                self._seen.popitem(last=False)
            self._remember(run)
            self.queue.put_nowait(run)
        return [run for _, _, run in fresh], skipped

    def _remember(self, run: AlertRun) -> None:
        self.runs[run.id] = run
        while len(self.runs) > self.max_runs_kept:
            self.runs.popitem(last=False)

    # ---- work ------------------------------------------------------------------------
    async def work(self) -> None:
        """Run queued alerts one at a time, in a thread (papermill blocks)."""
        while True:
            run = await self.queue.get()
            run.status = "running"
            out_dir = self.evidence_root / run.id
            run.evidence_dir = str(out_dir)
            try:
                result = await asyncio.to_thread(
                    _in_worker_thread, self.execute, run.scenario, dict(run.parameters), out_dir
                )
                run.exit_code = int(result.get("exit_code", 0))
                run.summary = dict(result.get("summary") or {})
                run.status = "error" if run.exit_code == 2 else "ok"
            except Exception as err:  # the receiver must outlive any one run
                run.status = "error"
                run.summary = {
                    "status": "error",
                    "error": {"message": f"{type(err).__name__}: {err}"},
                }
            finally:
                run.finished_at = datetime.now(UTC).isoformat()
                self.queue.task_done()

    async def drain(self, timeout: float = 60.0) -> None:
        """Wait until every queued run finished (for tests and graceful shutdown)."""
        await asyncio.wait_for(self.queue.join(), timeout)

    def start(self) -> None:
        self._worker = asyncio.get_running_loop().create_task(self.work())

    async def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None


def _in_worker_thread(
    execute: Executor, scenario: str, parameters: dict[str, Any], out_dir: Path
) -> Mapping[str, Any]:
    """Run ``execute`` on a worker thread, then close the event loop nbclient left there.

    nbclient (through jupyter_core) creates and sets an event loop on the calling
    thread and never closes it; over many alerts that leaks a socket pair per run.
    """
    try:
        return execute(scenario, parameters, out_dir)
    finally:
        try:
            loop = asyncio.get_event_loop_policy().get_event_loop()
        except RuntimeError:  # no loop was set on this thread
            loop = None
        if loop is not None and not loop.is_running():
            loop.close()
            asyncio.set_event_loop(None)

"""Restart a single-host service with the command its host uses (systemctl, docker, the lab).

Runbook 004's Service Restart Procedure on a host without Kubernetes: the restart is the
host's own command (``systemctl restart meeting-controller``, ``docker restart mc``,
``mcops lab restart``), run without a shell. Whether it worked is read from the service,
not from the command's exit code: ``/health`` answers again and ``process_start_time_seconds``
(every Prometheus client exposes it) moved forward, i.e. a new process serves.
"""

from __future__ import annotations

import shlex
import subprocess
import time
from collections.abc import Callable, Sequence

from mcops.errors import (
    ScopeExceeded,
    SourceConfigError,
    SourceQueryError,
    SourceUnreachable,
    VerificationFailed,
)
from mcops.remediate.admin_actions import not_reversible
from mcops.remediate.audit import AuditLog
from mcops.remediate.base import ApplyResult, Plan, Remediation
from mcops.secrets import redact_text, redact_url

__all__ = ["RestartByCommand", "process_start_time"]

START_METRIC = "process_start_time_seconds"


def process_start_time(service_url: str, *, timeout: float = 5.0) -> float | None:
    """When the process serving ``service_url`` started (epoch seconds); None when nothing
    answers. SourceQueryError when it answers without the metric: a restart is unverifiable."""
    from mcops.sources.scrape import scrape

    try:
        frame = scrape(service_url, timeout=timeout)
    except SourceUnreachable:
        return None
    values = frame.loc[(frame["metric"] == START_METRIC).to_numpy(), "value"]
    if values.empty:
        raise SourceQueryError(
            f"{redact_url(service_url)}/metrics has no {START_METRIC}: a restart could not be "
            "verified",
            source="metrics",
            fix="expose the Prometheus client's process collector",
        )
    return float(values.max())


class RestartByCommand(Remediation):
    """Run the host's restart command; verified by a new process answering ``/health``."""

    name = "restart_by_command"
    not_changed_on_failure = "the command may have stopped the service; check it is running"

    def __init__(
        self,
        service_url: str,
        command: str | Sequence[str],
        *,
        ready_timeout: float = 60.0,
        command_timeout: float = 120.0,
        start_time: Callable[[str], float | None] = process_start_time,
        reason: str = "",
        audit: AuditLog | None = None,
    ) -> None:
        super().__init__(reason=reason, audit=audit)
        argv = shlex.split(command) if isinstance(command, str) else list(command)
        if ready_timeout <= 0 or command_timeout <= 0:
            raise ScopeExceeded("timeouts must be positive")
        self.service_url = service_url
        self.argv = argv
        self.ready_timeout = ready_timeout
        self.command_timeout = command_timeout
        self._start_time = start_time

    @property
    def target(self) -> str:
        return f"{redact_url(self.service_url)} via `{redact_text(shlex.join(self.argv))}`"

    def _plan(self) -> Plan:
        if not self.argv or not self.service_url:
            missing = "restart_command" if not self.argv else "service_url"
            raise SourceConfigError(
                f"{missing} is empty: nothing says how to restart this host, or what to verify",
                source="restart",
                fix="pass -p restart_command='systemctl restart meeting-controller' (the lab: "
                "'mcops lab restart') and -p service_url=http://127.0.0.1:8080",
            )
        started = self._start_time(self.service_url)
        return Plan(
            action=self.name,
            target=self.target,
            changes=(
                {
                    "command": redact_text(shlex.join(self.argv)),
                    "process_started": started,
                    "effect": "every actor and meeting on this instance stops; clients "
                    "reconnect to the new process",
                },
            ),
            fingerprint=f"started={started}",
            summary=f"run `{redact_text(shlex.join(self.argv))}`",
            reversible=False,
            notes=not_reversible("a restart cannot be undone"),
            state={"started": started},
        )

    def _apply(self, plan: Plan) -> ApplyResult:
        before = plan.state["started"]
        now = self._start_time(self.service_url)
        if before is not None and now is not None and now > before:
            return ApplyResult(
                plan=plan,
                status="nothing_to_do",
                changed=0,
                message="a new process already serves: restarted since the plan",
            )
        done = subprocess.run(
            self.argv,
            capture_output=True,
            text=True,
            timeout=self.command_timeout,
            check=False,
        )
        if done.returncode != 0:
            tail = redact_text((done.stderr or done.stdout).strip()[-400:])
            raise VerificationFailed(
                f"{self.name}: `{shlex.join(self.argv[:3])}` exited {done.returncode}: {tail}",
                action=self.name,
                changed=1,
            )
        after = self._wait_for_new_process(before)
        return ApplyResult(
            plan=plan,
            status="applied",
            changed=1,
            before=plan.changes,
            after=({"process_started": after},),
        )

    def _wait_for_new_process(self, before: float | None) -> float:
        deadline = time.monotonic() + self.ready_timeout
        seen: float | None = None
        while time.monotonic() < deadline:
            seen = self._start_time(self.service_url)
            if seen is not None and (before is None or seen > before):
                return seen
            time.sleep(0.5)
        raise VerificationFailed(
            f"{self.name}: no new process answered {redact_url(self.service_url)} within "
            f"{self.ready_timeout:g}s (started at {seen}, before {before})",
            action=self.name,
            changed=1,
        )

    def _undo(self, result: ApplyResult) -> ApplyResult:
        raise NotImplementedError  # the base class refuses: the plan is not reversible

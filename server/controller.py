"""The global-controller client: register this MC, then heartbeat on an interval.

The "global controller" of runbook 004 is its ``meeting_controllers`` table: this MC
upserts its row at start (status 'active') and refreshes last_heartbeat and
current_sessions every GC_HEARTBEAT_INTERVAL. Each heartbeat is counted by result
and timed, which is what runbook 004 Scenario 6 looks at.

Every registration and heartbeat waits at most ``timeout`` (a locked row must not
stall the loop); one that does not finish in time is a failure. The MC counts as
ready only while its last successful write is younger than ``stale_after``: /ready turns
not ready when the controller stops hearing us. mc_gc_registered keeps saying whether
this MC's row is registered (runbook 004 Scenario 6 tells a registration that "goes
late" — failing heartbeats, a stale last_heartbeat — from one that is gone).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from server.faults import Faults
from server.logs import get_logger
from server.metrics import ServerMetrics
from server.store.repository import Store

__all__ = ["ControllerIdentity", "GlobalControllerClient", "HeartbeatFailed"]

log = get_logger("gc")

#: The least time one heartbeat may take (an UPDATE on a slow database takes seconds).
HEARTBEAT_TIMEOUT_FLOOR = 5.0


class HeartbeatFailed(RuntimeError):
    """One heartbeat did not reach the controller."""


@dataclass(frozen=True)
class ControllerIdentity:
    mc_id: str
    region: str
    capacity: int


class GlobalControllerClient:
    """Registration and the heartbeat loop of one MC."""

    def __init__(
        self,
        identity: ControllerIdentity,
        *,
        store: Store,
        faults: Faults,
        metrics: ServerMetrics,
        sessions: Callable[[], int],
        interval: float,
        stale_intervals: int = 3,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.identity = identity
        self._store = store
        self._faults = faults
        self._metrics = metrics
        self._sessions = sessions
        self._interval = interval
        self._clock = clock
        self.timeout = max(interval, HEARTBEAT_TIMEOUT_FLOOR)
        """The bound on one registration or heartbeat, in seconds: a slow database that
        still answers is not a failed heartbeat; a locked row is one within seconds."""
        self.stale_after = stale_intervals * interval + self.timeout
        """Seconds after the last successful write at which registration lapses."""
        self._row = False
        self._last_ok: float | None = None

    @property
    def registered(self) -> bool:
        """Registered, and the last successful write is younger than ``stale_after``."""
        return self._row and not self.stale

    @property
    def stale(self) -> bool:
        return self._last_ok is None or self._clock() - self._last_ok > self.stale_after

    async def _bounded(self, write: Awaitable[object], what: str) -> object:
        try:
            return await asyncio.wait_for(write, timeout=self.timeout)
        except TimeoutError:
            raise HeartbeatFailed(
                f"{what} did not finish within {self.timeout:g} s (is the meeting_controllers "
                "row locked?)"
            ) from None

    async def register(self) -> bool:
        """Upsert this MC's row; log and return False instead of raising."""
        ident = self.identity
        try:
            await self._bounded(
                self._store.register_controller(
                    ident.mc_id,
                    region=ident.region,
                    capacity=ident.capacity,
                    sessions=self._sessions(),
                    timeout=self.timeout,
                ),
                "registration",
            )
        except Exception as err:  # the loop retries; startup must not fail on it
            self._set_registered(False)
            log.error(
                f"GC registration failed: {err}", mc_id=ident.mc_id, error_type=type(err).__name__
            )
            return False
        self._last_ok = self._clock()
        self._set_registered(True)
        log.info(
            f"Registered with global controller as {ident.mc_id} ({ident.region})",
            mc_id=ident.mc_id,
        )
        return True

    async def heartbeat(self) -> bool:
        """One heartbeat, counted and timed; True on success."""
        started = time.perf_counter()
        mc_id = self.identity.mc_id
        try:
            if self._faults.heartbeat_fails():
                raise HeartbeatFailed("global controller did not answer (gc_heartbeat_failure)")
            found = await self._bounded(
                self._store.heartbeat(mc_id, sessions=self._sessions(), timeout=self.timeout),
                "heartbeat",
            )
            if not found:
                raise HeartbeatFailed(f"no registration for {mc_id}; re-registering")
        except Exception as err:
            self._metrics.heartbeats.labels("failure").inc()
            self._set_registered(self._row)
            log.warn(f"GC heartbeat failed: {err}", mc_id=mc_id, error_type=type(err).__name__)
            if isinstance(err, HeartbeatFailed) and "re-registering" in str(err):
                await self.register()
            return False
        finally:
            self._metrics.heartbeat_duration.observe(time.perf_counter() - started)
        self._last_ok = self._clock()
        self._set_registered(True)
        self._metrics.heartbeats.labels("success").inc()
        log.trace("GC heartbeat ok", mc_id=mc_id)
        return True

    async def run(self) -> None:
        """Register (retrying) and heartbeat until cancelled."""
        while True:
            if not self._row:  # stale is not gone: heartbeats, not a re-registration, mend it
                await self.register()
            else:
                await self.heartbeat()
            await asyncio.sleep(self._interval)

    def _set_registered(self, row: bool) -> None:
        self._row = row
        self._metrics.gc_registered.set(1 if row else 0)

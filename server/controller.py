"""The global-controller client: register this MC, then heartbeat on an interval.

The "global controller" of runbook 004 is its ``meeting_controllers`` table: this MC
upserts its row at start (status 'active') and refreshes last_heartbeat and
current_sessions every GC_HEARTBEAT_INTERVAL. Each heartbeat is counted by result
and timed, which is what runbook 004 Scenario 6 looks at.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from server.faults import Faults
from server.logs import get_logger
from server.metrics import ServerMetrics
from server.store.repository import Store

__all__ = ["ControllerIdentity", "GlobalControllerClient", "HeartbeatFailed"]

log = get_logger("gc")


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
    ) -> None:
        self.identity = identity
        self._store = store
        self._faults = faults
        self._metrics = metrics
        self._sessions = sessions
        self._interval = interval
        self.registered = False

    async def register(self) -> bool:
        """Upsert this MC's row; log and return False instead of raising."""
        ident = self.identity
        try:
            await self._store.register_controller(
                ident.mc_id,
                region=ident.region,
                capacity=ident.capacity,
                sessions=self._sessions(),
            )
        except Exception as err:  # the loop retries; startup must not fail on it
            self._set_registered(False)
            log.error(
                f"GC registration failed: {err}", mc_id=ident.mc_id, error_type=type(err).__name__
            )
            return False
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
            if not await self._store.heartbeat(mc_id, sessions=self._sessions()):
                raise HeartbeatFailed(f"no registration for {mc_id}; re-registering")
        except Exception as err:
            self._metrics.heartbeats.labels("failure").inc()
            log.warn(f"GC heartbeat failed: {err}", mc_id=mc_id, error_type=type(err).__name__)
            if isinstance(err, HeartbeatFailed) and "re-registering" in str(err):
                await self.register()
            return False
        finally:
            self._metrics.heartbeat_duration.observe(time.perf_counter() - started)
        self._metrics.heartbeats.labels("success").inc()
        log.trace("GC heartbeat ok", mc_id=mc_id)
        return True

    async def run(self) -> None:
        """Register (retrying) and heartbeat until cancelled."""
        while True:
            if not self.registered:
                await self.register()
            else:
                await self.heartbeat()
            await asyncio.sleep(self._interval)

    def _set_registered(self, value: bool) -> None:
        self.registered = value
        self._metrics.gc_registered.set(1 if value else 0)

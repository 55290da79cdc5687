"""Fault injection: each fault reproduces one runbook failure mode on demand.

Faults are plain state read on the hot paths (actors, store) plus a few side effects
that need resources (held pool connections, memory ballast, a CPU-burning thread).
Set through ``PUT /admin/faults`` or the FAULTS environment variable at start.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from server.errors import Invalid
from server.logs import get_logger

__all__ = ["FAULTS", "Faults"]

log = get_logger("faults")

# fault name -> {param: (type, required)}
FAULTS: dict[str, dict[str, tuple[type, bool]]] = {
    "crash_loop": {"convo_id": (str, True)},
    "slow_db": {"latency_ms": (float, True)},
    "pool_exhaustion": {"hold": (int, True)},
    "actor_system_disabled": {},
    "no_cleanup": {},
    "meeting_panic": {"meeting_id": (str, False)},
    "slow_handling": {"actor_type": (str, True), "delay_ms": (float, True)},
    "gc_heartbeat_failure": {"rate": (float, True)},
    "memory_pressure": {"mb": (int, True)},
    "cpu_burn": {"duty": (float, True)},
}


def _validate(name: str, params: Any) -> dict[str, Any]:
    if name not in FAULTS:
        raise Invalid(f"unknown fault {name!r}", fix=f"use one of {', '.join(sorted(FAULTS))}")
    if not isinstance(params, Mapping):
        raise Invalid(f"fault {name} needs a JSON object of parameters, got {params!r}")
    spec = FAULTS[name]
    unknown = set(params) - set(spec)
    if unknown:
        raise Invalid(f"fault {name} has no parameter {sorted(unknown)}", fix=f"use {sorted(spec)}")
    clean: dict[str, Any] = {}
    for param, (kind, required) in spec.items():
        if param not in params:
            if required:
                raise Invalid(f"fault {name} needs {param!r}", fix=f"e.g. {{{param!r}: ...}}")
            continue
        value = params[param]
        ok = (
            isinstance(value, str)
            if kind is str
            else (isinstance(value, int | float) and not isinstance(value, bool))
        )
        if not ok:
            raise Invalid(f"fault {name}: {param} must be a {kind.__name__}, got {value!r}")
        clean[param] = kind(value)
    for ratio in ("rate", "duty"):
        if ratio in clean and not 0 <= clean[ratio] <= 1:
            raise Invalid(f"fault {name}: {ratio} must be between 0 and 1")
    for positive in ("latency_ms", "delay_ms", "hold", "mb"):
        if positive in clean and clean[positive] < 0:
            raise Invalid(f"fault {name}: {positive} must be >= 0")
    return clean


class Faults:
    """Active faults and their side effects; cleared on shutdown."""

    def __init__(
        self,
        *,
        engine: AsyncEngine,
        max_connections: int,
        on_change: Callable[[str, bool], Awaitable[None]] | None = None,
    ) -> None:
        self._engine = engine
        self._max_connections = max_connections
        self._on_change = on_change
        self._active: dict[str, dict[str, Any]] = {}
        self._held: list[AsyncConnection] = []
        self._ballast: bytearray | None = None
        self._burn_stop: threading.Event | None = None
        self._rng = random.Random()

    # read on the hot paths ----------------------------------------------------------
    def active(self) -> dict[str, dict[str, Any]]:
        return {name: dict(params) for name, params in self._active.items()}

    def is_on(self, name: str) -> bool:
        return name in self._active

    def db_delay(self) -> float:
        fault = self._active.get("slow_db")
        return fault["latency_ms"] / 1000 if fault else 0.0

    def handling_delay(self, actor_type: str) -> float:
        fault = self._active.get("slow_handling")
        if fault and fault["actor_type"] in (actor_type, "*", "all"):
            return float(fault["delay_ms"]) / 1000
        return 0.0

    def crashes(self, convo_id: str) -> bool:
        fault = self._active.get("crash_loop")
        return bool(fault) and fault["convo_id"] == convo_id

    def panics(self, meeting_id: str) -> bool:
        fault = self._active.get("meeting_panic")
        if fault is None:
            return False
        return fault.get("meeting_id") in (None, meeting_id)

    def heartbeat_fails(self) -> bool:
        fault = self._active.get("gc_heartbeat_failure")
        return bool(fault) and self._rng.random() < fault["rate"]

    # changes ------------------------------------------------------------------------
    async def set_many(self, faults: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
        """Validate all, then apply each; return the active faults."""
        if not isinstance(faults, Mapping):
            raise Invalid('faults must be a JSON object like {"slow_db": {"latency_ms": 50}}')
        clean = {name: _validate(name, params) for name, params in faults.items()}
        for name, params in clean.items():
            await self._apply(name, params)
        return self.active()

    async def clear(self, name: str) -> bool:
        """Clear one fault; False when it was not active."""
        if name not in self._active:
            return False
        await self._release(name)
        del self._active[name]
        log.info(f"Fault cleared: {name}", fault=name)
        if self._on_change:
            await self._on_change(name, False)
        return True

    async def clear_all(self) -> None:
        for name in list(self._active):
            await self.clear(name)

    async def _apply(self, name: str, params: dict[str, Any]) -> None:
        if name in self._active:
            await self._release(name)
        self._active[name] = params
        if name == "pool_exhaustion":
            await self._hold_connections(int(params["hold"]))
        elif name == "memory_pressure":
            # multiplying a filled bytearray touches every page, so RSS really grows
            self._ballast = bytearray(b"\x01") * (int(params["mb"]) * 1024 * 1024)
        elif name == "cpu_burn":
            self._burn_stop = threading.Event()
            threading.Thread(
                target=_burn,
                args=(float(params["duty"]), self._burn_stop),
                name="mcops-cpu-burn",
                daemon=True,
            ).start()
        log.warn(f"Fault injected: {name}", fault=name, params=params)
        if self._on_change:
            await self._on_change(name, True)

    async def _release(self, name: str) -> None:
        if name == "pool_exhaustion":
            held, self._held = self._held, []
            for conn in held:
                await conn.close()
        elif name == "memory_pressure":
            self._ballast = None
        elif name == "cpu_burn" and self._burn_stop is not None:
            self._burn_stop.set()
            self._burn_stop = None

    async def _hold_connections(self, count: int) -> None:
        count = min(count, self._max_connections)
        for _ in range(count):
            conn = await asyncio.wait_for(self._engine.connect(), timeout=5)
            # a real round trip so the connection is truly checked out and in use
            await conn.exec_driver_sql("SELECT 1")
            self._held.append(conn)


def _burn(duty: float, stop: threading.Event) -> None:
    """Spin for duty × 100 ms of every 100 ms until stopped."""
    period = 0.1
    while not stop.is_set():
        end = time.perf_counter() + period * duty
        while time.perf_counter() < end:
            pass
        if duty < 1:
            stop.wait(period * (1 - duty))

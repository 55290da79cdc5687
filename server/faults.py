"""Fault injection: each fault reproduces one runbook failure mode on demand.

Faults are plain state read on the hot paths (actors, store) plus a few side effects
that need resources (held pool connections, memory ballast, a CPU-burning thread).
Set through ``PUT /admin/faults`` or the FAULTS environment variable at start.
"""

from __future__ import annotations

import asyncio
import math
import random
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from server.errors import Invalid, Unavailable
from server.logs import get_logger

__all__ = ["FAULTS", "FaultNotApplied", "Faults", "validate_fault"]

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

# inclusive bounds of the numeric parameters: what a lab can survive and still clear
BOUNDS: dict[str, tuple[float, float]] = {
    "latency_ms": (0, 60_000),
    "delay_ms": (0, 60_000),
    "hold": (0, 10_000),
    "mb": (0, 4096),
    "rate": (0, 1),
    "duty": (0, 1),
}
MAX_TEXT = 128  # string parameters name ids and actor types


class FaultNotApplied(Unavailable):
    """Applying a fault failed (e.g. no memory for the ballast); it was not left active."""

    def __init__(self, name: str, error: BaseException) -> None:
        self.name = name
        self.error = error
        super().__init__(
            f"fault {name} could not be applied ({type(error).__name__}) and is not active",
            fix="retry with smaller parameters; see GET /admin/faults",
        )


def validate_fault(name: str, params: Any) -> dict[str, Any]:
    """The parameters of fault `name`, checked and converted; raise Invalid (422)."""
    if name not in FAULTS:
        raise Invalid(f"unknown fault {name!r}", fix=f"use one of {', '.join(sorted(FAULTS))}")
    if not isinstance(params, Mapping):
        raise Invalid(
            f"fault {name} needs a JSON object of parameters, got {type(params).__name__}"
        )
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
        if kind is str:
            if not isinstance(value, str) or not value or len(value) > MAX_TEXT:
                raise Invalid(
                    f"fault {name}: {param} must be a non-empty string of at most "
                    f"{MAX_TEXT} characters"
                )
            if not value.isprintable():
                raise Invalid(f"fault {name}: {param} must not contain control characters")
            clean[param] = value
            continue
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise Invalid(
                f"fault {name}: {param} must be a {kind.__name__}, got {type(value).__name__}"
            )
        low, high = BOUNDS[param]
        # NaN and infinity fail this too: they would break every JSON view of the faults
        finite = not isinstance(value, float) or math.isfinite(value)
        if not (finite and low <= value <= high):
            raise Invalid(
                f"fault {name}: {param} must be a finite number between {low:g} and {high:g}",
                fix=f"e.g. {{{param!r}: {high / 10:g}}}",
            )
        clean[param] = kind(value)
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
        clean = {name: validate_fault(name, params) for name, params in faults.items()}
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
        try:
            await self._side_effects(name, params)
        except Exception as error:
            # a fault whose side effect failed is not active: undo what did happen
            del self._active[name]
            await self._release(name)
            log.error(
                f"Fault {name} could not be applied: {type(error).__name__}: {error}",
                fault=name,
                error_type=type(error).__name__,
            )
            raise FaultNotApplied(name, error) from None
        log.warn(f"Fault injected: {name}", fault=name, params=params)
        if self._on_change:
            await self._on_change(name, True)

    async def _side_effects(self, name: str, params: dict[str, Any]) -> None:
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

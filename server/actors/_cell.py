"""One actor's life: its mailbox, the current instance, and the task that runs both.

The cell outlives crashes: a crashed instance is replaced by a new one from the
factory, after a backoff, and the mailbox (with everything queued) is kept. The cell
ends when it is stopped; then the registry forgets it.

Timeouts cost no task and, in the common case, no timer per message. A message under
the registry's default timeout only records its deadline: such deadlines grow in
mailbox order, so one watchdog timer per cell, armed for the oldest pending deadline
and re-armed when it fires, covers them all (an asyncio timer per message would
double the cost of an ask). A custom ask timeout gets a timer of its own. Either way
expiry answers the caller with MessageTimeout and, if the message is being handled,
cancels the cell's task, which the loop recognises (the envelope is marked) and
absorbs before going on.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime

from server.actors._actor import Actor
from server.actors._config import RuntimeConfig
from server.actors._key import ActorKey
from server.actors._mailbox import Envelope, Mailbox
from server.actors._messages import GetState, Stop, message_type
from server.actors._observer import RuntimeObserver
from server.actors._ref import ActorRef
from server.actors._supervisor import Backoff
from server.errors import ActorCrashed, ActorStopped, DomainError, MessageTimeout

__all__ = ["ActorCell"]

CellHook = Callable[["ActorCell"], None]


class ActorCell:
    """Runs one actor key; created and forgotten by the Registry only."""

    __slots__ = (
        "_backoff",
        "_clock",
        "_current",
        "_factory",
        "_instance",
        "_on_terminated",
        "_on_terminating",
        "_restart_delay",
        "_spawned",
        "_start_attempts",
        "_start_failures",
        "_started",
        "_stop_reason",
        "alive",
        "key",
        "last_activity",
        "loop",
        "mailbox",
        "message_timeout",
        "observer",
        "ref",
        "restarts",
        "started_at",
        "task",
        "watchdog",
    )

    def __init__(
        self,
        *,
        key: ActorKey,
        factory: Callable[[], Actor],
        config: RuntimeConfig,
        observer: RuntimeObserver,
        clock: Callable[[], float],
        loop: asyncio.AbstractEventLoop,
        on_terminating: CellHook,
        on_terminated: CellHook,
    ) -> None:
        self.key = key
        self.loop = loop
        self.observer = observer
        self.message_timeout = config.message_timeout
        self.mailbox = Mailbox(key=key, capacity=config.mailbox_size, loop=loop)
        self.ref = ActorRef(self)
        self.alive = True
        self.restarts = 0
        self.started_at: float | None = None
        self.last_activity = clock()
        self._factory = factory
        self._clock = clock
        self._backoff = Backoff(
            initial=config.restart_backoff_initial,
            maximum=config.restart_backoff_max,
            reset_after=config.restart_reset_after,
        )
        self._instance: Actor | None = None
        self._current: Envelope | None = None
        self._spawned = False
        self._start_attempts = config.start_attempts
        self._start_failures = 0
        self._started = False
        self._stop_reason: str | None = None
        self._restart_delay: float | None = None
        self.watchdog: asyncio.TimerHandle | None = None
        self._on_terminating = on_terminating
        self._on_terminated = on_terminated
        self.task: asyncio.Task[None] = loop.create_task(
            self._run(), name=f"actor {key.actor_type}/{key.actor_id}"
        )

    # -- queries -------------------------------------------------------------------

    def idle_seconds(self) -> float:
        return self._clock() - self.last_activity

    def is_idle(self, now: float, older_than: float) -> bool:
        """Nothing queued, nothing in hand, and no activity for `older_than` seconds."""
        return (
            self.alive
            and self._current is None
            and not self.mailbox.items
            and now - self.last_activity >= older_than
        )

    # -- control from outside --------------------------------------------------------

    def request_stop(self, reason: str) -> None:
        """Begin stopping now (no new messages are accepted); the task finishes the rest."""
        if self._stop_reason is not None or not self.alive:
            return
        self._stop_reason = reason
        self._begin_termination(reason)
        if self._started:
            self.task.cancel()
        # not started yet: _run sees _stop_reason first thing and terminates

    def arm_watchdog(self, when: float) -> None:
        """Check deadlines at loop time `when` (the caller knows nothing is due earlier)."""
        self.watchdog = self.loop.call_at(when, self._check_deadlines)

    def _check_deadlines(self) -> None:
        """Watchdog: expire what is due, re-arm for the oldest deadline still pending."""
        self.watchdog = None
        now = self.loop.time()
        next_due: float | None = None
        current = self._current
        if current is not None and current.deadline is not None and not current.timed_out:
            if current.deadline <= now:
                self.expire(current)
            else:
                next_due = current.deadline
        for envelope in self.mailbox.items:
            deadline = envelope.deadline
            if deadline is None or envelope.timed_out:
                continue
            if deadline <= now:
                self.expire(envelope)
                continue
            if next_due is None or deadline < next_due:
                next_due = deadline
            break  # queued deadlines grow from here on
        if next_due is not None:
            self.arm_watchdog(next_due)

    def expire(self, envelope: Envelope) -> None:
        """Timer callback: the envelope's timeout elapsed before it was answered."""
        envelope.timer = None
        envelope.timed_out = True
        name = message_type(envelope.message)
        future = envelope.future
        if future is not None and not future.done():
            timeout = envelope.timeout if envelope.timeout is not None else 0.0
            future.set_exception(MessageTimeout(key=self.key, message_type=name, timeout=timeout))
        self.observer.on_timeout(self.key, name)
        if self._current is envelope:
            self.task.cancel()  # interrupts the handler; _serve absorbs it
        # still queued: _serve skips it when it comes up

    # -- the task --------------------------------------------------------------------

    async def _run(self) -> None:
        self._started = True
        reason: str | None = None
        stop_envelope: Envelope | None = None
        try:
            if self._stop_reason is None:
                reason, stop_envelope = await self._serve()
        except Exception as error:  # a bug in the runtime or in an observer
            self.observer.on_crash(self.key, error)
            reason = "crash"
        finally:
            await self._terminate(reason or self._stop_reason or "shutdown", stop_envelope)

    async def _serve(self) -> tuple[str, Envelope | None]:
        """Handle messages until a Stop message or a start refusal; returns why."""
        key = self.key
        items = self.mailbox.items
        observer = self.observer
        clock = self._clock
        task = self.task
        while True:
            instance = self._instance
            if instance is None:
                refused = await self._start_instance()
                if refused is not None:
                    return refused, None
                continue
            if not items:
                await self.mailbox.wait()
            envelope = items.popleft()
            if envelope.timed_out:
                continue  # its caller already got MessageTimeout while it was queued
            message = envelope.message
            cls = message.__class__
            if cls is GetState:
                self._answer_state(envelope)
                continue
            if cls is Stop:
                return message.reason, envelope
            future = envelope.future
            if future is None and self.message_timeout is not None:
                # a tell's timeout bounds its handling only: nobody waited while it was queued
                envelope.timeout = self.message_timeout
                envelope.deadline = self.loop.time() + self.message_timeout
                if self.watchdog is None:
                    self.arm_watchdog(envelope.deadline)
            self._current = envelope
            crash: BaseException | None = None
            absorbed = False
            started = clock()
            try:
                result = await instance.on_receive(message)
            except DomainError as error:
                ok = False
                if future is not None and not future.done():
                    future.set_exception(error)
            except asyncio.CancelledError as error:
                ok = False
                if task.cancelling() == 0:
                    crash = error  # nobody cancelled this task: the handler's own bug
                elif not envelope.timed_out or self._stop_reason is not None or task.uncancel() > 0:
                    raise  # a stop, or a cancel from outside: end the actor
                else:
                    absorbed = True  # our timeout's cancel: the actor goes on
            except Exception as error:
                ok = False
                crash = error
            else:
                ok = True
                if future is not None and not future.done():
                    future.set_result(result)
            self._current = None
            if envelope.timed_out and not absorbed:
                task.uncancel()  # the handler swallowed our cancel; drop the request
            finished = clock()
            self.last_activity = finished
            timer = envelope.timer
            if timer is not None:
                timer.cancel()
                envelope.timer = None
            name = message_type(message)
            observer.on_message(key, name, finished - started, ok)
            if crash is not None:
                envelope.fail(ActorCrashed(key=key, error=crash, message_type=name))
                await self._discard_instance(crash)
            if self._stop_reason is not None:  # the handler swallowed the stop's cancel
                return self._stop_reason, None

    async def _start_instance(self) -> str | None:
        """Create and start an instance (after the backoff if restarting).

        Returns why the cell must end instead, or None when it may go on:
        "start_failed" when on_start refused with a DomainError (the actor cannot
        exist), "gave_up" after `start_attempts` consecutive starts raised. Either way
        every queued caller has been answered.
        """
        key = self.key
        if self._restart_delay is not None:
            await asyncio.sleep(self._restart_delay)
            self._restart_delay = None
            self.restarts += 1
        try:
            instance = self._factory()
            instance.key = key
        except Exception as error:
            self._fail_head(error)
            self.observer.on_crash(key, error)
            return self._after_failed_start(error)
        self._spawned = True
        self.observer.on_spawn(key)
        try:
            await instance.on_start()
        except DomainError as error:
            # whoever still holds this ref gets the refusal too, not a bare "stopped"
            self.mailbox.close("start_failed", error=error)
            for envelope in self.mailbox.drain():
                envelope.fail(error)
            return "start_failed"
        except Exception as error:
            # on_stop is not called: the instance never finished starting
            self._fail_head(error)
            self.observer.on_crash(key, error)
            self._spawned = False
            self.observer.on_stop(key, "crash")
            return self._after_failed_start(error)
        self._instance = instance
        self._start_failures = 0
        self.started_at = time.time()
        return None

    def _after_failed_start(self, error: Exception) -> str | None:
        """Plan a restart, or give up once `start_attempts` starts in a row failed."""
        self._start_failures += 1
        if self._start_failures < self._start_attempts:
            self._schedule_restart()
            return None
        crashed = ActorCrashed(key=self.key, error=error)
        self.mailbox.close("gave_up", error=crashed)
        for envelope in self.mailbox.drain():
            envelope.fail(crashed)
        return "gave_up"

    async def _discard_instance(self, error: BaseException) -> None:
        """After a handler crash: report it, end the instance, plan the restart."""
        instance = self._instance
        self._instance = None
        self.observer.on_crash(self.key, error)
        if instance is not None:
            await self._stop_instance(instance, "crash")
        self._schedule_restart()

    def _schedule_restart(self) -> None:
        attempt, delay = self._backoff.next_delay(self._clock())
        self._restart_delay = delay
        self.observer.on_restart(self.key, attempt, delay)

    async def _stop_instance(self, instance: Actor, reason: str) -> None:
        """Run the instance's on_stop (errors are reported, not raised) and report the stop."""
        try:
            await instance.on_stop(reason)
        except Exception as error:
            self.observer.on_crash(self.key, error)
        if self._spawned:
            self._spawned = False
            self.observer.on_stop(self.key, reason)

    def _fail_head(self, error: Exception) -> None:
        """A failed start answers the message that was waiting first (it triggered it)."""
        items = self.mailbox.items
        while items:
            envelope = items.popleft()
            if envelope.timed_out:
                continue
            name = message_type(envelope.message)
            envelope.fail(ActorCrashed(key=self.key, error=error, message_type=name))
            return

    def _answer_state(self, envelope: Envelope) -> None:
        timer = envelope.timer
        if timer is not None:
            timer.cancel()
            envelope.timer = None
        future = envelope.future
        if future is None or future.done():
            return
        instance = self._instance
        try:
            state = {} if instance is None else dict(instance.get_state())
        except Exception as error:  # a broken debug view must not take the actor down
            future.set_exception(ActorCrashed(key=self.key, error=error, message_type="get_state"))
            return
        started = self.started_at
        iso = None if started is None else datetime.fromtimestamp(started, UTC).isoformat()
        state.update(
            actor_type=self.key.actor_type,
            actor_id=self.key.actor_id,
            mailbox_depth=len(self.mailbox),
            restarts=self.restarts,
            idle_seconds=self.idle_seconds(),
            started_at=iso,
        )
        future.set_result(state)

    # -- the end ---------------------------------------------------------------------

    def _begin_termination(self, reason: str) -> None:
        """Synchronous part of stopping: refuse new messages, leave the registry's map."""
        if not self.alive:
            return
        self.alive = False
        self.mailbox.close(reason)
        self._on_terminating(self)

    async def _terminate(self, reason: str, stop_envelope: Envelope | None) -> None:
        self._begin_termination(reason)
        if self.watchdog is not None:
            self.watchdog.cancel()
            self.watchdog = None
        current = self._current
        self._current = None
        if current is not None:
            current.fail(ActorStopped(key=self.key, reason=reason))
        for envelope in self.mailbox.drain():
            envelope.fail(ActorStopped(key=self.key, reason=reason))
        instance = self._instance
        self._instance = None
        try:
            if instance is not None:
                await self._stop_instance(instance, reason)
            elif self._spawned:  # on_start refused: the spawn still needs its stop
                self._spawned = False
                self.observer.on_stop(self.key, reason)
            elif reason == "gave_up":  # its last failed start already reported on_stop
                self.observer.on_give_up(self.key, self._start_failures)
        finally:
            if stop_envelope is not None:
                if stop_envelope.timer is not None:
                    stop_envelope.timer.cancel()
                future = stop_envelope.future
                if future is not None and not future.done():
                    future.set_result(True)
            self._on_terminated(self)

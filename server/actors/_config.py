"""Runtime settings: one frozen value, built once from the environment by the server."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RuntimeConfig"]


@dataclass(frozen=True)
class RuntimeConfig:
    """How every actor of one registry behaves. Times are in seconds."""

    mailbox_size: int = 2000
    """Bound of each mailbox; a message beyond it raises MailboxFull (never blocks)."""
    message_timeout: float | None = 30.0
    """Default ask() deadline, counted from the ask (queued + handling); None = none."""
    inactivity_timeout: float | None = 3600.0
    """Idle time after which the sweep stops an actor; None = never."""
    cleanup_interval: float = 300.0
    """Seconds between inactivity sweeps."""
    restart_backoff_initial: float = 0.05
    """Delay before the first restart after a crash; doubles on each further crash."""
    restart_backoff_max: float = 5.0
    """Cap of the restart delay."""
    restart_reset_after: float = 30.0
    """A crash this long after the previous one restarts at the initial delay again."""
    start_attempts: int = 3
    """Consecutive failed starts (on_start raised) after which the actor is stopped
    ("gave_up") instead of restarted: its stored state cannot be loaded, and retrying
    forever would only count panics. The next message spawns it afresh."""

    def __post_init__(self) -> None:
        problems = []
        if self.start_attempts < 1:
            problems.append(f"start_attempts must be >= 1, got {self.start_attempts}")
        if self.mailbox_size < 1:
            problems.append(f"mailbox_size must be >= 1, got {self.mailbox_size}")
        for name in ("message_timeout", "inactivity_timeout"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                problems.append(f"{name} must be > 0 or None, got {value}")
        for name in (
            "cleanup_interval",
            "restart_backoff_initial",
            "restart_backoff_max",
            "restart_reset_after",
        ):
            if getattr(self, name) <= 0:
                problems.append(f"{name} must be > 0, got {getattr(self, name)}")
        if self.restart_backoff_max < self.restart_backoff_initial:
            problems.append("restart_backoff_max must be >= restart_backoff_initial")
        if problems:
            raise ValueError("invalid RuntimeConfig: " + "; ".join(problems))

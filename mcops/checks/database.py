"""Runbook 000 "Database Consistency Checks" 1–4 and FM1/FM3 database diagnostics.

Each takes the frame of the matching named query in `mcops.sources` (columns as the
runbook's SELECT lists) and returns one Finding carrying the offending rows.
"""

from __future__ import annotations

import pandas as pd

from mcops.findings import Finding, Level

__all__ = [
    "duplicate_epochs",
    "epoch_consistency",
    "left_member_unread",
    "missing_conversation",
    "sequence_gaps",
    "stale_conversations",
]


def _require(frame: pd.DataFrame, columns: tuple[str, ...], check: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{check}: the frame lacks columns {missing}; pass the result of the "
            f"named query '{check}' from mcops.sources"
        )


def duplicate_epochs(
    frame: pd.DataFrame, *, window: str = "all time", check: str = "duplicate_epochs"
) -> Finding:
    """Check 2 / FM3: two commits at one (convo_id, epoch) mean the actor was bypassed.

    ``check`` names the step that asks (epoch_conflicts step 5 asks it again as
    ``new_duplicate_epochs``)."""
    _require(frame, ("convo_id", "epoch", "count"), check)
    if frame.empty:
        return Finding.make(check, Level.OK, f"No duplicate commit epochs ({window})")
    extra = int(frame["count"].sum() - len(frame))
    convos = frame["convo_id"].nunique()
    return Finding.make(
        check,
        Level.CRITICAL,
        f"{len(frame)} duplicate commit epochs in {convos} conversations ({window})",
        detail=(
            f"{extra} extra commit rows share an epoch with an earlier commit. Epochs must be "
            "serialised by the conversation actor: check ENABLE_ACTOR_SYSTEM and whether "
            "several server instances write without sticky sessions, then run the "
            "epoch_conflicts notebook to delete later duplicates and reset epochs."
        ),
        rows=frame,
    )


def epoch_consistency(frame: pd.DataFrame) -> Finding:
    """Check 1: conversations.current_epoch must equal the max message epoch."""
    _require(frame, ("id", "current_epoch", "max_message_epoch"), "epoch_consistency")
    if frame.empty:
        return Finding.make(
            "epoch_consistency", Level.OK, "Every conversation epoch matches its messages"
        )
    frame = frame.assign(drift=frame["current_epoch"] - frame["max_message_epoch"])
    behind = int((frame["drift"] < 0).sum())
    return Finding.make(
        "epoch_consistency",
        Level.WARNING,
        f"{len(frame)} conversations have an epoch out of sync with their messages",
        detail=(
            f"{behind} are behind their newest commit, {len(frame) - behind} ahead. Actors "
            "starting from a wrong epoch reject or duplicate commits; reset the epoch to the "
            "max message epoch (remediation ResetEpoch) and restart the actors."
        ),
        rows=frame,
    )


def sequence_gaps(frame: pd.DataFrame) -> Finding:
    """Check 3: app message seq must be 1, 2, 3, ... per conversation."""
    _require(frame, ("convo_id", "message_count", "max_seq"), "sequence_gaps")
    if frame.empty:
        return Finding.make("sequence_gaps", Level.OK, "Message sequence numbers are gapless")
    frame = frame.assign(missing=frame["max_seq"] - frame["message_count"])
    return Finding.make(
        "sequence_gaps",
        Level.WARNING,
        f"{len(frame)} conversations have gaps or repeats in message seq",
        detail=(
            "MAX(seq) differs from the number of app messages: messages were lost "
            "(positive 'missing') or a seq was issued twice (negative). Clients may "
            "show holes; investigate writes that bypassed the actor."
        ),
        rows=frame,
    )


def left_member_unread(frame: pd.DataFrame) -> Finding:
    """Check 4: members who left must not keep unread counts."""
    _require(frame, ("convo_id", "member_did", "left_at"), "left_member_unread")
    if frame.empty:
        return Finding.make(
            "left_member_unread", Level.OK, "No member who left keeps an unread count"
        )
    return Finding.make(
        "left_member_unread",
        Level.WARNING,
        f"{len(frame)} members who left still have unread counts",
        detail=(
            "Leaving did not reset the actor's unread-count entry: the hashmap keeps "
            "growing (runbook FM4). Clear them with ClearLeftMemberUnread."
        ),
        rows=frame,
    )


def missing_conversation(frame: pd.DataFrame, *, convo_id: str = "") -> Finding:
    """FM1 cause 'missing conversation': messages exist but the conversation row does not."""
    _require(frame, ("convo_id",), "missing_conversation")
    scope = f" for {convo_id}" if convo_id else ""
    if frame.empty:
        return Finding.make(
            "missing_conversation", Level.OK, f"No conversation rows are missing{scope}"
        )
    return Finding.make(
        "missing_conversation",
        Level.CRITICAL,
        f"{len(frame)} conversations have messages but no conversation row{scope}",
        detail=(
            "The actor cannot load its state and crashes on every message (crash loop). "
            "Recreate the row (RecreateConversation), then reset its epoch."
        ),
        rows=frame,
    )


def stale_conversations(frame: pd.DataFrame, *, older_than: str = "7 days") -> Finding:
    """FM4 step 2: conversations whose last message is old; their actors can be cleaned up."""
    _require(frame, ("id",), "stale_conversations")
    if frame.empty:
        return Finding.make(
            "stale_conversations", Level.OK, f"No conversation idle longer than {older_than}"
        )
    return Finding.make(
        "stale_conversations",
        Level.INFO,
        f"{len(frame)} conversations idle longer than {older_than}",
        detail=(
            "Their actors only hold memory. With an inactivity timeout they would be "
            "stopped; stop them now with StopStaleActors, or restart the server."
        ),
        rows=frame,
    )

"""Runbook 000 FM1 / Handling Actor Crashes: which conversation, and is its state the cause.

The log detectors (`logs.crash_loop`, `logs.spawn_loop`) find the looping conversations;
this module picks the one to work on and judges its database state, so the notebook's
remediations (RecreateConversation, ResetEpoch, restarting the actors) target it.
"""

from __future__ import annotations

import pandas as pd

from mcops.checks import database
from mcops.findings import Finding, Level

__all__ = ["conversation_state", "epoch_drift", "focus_conversation"]


def focus_conversation(cadence: pd.DataFrame, *, given: str = "") -> str:
    """Step 1's answer: ``given`` if set, else the conversation crashing most (loops first).

    ``cadence`` is `logs.crash_cadence`'s frame; empty string when nothing crashed.
    """
    if given:
        return given
    if cadence.empty:
        return ""
    ranked = cadence.assign(_loop=cadence["pattern"] == "crash loop").sort_values(
        ["_loop", "crashes"], ascending=[False, False], kind="stable"
    )
    return str(ranked.iloc[0]["convo_id"])


def epoch_drift(frame: pd.DataFrame, *, convo_id: str = "") -> Finding:
    """Step 2–3 'if epoch is out of sync': the crashing conversation's epoch vs its messages.

    ``frame`` is the ``epoch_consistency`` query. A drifting ``convo_id`` is critical (its
    actor starts from a wrong epoch on every respawn); drift elsewhere is a warning.
    """
    general = database.epoch_consistency(frame)
    if not convo_id or frame.empty:
        return Finding(**{**general.__dict__, "check": "epoch_drift"})
    mine = frame[frame["id"].astype("str") == convo_id]
    if mine.empty:
        return Finding.make(
            "epoch_drift",
            Level.WARNING,
            f"{convo_id}'s epoch matches its messages; {len(frame)} other conversations drift",
            detail=general.detail,
            rows=frame.assign(drift=frame["current_epoch"] - frame["max_message_epoch"]),
        )
    row = mine.iloc[0]
    return Finding.make(
        "epoch_drift",
        Level.CRITICAL,
        f"{convo_id} is at epoch {row['current_epoch']} but its messages reach "
        f"{row['max_message_epoch']}",
        detail=(
            "Its actor reloads the stored epoch on every respawn and fails again: reset the "
            "epoch to the max message epoch (ResetEpoch), then restart the actors."
        ),
        rows=frame.assign(drift=frame["current_epoch"] - frame["max_message_epoch"]),
    )


def conversation_state(frame: pd.DataFrame) -> Finding:
    """Step 2 for one conversation: does its row exist, with members and messages?

    ``frame`` is the ``conversation_orphans`` query (convo_id, conversations, members,
    messages). Messages without the row is step 3's "doesn't exist but has messages".
    """
    if frame.empty or not str(frame.iloc[0]["convo_id"] or ""):
        return Finding.not_checked(
            "conversation_state", "no crashing conversation found; set convo_id"
        )
    row = frame.iloc[0]
    convo, members, messages = str(row["convo_id"]), int(row["members"]), int(row["messages"])
    rows = frame.to_dict("records")
    if int(row["conversations"]) == 0 and messages > 0:
        return Finding.make(
            "conversation_state",
            Level.CRITICAL,
            f"{convo} has {messages} messages and {members} members but no conversation row",
            detail="Its actor cannot load its state: recreate the row (RecreateConversation), "
            "then reset its epoch (ResetEpoch).",
            rows=rows,
        )
    if int(row["conversations"]) == 0:
        return Finding.make(
            "conversation_state",
            Level.WARNING,
            f"{convo} does not exist and has no messages",
            detail="Clients address a conversation that was never created (or was deleted).",
            rows=rows,
        )
    return Finding.make(
        "conversation_state",
        Level.OK,
        f"{convo} exists with {members} members and {messages} messages",
        rows=rows,
        count=0,
    )

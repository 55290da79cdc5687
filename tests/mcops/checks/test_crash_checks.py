"""Crash loop: which conversation to work on, and whether its database state is the cause."""

import pandas as pd

from mcops.checks import crashes
from mcops.findings import Level


def cadence(*rows):
    return pd.DataFrame(rows, columns=["convo_id", "crashes", "pattern"])


def test_focus_prefers_the_given_id_then_loops_then_most_crashes():
    table = cadence(("c-many", 30, "recurring"), ("c-loop", 6, "crash loop"))
    assert crashes.focus_conversation(table, given="c-given") == "c-given"
    assert crashes.focus_conversation(table) == "c-loop"
    assert crashes.focus_conversation(cadence(("a", 2, "recurring"), ("b", 9, "recurring"))) == "b"
    assert crashes.focus_conversation(cadence()) == ""


def drift(*rows):
    return pd.DataFrame(rows, columns=["id", "current_epoch", "max_message_epoch"])


def test_epoch_drift_of_the_crashing_conversation_is_critical():
    frame = drift(("c1", 2, 5), ("c2", 7, 3))
    mine = crashes.epoch_drift(frame, convo_id="c1")
    assert (mine.check, mine.level) == ("epoch_drift", Level.CRITICAL)
    assert "c1 is at epoch 2 but its messages reach 5" in mine.title
    assert {r["id"]: r["drift"] for r in mine.data} == {"c1": -3, "c2": 4}
    other = crashes.epoch_drift(frame, convo_id="c9")
    assert other.level is Level.WARNING and "c9's epoch matches" in other.title
    anyone = crashes.epoch_drift(frame)
    assert (anyone.check, anyone.level, anyone.count) == ("epoch_drift", Level.WARNING, 2)
    clean = crashes.epoch_drift(drift(), convo_id="c1")
    assert (clean.check, clean.level) == ("epoch_drift", Level.OK)


def state(convo, conversations, members, messages):
    return pd.DataFrame(
        [(convo, conversations, members, messages)],
        columns=["convo_id", "conversations", "members", "messages"],
    )


def test_conversation_state_tells_missing_row_from_unknown_id():
    missing = crashes.conversation_state(state("c1", 0, 2, 45))
    assert missing.level is Level.CRITICAL and "no conversation row" in missing.title
    unknown = crashes.conversation_state(state("c2", 0, 0, 0))
    assert unknown.level is Level.WARNING and "does not exist" in unknown.title
    fine = crashes.conversation_state(state("c3", 1, 2, 10))
    assert (fine.level, fine.count) == (Level.OK, 0)
    assert fine.title == "c3 exists with 2 members and 10 messages"
    nobody = crashes.conversation_state(state("", 0, 0, 0))
    assert not nobody.checked and "set convo_id" in nobody.title

"""Database consistency checks judge the runbook queries' rows correctly."""

import pandas as pd
import pytest

from mcops.checks import database
from mcops.findings import Level


def test_duplicate_epochs_is_critical_and_carries_every_row():
    frame = pd.DataFrame({"convo_id": ["c1", "c2"], "epoch": [4, 7], "count": [2, 3]})
    finding = database.duplicate_epochs(frame, window="last 1h")
    assert finding.level is Level.CRITICAL
    assert finding.count == 2
    assert [row["convo_id"] for row in finding.data] == ["c1", "c2"]
    assert "3 extra commit rows" in finding.detail
    assert "last 1h" in finding.title


def test_no_duplicates_is_ok_with_zero_count():
    frame = pd.DataFrame({"convo_id": [], "epoch": [], "count": []})
    finding = database.duplicate_epochs(frame)
    assert (finding.level, finding.count, finding.data) == (Level.OK, 0, ())


def test_epoch_consistency_reports_drift_direction():
    frame = pd.DataFrame(
        {"id": ["a", "b"], "current_epoch": [3, 9], "max_message_epoch": [5, 9 - 1]}
    )
    finding = database.epoch_consistency(frame)
    assert finding.level is Level.WARNING
    assert [row["drift"] for row in finding.data] == [-2, 1]
    assert "1 are behind" in finding.detail


def test_sequence_gaps_and_left_member_unread():
    gaps = database.sequence_gaps(
        pd.DataFrame({"convo_id": ["c"], "message_count": [3], "max_seq": [5]})
    )
    assert gaps.level is Level.WARNING and gaps.data[0]["missing"] == 2
    left = database.left_member_unread(
        pd.DataFrame({"convo_id": ["c"], "member_did": ["did:x"], "left_at": [pd.Timestamp.now()]})
    )
    assert left.level is Level.WARNING and left.count == 1


def test_wrong_frame_names_the_missing_columns():
    with pytest.raises(ValueError, match=r"lacks columns \['count'\]"):
        database.duplicate_epochs(pd.DataFrame({"convo_id": [], "epoch": []}))


def test_row_cap_keeps_full_count():
    frame = pd.DataFrame({"convo_id": [f"c{i}" for i in range(120)], "epoch": 1, "count": 2})
    finding = database.duplicate_epochs(frame)
    assert finding.count == 120
    assert len(finding.data) == 50


def test_stale_conversations_are_info_and_named_as_their_own_check():
    """000 Memory Leak Mitigation step 2: conversations idle for 7 days can be cleaned up."""
    import pandas as pd

    from mcops.checks import database

    none = database.stale_conversations(pd.DataFrame({"id": []}))
    assert (none.check, str(none.level)) == ("stale_conversations", "ok")
    some = database.stale_conversations(pd.DataFrame({"id": ["c1", "c2"]}))
    assert (some.check, str(some.level), some.count) == ("stale_conversations", "info", 2)

"""Epoch-conflict checks: actor system on/off, who wrote duplicates, remediation outcomes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from mcops.checks import epochs
from mcops.errors import SourceError, SourceUnreachable
from mcops.findings import Level
from mcops.scenarios import epoch_conflicts

ON = {"enable_actor_system": True, "actor_system_enabled": True, "faults": {}}
OFF = {"enable_actor_system": False, "actor_system_enabled": False, "faults": {}}
FAULTED = {
    "enable_actor_system": True,
    "actor_system_enabled": False,
    "faults": {"actor_system_disabled": {}},
}


def logs(*msgs: str) -> pd.DataFrame:
    ts = pd.date_range("2026-11-23T10:00Z", periods=len(msgs), freq="1s")
    return pd.DataFrame({"ts": ts, "level": "INFO", "msg": list(msgs)})


def judge(config: dict | None, frame: pd.DataFrame | None):
    return epochs.actor_system_enabled(epochs.actor_system_signals(config, frame))


def test_config_off_is_critical_and_names_the_variable():
    finding = judge(OFF, None)
    assert finding.level is Level.CRITICAL
    assert "config says it is off" in finding.title
    assert "ENABLE_ACTOR_SYSTEM=false" in finding.detail


def test_fault_turning_it_off_at_run_time_is_critical_too():
    finding = judge(FAULTED, logs(epochs.ACTOR_LINE))
    assert finding.level is Level.CRITICAL
    assert "fault actor_system_disabled is active" in finding.detail


def test_legacy_lines_are_critical_even_when_the_config_says_on():
    finding = judge(ON, logs(epochs.ACTOR_LINE, epochs.LEGACY_LINE, epochs.LEGACY_LINE))
    assert finding.level is Level.CRITICAL
    assert finding.count == 2
    assert "1 × 'Using actor system" in finding.detail
    rows = {r["signal"]: r for r in finding.data}
    assert rows[epochs.LEGACY_LINE]["lines"] == 2
    assert str(rows[epochs.LEGACY_LINE]["last_seen"]).startswith("2026-11-23 10:00:02")


def test_on_by_config_or_by_logs_alone_is_ok():
    assert judge(ON, logs("Server started")).level is Level.OK
    assert judge(None, logs(epochs.ACTOR_LINE)).level is Level.OK


def test_logs_without_add_members_and_no_config_is_undetermined():
    finding = judge(None, logs("Server started"))
    assert finding.level is Level.INFO
    assert finding.title.startswith("Undetermined")


def test_read_signals_uses_the_source_that_answers():
    def down() -> dict:
        raise SourceUnreachable("refused", source="service", fix="start it")

    frame = epochs.read_signals(config=down, logs=lambda: logs(epochs.LEGACY_LINE))
    assert list(frame["source"]) == ["logs", "logs", "config"]
    assert frame.iloc[-1]["signal"] == "unavailable" and "refused" in frame.iloc[-1]["detail"]
    assert epochs.actor_system_enabled(frame).level is Level.CRITICAL


def test_read_signals_raises_when_neither_source_answers():
    def down() -> pd.DataFrame:
        raise SourceUnreachable("gone", source="logs")

    with pytest.raises(SourceError, match="neither /admin/config nor the logs"):
        epochs.read_signals(config=down, logs=down)


def test_signals_frame_with_wrong_columns_is_rejected():
    with pytest.raises(ValueError, match="lacks columns"):
        epochs.actor_system_enabled(pd.DataFrame({"source": []}))


def writers_frame(rows: list[tuple[str, int, int, int, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["convo_id", "epoch", "count", "writers", "server_ids"])


def test_duplicates_from_several_instances_point_at_sticky_sessions():
    finding = epochs.duplicate_writers(
        writers_frame([("c1", 3, 2, 2, "a,b"), ("c2", 1, 2, 1, "a")])
    )
    assert finding.level is Level.WARNING
    assert finding.title.startswith("1 duplicate epochs were written by several")
    assert "(2: a, b)" in finding.title
    assert "sticky sessions" in finding.detail
    assert finding.count == 2


def test_duplicates_from_one_instance_are_not_a_sticky_session_problem():
    finding = epochs.duplicate_writers(writers_frame([("c1", 3, 4, 1, "srv-1")]))
    assert finding.level is Level.INFO
    assert "single instance (srv-1)" in finding.title


def test_no_duplicates_nothing_to_attribute():
    finding = epochs.duplicate_writers(writers_frame([]))
    assert (finding.level, finding.count) == (Level.OK, 0)
    with pytest.raises(ValueError, match=r"lacks columns \['writers', 'server_ids'\]"):
        epochs.duplicate_writers(pd.DataFrame(columns=["convo_id", "epoch", "count"]))


@dataclass(frozen=True)
class Report:
    """The two things the checks read from an ActionReport."""

    mode: str
    backup: str | None = None
    changes: int = 1
    action: str = "delete_duplicate_commits"

    def as_summary(self) -> dict:
        return {
            "action": self.action,
            "mode": self.mode,
            "changes": self.changes,
            "backup": self.backup,
        }


REMAINING = pd.DataFrame({"convo_id": ["c1"], "epoch": [2], "count": [3]})
NONE_LEFT = REMAINING.iloc[:0]


@pytest.mark.parametrize(
    ("remaining", "report", "level", "start"),
    [
        (NONE_LEFT, Report("apply"), Level.OK, "Verified: no duplicates remain"),
        (REMAINING, Report("apply"), Level.CRITICAL, "Verification failed: 1 duplicates remain"),
        (REMAINING, Report("plan"), Level.INFO, "Plan only: 1 duplicates remain"),
        (REMAINING, None, Level.INFO, "Plan only"),
        (NONE_LEFT, None, Level.OK, "Verified"),
    ],
)
def test_remediation_verified(remaining, report, level, start):
    finding = epochs.remediation_verified(
        remaining, report=report, what="duplicates", check="duplicates_removed"
    )
    assert (finding.check, finding.level) == ("duplicates_removed", level)
    assert finding.title.startswith(start)
    assert finding.count == len(remaining)


def test_index_present():
    name = "uq_messages_convo_epoch_commit"
    frame = pd.DataFrame(
        {"table_name": ["messages"], "index_name": [name], "definition": ["CREATE ..."]}
    )
    assert epochs.index_present(frame, name=name, report=Report("apply")).level is Level.OK
    assert epochs.index_present(frame[:0], name=name, report=Report("plan")).level is Level.INFO
    missing = epochs.index_present(frame[:0], name=name, report=Report("apply"))
    assert missing.level is Level.CRITICAL and name in missing.title


def test_remediation_files_are_relative_to_the_evidence_dir(tmp_path: Path):
    backup = tmp_path / "backup-delete_duplicate_commits-x.json"
    reports = [
        Report("apply", backup=str(backup), changes=9),
        Report("plan", action="reset_epoch", changes=0),
        None,
    ]
    frame = epoch_conflicts.remediation_files(
        reports, audit_log=tmp_path / "audit.jsonl", evidence_dir=tmp_path
    )
    records = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
    assert records == [
        {
            "action": "delete_duplicate_commits",
            "mode": "apply",
            "changes": 9,
            "backup": backup.name,
            "audit_log": "audit.jsonl",
        },
        {
            "action": "reset_epoch",
            "mode": "plan",
            "changes": 0,
            "backup": None,
            "audit_log": None,
        },
    ]

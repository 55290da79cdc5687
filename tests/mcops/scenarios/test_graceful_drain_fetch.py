"""graceful_drain's step 2 wait, called directly on a database written from the runbook's
schema alone: without ``service_url`` the MC's active meetings come from the GC's
``meetings`` table, and the wait stops at zero or at ``drain_timeout``, never later."""

from __future__ import annotations

import sqlalchemy as sa

from mcops import schema
from mcops.evidence import Recorder
from mcops.investigation import Investigation
from mcops.scenarios import graceful_drain as fetch


def investigation(database_url: str, **params) -> Investigation:
    recorder = Recorder(
        scenario="graceful_drain",
        parameters={"database_url": database_url, "poll_interval": "0.2s", **params},
        display=lambda bundle: None,
    )
    return Investigation(recorder)


def database(tmp_path, *statuses: str) -> str:
    url = f"sqlite:///{tmp_path / 'gc.db'}"
    engine = sa.create_engine(url)
    schema.metadata.create_all(engine, tables=[schema.meetings])
    with engine.begin() as conn:
        for i, status in enumerate(statuses):
            conn.execute(
                schema.meetings.insert().values(meeting_id=f"m{i}", mc_id="mc-1", status=status)
            )
        conn.execute(schema.meetings.insert().values(meeting_id="x", mc_id="mc-2", status="active"))
    engine.dispose()
    return url


def test_the_wait_stops_at_the_timeout_with_the_meetings_left(tmp_path):
    url = database(tmp_path, "active", "active", "ended")
    frame = fetch.wait_for_drain(investigation(url, drain_timeout="1s"), "mc-1")
    assert frame["meetings_active"].tolist()[0] == 2  # mc-2's meeting is not ours
    assert frame["meetings_active"].iloc[-1] == 2
    assert 1 <= frame["waited_s"].iloc[-1] < 3
    assert len(frame) >= 3  # polled every poll_interval, not once


def test_the_wait_ends_at_once_when_nothing_is_active(tmp_path):
    url = database(tmp_path, "ended")
    frame = fetch.wait_for_drain(investigation(url, drain_timeout="30s"), "mc-1")
    assert frame.to_dict(orient="records") == [{"waited_s": 0.0, "meetings_active": 0}]

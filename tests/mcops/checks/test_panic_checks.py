"""Runbook 004 Scenario 2 checks: panic counts, panics in logs, recurrence, rollouts."""

import json
from datetime import timedelta

import pandas as pd
import pytest

from mcops.checks import panics
from mcops.errors import SourceConfigError
from mcops.evidence import Recorder
from mcops.findings import Level
from mcops.investigation import Investigation
from mcops.scenarios import actor_panics
from mcops.sources.logparse import parse_log_bytes
from mcops.sources.scrape import parse_exposition

T0 = pd.Timestamp("2026-11-23T10:00:00Z")

EXPOSITION = """\
# HELP mc_actor_panics_total Unexpected exceptions in actors
# TYPE mc_actor_panics_total counter
mc_actor_panics_total{actor_type="conversation"} 0.0
mc_actor_panics_total{actor_type="meeting"} 4.0
# HELP mc_meetings_active Active meetings
# TYPE mc_meetings_active gauge
mc_meetings_active 2.0
"""

TRACE = (
    "Traceback (most recent call last):\n"
    '  File "/srv/server/meeting.py", line 150, in on_receive\n'
    "    raise RuntimeError(\n"
    "RuntimeError: invariant violated: connection table of meeting m-1 is inconsistent\n"
)


def log_bytes(*records: dict) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in records)


def server_logs() -> pd.DataFrame:
    """Lines as the actor server writes them around a meeting_panic fault."""
    return parse_log_bytes(
        log_bytes(
            {"ts": "2026-11-23T10:00:00Z", "level": "WARN", "msg": "Fault injected: meeting_panic"},
            *[
                {
                    "ts": f"2026-11-23T10:00:0{i + 1}Z",
                    "level": "ERROR",
                    "target": "server.actors",
                    "msg": f"Actor panicked: invariant violated for meeting {m}",
                    "meeting_id": m,
                    "actor_type": "meeting",
                    "error_type": "panic",
                    "backtrace": TRACE.replace("m-1", m),
                }
                for i, m in enumerate(["m-1", "m-1", "m-2"])
            ],
            {
                "ts": "2026-11-23T10:00:05Z",
                "level": "ERROR",
                "msg": "POST /meetings/m-1/messages -> 500: meeting actor m-1 crashed "
                "(meeting_panic fault)",
            },
            {"ts": "2026-11-23T10:00:06Z", "level": "INFO", "msg": "Meeting m-3 ended (empty)"},
        )
    )


def test_counts_from_a_scrape_by_actor_type():
    counts = panics.counts_from_scrape(parse_exposition(EXPOSITION, at=T0.to_pydatetime()))
    assert dict(zip(counts["actor_type"], counts["panics"], strict=True)) == {
        "conversation": 0.0,
        "meeting": 4.0,
    }
    counts.attrs["over"] = "since the service started"
    finding = panics.panic_counts(counts)
    assert finding.check == "actor_panics"
    assert finding.level == Level.CRITICAL
    assert finding.title == "4 actor panics since the service started: meeting (4)"
    assert [row["actor_type"] for row in finding.data] == ["meeting"]


def test_no_panics_is_ok_whether_zero_or_not_exported():
    zero = panics.counts_from_scrape(
        parse_exposition(EXPOSITION.replace(" 4.0", " 0.0"), at=T0.to_pydatetime())
    )
    assert panics.panic_counts(zero).level == Level.OK
    missing = panics.counts_from_scrape(
        parse_exposition("# TYPE up gauge\nup 1\n", at=T0.to_pydatetime())
    )
    assert missing.empty
    assert panics.panic_counts(missing).level == Level.OK


def test_panic_lines_with_meetings_trace_and_cause_but_not_lines_naming_the_fault():
    finding = panics.panics_in_logs(server_logs())
    assert finding.check == "panic_logs"
    assert finding.level == Level.CRITICAL
    assert finding.count == 3  # neither "Fault injected: meeting_panic" nor the HTTP 500 line
    assert len(finding.data) == 2  # two distinct errors (m-1's and m-2's)
    by_meeting = {row["meetings"]: row for row in finding.data}
    assert by_meeting["m-1"]["panics"] == 2
    assert by_meeting["m-2"]["panics"] == 1
    assert by_meeting["m-1"]["likely_cause"] == "invariant violation"
    assert by_meeting["m-1"]["error"].startswith("RuntimeError: invariant violated")
    assert "meeting.py" in by_meeting["m-1"]["backtrace"]
    assert "2 meetings affected" in finding.title


def test_no_panic_in_logs_is_ok():
    quiet = parse_log_bytes(log_bytes({"ts": "2026-11-23T10:00:00Z", "level": "INFO", "msg": "ok"}))
    assert panics.panics_in_logs(quiet).level == Level.OK


@pytest.mark.parametrize(
    ("text", "cause"),
    [
        ("thread panicked: called `Option::unwrap()` on a `None` value", "null pointer / unwrap"),
        ("AttributeError: 'NoneType' object has no attribute 'id'", "null pointer / unwrap"),
        ("JSONDecodeError: Expecting value: line 1 column 1", "invalid message format"),
        ("AssertionError: epoch went backwards", "invariant violation"),
        ("MemoryError", "resource exhaustion"),
        ("httpx.ConnectError: GC refused the connection", "external dependency failure"),
        ("ZeroDivisionError: division by zero", "unknown: read the stack trace"),
    ],
)
def test_likely_cause_follows_the_runbooks_root_causes(text, cause):
    assert panics.likely_cause(text) == cause


def test_recurring_when_the_counter_rose_in_the_last_five_minutes():
    def increases(*minutes_and_values):
        return pd.DataFrame(
            [
                {"timestamp": T0 + timedelta(minutes=m), "actor_type": "meeting", "value": v}
                for m, v in minutes_and_values
            ]
        )

    until = T0 + timedelta(minutes=30)
    recurring = panics.panic_recurrence(increases((10, 1.0), (27, 2.0), (29, 0.0)), until=until)
    assert recurring.level == Level.CRITICAL
    stopped = panics.panic_recurrence(increases((10, 1.0), (20, 0.0), (29, 0.0)), until=until)
    assert stopped.level == Level.WARNING
    assert "10:10:00" in stopped.title
    never = panics.panic_recurrence(increases((10, 0.0), (29, 0.0)), until=until)
    assert never.level == Level.OK
    assert panics.panic_recurrence(pd.DataFrame(), until=until).level == Level.OK


def history(*created_minutes):
    return pd.DataFrame(
        [
            {
                "revision": i + 1,
                "replicaset": f"mc-{i + 1}",
                "images": f"mc:{i + 1}",
                "replicas": 0,
                "change_cause": None,
                "created": T0 + timedelta(minutes=m),
            }
            for i, m in enumerate(created_minutes)
        ]
    )


def test_a_rollout_shortly_before_the_first_panic_is_the_suspect():
    first = T0 + timedelta(minutes=100)
    suspect = panics.recent_rollout(history(0, 90), first_panic=first, window=timedelta(minutes=30))
    assert suspect.level == Level.WARNING
    assert suspect.count == 1
    assert suspect.data[0]["revision"] == 2
    old = panics.recent_rollout(history(0, 10), first_panic=first, window=timedelta(minutes=30))
    assert old.level == Level.OK and old.count == 0
    after = panics.recent_rollout(history(0, 120), first_panic=first, window=timedelta(hours=3))
    assert after.count == 1 and after.data[0]["revision"] == 1  # a later rollout is no suspect
    no_panic = panics.recent_rollout(history(0), first_panic=None, window=timedelta(hours=1))
    assert no_panic.level == Level.OK


def test_first_panic_from_logs_or_counter():
    logs = server_logs()
    assert panics.first_panic_at(logs) == pd.Timestamp("2026-11-23T10:00:01Z")
    inc = pd.DataFrame(
        {"timestamp": [T0, T0 + timedelta(seconds=30)], "actor_type": "meeting", "value": [0, 1.0]}
    )
    assert panics.first_panic_at(pd.DataFrame(), inc) == T0 + timedelta(seconds=30)
    assert panics.first_panic_at(logs, inc) == pd.Timestamp("2026-11-23T10:00:01Z")
    assert panics.first_panic_at(pd.DataFrame()) is None


def investigation(**params):
    shown = []
    recorder = Recorder(
        scenario="actor_panics",
        parameters={"window": "1h", "until": "", **params},
        display=shown.append,
    )
    return Investigation(recorder)


def test_on_a_local_platform_rollouts_are_not_read_and_nothing_is_planned():
    inv = investigation(platform="local", deployment="meeting-controller")
    with pytest.raises(SourceConfigError, match="platform is 'local'"):
        actor_panics.rollouts(inv)
    assert actor_panics.remediations(inv, rollout_suspect=True, pods=["mc-0"]) == []
    no_deployment = investigation(platform="kubernetes", deployment="")
    with pytest.raises(SourceConfigError, match="deployment is empty"):
        actor_panics.rollouts(no_deployment)


def test_counts_need_prometheus_or_a_service_url():
    inv = investigation(prometheus_url="", service_url="")
    with pytest.raises(SourceConfigError, match="both empty"):
        actor_panics.counts(inv)


def test_affected_pods_come_from_kubernetes_log_lines():
    logs = server_logs().assign(pod="mc-7f9")
    assert panics.affected_pods(logs) == ["mc-7f9"]
    assert panics.affected_pods(server_logs()) == []


def test_extrapolated_increases_read_as_whole_panics():
    counts = pd.DataFrame({"actor_type": ["meeting"], "panics": [0.4]})
    counts.attrs["over"] = "in the last 15m"
    assert panics.panic_counts(counts).title == "1 actor panic in the last 15m: meeting (1)"
    counts = pd.DataFrame({"actor_type": ["meeting", "conversation"], "panics": [4.044, 0.0]})
    finding = panics.panic_counts(counts)
    assert finding.title == "4 actor panics: meeting (4)"
    assert finding.data == ({"actor_type": "meeting", "panics": 4.044},)


def test_on_kubernetes_a_rollout_before_the_panic_is_found_and_undo_is_only_planned():
    from mcops.remediate import RolloutUndo
    from tests.mcops.remediate.kube_double import deployment, replica_set, running_kube

    ns, name = "dark-tower", "meeting-controller"
    first_panic = pd.Timestamp.now(tz="UTC").floor("s")
    with running_kube() as (mock, api):
        dep = deployment(ns, name, image="mc:2", revision=2)
        mock.objects["apps/v1/deployments", ns, name] = dep
        for revision, image, age in ((1, "mc:1", timedelta(days=3)), (2, "mc:2", timedelta(0))):
            rs = replica_set(dep, revision=revision, image=image)
            created = first_panic - age - timedelta(minutes=10)
            rs["metadata"]["creationTimestamp"] = created.strftime("%Y-%m-%dT%H:%M:%SZ")
            mock.objects["apps/v1/replicasets", ns, rs["metadata"]["name"]] = rs
        inv = investigation(
            platform="kubernetes", namespace=ns, deployment=name, apply_remediation=False
        )
        history = actor_panics.rollouts(inv, api_client=api)
        assert history["revision"].tolist() == [1, 2]
        finding = panics.recent_rollout(history, first_panic=first_panic, window=inv.window)
        assert finding.level == Level.WARNING
        assert finding.data[0]["revision"] == 2
        inv.record(finding)

        [undo] = actor_panics.remediations(inv, pods=["mc-0"], api_client=api)
        assert isinstance(undo, RolloutUndo)
        report = inv.remediate(undo)
        assert report.as_summary()["mode"] == "plan"
        writes = [r for r in mock if r.method.value in ("PATCH", "PUT", "DELETE")]
        assert writes and all(r.params == {"dryRun": "All"} for r in writes)
        image = dict(mock.objects["apps/v1/deployments", ns, name].raw)["spec"]["template"]
        assert image["spec"]["containers"][0]["image"] == "mc:2"  # nothing changed

        inv.record(
            panics.recent_rollout(history.head(1), first_panic=first_panic, window=inv.window)
        )
        deletes = actor_panics.remediations(inv, pods=["mc-0", "mc-0", "mc-1"], api_client=api)
        assert [d.target for d in deletes] == [
            f"kubernetes {ns}/pod/mc-0",
            f"kubernetes {ns}/pod/mc-1",
        ]

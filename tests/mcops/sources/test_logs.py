"""read_logs on real files and a real `docker` CLI process; malformed lines kept."""

from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime

import pandas as pd
import pytest

from mcops.errors import ParameterError, SourceConfigError, SourceUnreachable
from mcops.sources.logs import parse_log_source, read_logs


def line(ts, level, msg, **extra):
    return json.dumps({"ts": ts, "level": level, "target": "server::actors", "msg": msg, **extra})


LINES = [
    line("2026-11-23T09:00:00Z", "INFO", "Spawning new actor for conversation c-1", convo_id="c-1"),
    line(
        "2026-11-23T09:30:00.250Z",
        "ERROR",
        "Actor crashed: database transaction failed for conversation c-1",
        convo_id="c-1",
        error_type="db",
    ),
    '{"ts": "2026-11-23T09:31:00Z", "level": "ERROR", "msg": "truncated',
    "2026-11-23T09:45:00Z ERROR Actor crashed: timeout for conversation c-2",
    "   ",
    "totally unstructured text",
    line(
        "2026-11-23T09:50:00+01:00",
        "ERROR",
        "Actor panicked: oops for meeting m-7",
        meeting_id="m-7",
        actor_type="meeting",
        backtrace=["frame 1", "frame 2"],
    ),
    line("not-a-time", "WARN", "clock skew"),
    line(
        "2026-11-23T10:00:00Z",
        "INFO",
        "Members added, new epoch: 5 for conversation c-3",
        convo_id="c-3",
    ),
]


@pytest.fixture
def log_file(tmp_path):
    path = tmp_path / "server.log"
    path.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    return path


def test_every_line_is_kept_and_malformed_ones_flagged(log_file):
    frame = read_logs(f"file:{log_file}")
    assert len(frame) == 8  # the blank line is not a log line; nothing else is dropped
    assert frame["raw"].tolist() == [x for x in LINES if x.strip()]
    assert frame["malformed"].tolist() == [False, False, True, False, True, False, True, False]
    assert frame.attrs["malformed"] == 3
    assert list(frame.columns[:6]) == ["ts", "level", "target", "msg", "convo_id", "meeting_id"]
    assert list(frame.columns[-4:]) == ["conversation_ref", "meeting_ref", "raw", "malformed"]
    assert str(frame["ts"].dtype) == "datetime64[ns, UTC]"


def test_fields_refs_and_timezones(log_file):
    frame = read_logs(f"file:{log_file}")
    crash = frame.iloc[1]
    assert (crash["level"], crash["convo_id"], crash["error_type"]) == ("ERROR", "c-1", "db")
    assert crash["ts"] == pd.Timestamp("2026-11-23T09:30:00.250Z")
    plain = frame.iloc[3]  # plain text with a timestamp and a level
    assert (plain["level"], plain["msg"]) == (
        "ERROR",
        "Actor crashed: timeout for conversation c-2",
    )
    panic = frame.iloc[5]
    assert panic["ts"] == pd.Timestamp("2026-11-23T08:50:00Z")  # +01:00 converted to UTC
    assert panic["backtrace"] == ["frame 1", "frame 2"]
    # like grep "Actor crashed" | grep -oP 'conversation \K\S+' | sort | uniq -c
    crashes = frame[frame["msg"].str.contains("Actor crashed", na=False)]
    assert crashes["conversation_ref"].value_counts().to_dict() == {"c-1": 1, "c-2": 1}
    assert frame["meeting_ref"].dropna().tolist() == ["m-7"]


def test_time_window_and_tail(log_file):
    frame = read_logs(f"file:{log_file}", since="30m", until="2026-11-23T10:00:00Z")
    stamped = frame.dropna(subset=["ts"])
    assert stamped["ts"].min() >= pd.Timestamp("2026-11-23T09:30:00Z")
    assert stamped["ts"].max() <= pd.Timestamp("2026-11-23T10:00:00Z")
    assert frame["malformed"].sum() == 3  # lines without a time are never dropped
    assert "Spawning new actor for conversation c-1" not in frame["msg"].tolist()
    since = datetime(2026, 11, 23, 9, 40, tzinfo=UTC)
    assert read_logs(f"file:{log_file}", since=since, tail=2)["raw"].tolist() == LINES[-2:]


def test_only_good_json_takes_the_fast_path(tmp_path):
    path = tmp_path / "good.log"
    rows = [
        line(f"2026-11-23T09:{i:02d}:00Z", "INFO", f"Spawning new actor for conversation c{i}")
        for i in range(50)
    ]
    path.write_text("\n".join(rows) + "\n")
    frame = read_logs(f"file:{path}")
    assert not frame["malformed"].any()
    assert frame["conversation_ref"].tolist() == [f"c{i}" for i in range(50)]


def fake_docker(tmp_path, script):
    """A real `docker` executable on disk that prints what `docker logs` would."""
    path = tmp_path / "docker"
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


def test_docker_logs_with_timestamps(tmp_path):
    args_file = tmp_path / "args"
    out = "\n".join(
        [
            f"2026-11-23T09:00:00.000000001Z {LINES[0]}",
            "2026-11-23T09:00:01.000000000Z plain stdout line without its own time",
        ]
    )
    docker = fake_docker(
        tmp_path,
        f"echo \"$@\" > {args_file}\ncat <<'EOF'\n{out}\nEOF\n"
        "echo '2026-11-23T09:00:00.500000000Z stderr says hi' >&2\n",
    )
    frame = read_logs(
        "docker:catbird-mls-server", since="2026-11-23T08:00:00Z", tail=10, docker=docker
    )
    assert args_file.read_text().split() == [
        "logs",
        "--timestamps",
        "--since",
        "2026-11-23T08:00:00.000000Z",
        "--tail",
        "10",
        "catbird-mls-server",
    ]
    assert frame["msg"].tolist() == [
        "Spawning new actor for conversation c-1",
        "stderr says hi",
        "plain stdout line without its own time",
    ]
    assert not frame["malformed"].any()  # the runtime's timestamp stands in


def test_docker_without_daemon_or_binary(tmp_path):
    docker = fake_docker(
        tmp_path,
        "echo 'Cannot connect to the Docker daemon at "
        "unix:///var/run/docker.sock. Is the docker daemon running?' >&2\n"
        "exit 1\n",
    )
    with pytest.raises(SourceUnreachable, match=r"Docker daemon"):
        read_logs("docker:x", docker=docker)
    with pytest.raises(SourceConfigError, match=r"not installed"):
        read_logs("docker:x", docker=os.fspath(tmp_path / "no-docker-here"))


def test_bad_log_sources(tmp_path):
    with pytest.raises(SourceConfigError, match=r"file:/var/log"):
        read_logs("syslog:/var/log/x")
    with pytest.raises(SourceConfigError, match=r"does not exist"):
        read_logs(f"file:{tmp_path / 'missing.log'}")
    with pytest.raises(SourceConfigError, match=r"NAMESPACE/LABEL_SELECTOR"):
        parse_log_source("k8s:dark-tower")
    with pytest.raises(ParameterError, match=r"since='soon'"):
        read_logs(f"file:{tmp_path}", since="soon")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.log"
    path.write_text("")
    frame = read_logs(f"file:{path}")
    assert frame.empty and frame.attrs["malformed"] == 0
    assert "raw" in frame.columns


def test_a_fifo_is_refused_up_front_not_read(tmp_path):
    """Opening a FIFO without a writer blocks forever; it is refused before any open."""
    fifo = tmp_path / "server.log"
    os.mkfifo(fifo)
    with pytest.raises(SourceConfigError, match=r"not a regular file .* fix: point log_source"):
        read_logs(f"file:{fifo}")

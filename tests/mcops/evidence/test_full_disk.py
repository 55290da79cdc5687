"""A full disk for evidence (issue 12: nothing breaks, nothing hangs, nothing is lost).

On a real full filesystem (a tmpfs filled to ENOSPC, `tests.support.full_disk`), each
command a user runs says so in one line — the problem, the path and the fix — exits 2,
prints no traceback, and leaves what was already on the disk as it was: no half-written
summary.json, no half audit record, no database change without its audit record.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from mcops.errors import EvidenceUnwritable
from mcops.remediate import AuditLog
from mcops.storage import check_room, describe, write_atomic
from server.store import schema
from tests.mcops.remediate.conftest import commit, convo, insert, snapshot
from tests.support.full_disk import FILLER, fill, tmpfs
from tests.support.full_disk import full_disk as full_disk  # the fixture
from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[3]


def mcops(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """``mcops ARGS...`` as a user types it, from the repository root."""
    return subprocess.run(
        [sys.executable, "-m", "mcops.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout,
        check=False,
    )


def lab_free() -> list[str]:
    """The cheapest triage: a service_url nothing listens on (health is critical)."""
    return ["-p", f"service_url=http://127.0.0.1:{free_port()}"]


def one_line_error(proc: subprocess.CompletedProcess[str], command: str) -> str:
    """The user's view of a failed command: exit 2, one stderr line, no traceback."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"mcops {command}: "), lines[0]
    return lines[0]


def files(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` but the filler, with its content."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != FILLER
    }


@pytest.fixture(scope="module")
def earlier_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real triage evidence directory, written once on the ordinary disk."""
    out = tmp_path_factory.mktemp("earlier") / "triage"
    proc = mcops("run", "triage", "--out", str(out), "--no-progress", *lab_free())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


# --- the building blocks, on the real full disk --------------------------------------


def test_a_write_on_a_full_disk_keeps_the_old_file_whole(tmp_path):
    with tmpfs(tmp_path / "disk") as disk:
        old = write_atomic(disk / "summary.json", '{"status": "ok"}\n')
        fill(disk)
        with pytest.raises(OSError) as err:
            write_atomic(old, json.dumps({"status": "error", "pad": "x" * 10_000}))
        assert err.value.errno == errno.ENOSPC and err.value.filename == str(old)
        assert old.read_text() == '{"status": "ok"}\n'
        assert sorted(p.name for p in disk.iterdir()) == [FILLER, "summary.json"]  # no .tmp


def test_the_room_check_says_full_and_leaves_no_directory(full_disk):
    target = full_disk / "evidence" / "run-1"
    with pytest.raises(EvidenceUnwritable) as err:
        check_room(target)
    message = str(err.value)
    assert message.startswith(f"no space left on device: cannot write {target} (0 B free on ")
    assert message.endswith(f"— fix: free space on {full_disk} or pass another --out DIR")
    assert err.value.errno == errno.ENOSPC and err.value.path == str(target)
    assert not (full_disk / "evidence").exists()


def test_a_disk_with_little_room_is_refused_before_the_run(tmp_path):
    with (
        tmpfs(tmp_path / "small", size="512k") as disk,
        pytest.raises(EvidenceUnwritable, match=r"no space left on device for .* needs 1\.0 MiB"),
    ):
        check_room(disk / "ev")


def test_a_read_only_filesystem_names_the_remount(tmp_path):
    with tmpfs(tmp_path / "ro") as disk:
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        with pytest.raises(EvidenceUnwritable) as err:
            check_room(disk / "ev")
        assert str(err.value) == (
            f"read-only file system: cannot write {disk / 'ev'} — fix: remount {disk} "
            "read-write or pass another --out DIR"
        )


def test_an_os_error_the_commands_did_not_expect_still_names_the_fix(full_disk):
    err = OSError(errno.EDQUOT, os.strerror(errno.EDQUOT), str(full_disk / "x"))
    assert describe(err, None, elsewhere="write to another disk") == (
        f"disk quota exceeded: cannot write {full_disk / 'x'} (0 B free on {full_disk}) "
        f"— fix: free space in your quota on {full_disk} or write to another disk"
    )


# --- 1. mcops run ----------------------------------------------------------------------


def test_mcops_run_on_a_full_disk_says_so_before_any_kernel(tmp_path):
    with tmpfs(tmp_path / "disk") as disk:
        (disk / "earlier").mkdir()  # a run before the disk filled
        (disk / "earlier" / "summary.json").write_text('{"status": "ok"}\n')
        fill(disk)
        kept = files(disk)
        out = disk / "ev"
        started = time.monotonic()
        proc = mcops("run", "triage", "--out", str(out), "--no-progress", *lab_free())
        seconds = time.monotonic() - started
        line = one_line_error(proc, "run")
        assert "no space left on device" in line and str(out) in line, line
        assert line.endswith(f"— fix: free space on {disk} or pass another --out DIR"), line
        assert not out.exists()  # no kernel ran, nothing was left behind
        assert files(disk) == kept
        assert seconds < 30, f"the user waited {seconds:.0f} s to learn the disk is full"


@pytest.mark.slow
def test_a_rerun_into_earlier_evidence_on_a_full_disk_leaves_it_whole(tmp_path, earlier_run):
    with tmpfs(tmp_path / "disk", size="8m") as disk:
        out = disk / "triage"
        shutil.copytree(earlier_run, out)
        fill(disk)
        kept = files(disk)
        proc = mcops("run", "triage", "--out", str(out), "--no-progress", *lab_free())
        line = one_line_error(proc, "run")
        assert "no space left on device" in line and str(out) in line, line
        assert files(disk) == kept
        assert json.loads((out / "summary.json").read_text())["status"] == "ok"
        verified = mcops("verify", str(out))
        assert verified.returncode == 0, verified.stdout + verified.stderr


@pytest.mark.slow
def test_a_disk_that_fills_during_the_run_is_one_line_and_no_half_file(tmp_path):
    """2 MiB free passes the check; the first run's plotly.min.js (4.8 MB) does not fit."""
    with tmpfs(tmp_path / "disk", size="2m") as disk:
        out = disk / "ev"
        proc = mcops("run", "triage", "--out", str(out), "--no-progress", *lab_free())
        line = one_line_error(proc, "run")
        assert line.startswith(f"mcops run: no space left on device: cannot write {out}/"), line
        assert line.endswith(f"— fix: free space on {disk} or pass another --out DIR"), line
        assert not (out / "summary.json").exists()  # nothing claims the run succeeded
        left = files(out)
        assert not [name for name in left if name.endswith(".tmp")], sorted(left)
        assert "plotly.min.js" not in left  # not half of it either
        json.loads(left["triage.ipynb"])  # what was written is whole
        assert left["triage.html"].rstrip().endswith(b"</html>")


# --- 2. a remediation whose audit log is on the full disk ------------------------------


@pytest.fixture
def database(tmp_path: Path) -> tuple[str, sa.Engine]:
    """SQLite on the ordinary disk: c1's epoch is 0, a commit says 4 (reset_epoch fixes it)."""
    url = f"sqlite:///{tmp_path / 'service.db'}"
    engine = sa.create_engine(url)
    schema.metadata.create_all(engine)
    insert(engine, schema.conversations, [convo("c1", 0)])
    insert(engine, schema.messages, [commit("c1", 4, 1, id=1)])
    return url, engine


@pytest.mark.parametrize("earlier", ["new log", "earlier records up to a block's end"])
def test_an_apply_whose_audit_cannot_be_written_changes_nothing(tmp_path, database, earlier):
    url, engine = database
    backups = tmp_path / "backups"
    with tmpfs(tmp_path / "disk") as disk:
        audit = disk / "audit.jsonl"
        if earlier != "new log":  # the next record would half fit in the last block
            record = {"action": "reset_epoch", "result": "ok", "reason": ""}
            line = json.dumps(record) + "\n"
            pad = 4096 - 40 - 2 * len(line)  # the intent (~500 bytes) finds 40 free
            audit.write_text(line + json.dumps({**record, "reason": "x" * pad}) + "\n")
            assert audit.stat().st_size == 4096 - 40
        fill(disk)
        kept = files(disk)
        before = snapshot(engine)
        proc = mcops(
            "remediate", "reset_epoch", "--target", "convo_id=c1", "--database-url", url,
            "--audit-log", str(audit), "--backup-dir", str(backups), "--apply",
        )  # fmt: skip
        line = one_line_error(proc, "remediate")
        assert "refused, nothing was changed: no space left on device" in line, line
        assert f"cannot write the audit log {audit}" in line, line
        assert f"— fix: free space on {disk} or point --audit-log" in line, line
        assert snapshot(engine) == before  # no audit, no change
        assert not backups.exists()  # not even a backup was taken
        assert {k: v for k, v in files(disk).items() if v} == {k: v for k, v in kept.items() if v}
        assert all(r["result"] == "ok" for r in AuditLog(audit).records())  # every line reads
    engine.dispose()


# --- 3. mcops report and mcops postmortem --out ------------------------------------------


def test_mcops_report_on_a_full_disk_says_so_before_any_kernel(full_disk):
    out = full_disk / "reports" / "daily"
    proc = mcops("report", "triage", "--out", str(out), "--no-progress", *lab_free())
    line = one_line_error(proc, "report")
    assert line == (
        f"mcops report: no space left on device: cannot write {out} (0 B free on {full_disk}) "
        f"— fix: free space on {full_disk} or pass another --out DIR"
    )
    assert not (full_disk / "reports").exists()


@pytest.mark.slow
def test_mcops_postmortem_out_on_a_full_disk_says_so(earlier_run, full_disk):
    target = full_disk / "pm.md"
    proc = mcops("postmortem", str(earlier_run), "--out", str(target))
    line = one_line_error(proc, "postmortem")
    assert line.startswith(f"mcops postmortem: no space left on device: cannot write {target}")
    assert line.endswith(f"— fix: free space on {full_disk} or pass another --out FILE"), line
    assert sorted(p.name for p in full_disk.iterdir()) == [FILLER]  # no half postmortem

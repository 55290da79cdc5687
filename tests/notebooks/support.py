"""Running scenario notebooks the way users do: the `mcops` CLI in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.server_process import ADMIN_TOKEN

ROOT = Path(__file__).resolve().parents[2]
#: the environment variable tests pass the server's admin token in
TOKEN_VARIABLE = "MCOPS_TEST_ADMIN_TOKEN"

#: Message latency on a shared two-CPU CI machine measures the machine (a healthy server's
#: p95 reached 52 ms with two test workers, 140 ms for increment_unread with four: "slower
#: than its class"), while the tests using this judge a healthy server against a faulty
#: one. The latency bands themselves are tested at their boundaries in
#: tests/mcops/test_thresholds.py. Same band names, a hundred times wider.
RELAXED_LATENCY = """
metrics:
  p95_latency_ms:
    bands:
      fast: {level: ok, upto: 1000, inclusive: false}
      normal: {level: ok, upto: 5000}
      slow: {level: warning, upto: 20000}
      critical: {level: critical, upto: 100000}
"""


def relaxed_latency_file(directory: Path) -> Path:
    """A thresholds file with `RELAXED_LATENCY`, for ``-p thresholds_file=...``."""
    path = directory / "relaxed-latency.yaml"
    path.write_text(RELAXED_LATENCY)
    return path


@dataclass(frozen=True)
class Run:
    """One `mcops run`: exit code, console output, and the evidence it left."""

    exit_code: int
    output: str
    out_dir: Path

    @property
    def summary(self) -> dict[str, Any]:
        return json.loads((self.out_dir / "summary.json").read_text())

    def finding(self, check: str) -> dict[str, Any]:
        found = [f for f in self.summary["findings"] if f["check"] == check]
        assert found, f"no finding {check!r} in {[f['check'] for f in self.summary['findings']]}"
        return found[0]

    def evidence_bytes(self) -> bytes:
        return b"".join(p.read_bytes() for p in sorted(self.out_dir.iterdir()) if p.is_file())


def mcops_run(scenario: str, out_dir: Path, *args: str, env: dict[str, str] | None = None) -> Run:
    """``mcops run SCENARIO --out DIR ARGS...`` as a user would type it."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mcops.cli",
            "run",
            scenario,
            "--out",
            str(out_dir),
            "--no-progress",
            *args,
        ],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=ROOT,
        timeout=240,
    )
    return Run(proc.returncode, proc.stdout + proc.stderr, out_dir)


def run_against(
    scenario: str, out_dir: Path, server: Any, *params: str, env: dict[str, str] | None = None
) -> Run:
    """``mcops run SCENARIO`` against a test server: its URL, its admin token passed as
    ``env:`` (so the evidence can be searched for it), and ``params`` (``NAME=VALUE``)."""
    args = [f"service_url={server.url}", f"admin_token=env:{TOKEN_VARIABLE}", *params]
    return mcops_run(
        scenario,
        out_dir,
        *[part for value in args for part in ("-p", value)],
        env={TOKEN_VARIABLE: ADMIN_TOKEN, **(env or {})},
    )

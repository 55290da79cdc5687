"""A real Alertmanager (Debian's prometheus-alertmanager) on a free loopback port."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml

from tests.support.ports import free_port, wait_http


@contextmanager
def running_alertmanager(webhook_url: str) -> Iterator[str]:
    """Run Alertmanager routing every alert to ``webhook_url`` at once; yield host:port.

    Group wait/interval are 1 s so a firing alert reaches the webhook in a few seconds
    (FIELD-NOTES: about 2.5 s for a new group).
    """
    binary = shutil.which("prometheus-alertmanager")
    if binary is None:
        raise RuntimeError(
            "prometheus-alertmanager is missing: apt-get install -y --no-install-recommends "
            "prometheus-alertmanager (make test does this)"
        )
    workdir = Path(tempfile.mkdtemp(prefix="mcops-am-"))
    config = {
        "route": {
            "receiver": "mcops",
            "group_by": ["alertname"],
            "group_wait": "1s",
            "group_interval": "1s",
            "repeat_interval": "1h",
        },
        "receivers": [
            {"name": "mcops", "webhook_configs": [{"url": webhook_url, "send_resolved": False}]}
        ],
    }
    (workdir / "alertmanager.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    with (workdir / "alertmanager.log").open("wb") as log:  # the child keeps its own copy
        proc = subprocess.Popen(
            [
                binary,
                f"--config.file={workdir / 'alertmanager.yml'}",
                f"--storage.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address=",
            ],
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    try:
        wait_http(f"http://127.0.0.1:{port}/-/ready")
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(workdir, ignore_errors=True)

"""A real Prometheus on a free loopback port, scraping the targets a test names."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
import yaml

from tests.support.ports import free_port, wait_http


def prometheus_binary() -> str:
    path = shutil.which("prometheus")
    if path is None:
        raise RuntimeError(
            "the prometheus binary is missing: run `apt-get install -y "
            "--no-install-recommends prometheus` (make test does this)"
        )
    return path


def wait_scraped(url: str, *, timeout: float = 20.0) -> None:
    """Prometheus applies new targets about 5 s after start: wait for the first scrape,
    so counters have a sample from before a test's traffic and rates can see it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = httpx.get(f"{url}/api/v1/query", params={"query": "up"}, timeout=5).json()
        if answer["data"]["result"]:
            return
        time.sleep(0.2)
    raise TimeoutError(f"Prometheus at {url} did not scrape its targets within {timeout}s")


@contextmanager
def running_prometheus(
    targets: Sequence[str] = (),
    *,
    scrape_interval: str = "1s",
    rule_files: Sequence[Path] = (),
    alertmanager: str | None = None,
    tsdb_dir: Path | None = None,
    extra_args: Sequence[str] = (),
) -> Iterator[str]:
    """Run Prometheus scraping ``targets`` (``host:port``); yield its base URL."""
    workdir = Path(tempfile.mkdtemp(prefix="mcops-prom-"))
    config: dict = {
        "global": {"scrape_interval": scrape_interval, "evaluation_interval": scrape_interval},
        "scrape_configs": [
            {"job_name": "mcops-server", "static_configs": [{"targets": list(targets)}]}
        ]
        if targets
        else [],
    }
    if rule_files:
        config["rule_files"] = [str(p) for p in rule_files]
    if alertmanager:
        config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]}
    (workdir / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    with (workdir / "prometheus.log").open("wb") as log:  # the child keeps its own copy
        proc = subprocess.Popen(
            [
                prometheus_binary(),
                f"--config.file={workdir / 'prometheus.yml'}",
                f"--storage.tsdb.path={tsdb_dir or workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                *extra_args,
            ],
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/-/ready")
        if targets:
            wait_scraped(url)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(workdir, ignore_errors=True)

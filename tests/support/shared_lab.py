"""One healthy lab a test run shares: the real server, a real Prometheus, seeded traffic.

Tests that only read (run a notebook or a report against a healthy service and judge
what it says) need not pay a server start and Prometheus's first scrape (Prometheus 2.42
applies new targets about 5 s after it starts) each. The lab is the real server on
SQLite with trace logging (runbook 000 "Tracing Message Flow" reads it), scraped every
second, with a conversation, its members and messages already in it.

Sharing is safe only while every user leaves the lab as it found it: no fault injected,
no restart, no remediation applied. `SharedLab.assert_untouched` checks that, and the
``shared_lab`` fixture (tests/conftest.py) calls it after every test that used it, so a
test that breaks the rule fails by name instead of a later test failing for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.prometheus import running_prometheus
from tests.support.server_process import (
    ADD_MEMBERS,
    CREATE,
    SEND,
    ServerProcess,
    running_server,
)

#: The server's settings: trace logging for the request trace, a memory limit so that
#: memory is judged as a ratio, as a deployment with limits is.
LAB_ENV = {"LOG_LEVEL": "trace", "MEMORY_LIMIT_BYTES": str(4 * 1024**3)}

#: What `seed` writes: a conversation with two members and some messages.
SEED_CONVERSATION = "lab-convo"
SEED_MEMBERS = ("did:plc:lab-bob", "did:plc:lab-carol")
SEED_MESSAGES = 5
SEED_OWNER = "did:plc:lab-alice"


@dataclass(frozen=True)
class SharedLab:
    """The running lab: its server, Prometheus's URL and the server's database URL."""

    server: ServerProcess
    prometheus: str
    database_url: str

    def params(self, *extra: str) -> list[str]:
        """``-p NAME=VALUE`` arguments naming every source of the lab, then ``extra``."""
        values = [
            f"service_url={self.server.url}",
            f"log_source=file:{self.server.log_file}",
            f"prometheus_url={self.prometheus}",
            f"database_url={self.database_url}",
            *extra,
        ]
        return [part for value in values for part in ("-p", value)]

    def assert_untouched(self) -> None:
        """Fail unless the lab is as it was: the same server process, no fault active."""
        proc = self.server.proc
        assert proc is not None and proc.poll() is None, (
            "a test stopped the shared lab's server: use running_server for that"
        )
        with self.server.client() as admin:
            faults = admin.get("/admin/faults")
        assert faults.status_code == 200, faults.text
        assert not faults.json(), (
            f"a test left faults in the shared lab ({faults.json()}): use running_server "
            "for tests that inject faults"
        )


def seed(server: ServerProcess) -> None:
    """A conversation, its members and `SEED_MESSAGES` messages: something to look at."""
    with server.client(SEED_OWNER) as owner:
        created = owner.post(CREATE, json={"convo_id": SEED_CONVERSATION})
        assert created.status_code == 200, created.text
        added = {"convo_id": SEED_CONVERSATION, "did_list": list(SEED_MEMBERS)}
        assert owner.post(ADD_MEMBERS, json=added).status_code == 200
        for index in range(SEED_MESSAGES):
            message = {"convo_id": SEED_CONVERSATION, "ciphertext": f"seed-{index}"}
            assert owner.post(SEND, json=message).status_code == 200


@contextmanager
def running_lab(workdir: Path) -> Iterator[SharedLab]:
    """Start the lab in ``workdir``, scraped from before its seed; stop it afterwards."""
    database_url = f"sqlite:///{workdir / 'lab.db'}"
    with (
        running_server(database_url, env=LAB_ENV, workdir=workdir / "server") as server,
        running_prometheus(targets=[f"127.0.0.1:{server.port}"]) as prometheus,
    ):
        seed(server)
        yield SharedLab(server=server, prometheus=prometheus, database_url=database_url)

"""Fixtures shared by every tier (databases: SQLite and a fresh PostgreSQL), and the order
files run in (longest first, from durations.json)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from tests.support.postgres import fresh_database
from tests.support.shared_lab import SharedLab, running_lab


@pytest.fixture(scope="session", autouse=True)
def kernel_fork_server(request: pytest.FixtureRequest) -> Iterator[None]:
    """One kernel fork server per test process (mcops.kernel_forkserver), named to every
    mcops process below it by MCOPS_KERNEL_SERVER: the hundreds of notebooks this suite
    runs, in `mcops run` subprocesses too, fork kernels that imported mcops once instead
    of paying 2–3 s of imports each. Tests of cold starts remove the variable; a kernel the
    server cannot start the same way starts the usual way. A session with no real-process
    test (`make test-fast`) starts none."""
    from mcops.kernel_forkserver import SERVER_VARIABLE, ForkServer
    from mcops.run_kernel import kernel_pythonpath

    real = any(item.get_closest_marker("slow") for item in request.session.items)
    if os.environ.get(SERVER_VARIABLE) or not real:  # one given from outside, or no kernel
        yield
        return
    with closing(ForkServer.start({"PYTHONPATH": kernel_pythonpath()})) as server:
        os.environ[SERVER_VARIABLE] = str(server.path)
        try:
            yield
        finally:
            os.environ.pop(SERVER_VARIABLE, None)


@pytest.fixture(scope="session")
def _running_shared_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedLab]:
    with running_lab(tmp_path_factory.mktemp("shared-lab")) as lab:
        yield lab


@pytest.fixture
def shared_lab(_running_shared_lab: SharedLab) -> Iterator[SharedLab]:
    """The healthy lab this test process shares (tests/support/shared_lab.py), started by
    the first test that asks for it; checked untouched after each test that used it. Its
    users live in tests/notebooks/test_healthy_lab.py: `make test` hands a file to one
    worker, so they share one lab."""
    yield _running_shared_lab
    _running_shared_lab.assert_untouched()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database on the local cluster, dropped afterwards."""
    with fresh_database() as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """An empty SQLite file database (the embedded default)."""
    return f"sqlite:///{tmp_path / 'mcops.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each test using this runs twice: on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'mcops.db'}"
    else:
        with fresh_database() as url:
            yield url


#: Seconds each test file took in a recorded run (``make durations``), to order files.
DURATIONS = Path(__file__).with_name("durations.json")
#: Where `pytest_sessionfinish` records this run's durations, when set.
RECORD_VARIABLE = "MCOPS_RECORD_DURATIONS"
#: A file not recorded yet: a guess per test that starts real processes, per one that does not.
REAL_PROCESS_SECONDS = 10.0
IN_PROCESS_SECONDS = 0.05

_recorded: dict[str, float] = {}


def _file_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The longest files first, each file's tests kept together and in order.

    `make test` hands whole files to its workers (``--dist loadfile``) in collection order
    (``--no-loadscope-reorder``; by default pytest-xdist orders files by their number of
    tests, which put the long notebook files, one to three tests each, last on one worker
    while the other idled). Longest first keeps the end of the run short.
    """
    known = json.loads(DURATIONS.read_text()) if DURATIONS.is_file() else {}
    guess: dict[str, float] = {}
    first: dict[str, int] = {}
    for index, item in enumerate(items):
        path = _file_of(item.nodeid)
        first.setdefault(path, index)
        real = any(item.get_closest_marker(m) for m in ("slow", "browser", "serial"))
        guess[path] = guess.get(path, 0.0) + (REAL_PROCESS_SECONDS if real else IN_PROCESS_SECONDS)

    def order(item: pytest.Item) -> tuple[float, int]:
        path = _file_of(item.nodeid)
        return (-known.get(path, guess[path]), first[path])

    items.sort(key=order)  # stable: a file's tests keep their order


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Each test's setup, call and teardown, per file (the controller sees every worker's)."""
    path = _file_of(report.nodeid)
    _recorded[path] = _recorded.get(path, 0.0) + report.duration


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """With MCOPS_RECORD_DURATIONS=FILE, write seconds per file (sorted, rounded)."""
    target = os.environ.get(RECORD_VARIABLE)
    if not target or hasattr(session.config, "workerinput"):  # the controller writes it
        return
    path = Path(target)
    merged = json.loads(path.read_text()) if path.is_file() else {}
    merged.update({name: round(seconds, 1) for name, seconds in _recorded.items()})
    path.write_text(json.dumps(dict(sorted(merged.items())), indent=1) + "\n")

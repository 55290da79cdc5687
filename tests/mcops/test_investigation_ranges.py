"""`Investigation.metric_range` and the remediation handles, against the real server.

Without Prometheus a range is a few scrapes of /metrics (shared by every call); with a
template that needs Prometheus's history the call says so, and the notebook records
"not checked".
"""

from __future__ import annotations

import sqlite3

import pytest

from mcops.errors import SourceConfigError
from mcops.evidence import Recorder
from mcops.investigation import Investigation
from mcops.scenarios.memory_leak import live_actors
from tests.support.server_process import ADMIN_TOKEN, running_server


def investigation(**params):
    recorder = Recorder(
        scenario="memory_leak",
        parameters={"window": "1h", "until": "", **params},
        display=lambda bundle: None,
    )
    return Investigation(recorder)


@pytest.mark.slow  # a real server process
def test_without_prometheus_a_range_is_a_few_scrapes(tmp_path):
    with running_server(f"sqlite:///{tmp_path / 's.db'}", workdir=tmp_path / "srv") as srv:
        with srv.client("did:plc:alice") as alice:
            alice.post("/xrpc/blue.catbird.mls.createConvo", json={"convo_id": "c1"})
        inv = investigation(service_url=srv.url, admin_token=ADMIN_TOKEN)
        actors = inv.metric_range("active_actors", samples=3, interval=0.2)
        assert actors["timestamp"].nunique() == 3
        assert set(actors["metric"].astype(str)) == {"actor_registry_active_actors"}
        assert actors["value"].tolist() == [1.0, 1.0, 1.0]
        # a bare metric name works too, from the same three scrapes
        memory = inv.metric_range("process_resident_memory_bytes", samples=3, interval=0.2)
        assert memory["timestamp"].tolist() == sorted(actors["timestamp"].unique())
        assert inv.recorder.summary()["sources"]["metrics"]["state"] == "ok"
        with pytest.raises(SourceConfigError, match="needs Prometheus"):
            inv.metric_range("spawn_rate")
        with pytest.raises(SourceConfigError, match="neither a PromQL template"):
            inv.metric_range("rate(x[5m])")

        live = live_actors(inv.service)
        assert live[["actor_type", "actor_id"]].values.tolist() == [["conversation", "c1"]]
        assert live["inactivity_timeout"].tolist() == [3600.0]
        admin = inv.admin_api()
        assert admin is not None and inv.admin_api() is admin
        admin.close()
        inv.service.close()


def test_remediation_handles_are_none_without_their_sources(tmp_path):
    bare = investigation()
    assert bare.database_for_actions() is None
    assert bare.admin_api() is None
    assert bare.recorder.summary()["sources"]["database"]["state"] == "not given"
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    sqlite3.connect(tmp_path / "db.sqlite").close()
    given = investigation(database_url=url, service_url="http://127.0.0.1:9")
    assert given.database_for_actions() == url
    assert given.admin_api() is None  # no admin_token
    given.database.dispose()
    gone = investigation(database_url=f"sqlite:///{tmp_path / 'missing' / 'x.db'}")
    assert gone.database_for_actions() is None
    with pytest.raises(SourceConfigError, match="service_url is empty"):
        bare.metric_range("active_actors")

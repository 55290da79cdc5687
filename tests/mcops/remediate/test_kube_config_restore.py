"""RestoreConfigObject (runbook 004 Scenario 4 Option 3) against kmock.

No Kubernetes cluster can run here, so kmock, a local API double speaking the real REST
paths, stands in, driven through the real `kubernetes` client (kube_double.py says what
the double honours; this file adds a dry-run create, which kmock would otherwise store).
Values must never reach a plan, a result, the audit log or an error: every test greps.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import aiohttp.web
import kmock
import kubernetes.client as k8s
import pytest
import yaml

from mcops.errors import StalePlan
from mcops.remediate import ActionRefused, RestoreConfigObject
from mcops.remediate.cli import build_action
from mcops.remediate.kube_config_restore import RESTORED_FROM, find_backup
from tests.mcops.remediate.kube_double import DryRunEmulator

NS = "dark-tower"
TOKEN = "gc-token-value-must-never-show"
OLD_TLS = "old-tls-value-kept-as-is"
NEW_TLS = "other-tls-value-never-copied"
VALUES = [TOKEN, OLD_TLS, NEW_TLS, "level=debug-never-shown"]


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def leaked(text: str) -> list[str]:
    return [v for v in VALUES for form in (v, b64(v)) if form in text]


class CreatingEmulator(DryRunEmulator):
    """Also answers ``POST ...?dryRun=All`` without storing, as the API server does."""

    async def _handle(self, request: Any) -> aiohttp.web.StreamResponse:
        if request.action == kmock.action.CREATE and request.params.get("dryRun") == "All":
            return aiohttp.web.json_response(dict(request.data), status=201)
        return await super()._handle(request)


@contextmanager
def kube() -> Iterator[tuple[CreatingEmulator, k8s.ApiClient]]:
    mock = CreatingEmulator()
    loop = asyncio.new_event_loop()
    ready, box = threading.Event(), {}

    async def serve() -> None:
        async with kmock.Server(mock, host="127.0.0.1") as server:
            box.update(url=str(server.url), stop=asyncio.Event())
            ready.set()
            await box["stop"].wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    assert ready.wait(10), "kmock server did not start"
    api = k8s.ApiClient(k8s.Configuration(host=box["url"]))
    try:
        yield mock, api
    finally:
        api.close()
        loop.call_soon_threadsafe(box["stop"].set)
        thread.join(10)
        loop.close()


def secret(name: str, data: dict[str, str], rv: str = "10") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {"name": name, "namespace": NS, "uid": f"uid-{name}", "resourceVersion": rv},
        "data": {k: b64(v) for k, v in data.items()},
    }


def stored(mock: Any, kind: str, name: str) -> dict[str, Any] | None:
    try:
        obj = mock.objects[kind, NS, name]
    except KeyError:
        return None
    return None if obj.deleted else json.loads(json.dumps(dict(obj.raw)))


def writes(mock: Any) -> list[Any]:
    return [r for r in mock if r.method.value in {"POST", "PATCH", "DELETE"}]


@pytest.fixture
def cluster():
    with kube() as (mock, api):
        mock.objects["v1/secrets", NS, "mc-service-secrets"] = secret(
            "mc-service-secrets", {"tls.crt": OLD_TLS}
        )
        mock.objects["v1/secrets", NS, "mc-secrets-v2"] = secret(
            "mc-secrets-v2", {"gc-token": TOKEN, "tls.crt": NEW_TLS}, rv="5"
        )
        yield mock, api


def test_missing_key_added_from_the_previous_revisions_secret_never_overwriting(cluster, audit):
    mock, api = cluster
    action = RestoreConfigObject(
        api, NS, "Secret", "mc-service-secrets", from_object="mc-secrets-v2", audit=audit
    )
    plan = action.plan()
    (dry,) = writes(mock)
    assert dry.method.value == "PATCH" and dry.params == {"dryRun": "All"}
    assert dry.url.path == f"/api/v1/namespaces/{NS}/secrets/mc-service-secrets"
    assert stored(mock, "v1/secrets", "mc-service-secrets")["data"] == {"tls.crt": b64(OLD_TLS)}
    assert [dict(c) for c in plan.changes] == [
        {
            "kind": "Secret",
            "name": "mc-service-secrets",
            "key": "gc-token",
            "change": "add missing key",
        }
    ]  # tls.crt exists in the target: never overwritten, not even planned
    assert plan.fingerprint == "resourceVersion=10 keys=['tls.crt']"
    shown = str(plan) + plan._repr_html_() + repr(plan) + json.dumps(dict(plan.state))
    assert leaked(shown) == [] and "gc-token" in str(plan)

    result = action.apply(plan)
    real = writes(mock)[-1]
    assert "dryRun" not in real.params
    assert real.data == {"metadata": {"resourceVersion": "10"}, "data": {"gc-token": b64(TOKEN)}}
    after = stored(mock, "v1/secrets", "mc-service-secrets")
    assert after["data"] == {"tls.crt": b64(OLD_TLS), "gc-token": b64(TOKEN)}
    assert result.status == "applied" and result.changed == 1 and result.backup is None
    assert action.plan().empty, "a fresh plan after the apply is empty"
    n = len(writes(mock))
    again = action.apply(plan)
    assert again.status == "nothing_to_do" and len(writes(mock)) == n

    undone = action.undo(result)
    assert undone.status == "undone"
    assert stored(mock, "v1/secrets", "mc-service-secrets")["data"] == {"tls.crt": b64(OLD_TLS)}
    records = audit.outcomes()
    assert [(r["mode"], r["result"]) for r in records] == [
        ("apply", "ok"),
        ("apply", "ok"),
        ("undo", "ok"),
    ]
    assert records[0]["before"]["rows"][0]["key"] == "gc-token"
    text = audit.path.read_text() + str(result) + result._repr_html_() + str(undone)
    assert leaked(text) == []


def test_missing_configmap_created_from_a_kubectl_yaml_backup_and_undo_deletes_it(
    cluster, audit, tmp_path
):
    mock, api = cluster
    backup = tmp_path / "backups" / "mc-service-config.yaml"
    backup.parent.mkdir()
    (tmp_path / "backups" / "notes.yaml").write_text("- not: a manifest\n")
    manifest = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "mc-service-config",
            "namespace": NS,
            "labels": {"app": "meeting-controller"},
            "resourceVersion": "1234",
            "uid": "old-uid",
        },
        "data": {"log.level": "level=debug-never-shown", "gc.url": "http://gc:8080"},
    }
    backup.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": [manifest]}))
    assert find_backup(backup.parent, "ConfigMap", "mc-service-config") == backup
    assert find_backup(backup.parent, "Secret", "mc-service-config") is None
    action = RestoreConfigObject(
        api, NS, "ConfigMap", "mc-service-config", backup_file=backup, audit=audit
    )
    plan = action.plan()
    (dry,) = writes(mock)
    assert dry.method.value == "POST" and dry.params == {"dryRun": "All"}
    assert stored(mock, "v1/configmaps", "mc-service-config") is None, "the plan stored nothing"
    assert [c["key"] for c in plan.changes] == ["gc.url", "log.level"]
    assert {c["change"] for c in plan.changes} == {"create object with key"}
    assert plan.fingerprint == "absent" and leaked(str(plan) + plan._repr_html_()) == []

    result = action.apply(plan)
    created = stored(mock, "v1/configmaps", "mc-service-config")
    assert created["data"] == manifest["data"]
    assert created["metadata"]["labels"] == {"app": "meeting-controller"}
    assert created["metadata"]["annotations"] == {RESTORED_FROM: f"backup file {backup}"}
    assert "resourceVersion" not in writes(mock)[-1].data["metadata"]  # not the backup's
    assert action.plan().empty
    assert action.apply(plan).status == "nothing_to_do"
    action.undo(result)
    assert stored(mock, "v1/configmaps", "mc-service-config") is None
    assert leaked(audit.path.read_text()) == []


def test_a_plan_is_stale_when_the_target_or_the_source_moved(cluster, audit):
    mock, api = cluster

    def action() -> RestoreConfigObject:
        return RestoreConfigObject(
            api, NS, "Secret", "mc-service-secrets", from_object="mc-secrets-v2", audit=audit
        )

    plan = action().plan()
    mock.objects["v1/secrets", NS, "mc-service-secrets"].patch(
        {"metadata": {"resourceVersion": "11"}, "data": {"ca.crt": b64("x")}}
    )
    n = len(writes(mock))
    with pytest.raises(StalePlan, match="changed since the plan"):
        action().apply(plan)
    assert len(writes(mock)) == n, "nothing was written"

    plan = action().plan()
    mock.objects["v1/secrets", NS, "mc-secrets-v2"].patch({"data": {"gc-token": b64("rotated")}})
    with pytest.raises(StalePlan, match=r"source .* changed since the plan"):
        action().apply(plan)
    assert "gc-token" not in stored(mock, "v1/secrets", "mc-service-secrets")["data"]
    assert [r["result"] for r in audit.outcomes()] == ["refused", "refused"]
    assert leaked(audit.path.read_text()) == []


def test_a_source_without_the_key_is_refused_by_name(cluster, audit):
    mock, api = cluster
    action = RestoreConfigObject(
        api,
        NS,
        "Secret",
        "mc-service-secrets",
        keys="gc-token,db-password",
        from_object="mc-secrets-v2",
        audit=audit,
    )
    plan = action.plan()
    assert plan.refusal and "['db-password']" in plan.refusal
    assert writes(mock) == [], "a refused plan sends no dry run either"
    with pytest.raises(ActionRefused, match="db-password"):
        action.apply(plan)
    assert "gc-token" not in stored(mock, "v1/secrets", "mc-service-secrets")["data"]


def test_the_cli_builds_it_from_targets():
    import argparse

    parser = argparse.ArgumentParser()
    from mcops.remediate.cli import add_subcommand

    add_subcommand(parser.add_subparsers())
    args = parser.parse_args(
        [
            "remediate",
            "restore_config_object",
            "--kube-host",
            "http://127.0.0.1:1",
            *("--target", f"namespace={NS}", "--target", "kind=Secret"),
            *("--target", "object_name=mc-service-secrets", "--target", "keys=gc-token,ca.crt"),
            *("--target", "from_object=mc-secrets-v2"),
        ]
    )
    action = build_action(args)
    assert isinstance(action, RestoreConfigObject)
    assert action.keys == ("gc-token", "ca.crt")
    assert action.target == f"kubernetes {NS}/secret/mc-service-secrets"


def test_the_previous_revision_source_is_the_object_used_in_the_same_place_if_it_exists(
    cluster,
):
    """service_outage's source finder, on the same double: revision 2 read GC_TOKEN from
    mc-secrets-v2 (exists), revision 1 from mc-secrets-v1 (gone); revision 3 is current."""
    from mcops.scenarios.service_outage import _previous_reference
    from tests.mcops.remediate.kube_double import deployment, replica_set

    mock, api = cluster
    dep = deployment(NS, "meeting-controller", revision=3)
    mock.objects["apps/v1/deployments", NS, "meeting-controller"] = dep
    for revision, name in ((1, "mc-secrets-v1"), (2, "mc-secrets-v2"), (3, "mc-service-secrets")):
        rs = replica_set(dep, revision=revision, image="mc")
        env = {"name": "GC_TOKEN", "valueFrom": {"secretKeyRef": {"name": name, "key": "k"}}}
        rs["spec"]["template"]["spec"]["containers"][0]["env"] = [env]
        mock.objects["apps/v1/replicasets", NS, rs["metadata"]["name"]] = rs
    ref = {
        "kind": "Secret",
        "name": "mc-service-secrets",
        "used_by": "container meeting-controller env GC_TOKEN",
    }
    assert _previous_reference(api, NS, "meeting-controller", ref) == "mc-secrets-v2"
    mock.objects["v1/secrets", NS, "mc-secrets-v2"].delete()
    assert _previous_reference(api, NS, "meeting-controller", ref) is None  # v1 is gone too
    elsewhere = {**ref, "used_by": "container meeting-controller env OTHER"}
    mock.objects["v1/secrets", NS, "mc-secrets-v1"] = secret("mc-secrets-v1", {"k": "v"})
    assert _previous_reference(api, NS, "meeting-controller", ref) == "mc-secrets-v1"
    assert _previous_reference(api, NS, "meeting-controller", elsewhere) is None

"""Runbook 004 Scenario 4 Option 3: restore a missing Secret or ConfigMap, or its missing
keys, from another object (the one a previous revision referenced) or a backup file.

Only what is missing is written: a missing object is created, missing keys are added,
an existing key is never overwritten — so nothing is lost and no backup of values is
taken (a copy of a Secret's values in the evidence directory would be a leak). Plans,
results, audit records and errors name keys, never values; the plan keeps a keyed
digest of each value (HMAC with a per-process random key, so it reveals nothing), and
apply re-reads the source and refuses when a value moved since the plan.

The backup file is what ``kubectl get secret NAME -o yaml`` (or ``-o json``) writes, or a
``kind: List`` of such objects. Planned by a server-side dry run like every Kubernetes
action; the write carries the planned resourceVersion, which the API server enforces.
"""

from __future__ import annotations

import base64
import functools
import hmac
import os
import secrets
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from mcops.errors import ScopeExceeded, StalePlan, VerificationFailed
from mcops.remediate.audit import AuditLog
from mcops.remediate.base import ApplyResult, Plan, Remediation, require_id
from mcops.remediate.kube_actions import DRY_RUN, KubeApis, stale_on_conflict

__all__ = ["KINDS", "RESTORED_FROM", "RestoreConfigObject", "find_backup"]

KINDS = ("Secret", "ConfigMap")
RESTORED_FROM = "mcops/restored-from"
#: where each kind keeps its keys (values of the second field are base64)
_FIELDS = {"Secret": ("data",), "ConfigMap": ("data", "binaryData")}
_MAX_BACKUP_BYTES = 1_000_000
_MAX_BACKUP_FILES = 200

Values = dict[str, tuple[str, str]]
"""key → (field, value as the API stores it); lives only inside one method call."""


@functools.cache
def _digest_key() -> bytes:
    return secrets.token_bytes(32)


def _digest(field: str, value: str) -> str:
    return hmac.new(_digest_key(), f"{field}\0{value}".encode(), "sha256").hexdigest()[:24]


def _values(kind: str, obj: Mapping[str, Any]) -> Values:
    out: Values = {}
    for field in _FIELDS[kind]:
        out.update({k: (field, str(v)) for k, v in (obj.get(field) or {}).items()})
    if kind == "Secret":  # a hand-written backup may use stringData; the API stores base64
        for k, v in (obj.get("stringData") or {}).items():
            out.setdefault(k, ("data", base64.b64encode(str(v).encode()).decode()))
    return out


def _documents(path: Path) -> list[Mapping[str, Any]]:
    if path.stat().st_size > _MAX_BACKUP_BYTES:
        raise ScopeExceeded(f"backup file {path} is larger than {_MAX_BACKUP_BYTES} bytes")
    docs: list[Mapping[str, Any]] = []
    for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
        if isinstance(doc, Mapping):
            items = doc.get("items") if doc.get("kind") == "List" else [doc]
            docs.extend(i for i in items or [] if isinstance(i, Mapping))
    return docs


def _from_file(path: Path, kind: str, name: str) -> Mapping[str, Any] | None:
    for doc in _documents(path):
        meta = doc.get("metadata") or {}
        if doc.get("kind") == kind and meta.get("name") == name:
            return doc
    return None


def find_backup(directory: str | os.PathLike[str], kind: str, name: str) -> Path | None:
    """The first ``*.yaml``/``*.yml``/``*.json`` file in `directory` holding `kind` `name`."""
    folder = Path(directory)
    if not folder.is_dir():
        return None
    files = sorted(p for p in folder.iterdir() if p.suffix in {".yaml", ".yml", ".json"})
    for path in files[:_MAX_BACKUP_FILES]:
        try:
            if _from_file(path, kind, name) is not None:
                return path
        except (yaml.YAMLError, OSError, ScopeExceeded, UnicodeDecodeError):
            continue  # not a manifest: look further
    return None


class RestoreConfigObject(Remediation):
    """Create a missing Secret/ConfigMap, or add its missing keys, from a source.

    `from_object`: another object of the same kind in the namespace (e.g. the one the
    previous ReplicaSet's pod template referenced); `backup_file`: a manifest file.
    `keys`: the keys to restore (empty: every key of the source the target lacks).
    """

    name = "restore_config_object"
    not_changed_on_failure = "the Secret/ConfigMap was not written"

    def __init__(
        self,
        api_client: k8s.ApiClient,
        namespace: str,
        kind: str,
        object_name: str,
        *,
        keys: Sequence[str] | str = (),
        from_object: str | None = None,
        backup_file: str | os.PathLike[str] | None = None,
        reason: str = "",
        audit: AuditLog | None = None,
    ) -> None:
        super().__init__(reason=reason, audit=audit)
        if kind not in KINDS:
            raise ScopeExceeded(f"kind must be one of {KINDS}, got {kind!r}")
        if (from_object is None) == (backup_file is None):
            raise ScopeExceeded("give exactly one source: from_object=NAME or backup_file=PATH")
        self.kube = KubeApis(api_client)
        self.namespace = require_id("namespace", namespace)
        self.kind = kind
        self.object_name = require_id("name", object_name)
        names = keys.split(",") if isinstance(keys, str) else keys
        self.keys = tuple(dict.fromkeys(require_id("key", k.strip()) for k in names if k.strip()))
        self.from_object = None if from_object is None else require_id("from_object", from_object)
        self.backup_file = None if backup_file is None else Path(backup_file)

    @property
    def target(self) -> str:
        return f"kubernetes {self.namespace}/{self.kind.lower()}/{self.object_name}"

    @property
    def source(self) -> str:
        """Where the values come from, as plans and audit records name it."""
        if self.from_object is not None:
            return f"{self.kind} {self.namespace}/{self.from_object}"
        return f"backup file {self.backup_file}"

    # ------------------------------------------------------------ API calls

    def _read(self, name: str) -> dict[str, Any] | None:
        read = (
            self.kube.core.read_namespaced_secret
            if self.kind == "Secret"
            else self.kube.core.read_namespaced_config_map
        )
        try:
            return self.kube.plain(read(name, self.namespace))
        except ApiException as err:
            if err.status == 404:
                return None
            raise

    def _source(self) -> Mapping[str, Any]:
        if self.from_object is not None:
            obj = self._read(self.from_object)
        else:
            assert self.backup_file is not None
            obj = _from_file(self.backup_file, self.kind, self.object_name)
        if obj is None:
            raise ScopeExceeded(
                f"{self.name}: the source ({self.source}) holds no {self.kind} "
                f"{self.from_object or self.object_name}; nothing was changed — "
                "name an existing object or a backup file with it",
                action=self.name,
            )
        return obj

    def _create(self, body: Mapping[str, Any], *, dry_run: bool) -> dict[str, Any]:
        create = (
            self.kube.core.create_namespaced_secret
            if self.kind == "Secret"
            else self.kube.core.create_namespaced_config_map
        )
        return self.kube.plain(create(self.namespace, body, dry_run=DRY_RUN if dry_run else None))

    def _patch(self, body: Mapping[str, Any], *, dry_run: bool) -> dict[str, Any]:
        patch = (
            self.kube.core.patch_namespaced_secret
            if self.kind == "Secret"
            else self.kube.core.patch_namespaced_config_map
        )
        obj = patch(self.object_name, self.namespace, body, dry_run=DRY_RUN if dry_run else None)
        return self.kube.plain(obj)

    # ------------------------------------------------------------ the plan

    def _wanted(self, source: Values, current: Values | None) -> tuple[list[str], list[str]]:
        """(keys to restore, keys the source lacks)."""
        keys = list(self.keys or sorted(source))
        have = set(current or {})
        return [k for k in keys if k not in have and k in source], [
            k for k in keys if k not in have and k not in source
        ]

    @staticmethod
    def _body(values: Values, keys: Sequence[str]) -> dict[str, dict[str, str]]:
        """The fields to write, e.g. ``{"data": {key: value}}``."""
        fields: dict[str, dict[str, str]] = {}
        for key in keys:
            field, value = values[key]
            fields.setdefault(field, {})[key] = value
        return fields

    def _plan(self) -> Plan:
        source = self._source()
        values = _values(self.kind, source)
        current = self._read(self.object_name)
        have = None if current is None else _values(self.kind, current)
        keys, lacking = self._wanted(values, have)
        rv = "" if current is None else str(current["metadata"].get("resourceVersion", ""))
        fingerprint = (
            "absent" if current is None else f"resourceVersion={rv} keys={sorted(have or {})}"
        )
        verb = "create object with key" if current is None else "add missing key"
        changes = tuple(
            {"kind": self.kind, "name": self.object_name, "key": k, "change": verb} for k in keys
        )
        refusal = None
        if lacking:
            refusal = (
                f"the source ({self.source}) lacks key(s) {lacking}: restore them from the "
                "secure backup by hand, or name a source that has them"
            )
        elif current is not None and current.get("immutable") and keys:
            refusal = f"{self.target} is immutable: keys cannot be added; recreate it by hand"
        body = self._body(values, keys)
        if keys and not refusal:  # server-side dry run of the exact write
            self._write(current, source, body, rv, dry_run=True)
        notes = (
            "values are never shown: keys only; existing keys are never overwritten",
            "no backup of values is written: nothing existing is overwritten",
            "pods waiting on it (CreateContainerConfigError) start on their next retry; "
            "crash-looping ones pick it up when recreated (Option 2)",
        )
        return Plan(
            action=self.name,
            target=self.target,
            changes=changes,
            fingerprint=fingerprint,
            summary=(
                f"{len(keys)} key(s) to restore from {self.source} (server-side dry run)"
                if keys
                else "nothing to do: every key is present"
            ),
            notes=notes,
            refusal=refusal,
            state={
                "rv": rv,
                "create": current is None,
                "keys": keys,
                "digests": {k: _digest(*values[k]) for k in keys},
            },
        )

    def _write(
        self,
        current: Mapping[str, Any] | None,
        source: Mapping[str, Any],
        fields: Mapping[str, Mapping[str, str]],
        rv: str,
        *,
        dry_run: bool,
    ) -> dict[str, Any]:
        if current is None:
            meta = {
                "name": self.object_name,
                "namespace": self.namespace,
                "annotations": {RESTORED_FROM: self.source},
            }
            if labels := (source.get("metadata") or {}).get("labels"):
                meta["labels"] = dict(labels)
            body: dict[str, Any] = {"apiVersion": "v1", "kind": self.kind, "metadata": meta}
            if self.kind == "Secret":
                body["type"] = source.get("type") or "Opaque"
            return self._create({**body, **fields}, dry_run=dry_run)
        return self._patch({"metadata": {"resourceVersion": rv}, **fields}, dry_run=dry_run)

    # ------------------------------------------------------------ apply / undo

    def _holds(self, obj: Mapping[str, Any] | None, digests: Mapping[str, str]) -> bool:
        have = {} if obj is None else _values(self.kind, obj)
        return all(k in have and _digest(*have[k]) == d for k, d in digests.items())

    def _apply(self, plan: Plan) -> ApplyResult:
        state = plan.state
        current = self._read(self.object_name)
        have = {} if current is None else _values(self.kind, current)
        if all(k in have for k in state["keys"]):
            return ApplyResult(
                plan=plan, status="nothing_to_do", changed=0, message="every key is present"
            )
        rv = "" if current is None else str(current["metadata"].get("resourceVersion", ""))
        if (current is None) != state["create"] or rv != state["rv"]:
            raise StalePlan(
                f"{self.name}: {self.target} changed since the plan (resourceVersion "
                f"{state['rv'] or 'absent'} → {rv or 'absent'}); nothing was changed — "
                "make a new plan",
                action=self.name,
            )
        source = self._source()
        values = _values(self.kind, source)
        if any(k not in values or _digest(*values[k]) != d for k, d in state["digests"].items()):
            raise StalePlan(
                f"{self.name}: the source ({self.source}) changed since the plan; nothing was "
                "changed — make a new plan",
                action=self.name,
            )
        body = self._body(values, state["keys"])
        try:
            self._write(current, source, body, rv, dry_run=False)
        except ApiException as err:
            raise stale_on_conflict(err, self.target, self.name) from err
        after = self._read(self.object_name)
        if after is None or not self._holds(after, state["digests"]):
            raise VerificationFailed(
                f"{self.name}: {self.target} was written but does not hold the restored "
                "key(s); CHANGED: the write was sent. Inspect it with kubectl (keys only)",
                action=self.name,
                changed=1,
            )
        after_rv = str(after["metadata"].get("resourceVersion", ""))
        return ApplyResult(
            plan=plan,
            status="applied",
            changed=1,
            before=plan.changes,
            after=({"keys": ", ".join(sorted(_values(self.kind, after))), "rv": after_rv},),
            message=f"{'created' if state['create'] else 'added'}: {', '.join(state['keys'])}",
            undo_state={
                "created": state["create"],
                "rv": after_rv,
                "uid": after["metadata"].get("uid"),
                "digests": state["digests"],
            },
        )

    def _undo(self, result: ApplyResult) -> ApplyResult:
        undo = result.undo_state
        current = self._read(self.object_name)
        rv = "" if current is None else str(current["metadata"].get("resourceVersion", ""))
        if current is None or rv != undo["rv"] or not self._holds(current, undo["digests"]):
            raise StalePlan(
                f"{self.name} undo: {self.target} changed after the apply; nothing was "
                "restored — inspect it and act by hand",
                action=self.name,
            )
        try:
            if undo["created"]:
                self._delete(undo.get("uid"), rv)
            else:
                fields: dict[str, dict[str, None]] = {}
                have = _values(self.kind, current)
                for key in undo["digests"]:
                    fields.setdefault(have[key][0], {})[key] = None  # merge patch: remove
                self._patch({"metadata": {"resourceVersion": rv}, **fields}, dry_run=False)
        except ApiException as err:
            raise stale_on_conflict(err, self.target, self.name) from err
        keys = ", ".join(undo["digests"])
        return ApplyResult(
            plan=result.plan,
            status="undone",
            changed=1,
            before=result.after,
            message=f"deleted the created {self.kind}" if undo["created"] else f"removed: {keys}",
        )

    def _delete(self, uid: str | None, rv: str) -> None:
        delete = (
            self.kube.core.delete_namespaced_secret
            if self.kind == "Secret"
            else self.kube.core.delete_namespaced_config_map
        )
        pre = k8s.V1Preconditions(uid=uid, resource_version=rv or None)
        delete(self.object_name, self.namespace, body=k8s.V1DeleteOptions(preconditions=pre))

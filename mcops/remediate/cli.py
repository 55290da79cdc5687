"""``mcops remediate ACTION --target KEY=VALUE ... [--apply]``: plan (default) or apply.

Registered by the top-level CLI through `add_subcommand` (alias `register`). Process
actions (restart_local_server, set_pool_size) need a process handle and are driven from
the lab or a notebook, not from here.

Every bad input — an unknown action, a malformed or unknown --target, a missing source
flag, a database or cluster that cannot be reached — is one line on stderr and exit 2
(`McopsError`, printed by `mcops.cli.main`), never a traceback.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Callable, Mapping
from typing import Any

from mcops.durations import parse_positive_duration
from mcops.errors import McopsError, ParameterError, SourceUnreachable, connection_state
from mcops.remediate.audit import AuditLog
from mcops.remediate.base import Action
from mcops.remediate.report import run_action

__all__ = ["ACTIONS", "add_subcommand", "build_action", "register"]


def _duration(text: str) -> dt.timedelta:
    return parse_positive_duration(text, name="older_than")


def _bool(text: str) -> bool:
    if text.lower() in {"1", "true", "yes"}:
        return True
    if text.lower() in {"0", "false", "no"}:
        return False
    raise ParameterError(f"expected true/false, got {text!r}")


#: How a --target value is typed, by key (everything else stays a string).
_CONVERT: Mapping[str, Callable[[str], Any]] = {
    "replicas": int,
    "to_revision": int,
    "max_rows": int,
    "max_replica_change": int,
    "max_actors": int,
    "idle_seconds": float,
    "all": _bool,
    "force": _bool,
    "older_than": _duration,
}


def _targets(pairs: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ParameterError(f"--target {pair!r} must be KEY=VALUE (e.g. convo_id=c1)")
        if "." in key:  # limits.memory=2Gi → {"limits": {"memory": "2Gi"}}
            outer, inner = key.split(".", 1)
            out.setdefault(outer, {})[inner] = value
        else:
            out[key] = _convert(key, value, pair)
    return out


def _convert(key: str, value: str, pair: str) -> Any:
    convert = _CONVERT.get(key, str)
    try:
        return convert(value)
    except ParameterError as err:
        raise ParameterError(f"--target {pair!r}: {err}", name=key) from None
    except ValueError:
        kind = getattr(convert, "__name__", "value").lstrip("_")
        raise ParameterError(
            f"--target {pair!r}: {key} must be {'an' if kind == 'int' else 'a'} {kind} "
            f"(e.g. {key}={_EXAMPLE.get(kind, '1')})",
            name=key,
        ) from None


_EXAMPLE = {"int": "5", "float": "3600", "bool": "true", "duration": "1h"}


def _need(value: str | None, flag: str, action: str) -> str:
    from mcops.secrets import resolve

    if not value:
        raise ParameterError(f"{action} needs {flag}", name=flag)
    return str(resolve(value, name=flag))


def _db(args: argparse.Namespace) -> str:
    return _need(args.database_url, "--database-url", args.action)


def _kube(args: argparse.Namespace) -> Any:
    from kubernetes import client, config

    if args.kube_host:
        return client.ApiClient(client.Configuration(host=args.kube_host))
    return config.new_client_from_config(context=args.kube_context)


def _admin(args: argparse.Namespace) -> Any:
    from mcops.remediate.admin_api import AdminApi

    url = _need(args.service_url, "--service-url", args.action)
    return AdminApi(url, _need(args.admin_token, "--admin-token", args.action))


def _sql(cls_path: str) -> Callable[[argparse.Namespace, dict[str, Any]], Action]:
    def build(args: argparse.Namespace, target: dict[str, Any]) -> Action:
        cls = _load(cls_path)
        extra = {"backup_dir": args.backup_dir} if args.backup_dir else {}
        return cls(_db(args), **target, **extra, reason=args.reason, audit=AuditLog(args.audit_log))

    return build


def _plain(cls_path: str, client: Callable[[argparse.Namespace], Any]) -> Callable[..., Action]:
    def build(args: argparse.Namespace, target: dict[str, Any]) -> Action:
        cls = _load(cls_path)
        return cls(client(args), **target, reason=args.reason, audit=AuditLog(args.audit_log))

    return build


def _load(path: str) -> Any:
    import importlib

    module, name = path.rsplit(":", 1)
    return getattr(importlib.import_module(module), name)


_R = "mcops.remediate."
ACTIONS: Mapping[str, Callable[[argparse.Namespace, dict[str, Any]], Action]] = {
    "recreate_conversation": _sql(_R + "sql_actions:RecreateConversation"),
    "reset_epoch": _sql(_R + "sql_actions:ResetEpoch"),
    "delete_duplicate_commits": _sql(_R + "sql_actions:DeleteDuplicateCommits"),
    "clear_left_member_unread": _sql(_R + "sql_actions:ClearLeftMemberUnread"),
    "mark_controller": _sql(_R + "sql_controllers:MarkController"),
    "end_stale_meetings": _sql(_R + "sql_controllers:EndStaleMeetings"),
    "restore_backup": _sql(_R + "sql_restore:RestoreBackup"),
    "add_runbook_indexes": _plain(_R + "sql_indexes:AddRunbookIndexes", _db),
    "add_unique_commit_epoch_index": _plain(_R + "sql_indexes:AddUniqueCommitEpochIndex", _db),
    "scale": _plain(_R + "kube_actions:Scale", _kube),
    "rollout_restart": _plain(_R + "kube_actions:RolloutRestart", _kube),
    "rollout_undo": _plain(_R + "kube_rollback:RolloutUndo", _kube),
    "patch_resources": _plain(_R + "kube_rollback:PatchResources", _kube),
    "delete_pod": _plain(_R + "kube_pods:DeletePod", _kube),
    "restore_config_object": _plain(_R + "kube_config_restore:RestoreConfigObject", _kube),
    "set_configmap_value": _plain(_R + "kube_config_value:SetConfigMapValue", _kube),
    "schedule_daily_restart": _plain(_R + "kube_schedule:ScheduleDailyRestart", _kube),
    "end_meeting": _plain(_R + "admin_actions:EndMeeting", _admin),
    "reregister_controller": _plain(_R + "admin_actions:ReRegisterController", _admin),
    "stop_stale_actors": _plain(_R + "admin_actions:StopStaleActors", _admin),
}


def build_action(args: argparse.Namespace) -> Action:
    """The action named by `args.action`, built from `--target` and the source flags."""
    build = ACTIONS.get(args.action)
    if build is None:
        raise ParameterError(
            f"no remediation {args.action!r} — fix: use one of: {', '.join(sorted(ACTIONS))}",
            name="action",
        )
    target = _targets(args.target)
    try:
        return build(args, target)
    except TypeError as err:  # an unknown or missing --target key
        raise ParameterError(f"{args.action}: {err}; see `mcops remediate --help`") from err


def _handle(args: argparse.Namespace) -> int:
    from mcops.secrets import is_env_reference, redact_text

    for flag, value in (("--database-url", args.database_url), ("--admin-token", args.admin_token)):
        secret = flag == "--admin-token" or redact_text(value or "") != value
        if value and secret and not is_env_reference(value):
            env = flag.lstrip("-").replace("-", "_").upper()
            print(
                f"warning: {flag} carries a secret on the command line (shell history, "
                f"ps); export {env}=... and pass {flag} env:{env} instead",
                file=sys.stderr,
            )
    try:
        action = build_action(args)
        report = run_action(action, apply=args.apply)
    except McopsError:
        raise
    except Exception as err:  # a driver, client or config error: one line, not a traceback
        raise _unreachable(args, err) from err
    print(report)
    if report.result is None and not report.plan.empty:
        print("plan only: nothing was changed (add --apply to apply exactly this plan)")
    sys.stdout.flush()
    return 0


def _unreachable(args: argparse.Namespace, err: Exception) -> McopsError:
    """A failure to reach the target, said in one line with what happened and the fix."""
    from mcops.secrets import redact_text

    first = (redact_text(str(err)).strip().splitlines() or [""])[0][:300]
    flag = next(
        (
            f
            for f, v in (
                ("--database-url", args.database_url),
                ("--service-url", args.service_url),
                ("--kube-host", args.kube_host),
            )
            if v
        ),
        "--kube-context",
    )
    return SourceUnreachable(
        f"{args.action}: could not plan: {type(err).__name__}: {first}",
        source=flag.lstrip("-"),
        state=connection_state(err),
        fix=f"check {flag} and that the target is up and reachable, then run again",
    )


def add_subcommand(subparsers: argparse._SubParsersAction) -> None:
    """Register ``mcops remediate`` on the top-level CLI."""
    parser = subparsers.add_parser(
        "remediate",
        help="plan (default) or apply one guarded remediation",
        description="Plan a remediation and show exactly what would change; with --apply, "
        "apply exactly that plan, back up what it overwrites, verify, and audit it. "
        "Examples: `mcops remediate reset_epoch --target convo_id=c1 --database-url "
        "env:DATABASE_URL`; `mcops remediate scale --target namespace=dark-tower "
        "--target deployment=meeting-controller --target replicas=5 --apply`.",
    )
    parser.add_argument("action", metavar="ACTION", help=", ".join(sorted(ACTIONS)))
    parser.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="scope and options: convo_id=c1, all=true, mc_id=..., "
        "older_than=1h, namespace=..., deployment=..., replicas=5, "
        "limits.memory=2Gi, meeting_id=..., idle_seconds=3600, max_rows=...",
    )
    parser.add_argument("--apply", action="store_true", help="apply the plan (default: plan only)")
    parser.add_argument("--reason", default="", help="why (goes into the audit record)")
    parser.add_argument("--database-url", help="SQLAlchemy URL or env:NAME")
    parser.add_argument("--service-url", help="server base URL for admin-API actions")
    parser.add_argument("--admin-token", help="admin bearer token, best as env:NAME")
    parser.add_argument("--kube-context", help="kubeconfig context (default: current)")
    parser.add_argument("--kube-host", help="API server URL without kubeconfig (tests, proxies)")
    parser.add_argument("--audit-log", help="audit JSONL path (default $MCOPS_AUDIT_LOG)")
    parser.add_argument("--backup-dir", help="backup directory (default $MCOPS_EVIDENCE_DIR)")
    parser.set_defaults(handler=_handle)


register = add_subcommand

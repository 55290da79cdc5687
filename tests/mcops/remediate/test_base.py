"""The guarded-action contract itself: exports, the audit log, redaction, display."""

from __future__ import annotations

import json

import pytest

import mcops.remediate as remediate
from mcops.errors import RemediationError
from mcops.remediate import Action, ApplyResult, AuditLog, Plan, Remediation, run_action
from mcops.remediate.audit import resolve_audit_path


def test_every_export_exists_and_actions_satisfy_the_protocol():
    for name in remediate.__all__:
        assert hasattr(remediate, name), name
    actions = [getattr(remediate, n) for n in remediate.__all__]
    concrete = [
        a
        for a in actions
        if isinstance(a, type) and issubclass(a, Remediation) and getattr(a, "name", None)
    ]
    assert len({a.name for a in concrete}) == len(concrete) >= 18


class Exploding(Remediation):
    """Fails inside apply with a password-bearing URL in its error."""

    name = "exploding"

    @property
    def target(self) -> str:
        return "test target"

    def _plan(self) -> Plan:
        return Plan(
            action=self.name,
            target=self.target,
            changes=({"x": "<b>1</b>"},),
            fingerprint="f",
            summary="one change",
        )

    def _apply(self, plan: Plan) -> ApplyResult:
        raise ConnectionError("could not reach postgresql://ops:s3cret@db/x (Bearer tok123)")

    def _undo(self, result: ApplyResult) -> ApplyResult:
        raise AssertionError


def test_unexpected_error_is_wrapped_audited_and_redacted(tmp_path):
    audit = AuditLog(tmp_path / "a.jsonl")
    action = Exploding(audit=audit, reason="drill")
    assert isinstance(action, Action)
    with pytest.raises(RemediationError) as err:
        action.apply(action.plan())
    assert err.value.changed == 0 and "Nothing was changed" in str(err.value)
    text = (tmp_path / "a.jsonl").read_text()
    assert "s3cret" not in text and "tok123" not in text and "ops:***@" in text
    intent, record = [json.loads(line) for line in text.splitlines()]
    assert intent["result"] == "intent" and intent["plan_hash"] == record["plan_hash"]
    assert record["result"] == "failed" and record["reason"] == "drill"


def test_plan_display_escapes_html_and_run_action_plans_only(tmp_path):
    report = run_action(Exploding(audit=AuditLog(tmp_path / "a.jsonl")), apply=False)
    html = report._repr_html_()
    assert "&lt;b&gt;1&lt;/b&gt;" in html and "apply_remediation=True" in html
    assert report.as_summary() == {
        "action": "exploding",
        "mode": "plan",
        "changes": 1,
        "backup": None,
    }
    assert "PLAN exploding" in str(report)
    assert not (tmp_path / "a.jsonl").exists()


def test_audit_path_resolution(tmp_path, monkeypatch):
    monkeypatch.delenv("MCOPS_AUDIT_LOG", raising=False)
    monkeypatch.setenv("MCOPS_EVIDENCE_DIR", str(tmp_path / "ev"))
    assert resolve_audit_path() == tmp_path / "ev" / "audit.jsonl"
    monkeypatch.setenv("MCOPS_AUDIT_LOG", str(tmp_path / "x.jsonl"))
    assert resolve_audit_path() == tmp_path / "x.jsonl"
    assert resolve_audit_path(tmp_path / "y") == tmp_path / "y"


def test_apply_of_an_empty_plan_changes_nothing_and_says_apply(tmp_path):
    class Done(Exploding):
        def _plan(self) -> Plan:  # nothing left to do: applying must not even be tried
            return Plan(
                action=self.name,
                target=self.target,
                changes=(),
                fingerprint="f",
                summary="nothing to do",
            )

    report = run_action(Done(audit=AuditLog(tmp_path / "a.jsonl")), apply=True)
    assert report.mode == "apply" and report.result is None
    assert report.as_summary()["changes"] == 0
    assert "Nothing to apply" in report._repr_html_()
    assert not (tmp_path / "a.jsonl").exists()

"""The alert receiver's HTTP app, driven over httpx's ASGI transport with its lifespan.

Runs execute for real (`mcops.runner.run_scenario` with a kernel) against a tiny
notebook directory: ``actor_panics`` and ``triage`` notebooks that declare a few
parameters and echo what the kernel received as a finding, so the tests see exactly
what a notebook started by an alert gets.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import nbformat
import pytest

from mcops.alerts import AlertReceiver, declared_in, parameters_for
from mcops.alerts_http import build_app
from mcops.registry import ALERTS as ALERT_SCENARIOS
from mcops.runner import run_scenario

ECHO = """\
import json
_CHECK = "key_metrics"  # any id the registry declares: the recorder refuses others
from mcops.findings import Finding
from mcops.notebook import parameters_in, setup

recorder = setup(SCENARIO, **parameters_in(globals()))
seen = {k: v for k, v in parameters_in(globals()).items() if k != "SCENARIO"}
recorder.add(Finding.make(_CHECK, "info", json.dumps(seen, sort_keys=True)))
recorder.finish()
"""


def echo_notebook(path: Path, scenario: str, parameters: str) -> None:
    params = nbformat.v4.new_code_cell(parameters)
    params.metadata["tags"] = ["parameters"]
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell(f"# {scenario} (test echo)"),
            params,
            nbformat.v4.new_code_cell(f"SCENARIO = {scenario!r}\n" + ECHO),
        ]
    )
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path / f"{scenario}.ipynb")


@pytest.fixture
def notebooks(tmp_path: Path) -> Path:
    folder = tmp_path / "notebooks"
    folder.mkdir()
    echo_notebook(
        folder,
        "actor_panics",
        'service_url = ""\nmeeting_id = ""\nnamespace = "default"\napply_remediation = False\n'
        'incident_started = ""\n',
    )
    echo_notebook(
        folder,
        "triage",
        'service_url = ""\nseverity_scheme = "SEV"\napply_remediation = False\n',
    )
    return folder


def receiver_for(notebooks: Path, tmp_path: Path, **options: Any) -> AlertReceiver:
    def execute(scenario: str, parameters: dict[str, Any], out_dir: Path) -> dict[str, Any]:
        result = run_scenario(
            scenario, parameters, out_dir=out_dir, notebooks_dir=notebooks, progress=False
        )
        return {"exit_code": result.exit_code, "summary": result.summary}

    return AlertReceiver(
        scenarios=ALERT_SCENARIOS,
        defaults={"service_url": "http://127.0.0.1:1", "apply_remediation": True},
        evidence_root=tmp_path / "evidence",
        execute=execute,
        declared=declared_in(notebooks),
        **options,
    )


def alert(name: str, *, fingerprint: str, starts: str = "2026-11-23T10:00:00Z", **labels: str):
    return {
        "status": "firing",
        "labels": {"alertname": name, **labels},
        "annotations": {"summary": name},
        "startsAt": starts,
        "endsAt": "0001-01-01T00:00:00Z",
        "fingerprint": fingerprint,
    }


def webhook(*alerts: dict) -> dict:
    return {"version": "4", "status": "firing", "receiver": "mcops", "alerts": list(alerts)}


def client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://mcops")


def echoed(run: dict) -> dict:
    [finding] = [f for f in run["summary"]["findings"] if f["check"] == "key_metrics"]
    return json.loads(finding["title"])


@pytest.mark.slow
@pytest.mark.asyncio
async def test_alerts_run_once_in_plan_mode_with_labels_and_fall_back_to_triage(
    notebooks, tmp_path
):
    receiver = receiver_for(notebooks, tmp_path)
    app = build_app(receiver)
    panic = alert(
        "MCActorPanic",
        fingerprint="fp-panic",
        meeting_id="meeting-42",
        namespace="dark-tower",
        convo_id="c-1",  # not declared by this actor_panics notebook: left out
        apply_remediation="True",  # labels cannot switch apply on
        runbook="004",
    )
    crash = alert("ActorRestartRateHigh", fingerprint="fp-crash", runbook="000")
    async with app.router.lifespan_context(app), client(app) as http:
        first = await http.post("/alerts", json=webhook(panic, crash))
        assert first.status_code == 200, first.text
        assert len(first.json()["queued"]) == 2
        again = await http.post("/alerts", json=webhook(panic))  # Alertmanager repeats
        assert again.status_code == 200
        assert again.json()["queued"] == []
        assert "already run as" in again.json()["skipped"][0]
        await receiver.drain(timeout=180)
        runs = {r["alert"]: r for r in (await http.get("/runs")).json()}

        assert set(runs) == {"MCActorPanic", "ActorRestartRateHigh"}
        ran = runs["MCActorPanic"]
        assert ran["status"] == "ok", ran["summary"]
        assert ran["scenario"] == "actor_panics"
        assert echoed(ran) == {
            "apply_remediation": False,
            "meeting_id": "meeting-42",
            "namespace": "dark-tower",
            "service_url": "http://127.0.0.1:1",
            "incident_started": "2026-11-23T10:00:00Z",  # the alert's startsAt (004: P2 > 2 h)
        }
        assert ran["ignored_parameters"] == ["convo_id"]

        fallback = runs["ActorRestartRateHigh"]
        assert fallback["scenario"] == "triage"
        assert "no notebook for scenario 'crash_loop' yet" in fallback["note"]
        assert echoed(fallback)["apply_remediation"] is False
        assert echoed(fallback)["severity_scheme"] == "SEV"

        detail = await http.get(f"/runs/{ran['id']}")
        assert detail.status_code == 200
        assert {"summary.json", "actor_panics.ipynb", "actor_panics.html"} <= set(
            detail.json()["files"]
        )
        summary = await http.get(f"/runs/{ran['id']}/summary.json")
        assert summary.status_code == 200
        assert summary.json()["parameters"]["apply_remediation"] is False
        assert (await http.get(f"/runs/{ran['id']}/..%2Fsecret")).status_code == 404
        assert (await http.get(f"/runs/{ran['id']}/missing.txt")).status_code == 404
        assert (await http.get("/runs/no-such-run")).status_code == 404

        # a new firing of the same alert (new startsAt) is a new incident: it runs
        later = dict(panic, startsAt="2026-11-23T11:00:00Z")
        assert len((await http.post("/alerts", json=webhook(later))).json()["queued"]) == 1


@pytest.mark.asyncio
async def test_a_full_queue_answers_503_and_queues_nothing_of_the_batch(notebooks, tmp_path):
    receiver = receiver_for(notebooks, tmp_path, max_queue=2)
    app = build_app(receiver, start_worker=False)  # nothing runs: the queue only fills
    async with app.router.lifespan_context(app), client(app) as http:
        one = await http.post("/alerts", json=webhook(alert("MCActorPanic", fingerprint="a")))
        assert one.status_code == 200
        batch = webhook(
            alert("MCActorPanic", fingerprint="b"), alert("MCActorPanic", fingerprint="c")
        )
        full = await http.post("/alerts", json=batch)
        assert full.status_code == 503
        assert full.json()["error"] == "QueueFull"
        assert len((await http.get("/runs")).json()) == 1  # neither b nor c was queued
        fits = await http.post("/alerts", json=webhook(alert("MCActorPanic", fingerprint="b")))
        assert fits.status_code == 200
        assert (await http.get("/health")).json()["queued"] == 2
        retry = await http.post("/alerts", json=batch)  # b is a repeat now, c still no room
        assert retry.status_code == 503


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        (b"{not json", 400, "InvalidJSON"),
        (b'["alerts"]', 422, "InvalidPayload"),
        (b'{"alerts": "MCActorPanic"}', 422, "InvalidPayload"),
        (b'{"alerts": [{"status": "firing"}]}', 422, "InvalidPayload"),
        (b'{"alerts": [{"labels": {"severity": "critical"}}]}', 422, "InvalidPayload"),
    ],
)
async def test_bad_payloads_are_4xx(notebooks, tmp_path, body, status, error):
    app = build_app(receiver_for(notebooks, tmp_path), start_worker=False)
    async with app.router.lifespan_context(app), client(app) as http:
        answer = await http.post(
            "/alerts", content=body, headers={"content-type": "application/json"}
        )
        assert answer.status_code == status
        assert answer.json()["error"] == error
        assert (await http.get("/runs")).json() == []


@pytest.mark.asyncio
async def test_resolved_alerts_and_unmapped_alerts_without_triage_are_skipped(tmp_path):
    empty = tmp_path / "no-notebooks"
    empty.mkdir()
    app = build_app(receiver_for(empty, tmp_path), start_worker=False)
    resolved = dict(alert("MCActorPanic", fingerprint="r"), status="resolved")
    async with app.router.lifespan_context(app), client(app) as http:
        answer = await http.post(
            "/alerts", json=webhook(resolved, alert("MCActorPanic", fingerprint="x"))
        )
        assert answer.status_code == 200
        assert answer.json()["queued"] == []
        skipped = answer.json()["skipped"]
        assert skipped[0] == "MCActorPanic: resolved, not firing"
        assert "no scenario notebook and no triage" in skipped[1]


def test_parameters_for_forces_plan_mode_and_keeps_declared_names_only():
    params, ignored = parameters_for(
        alert("MCActorPanic", fingerprint="f", meeting_id="m-1", mc_id="mc-2", runbook="004"),
        {"apply_remediation": True, "database_url": "env:DB", "window": "30m"},
        declared={"meeting_id", "apply_remediation", "window", "severity_scheme"},
    )
    assert params == {
        "apply_remediation": False,
        "meeting_id": "m-1",
        "window": "30m",
        "severity_scheme": "P",
    }
    assert ignored == ["database_url", "mc_id"]


def test_serve_refuses_an_unset_env_parameter_before_listening(capsys, monkeypatch):
    from mcops.cli import main

    monkeypatch.delenv("MCOPS_TEST_UNSET_VAR", raising=False)
    argv = ["alerts", "serve", "--port", "1", "-p", "admin_token=env:MCOPS_TEST_UNSET_VAR"]
    assert main(argv) == 2
    assert "MCOPS_TEST_UNSET_VAR is not set" in capsys.readouterr().err


@pytest.mark.asyncio
async def test_the_same_start_in_webhook_and_api_precision_is_one_firing(notebooks, tmp_path):
    app = build_app(receiver_for(notebooks, tmp_path), start_worker=False)
    webhook_time = alert("MCActorPanic", fingerprint="f", starts="2026-11-23T10:00:00.123456789Z")
    api_time = alert("MCActorPanic", fingerprint="f", starts="2026-11-23T10:00:00.123Z")
    next_firing = alert("MCActorPanic", fingerprint="f", starts="2026-11-23T10:00:00.124Z")
    async with app.router.lifespan_context(app), client(app) as http:
        assert len((await http.post("/alerts", json=webhook(webhook_time))).json()["queued"]) == 1
        assert (await http.post("/alerts", json=webhook(api_time))).json()["queued"] == []
        assert len((await http.post("/alerts", json=webhook(next_firing))).json()["queued"]) == 1


@pytest.mark.asyncio
async def test_a_scenario_label_that_is_not_a_name_falls_back_to_triage(notebooks, tmp_path):
    receiver = receiver_for(notebooks, tmp_path)
    app = build_app(receiver, start_worker=False)
    sneaky = alert("Custom", fingerprint="s", scenario="../../../tmp/evil")
    async with app.router.lifespan_context(app), client(app) as http:
        assert len((await http.post("/alerts", json=webhook(sneaky))).json()["queued"]) == 1
        [run] = (await http.get("/runs")).json()
        assert run["scenario"] == "triage"
        assert run["note"] == (
            "scenario label '../../../tmp/evil' is not a scenario name; ran triage instead"
        )

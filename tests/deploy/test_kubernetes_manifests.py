"""deploy/kubernetes and the Dockerfile: every rendered manifest is valid Kubernetes 1.30
(strict: an unknown field fails), the CRDs have the shape the Prometheus Operator reads,
the pieces agree with the code they run (settings, report sets, Kubernetes calls, rules),
and the report CronJob's command runs here against a real server.

kubernetes-validate has no schema for CRDs (ServiceMonitor, PrometheusRule): they are
checked field by field below, and the count of schema-validated resources is asserted so
that a skipped kind cannot pass silently.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import kubernetes
import kubernetes_validate
import pytest
import yaml

from mcops.cli import build_parser
from mcops.report_sets import SETS
from tests.deploy import kustomize
from tests.deploy.kubernetes import (
    BASE,
    KUBERNETES,
    KUBERNETES_VERSION,
    OVERLAYS,
    SECRET_EXAMPLE,
    container_environment,
    expand,
    find,
    kustomize_command,
    one,
    pod_spec,
    quantity,
    referenced_variables,
    render,
    secret_example,
)
from tests.deploy.runbooks import REPO
from tests.support.server_process import ADMIN_TOKEN, running_server

CRD_KINDS = {"ServiceMonitor", "PrometheusRule"}
SERVER = "meeting-controller"  # runbook 004's name: the rules' pod=~"meeting-controller-.*"
SECRET_KEYS = {"DATABASE_URL", "ADMIN_TOKEN", "AUTH_SECRET"}
WRITE_VERBS = {"create", "update", "patch", "delete", "deletecollection"}


@pytest.fixture(scope="module")
def renders() -> dict[str, list[dict[str, Any]]]:
    """base and every overlay, rendered once for this file."""
    assert "lab" in [p.name for p in OVERLAYS], OVERLAYS
    return {"base": render(BASE)} | {p.name: render(p) for p in OVERLAYS}


@pytest.fixture(scope="module")
def lab(renders) -> list[dict[str, Any]]:
    return renders["lab"]


def _workloads(resources):
    return find(resources, "Deployment") + find(resources, "CronJob")


def _containers(resources):
    for workload in _workloads(resources):
        for container in pod_spec(workload)["containers"]:
            yield workload, container


def _key(resource: dict[str, Any]) -> str:
    return json.dumps(resource, sort_keys=True)


@pytest.mark.parametrize("directory", [BASE, *OVERLAYS], ids=lambda p: p.name)
def test_the_fallback_renderer_agrees_with_kustomize(directory):
    command = kustomize_command()
    if command is None:
        pytest.skip("no kubectl or kustomize here: the fallback renderer is in use")
    assert sorted(map(_key, kustomize.build(directory))) == sorted(map(_key, render(directory)))


# --- schemas ---------------------------------------------------------------------------


def test_every_core_manifest_is_valid_kubernetes_strictly(renders):
    validated = dict.fromkeys(renders, 0)
    for name, resources in renders.items():
        for resource in resources:
            if resource["kind"] in CRD_KINDS:
                continue
            try:
                kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)
            except kubernetes_validate.ValidationError as err:
                pytest.fail(f"{name}: {resource['kind']}/{resource['metadata']['name']}: {err}")
            validated[name] += 1
    # base: 2 ConfigMaps, 2 Deployments, 2 Services, 2 PVCs, ServiceAccount, Role,
    # RoleBinding, ClusterRole, ClusterRoleBinding and a CronJob per report set; lab adds
    # a Namespace, a PVC and the remediate Role and RoleBinding
    assert validated["base"] == 13 + len(SETS)
    assert validated["lab"] == validated["base"] + 4
    assert sum(validated.values()) == sum(len(r) for r in renders.values()) - 2 * len(renders)


def test_the_validation_is_strict_a_misspelt_field_fails(lab):
    deployment = json.loads(json.dumps(one(lab, "Deployment", SERVER)))
    pod_spec(deployment)["containers"][0]["livenesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_the_secret_template_makes_a_valid_secret_with_placeholders_only():
    example = secret_example()
    assert set(example) == SECRET_KEYS
    assert set(example.values()) == {"REPLACE_ME"}
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": SERVER},
        "type": "Opaque",
        "stringData": example,
    }
    kubernetes_validate.validate(secret, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("overlay", ["base", "lab"])
def test_the_service_monitor_scrapes_the_servers_metrics_port(renders, overlay):
    resources = renders[overlay]
    monitor = one(resources, "ServiceMonitor", SERVER)
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert set(monitor["spec"]) == {"selector", "endpoints"}
    service = one(resources, "Service", SERVER)
    labels = monitor["spec"]["selector"]["matchLabels"]
    assert labels.items() <= service["metadata"]["labels"].items()
    ports = {p["name"] for p in service["spec"]["ports"]}
    for endpoint in monitor["spec"]["endpoints"]:
        assert set(endpoint) <= {"port", "path", "interval", "scrapeTimeout"}
        assert endpoint["port"] in ports
        assert endpoint["path"] == "/metrics"
    # job="meeting-controller", the name deploy/prometheus's MCDown alert reads
    assert service["metadata"]["name"] == SERVER


def _rule_groups() -> list[dict]:
    groups = []
    for name in ("recording.rules.yml", "alerts.rules.yml"):
        groups.extend(yaml.safe_load((REPO / "deploy/prometheus" / name).read_text())["groups"])
    return groups


def test_the_prometheus_rule_is_generated_from_deploy_prometheus_and_current(lab):
    spec = importlib.util.spec_from_file_location(
        "prometheus_rule", KUBERNETES / "prometheus_rule.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (BASE / "prometheus-rule.yaml").read_text() == module.render(), (
        "base/prometheus-rule.yaml is stale: run `make k8s-rules`"
    )
    rule = one(lab, "PrometheusRule", "mcops")
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    assert rule["metadata"]["namespace"] == "mcops-lab"
    assert rule["spec"] == {"groups": _rule_groups()}
    for group in rule["spec"]["groups"]:
        assert set(group) <= {"name", "interval", "rules"}
        for item in group["rules"]:
            assert ("alert" in item) != ("record" in item)
            assert set(item) <= {"alert", "record", "expr", "for", "labels", "annotations"}


def test_make_k8s_rules_writes_the_prometheus_rule():
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"^k8s-rules:.*\n\t.*deploy/kubernetes/prometheus_rule\.py", makefile, re.M)


# --- the server ------------------------------------------------------------------------


def _config_variables() -> set[str]:
    """Every environment variable server/config.py reads."""
    source = (REPO / "server" / "config.py").read_text()
    return set(re.findall(r'(?:reader\.\w+\(|env\.get\(|env\[)\s*"([A-Z_]+)"', source))


def test_the_server_configmap_holds_settings_the_server_reads_and_no_secret(lab):
    data = one(lab, "ConfigMap", SERVER)["data"]
    known = _config_variables()
    assert known >= SECRET_KEYS
    assert set(data) - known == set(), "not a server setting"
    assert set(data) & SECRET_KEYS == set()


def test_the_server_accepts_its_configmap_and_secret(lab):
    from server.config import Settings

    deployment = one(lab, "Deployment", SERVER)
    (container,) = pod_spec(deployment)["containers"]
    env = container_environment(
        container,
        lab,
        secret={"DATABASE_URL": "sqlite:///x.db", "ADMIN_TOKEN": "a" * 32, "AUTH_SECRET": "b" * 32},
        namespace="mcops-lab",
    )
    settings = Settings.from_env(env)
    assert settings.admin_token == "a" * 32
    assert settings.memory_limit_bytes == 512 * 2**20  # the lab's limit
    assert {"MEMORY_LIMIT_BYTES", "SERVER_ID"} <= _config_variables()


@pytest.mark.parametrize("overlay", ["base", "lab"])
def test_the_server_has_probes_resources_and_exports_its_memory_limit(renders, overlay):
    deployment = one(renders[overlay], "Deployment", SERVER)
    spec = pod_spec(deployment)
    (container,) = spec["containers"]
    assert container["name"] == SERVER  # runbook 004's kubectl patch names it so
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert container["startupProbe"]["httpGet"]["path"] == "/health"
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    resources = container["resources"]
    for kind in ("cpu", "memory"):
        assert quantity(resources["requests"][kind]) <= quantity(resources["limits"][kind])
    # below runbook 004 Scenario 7 Option 2's raised limits (4 CPU, 2Gi): room to raise
    assert quantity(resources["limits"]["cpu"]) < 4
    assert quantity(resources["limits"]["memory"]) < 2 * 2**30
    memory_limit = next(e for e in container["env"] if e["name"] == "MEMORY_LIMIT_BYTES")
    assert memory_limit["valueFrom"]["resourceFieldRef"] == {
        "containerName": SERVER,
        "resource": "limits.memory",
    }
    assert deployment["spec"]["replicas"] == 1  # meetings live in one process
    # PostgreSQL leases each conversation to one replica; SQLite is one file
    strategy = "Recreate" if overlay == "lab" else "RollingUpdate"
    assert deployment["spec"]["strategy"]["type"] == strategy
    replica_url = next(e for e in container["env"] if e["name"] == "REPLICA_URL")
    assert replica_url["value"] == "http://$(POD_IP):8080"
    assert spec["automountServiceAccountToken"] is False


def test_the_lab_server_keeps_its_sqlite_database_on_a_volume(lab):
    spec = pod_spec(one(lab, "Deployment", SERVER))
    (container,) = spec["containers"]
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert "sqlite:////var/lib/mcops/mcops-server.db" in SECRET_EXAMPLE.read_text()
    volume = next(v for v in spec["volumes"] if v["name"] == mounts["/var/lib/mcops"])
    one(lab, "PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"])


# --- every container -------------------------------------------------------------------


@pytest.mark.parametrize("overlay", ["base", "lab"])
def test_every_container_runs_non_root_read_only_with_limits(renders, overlay):
    for workload, container in _containers(renders[overlay]):
        spec = pod_spec(workload)
        where = workload["metadata"]["name"]
        assert spec["securityContext"]["runAsNonRoot"] is True, where
        assert spec["securityContext"]["runAsUser"] == _docker_uid(), where
        assert container["securityContext"]["readOnlyRootFilesystem"] is True, where
        assert container["securityContext"]["allowPrivilegeEscalation"] is False, where
        assert container["image"].startswith("mcops:"), where
        assert {"cpu", "memory"} <= set(container["resources"]["limits"]), where


@pytest.mark.parametrize("overlay", ["base", "lab"])
def test_every_variable_an_argument_names_is_defined_and_every_reference_exists(renders, overlay):
    resources = renders[overlay]
    for workload, container in _containers(resources):
        env = container_environment(
            container,
            resources,
            secret=dict.fromkeys(SECRET_KEYS, "x"),
            namespace="ns",
        )
        texts = container.get("command", []) + container.get("args", [])
        where = workload["metadata"]["name"]
        assert referenced_variables(texts) <= set(env), where
        # -p NAME=env:VAR: the notebook reads VAR from the environment
        for text in texts:
            for variable in re.findall(r"=env:([A-Z_]+)$", text):
                assert variable in env, f"{where}: {text}"
        for source in container.get("envFrom", []):
            if "configMapRef" in source:
                one(resources, "ConfigMap", source["configMapRef"]["name"])
        for volume in pod_spec(workload).get("volumes", []):
            if "persistentVolumeClaim" in volume:
                one(
                    resources, "PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"]
                )
        account = pod_spec(workload).get("serviceAccountName")
        if account:
            one(resources, "ServiceAccount", account)


def _mcops_argv(container: dict[str, Any], resources) -> list[str]:
    env = container_environment(
        container, resources, secret=dict.fromkeys(SECRET_KEYS, "x"), namespace="ns"
    )
    return [expand(text, env) for text in container["command"] + container.get("args", [])]


def test_the_receiver_runs_mcops_alerts_serve_with_arguments_it_accepts(lab):
    (container,) = pod_spec(one(lab, "Deployment", "mcops-alerts"))["containers"]
    argv = _mcops_argv(container, lab)
    assert argv[:3] == ["mcops", "alerts", "serve"]
    args = build_parser().parse_args(argv[1:])
    assert args.port == container["ports"][0]["containerPort"]
    assert str(args.evidence).startswith(container["volumeMounts"][0]["mountPath"])
    params = dict(p.split("=", 1) for p in args.parameter)
    assert params["service_url"] == "http://meeting-controller:8080"
    assert params["deployment"] == SERVER
    assert params["namespace"] == "ns"
    assert params["log_source"] == f"k8s:ns/app={SERVER}"


def test_one_report_cronjob_per_report_set_each_running_mcops_report(lab):
    cronjobs = find(lab, "CronJob")
    sets = []
    for cronjob in cronjobs:
        (container,) = pod_spec(cronjob)["containers"]
        argv = _mcops_argv(container, lab)
        assert argv[:2] == ["mcops", "report"]
        args = build_parser().parse_args(argv[1:])
        assert len(args.names) == 1 and args.out is None, argv
        sets.append(args.names[0])
        assert cronjob["metadata"]["name"] == f"mcops-report-{args.names[0]}"
        # the default --out is evidence/reports/SET-<time>/ under the working directory
        mounts = {m["mountPath"] for m in container["volumeMounts"]}
        assert str(Path(container["workingDir"]) / "evidence") in mounts
        assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    assert sorted(sets) == sorted(SETS)
    # the same container apart from the set's name
    shapes = {json.dumps(pod_spec(c) | {"containers": "-"}, sort_keys=True) for c in cronjobs}
    assert len(shapes) == 1


# --- RBAC against the Kubernetes calls of mcops ------------------------------------------

#: kubernetes client method → (API group, resource, verb). A call missing here fails
#: test_every_kubernetes_call_of_mcops_is_allowed: add it, and to the Role.
CALLS = {
    "list_namespaced_pod": ("", "pods", "list"),
    "read_namespaced_pod": ("", "pods", "get"),
    "read_namespaced_pod_log": ("", "pods/log", "get"),
    "delete_namespaced_pod": ("", "pods", "delete"),
    "list_namespaced_event": ("", "events", "list"),
    "read_namespaced_service": ("", "services", "get"),
    "read_namespaced_endpoints": ("", "endpoints", "get"),
    "read_namespaced_config_map": ("", "configmaps", "get"),
    "create_namespaced_config_map": ("", "configmaps", "create"),
    "patch_namespaced_config_map": ("", "configmaps", "patch"),
    "delete_namespaced_config_map": ("", "configmaps", "delete"),
    "read_namespaced_secret": ("", "secrets", "get"),
    "create_namespaced_secret": ("", "secrets", "create"),
    "patch_namespaced_secret": ("", "secrets", "patch"),
    "delete_namespaced_secret": ("", "secrets", "delete"),
    "read_node": ("", "nodes", "get"),
    "list_namespaced_deployment": ("apps", "deployments", "list"),
    "read_namespaced_deployment": ("apps", "deployments", "get"),
    "patch_namespaced_deployment": ("apps", "deployments", "patch"),
    "list_namespaced_replica_set": ("apps", "replicasets", "list"),
    "read_namespaced_cron_job": ("batch", "cronjobs", "get"),
    "create_namespaced_cron_job": ("batch", "cronjobs", "create"),
    "delete_namespaced_cron_job": ("batch", "cronjobs", "delete"),
    "list_namespaced_endpoint_slice": ("discovery.k8s.io", "endpointslices", "list"),
    "list_namespaced_network_policy": ("networking.k8s.io", "networkpolicies", "list"),
    # kubectl top: the resource is the call's argument
    "list_namespaced_custom_object": ("metrics.k8s.io", "pods", "list"),
    "list_cluster_custom_object": ("metrics.k8s.io", "nodes", "list"),
}
_API_CLASSES = [
    getattr(kubernetes.client, name) for name in dir(kubernetes.client) if name.endswith("Api")
]


def _kubernetes_calls() -> dict[str, set[str]]:
    """Kubernetes client methods that mcops calls → the files calling them."""
    calls: dict[str, set[str]] = {}
    for path in sorted((REPO / "mcops").rglob("*.py")):
        for method in re.findall(
            r"\.((?:list|read|create|patch|delete|replace)_\w+)\b", path.read_text()
        ):
            if any(hasattr(api, method) for api in _API_CLASSES):
                calls.setdefault(method, set()).add(str(path.relative_to(REPO)))
    return calls


def _allowed(resources, kinds: tuple[str, ...]) -> set[tuple[str, str, str]]:
    allowed = set()
    for kind in kinds:
        for role in find(resources, kind):
            for rule in role["rules"]:
                for group in rule["apiGroups"]:
                    for resource in rule["resources"]:
                        allowed |= {(group, resource, verb) for verb in rule["verbs"]}
    return allowed


def test_every_kubernetes_call_of_mcops_is_allowed_reads_in_base_writes_opt_in(lab, renders):
    calls = _kubernetes_calls()
    assert len(calls) >= 20, calls  # the scan found the calls
    unknown = set(calls) - set(CALLS)
    assert not unknown, f"new Kubernetes calls (add them to CALLS and the RBAC): {unknown}"
    base_reads = _allowed(renders["base"], ("Role", "ClusterRole"))
    with_remediate = _allowed(lab, ("Role", "ClusterRole"))
    for method, files in calls.items():
        permission = CALLS[method]
        if permission[2] in WRITE_VERBS:
            assert permission not in base_reads, method
            assert permission in with_remediate, f"{method} ({files}) is not in remediate"
        elif all(f.startswith("mcops/remediate/") for f in files):
            assert permission in with_remediate, f"{method} ({files})"
        else:
            assert permission in base_reads, f"{method} ({files}) is not allowed in base"
    assert {p[2] for p in base_reads} <= {"get", "list", "watch"}
    custom = (REPO / "mcops/sources/kube.py").read_text() + (
        REPO / "mcops/scenarios/resource_pressure.py"
    ).read_text()
    assert '"metrics.k8s.io", "v1beta1", namespace, "pods"' in custom
    assert '"metrics.k8s.io", "v1beta1", "nodes"' in custom


def test_the_secret_and_configmap_reads_are_limited_to_the_servers(renders):
    role = one(renders["base"], "Role", "mcops-read")
    for rule in role["rules"]:
        if {"secrets", "configmaps"} & set(rule["resources"]):
            assert rule["resourceNames"] == [SERVER]
            assert rule["verbs"] == ["get"]


def test_bindings_name_the_service_account_in_the_overlays_namespace(lab):
    for kind in ("RoleBinding", "ClusterRoleBinding"):
        for binding in find(lab, kind):
            assert binding["subjects"] == [
                {"kind": "ServiceAccount", "name": "mcops", "namespace": "mcops-lab"}
            ]
            one(lab, binding["roleRef"]["kind"], binding["roleRef"]["name"])


# --- the Dockerfile ---------------------------------------------------------------------


def _dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", (REPO / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def _docker_uid() -> int:
    user = [args for op, args in _dockerfile() if op == "USER"][-1]
    return int(user.split(":")[0])


def _stages() -> list[list[tuple[str, str]]]:
    """The Dockerfile's steps, one list per ``FROM``."""
    stages: list[list[tuple[str, str]]] = []
    for op, args in _dockerfile():
        if op == "FROM":
            stages.append([])
        stages[-1].append((op, args))
    return stages


def _context_copies() -> list[list[str]]:
    """The COPY steps that take from the build context (not ``--from=`` a stage)."""
    copies = [shlex.split(a) for op, a in _dockerfile() if op == "COPY"]
    return [c for c in copies if not c[0].startswith("--from=")]


def test_the_dockerfile_builds_one_non_root_image_from_the_wheel_with_its_notebooks():
    """A build stage makes the wheel (notebooks, rules and dashboard as package data); the
    slim runtime stage installs that wheel only and runs as a numeric non-root user."""
    build, runtime = _stages()
    for stage in (build, runtime):
        assert re.fullmatch(r"python:3\.1[1-9]-slim( AS \w+)?", stage[0][1], re.IGNORECASE)
    name = build[0][1].split()[-1]
    assert _docker_uid() != 0
    for *sources, _ in _context_copies():
        for source in sources:
            assert (REPO / source).exists(), source
    sources = {s.rstrip("/") for c in _context_copies() for s in c[:-1]}
    assert {"pyproject.toml", "setup.py", "mcops", "server", "notebooks"} <= sources
    assert {"deploy/prometheus", "deploy/grafana"} <= sources
    assert any(re.search(r"pip wheel .*--no-deps", a) for op, a in build if op == "RUN")
    (taken,) = [shlex.split(a) for op, a in runtime if op == "COPY"]
    assert taken[0] == f"--from={name}"
    assert any(re.search(r"pip install \S+\.whl", a) for op, a in runtime if op == "RUN")
    assert not [a for op, a in runtime if op == "COPY" and not a.startswith("--from=")]
    env = dict(re.findall(r"(\w+)=(\S+)", " ".join(a for op, a in runtime if op == "ENV")))
    assert "MCOPS_NOTEBOOKS" not in env, "the installed package carries the notebooks"
    cmd = json.loads([a for op, a in runtime if op == "CMD"][-1])
    assert cmd[:4] == ["python", "-m", "server", "serve"]


def test_the_dockerignore_keeps_what_the_dockerfile_copies():
    ignore = (REPO / ".dockerignore").read_text().splitlines()
    kept = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    copied = {s.rstrip("/") for c in _context_copies() for s in c[:-1]}
    assert all(any(c == k or k.startswith(f"{c}/") for k in kept) for c in copied), copied


def test_the_manifests_commands_are_the_projects_console_scripts_and_modules(lab):
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["mcops"] == "mcops.cli:main"
    commands = {tuple(c["command"][:3]) for _, c in _containers(lab)}
    cmd = json.loads([a for op, a in _dockerfile() if op == "CMD"][-1])
    server = one(lab, "Deployment", SERVER)
    (container,) = pod_spec(server)["containers"]
    assert container["command"] + container["args"] == cmd
    exposed = {int(p) for op, a in _dockerfile() if op == "EXPOSE" for p in a.split()}
    ports = {p["containerPort"] for _, c in _containers(lab) for p in c.get("ports", [])}
    assert ports == exposed
    for command in commands:
        if command[0] == "mcops":
            build_parser().parse_args(list(command[1:]))
        else:
            assert command[:3] == ("python", "-m", "server")
    help_text = subprocess.run(
        [sys.executable, "-m", "server", "serve", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert "--host" in help_text and "--port" in help_text


# --- run what the manifests run ---------------------------------------------------------


@pytest.mark.slow
def test_the_servers_command_and_configmap_start_a_server_whose_probes_pass(lab, tmp_path):
    """The Deployment's command with its ConfigMap and a SQLite Secret: /health and /ready."""
    from tests.support.ports import free_port, wait_http

    (container,) = pod_spec(one(lab, "Deployment", SERVER))["containers"]
    secret = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'mc.db'}",
        "ADMIN_TOKEN": ADMIN_TOKEN,
        "AUTH_SECRET": "c" * 32,
    }
    env = container_environment(container, lab, secret=secret, namespace="mcops-lab")
    port = free_port()
    argv = container["command"] + container["args"]
    argv[0] = sys.executable  # "python" of the image
    argv[argv.index("--host") + 1] = "127.0.0.1"  # tests bind loopback only
    argv[argv.index("--port") + 1] = str(port)
    proc = subprocess.Popen(
        argv,
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path), **env},
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        for probe in ("livenessProbe", "readinessProbe"):
            wait_http(f"http://127.0.0.1:{port}{container[probe]['httpGet']['path']}", timeout=30)
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=20)
    # uvicorn shuts down gracefully on SIGTERM, then re-raises it
    assert proc.returncode in (0, -signal.SIGTERM), stderr.decode(errors="replace")[-2000:]


@pytest.mark.slow
def test_the_daily_report_cronjobs_command_runs_here_against_a_real_server(
    lab, sqlite_url, tmp_path
):
    """The CronJob's command and args unchanged, its environment from the ConfigMap with
    the in-cluster URL mapped to a local server and the Secret mapped to the test's; the
    container's root is ``tmp_path`` (workingDir /, the evidence volume at /evidence)."""
    cronjob = one(lab, "CronJob", "mcops-report-daily")
    (container,) = pod_spec(cronjob)["containers"]
    root = tmp_path / "root"
    home = root / "home" / "mcops"
    for mount in container["volumeMounts"]:
        (root / mount["mountPath"].lstrip("/")).mkdir(parents=True, exist_ok=True)
    with running_server(sqlite_url) as server:
        env = container_environment(
            container,
            lab,
            secret={"DATABASE_URL": sqlite_url, "ADMIN_TOKEN": ADMIN_TOKEN},
            namespace="mcops-lab",
            config_overrides={"MCOPS_SERVICE_URL": server.url},
        )
        argv = [expand(text, env) for text in container["command"] + container["args"]]
        argv[0] = str(Path(sys.executable).with_name("mcops"))  # the image's console script
        proc = subprocess.run(
            argv,
            env={
                "PATH": os.environ["PATH"],
                "HOME": str(home),
                "MCOPS_NOTEBOOKS": str(REPO / "notebooks"),  # the image's package carries them
                "KUBECONFIG": str(tmp_path / "no-kubeconfig"),  # no cluster here
                # the image has no Chromium (Dockerfile), so its reports carry no PNGs; here
                # one is installed, and drawing each figure would cost this test ~15 s
                "MCOPS_FIGURES": "none",
                **env,
            },
            cwd=root / container["workingDir"].lstrip("/"),
            capture_output=True,
            text=True,
            timeout=280,
            check=False,
        )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    (report,) = (root / "evidence" / "reports").glob("daily-*")
    index = json.loads((report / "index.json").read_text())
    assert [e["scenario"] for e in index["scenarios"]] == list(SETS["daily"].scenarios)
    assert {e["status"] for e in index["scenarios"]} == {"ok"}, output
    assert (report / "index.html").is_file()
    leaked = [
        p for p in report.rglob("*") if p.is_file() and ADMIN_TOKEN.encode() in p.read_bytes()
    ]
    assert leaked == []

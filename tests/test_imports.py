"""Import rules: mcops runs against systems nobody here wrote, so it never imports the lab
server (`server`) except where it starts the lab."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MCOPS = ROOT / "mcops"
#: the only modules that start the lab server, and so may import it
LAB_MODULES = {"mcops/lab.py", "mcops/demo.py"}
FORBIDDEN = "server"


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every absolute import in `path`, nested ones included."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return sorted(found)


def test_mcops_imports_server_only_where_the_lab_starts():
    offending = [
        f"{path.relative_to(ROOT)}:{line}: import {module}"
        for path in sorted(MCOPS.rglob("*.py"))
        if str(path.relative_to(ROOT)) not in LAB_MODULES
        for line, module in _imports(path)
        if module == FORBIDDEN or module.startswith(FORBIDDEN + ".")
    ]
    assert not offending, (
        "mcops imports the lab server outside mcops/lab.py and mcops/demo.py; describe the "
        "runbook tables in mcops.schema (or pass what you need in) instead:\n"
        + "\n".join(offending)
    )


def test_the_rule_sees_nested_and_from_imports(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import os\n"
        "def f():\n"
        "    from server.store.schema import messages\n"
        "    import server.auth as a\n"
        "from .server import x\n"
    )
    assert _imports(sample) == [(1, "os"), (3, "server.store.schema"), (4, "server.auth")]


#: Heavy packages a scenario on a single host never needs (issue 15: lean imports). The
#: Kubernetes client takes seconds (its dynamic client pulls jsonschema, whose format
#: checks compile a grammar); nbformat pulls jsonschema too.
HEAVY = ("kubernetes", "jsonschema", "nbformat", "mcops.remediate.kube_actions")


#: Libraries mcops loads on first use, not at import (issue 15): a notebook that never
#: touches a database, Prometheus or the service's HTTP API does not pay for their clients.
FIRST_USE = (
    "sqlalchemy",
    "requests",
    "prometheus_api_client",
    "prometheus_client",
    "httpx",
    "yaml",
    "IPython.display",
)


def _loaded_after(code: str, watched: tuple[str, ...] = HEAVY) -> list[str]:
    import subprocess
    import sys

    probe = f"{code}\nimport sys\nprint(' '.join(m for m in {watched!r} if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True
    )
    return out.stdout.split()


def test_a_scenario_notebooks_imports_leave_the_heavy_packages_unloaded():
    code = (
        "from mcops.investigation import Investigation\n"
        "from mcops import plots\n"
        "from mcops.checks import database, epochs, replication, health\n"
        "from mcops.scenarios import epoch_conflicts\n"
        "from mcops.remediate import RecreateConversation, ResetEpoch, StopStaleActors\n"
    )
    assert _loaded_after(code) == []


def test_the_benchmarked_scenario_imports_leave_the_first_use_libraries_unloaded():
    from benchmarks.import_bench import SCENARIO

    assert _loaded_after(SCENARIO, FIRST_USE + HEAVY) == []


def _notebook_imports() -> dict[str, str]:
    """Each notebook's import statements, as its code cells write them, except those
    importing a first-use library itself (postmortem shows Markdown with IPython)."""
    import ast

    def first_use(node: ast.Import | ast.ImportFrom) -> bool:
        if isinstance(node, ast.ImportFrom):
            modules = [node.module or ""]
        else:
            modules = [alias.name for alias in node.names]
        return any(m == lib or m.startswith(f"{lib}.") for m in modules for lib in FIRST_USE)

    imports = {}
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        nodes = [
            node
            for cell in cells
            if cell["cell_type"] == "code"
            for node in ast.parse("".join(cell["source"])).body
            if isinstance(node, ast.Import | ast.ImportFrom)
        ]
        imports[path.stem] = "\n".join(ast.unparse(n) for n in nodes if not first_use(n))
    return imports


def test_every_notebooks_imports_leave_the_first_use_libraries_unloaded():
    """One interpreter imports what every notebook imports, notebook after notebook: the
    first one listed with a first-use library is the one that loads it."""
    notebooks = _notebook_imports()
    assert "from mcops.remediate import RecreateConversation" in notebooks["crash_loop"]
    assert "IPython" not in notebooks["postmortem"]
    probe = "\n".join(
        f"exec({code!r}, {{}})\n"
        f"print({name!r}, *[m for m in {FIRST_USE + HEAVY!r} if m in sys.modules])"
        for name, code in notebooks.items()
    )
    loaded = [line.split() for line in _run(f"import sys\n{probe}").splitlines()]
    assert len(loaded) == len(notebooks) > 10
    assert [line for line in loaded if line[1:]] == []


def test_no_remediation_loads_sqlalchemy_before_it_touches_a_database():
    """Notebooks import their remediations at the top; the classes cost no SQLAlchemy."""
    import mcops.remediate as remediate

    names = [n for n in remediate.__all__ if "kube" not in remediate._WHERE[n]]
    assert {"RecreateConversation", "KillLongQueries", "RestoreBackup"} <= set(names)
    code = f"from mcops.remediate import {', '.join(names)}\nimport mcops.remediate.preconditions"
    assert _loaded_after(code, FIRST_USE + HEAVY) == []


def test_the_runbook_tables_load_sqlalchemy_when_first_asked_for():
    probe = (
        "import sys\n"
        "from mcops import schema\n"
        "from mcops.schema import TABLE_NAMES, SchemaMismatch, require_optional\n"
        "before = 'sqlalchemy' in sys.modules\n"
        "print(before, tuple(schema.TABLES) == TABLE_NAMES, schema.messages.name,\n"
        "      {'messages', 'metadata'} <= set(dir(schema)))\n"
    )
    assert _run(probe).split() == ["False", "True", "messages", "True"]


def test_the_kernel_preload_loads_what_mcops_loads_on_first_use():
    """Warm and forked kernels import `PRELOAD` once, so a run does not pay for what
    mcops imports lazily; the Kubernetes client stays out (single-host runs)."""
    from mcops.kernel_pool import PRELOAD

    wanted = (
        *FIRST_USE,
        "sqlalchemy.dialects.postgresql",
        "urllib3",
        "mcops._schema_tables",
        "mcops.conclusion",
        "mcops.display",
        "mcops.notebook",
        "mcops.registry",
        "mcops.severity",
        "mcops.thresholds",
        "mcops.typed_yaml",
        "mcops.remediate.sql_actions",
        "mcops.remediate.sql_indexes",
        "mcops.remediate.pg_queries",
        "mcops.remediate.admin_actions",
        "mcops.sources.prometheus",
        "mcops.sources.metrics",
        "mcops.sources.sql",
        "mcops.sources.service",
    )
    probe = (
        f"exec({PRELOAD!r}, {{}})\nimport sys\n"
        f"print(*[m for m in {wanted!r} if m not in sys.modules], '|',"
        f" *[m for m in ('kubernetes', 'mcops.remediate.kube_actions') if m in sys.modules])"
    )
    assert _run(probe).split() == ["|"]


def _run(probe: str) -> str:
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_every_remediation_name_loads_on_first_use():
    import mcops.remediate as remediate

    for name in remediate.__all__:
        assert getattr(remediate, name).__name__ == name
    assert "kubernetes" in _loaded_after("from mcops.remediate import RolloutRestart")


def test_a_notebook_that_reads_no_database_never_loads_sqlalchemy():
    import subprocess
    import sys

    probe = (
        "from mcops.investigation import Investigation\n"
        "from mcops import plots\n"
        "from mcops.checks import health, logs\n"
        "from mcops.checks import metrics as metric_checks\n"
        "import sys\n"
        "print('sqlalchemy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.strip() == "False", out.stdout + out.stderr


def test_a_lazy_name_is_never_shadowed_by_a_submodule_of_the_same_name():
    """`mcops.sources.scrape` is a module and a function: importing the module anywhere
    first must not turn `from mcops.sources import scrape` into the module."""
    import importlib
    import pkgutil
    import types

    for package_name in ("mcops.sources", "mcops.remediate"):
        package = importlib.import_module(package_name)
        for info in pkgutil.iter_modules(package.__path__):
            importlib.import_module(f"{package_name}.{info.name}")
        modules = [n for n in package.__all__ if isinstance(getattr(package, n), types.ModuleType)]
        assert not modules, f"{package_name}: {modules} are modules, not what __all__ names"


def test_the_command_skips_the_slow_optional_iri_validator_and_notebooks_still_validate():
    """mcops.slow_imports: `mcops` marks rfc3987_syntax absent before nbformat loads it;
    jsonschema then skips the "iri" format only, and notebooks still validate."""
    import subprocess
    import sys

    probe = (
        "import sys, io, contextlib\n"
        "from mcops.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['list'])\n"
        "import jsonschema, nbformat\n"
        "nb = nbformat.read('notebooks/triage.ipynb', as_version=4)\n"
        "nbformat.validate(nb)\n"
        "checker = jsonschema.FormatChecker()\n"
        "print(sys.modules['rfc3987_syntax'], 'iri' in checker.checkers,"
        " checker.conforms('2026-11-30', 'date'), checker.conforms('no date', 'date'))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert out.stdout.split() == ["None", "False", "True", "False"], out.stdout + out.stderr


@pytest.mark.slow
def test_the_registered_kernel_jupyterlab_starts_skips_it_too(tmp_path):
    """`make setup` and `mcops notebooks export` register the `mcops` kernel with
    `slow_imports.KERNEL_ARGUMENT` (once, however often they run): a real kernel started
    from that spec by jupyter_client, as JupyterLab starts it, has rfc3987_syntax absent."""
    import shutil

    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    from mcops.slow_imports import KERNEL_ARGUMENT, skip_in_kernelspec

    native = KernelSpecManager().get_kernel_spec("python3")
    spec_dir = tmp_path / "kernels" / "probe"
    shutil.copytree(native.resource_dir, spec_dir)
    (spec_dir / "kernel.json").write_text(json.dumps(native.to_dict()))
    assert skip_in_kernelspec(spec_dir / "kernel.json") is True
    assert skip_in_kernelspec(spec_dir / "kernel.json") is False  # idempotent
    argv = json.loads((spec_dir / "kernel.json").read_text())["argv"]
    assert argv.count(KERNEL_ARGUMENT) == 1 and argv[:-1] == native.argv

    specs = KernelSpecManager(kernel_dirs=[str(tmp_path / "kernels")])
    manager = KernelManager(kernel_name="probe", kernel_spec_manager=specs)
    manager.start_kernel()
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        seen: list[str] = []
        client.execute_interactive(
            "import sys, nbformat\nprint(repr(sys.modules.get('rfc3987_syntax', 'unset')))",
            output_hook=lambda msg: seen.append(msg["content"].get("text", "")),
            timeout=60,
        )
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    assert "".join(seen).strip() == "None"


def test_the_makefile_registers_the_kernel_with_the_skip():
    setup = (ROOT / "Makefile").read_text()
    rule = setup.split("$(KERNEL_SPEC): $(VENV)/.installed", 1)[1].split("\n\n", 1)[0]
    assert "-m mcops.slow_imports $@" in rule

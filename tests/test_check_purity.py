"""Judges stay pure: nothing under mcops/checks/ imports a source, a remediation or the
Investigation (DESIGN: "Judges are pure (DataFrames and thresholds in, a Finding out);
fetching and remediation wiring live with the scenario", in `mcops.scenarios`).

Every import counts, wherever it is written: at the top, inside a function, under
``if TYPE_CHECKING:`` (a type from a source is a source dependency all the same), relative
or through ``importlib.import_module``. The detector is tested on snippets of each form,
so a check that no longer sees an import fails here rather than passing silently.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHECKS = ROOT / "mcops" / "checks"
#: what a judge must not import (the module itself or anything under it)
FORBIDDEN = ("mcops.investigation", "mcops.remediate", "mcops.sources")
_PACKAGE = ("mcops", "checks")  # the package a module of mcops/checks/ is in


def _forbidden(module: str) -> bool:
    return any(module == name or module.startswith(f"{name}.") for name in FORBIDDEN)


def _absolute(node: ast.ImportFrom) -> str:
    """The module an ImportFrom names, relative ones resolved against mcops.checks."""
    if not node.level:
        return node.module or ""
    base = _PACKAGE[: len(_PACKAGE) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def _imported(tree: ast.AST) -> list[tuple[int, str]]:
    """Every (line, module) the code imports, ``from X import y`` also as ``X.y``."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = _absolute(node)
            found.append((node.lineno, module))
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0]
            if name in ("import_module", "__import__") and isinstance(first, ast.Constant):
                found.append((node.lineno, str(first.value)))
    return found


def violations(source: str, filename: str) -> list[str]:
    """``file:line imports module`` for each forbidden import in ``source``."""
    tree = ast.parse(source, filename=filename)
    hits = {(line, module) for line, module in _imported(tree) if _forbidden(module)}
    # ``from mcops.sources import scrape`` is one violation, not two
    by_line: dict[int, str] = {}
    for line, module in sorted(hits, key=lambda hit: (hit[0], len(hit[1]))):
        by_line.setdefault(line, module)
    return [f"{filename}:{line} imports {module}" for line, module in sorted(by_line.items())]


@pytest.mark.parametrize(
    "source",
    [
        "from mcops.investigation import Investigation",
        "import mcops.remediate",
        "from mcops.remediate.audit import resolve_audit_path",
        "import mcops.sources.scrape as scrape",
        "from mcops import sources",
        "from ..sources.kube import KubeSource",
        "from .. import remediate",
        "if TYPE_CHECKING:\n    from mcops.sources.service import ServiceSource",
        "def f():\n    from mcops.remediate import Scale\n    return Scale",
        "import importlib\nimportlib.import_module('mcops.sources.kube')",
    ],
)
def test_the_detector_sees_every_form_of_import(source: str) -> None:
    assert violations(source, "example.py")


@pytest.mark.parametrize(
    "source",
    [
        "from mcops.findings import Finding",
        "from mcops.checks import trends",
        "from . import trends",
        "from mcops.thresholds import Thresholds",
        "import mcops.sourcesish",  # a name that only starts the same
    ],
)
def test_the_detector_allows_what_judges_need(source: str) -> None:
    assert violations(source, "example.py") == []


def test_checks_import_no_source_remediation_or_investigation() -> None:
    files = sorted(CHECKS.glob("*.py"))
    assert files, f"no modules under {CHECKS}"
    found = [
        hit
        for path in files
        for hit in violations(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    ]
    assert not found, (
        "judges under mcops/checks/ must take DataFrames and thresholds and return a "
        "Finding; move fetching and remediation wiring to mcops/scenarios/<scenario>.py:\n"
        + "\n".join(found)
    )

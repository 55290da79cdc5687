"""What ``mcops doctor`` checks: is this install able to run scenarios, and what is missing.

Each check is one `Check`: ok or not, what was found, and when not ok the command that
fixes it. Required ones (Python, the dependencies, the notebooks, a kernel) decide the
exit code; optional ones (Chromium for PNG figures, promtool, kubectl, the notebooks'
JupyterLab kernel) only say what they would add.
"""

from __future__ import annotations

import importlib.util
import os
import platform
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Check", "all_checks", "run_checks"]

MIN_PYTHON = (3, 11)
#: what a kernel imports to run the notebooks and write their evidence
MODULES = ("pandas", "pyarrow", "plotly", "sqlalchemy", "papermill", "nbconvert", "ipykernel")
APT = "apt-get install -y --no-install-recommends"
REINSTALL = "pip install --force-reinstall mcops-*.whl (or pip install . in a checkout)"


@dataclass(frozen=True)
class Check:
    """One line of the doctor's report."""

    name: str
    ok: bool
    found: str
    fix: str = ""
    required: bool = True

    def line(self) -> str:
        state = "ok" if self.ok else ("MISSING" if self.required else "missing")
        text = f"{state:<8} {self.name:<18} {self.found}"
        if not self.required:
            text += " (optional)"
        if not self.ok and self.fix:
            text += f" — fix: {self.fix}"
        return text


def _python() -> Check:
    found = f"{platform.python_version()} ({sys.executable})"
    ok = sys.version_info[:2] >= MIN_PYTHON
    need = ".".join(map(str, MIN_PYTHON))
    return Check("python", ok, found, f"install Python {need} or newer and mcops into it")


def _dependencies() -> Check:
    missing = [m for m in MODULES if importlib.util.find_spec(m) is None]
    if missing:
        return Check("dependencies", False, f"cannot import {', '.join(missing)}", REINSTALL)
    return Check("dependencies", True, f"{len(MODULES)} key modules import")


def _notebooks() -> Check:
    from mcops.runner import list_scenarios, notebooks_dir_and_origin

    where, origin = notebooks_dir_and_origin()
    names = list_scenarios(where) if where.is_dir() else []
    found = f"{len(names)} scenarios in {where} ({origin})"
    return Check("notebooks", bool(names), found, f"{REINSTALL}, or set MCOPS_NOTEBOOKS=DIR")


def _kernel(name: str, *, required: bool, fix: str) -> Check:
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec(name)
    except NoSuchKernel:
        return Check(f"kernel {name}", False, "not registered", fix, required)
    python = spec.argv[0] if spec.argv else ""
    if name != "python3" and Path(python).is_absolute() and not _same_file(python, sys.executable):
        found = f"registered for another Python: {python}"  # it would import another mcops
        return Check(f"kernel {name}", False, found, fix, required)
    return Check(f"kernel {name}", True, python or spec.resource_dir, "", required)


def _same_file(a: str, b: str) -> bool:
    """Same interpreter path, symlinks not followed: each venv's python links the same
    base interpreter, but only its own path puts that venv's packages on sys.path."""
    return os.path.normpath(os.path.abspath(a)) == os.path.normpath(os.path.abspath(b))


def _shipped(name: str, what: str) -> Check:
    from mcops._data import data_dir

    found = data_dir(name)
    if found is None:
        return Check(what, False, "not shipped", REINSTALL, required=False)
    return Check(what, True, f"{found.path} ({found.origin})", required=False)


def _program(name: str, *candidates: str, what: str, fix: str) -> Check:
    path = next((p for c in (name, *candidates) if (p := shutil.which(c))), None)
    return Check(name, path is not None, path or f"not on PATH ({what})", fix, required=False)


def all_checks() -> list[Callable[[], Check]]:
    """Every check, in the order the report prints them."""
    kernel_fix = f"{sys.executable} -m pip install ipykernel"
    lab_fix = "mcops notebooks export DIR (registers it for this Python)"
    return [
        _python,
        _dependencies,
        _notebooks,
        lambda: _kernel("python3", required=True, fix=kernel_fix),  # what `mcops run` uses
        lambda: _kernel("mcops", required=False, fix=lab_fix),  # what the notebooks name
        lambda: _shipped("prometheus", "prometheus rules"),
        lambda: _shipped("grafana", "grafana dashboard"),
        lambda: _program(
            "chromium",
            "chromium-browser",
            what="PNG figures: mcops run --png, mcops report",
            fix=f"{APT} chromium chromium-driver",
        ),
        lambda: _program(
            "promtool",
            what="checks and unit-tests the Prometheus rules",
            fix=f"{APT} prometheus",
        ),
        lambda: _program(
            "kubectl",
            what="applies deploy/kubernetes; the notebooks use the API without it",
            fix=f"{APT} kubectl (from the Kubernetes apt repository)",
        ),
    ]


def run_checks(checks: list[Callable[[], Check]] | None = None) -> list[Check]:
    """Run each check; one that raises is reported as failed, naming the exception."""
    results = []
    for check in checks if checks is not None else all_checks():
        try:
            results.append(check())
        except Exception as exc:  # a doctor that crashes tells nothing
            name = getattr(check, "__name__", "check").lstrip("_")
            results.append(Check(name, False, f"{type(exc).__name__}: {exc}", REINSTALL))
    return results

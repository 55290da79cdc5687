"""mcops as an on-call engineer gets it: built into a wheel, installed into a fresh
virtual environment outside the repository, and run from a directory with no source tree.

The wheel is built the way ``python -m build`` does it, from the sdist (so the sdist is
checked to be complete too), once per module. The fresh environment gets the wheel with
``--no-deps``; its dependencies come from the repository's environment through a ``.pth``
file naming only that environment's site-packages (the repository's source tree is not
on it: a test below asserts mcops is imported from the fresh environment), which keeps
the test offline past the build and quick.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from mcops._data import SOURCES
from mcops.slow_imports import KERNEL_ARGUMENT

ROOT = Path(__file__).resolve().parents[2]
VERSION = "0.1.0"
#: every file of the repository that the wheel must carry, and its place in the wheel
SHIPPED = {
    **{f"notebooks/{p.name}": p for p in (ROOT / "notebooks").glob("*.ipynb")},
    "notebooks/README.md": ROOT / "notebooks" / "README.md",
    **{
        f"{name}/{p.relative_to(ROOT / source)}": p
        for name, source in SOURCES.items()
        if name != "notebooks"
        for p in (ROOT / source).rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    },
}


class Dist(NamedTuple):
    sdist: Path
    wheel: Path


def _run(*argv: str | Path, cwd: Path = ROOT, env: dict[str, str] | None = None, timeout=240):
    proc = subprocess.run(
        [str(a) for a in argv],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return proc


def _ok(proc: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert proc.returncode == 0, f"{proc.args}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dist]:
    """sdist from the repository, then the wheel from the sdist (pip's isolated build)."""
    base = tmp_path_factory.mktemp("mcops-dist")
    builder = base / "builder"
    _ok(_run(sys.executable, "-m", "venv", builder))
    _ok(_run(builder / "bin/python", "-m", "pip", "install", "-q", "setuptools>=77"))
    out = base / "dist"
    out.mkdir()
    build = "import sys; from setuptools import build_meta as b; print(b.build_sdist(sys.argv[1]))"
    name = _ok(_run(builder / "bin/python", "-c", build, out)).stdout.strip().splitlines()[-1]
    sdist = out / name
    _ok(_run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", out, sdist))
    (wheel,) = out.glob("mcops-*.whl")
    yield Dist(sdist, wheel)
    shutil.rmtree(base, ignore_errors=True)


def test_the_wheel_carries_every_notebook_rule_file_and_dashboard(dist):
    names = set(zipfile.ZipFile(dist.wheel).namelist())
    assert len(SHIPPED) > 20 and "notebooks/triage.ipynb" in SHIPPED
    missing = sorted(f"mcops/_data/{name}" for name in SHIPPED)
    missing = [name for name in missing if name not in names]
    assert missing == [], f"not in {dist.wheel.name}: {missing}"
    assert "mcops/thresholds.yaml" in names
    assert "mcops/cli.py" in names and "server/__main__.py" in names
    with zipfile.ZipFile(dist.wheel) as wheel:
        for name, path in SHIPPED.items():
            assert wheel.read(f"mcops/_data/{name}") == path.read_bytes(), name
        entry_points = wheel.read(f"mcops-{VERSION}.dist-info/entry_points.txt").decode()
    assert "mcops = mcops.cli:main" in entry_points
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_the_sdist_keeps_the_one_source_the_package_data_is_built_from(dist):
    import tarfile

    with tarfile.open(dist.sdist) as sdist:
        names = {n.split("/", 1)[1] for n in sdist.getnames() if "/" in n}
    top = {str(path.relative_to(ROOT)) for path in SHIPPED.values()}
    assert top - names == set()
    assert {"setup.py", "pyproject.toml", "mcops/_data/__init__.py"} <= names
    assert not [n for n in names if n.startswith("mcops/_data/notebooks")], "one copy only"


# --- installed into a fresh environment -------------------------------------------------


class Venv(NamedTuple):
    root: Path
    env: dict[str, str]
    """The environment to run its programs with: no PYTHONPATH, no MCOPS_NOTEBOOKS."""

    def bin(self, name: str) -> Path:
        return self.root / "bin" / name


def _fresh_venv(root: Path, home: Path) -> Venv:
    """A new venv whose dependencies are the repository environment's site-packages."""
    _ok(_run(sys.executable, "-m", "venv", root))
    site = Path(
        _ok(
            _run(
                root / "bin/python", "-c", "import sysconfig as s; print(s.get_paths()['purelib'])"
            )
        ).stdout.strip()
    )
    ours = {sysconfig.get_paths()[k] for k in ("purelib", "platlib")}
    (site / "zz_mcops_test_dependencies.pth").write_text("".join(f"{p}\n" for p in sorted(ours)))
    # nbconvert's templates are data files of its own install (share/jupyter), as pip
    # would have put them into this environment
    templates = Path(sys.prefix) / "share" / "jupyter" / "nbconvert"
    (root / "share" / "jupyter").mkdir(parents=True)
    (root / "share" / "jupyter" / "nbconvert").symlink_to(templates)
    home.mkdir(parents=True, exist_ok=True)
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "MCOPS_NOTEBOOKS", "VIRTUAL_ENV", "JUPYTER_PATH")
        and not k.startswith("PYTEST")
    }
    env.update(HOME=str(home), PATH=f"{root / 'bin'}{os.pathsep}{env.get('PATH', '')}")
    return Venv(root, env)


@pytest.fixture(scope="module")
def installed(dist, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Venv]:
    base = tmp_path_factory.mktemp("mcops-installed")
    venv = _fresh_venv(base / "venv", base / "home")
    _ok(
        _run(
            venv.bin("python"), "-m", "pip", "install", "-q", "--no-deps", "--no-index", dist.wheel
        )
    )
    yield venv
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """An empty directory, outside the repository, with no source tree above it either."""
    work = tmp_path / "oncall"
    work.mkdir()
    assert not work.resolve().is_relative_to(ROOT)
    for parent in (work, *work.parents):
        assert not (parent / "pyproject.toml").exists() and not (parent / "mcops").exists()
    return work


@pytest.mark.slow
def test_the_installed_wheel_lists_and_runs_triage_and_exports_the_notebooks(
    installed, workdir, sqlite_url
):
    from tests.support.server_process import running_server

    env, mcops = installed.env, installed.bin("mcops")
    imported = _ok(
        _run(
            installed.bin("python"),
            "-c",
            "import mcops; print(mcops.__file__)",
            cwd=workdir,
            env=env,
        )
    )
    assert Path(imported.stdout.strip()).is_relative_to(installed.root), imported.stdout
    version = _ok(_run(mcops, "--version", cwd=workdir, env=env)).stdout
    assert version.startswith(f"mcops {VERSION} (Python ") and str(installed.root) in version

    listing = _ok(_run(mcops, "list", cwd=workdir, env=env)).stdout
    assert "(from the installed package)" in listing.splitlines()[0]
    assert str(installed.root) in listing.splitlines()[0]
    assert "triage — " in listing and "db_consistency — " in listing

    doctor = _run(mcops, "doctor", cwd=workdir, env=env)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert "ok       notebooks" in doctor.stdout and "(the installed package)" in doctor.stdout

    out = workdir / "evidence" / "triage"
    with running_server(sqlite_url) as server:
        run = _run(
            mcops,
            "run",
            "triage",
            "--out",
            out,
            "--no-progress",
            "-p",
            f"service_url={server.url}",
            cwd=workdir,
            env=env,
            timeout=280,
        )
    assert run.returncode in (0, 1), run.stdout[-3000:] + run.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "ok", summary.get("error")
    assert (
        summary["sources"]["service"]["state"] == "ok"
        if isinstance(summary["sources"].get("service"), dict)
        else True
    )
    assert {"triage.ipynb", "triage.html", "manifest.json"} <= {p.name for p in out.iterdir()}

    workspace = workdir / "workspace"
    exported = _ok(_run(mcops, "notebooks", "export", workspace, cwd=workdir, env=env)).stdout
    assert "registered (sys-prefix)" in exported, exported
    assert (workspace / "README.md").is_file()
    shipped = installed.root.glob("lib/python*/site-packages/mcops/_data/notebooks")
    (packaged,) = list(shipped)
    assert sorted(p.name for p in workspace.glob("*.ipynb")) == sorted(
        p.name for p in packaged.glob("*.ipynb")
    )
    kernel = json.loads((installed.root / "share/jupyter/kernels/mcops/kernel.json").read_text())
    assert kernel["display_name"] == "mcops (Python 3)"
    assert Path(kernel["argv"][0]).parent == installed.root / "bin"
    assert kernel["argv"][-1] == KERNEL_ARGUMENT  # JupyterLab's kernel skips the slow import

    edited = workspace / "triage.ipynb"
    edited.write_text(edited.read_text() + "\n")
    refused = _run(mcops, "notebooks", "export", workspace, cwd=workdir, env=env)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "triage.ipynb" in refused.stderr and "--force" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert edited.read_bytes() != (packaged / "triage.ipynb").read_bytes()
    _ok(
        _run(
            mcops, "notebooks", "export", workspace, "--force", "--no-kernel", cwd=workdir, env=env
        )
    )
    assert edited.read_bytes() == (packaged / "triage.ipynb").read_bytes()


@pytest.mark.slow
def test_an_editable_install_uses_the_repositorys_notebooks(tmp_path, workdir):
    """What ``make setup`` does (``pip install -e .``): scenarios come from the checkout."""
    venv = _fresh_venv(tmp_path / "venv", tmp_path / "home")
    try:
        _ok(
            _run(
                venv.bin("python"),
                "-m",
                "pip",
                "install",
                "-q",
                "--no-deps",
                "-e",
                ROOT,
                env=venv.env,
            )
        )
        listing = _ok(_run(venv.bin("mcops"), "list", cwd=workdir, env=venv.env)).stdout
        assert listing.splitlines()[0] == (
            f"scenario notebooks: {ROOT / 'notebooks'} (from the source tree)"
        )
    finally:
        shutil.rmtree(venv.root, ignore_errors=True)

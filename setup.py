"""Build hook, beside pyproject.toml (which holds everything else): the top-level
``notebooks/``, ``deploy/prometheus/`` and ``deploy/grafana/`` become package data of
``mcops._data`` in the wheel and sdist, so ``pip install`` ships the scenarios, rules and
dashboard while the repository keeps one copy of each (`mcops._data` finds either).
Which files of them: ``[tool.setuptools.package-data]`` in pyproject.toml."""

from setuptools import find_namespace_packages, setup

#: package inside the wheel -> the repository directory it is built from
DATA_PACKAGES = {
    "mcops._data.notebooks": "notebooks",
    "mcops._data.prometheus": "deploy/prometheus",
    "mcops._data.prometheus.tests": "deploy/prometheus/tests",
    "mcops._data.grafana": "deploy/grafana",
}

setup(
    packages=[
        *find_namespace_packages(include=["mcops*", "server*"], exclude=["*.__pycache__"]),
        *DATA_PACKAGES,
    ],
    package_dir=DATA_PACKAGES,
)

"""Write base/prometheus-rule.yaml: deploy/prometheus's rule groups as a PrometheusRule.

deploy/prometheus/*.rules.yml stay the one source (promtool tests them); this copies
their groups, unchanged, into the Prometheus Operator's resource. ``make k8s-rules``
runs it; ``--check`` exits 1 when the file is stale (tests/deploy checks the same).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

DEPLOY = Path(__file__).resolve().parent.parent
RULE_FILES = (
    DEPLOY / "prometheus" / "recording.rules.yml",
    DEPLOY / "prometheus" / "alerts.rules.yml",
)
TARGET = DEPLOY / "kubernetes" / "base" / "prometheus-rule.yaml"
HEADER = """\
# Generated from deploy/prometheus/recording.rules.yml and alerts.rules.yml by
# deploy/kubernetes/prometheus_rule.py (`make k8s-rules`): edit those, not this.
# Prometheus Operator picks it up when its ruleSelector matches these labels; add the
# label yours selects on (e.g. release: NAME) in an overlay.
"""


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (PromQL) as literal blocks, as in the rule files."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def groups(rule_files: tuple[Path, ...] = RULE_FILES) -> list[dict[str, Any]]:
    """Every group of the rule files, in file order."""
    found: list[dict[str, Any]] = []
    for path in rule_files:
        found.extend(yaml.safe_load(path.read_text(encoding="utf-8"))["groups"])
    return found


def render(rule_files: tuple[Path, ...] = RULE_FILES) -> str:
    """The PrometheusRule manifest, as written to ``TARGET``."""
    resource = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "mcops", "labels": {"app": "mcops"}},
        "spec": {"groups": groups(rule_files)},
    }
    body = yaml.dump(resource, Dumper=_Dumper, sort_keys=False, width=100, allow_unicode=True)
    return HEADER + body


def main(argv: list[str] | None = None) -> int:
    """Write ``TARGET``, or with ``--check`` report whether it is current."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = TARGET.exists() and TARGET.read_text(encoding="utf-8") == text
        if not current:
            print(f"{TARGET} is stale: run `make k8s-rules`", file=sys.stderr)
        return 0 if current else 1
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

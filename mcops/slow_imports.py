"""Optional imports mcops's processes skip: they cost seconds and serve nothing here.

jsonschema, which nbformat loads (papermill, nbconvert, plotly's renderers all read
notebooks), imports ``rfc3987_syntax`` when it is installed (JupyterLab's event schemas
bring it) to check the "iri" string format. That import compiles 38 Lark grammars: 2 s on
a two-core machine, paid by the ``mcops`` command and again by every kernel. mcops checks
no IRIs. Marking the module absent makes jsonschema skip that one format, exactly as when
the package is not installed; a process that imported it already keeps it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

__all__ = ["KERNEL_ARGUMENT", "SKIPPED", "skip", "skip_in_kernelspec"]

#: Optional modules nothing in mcops needs, each slow to import.
SKIPPED: tuple[str, ...] = ("rfc3987_syntax",)

#: `skip` for a kernel, run before its first cell; it leaves no name in the namespace.
KERNEL_ARGUMENT = (
    "--IPKernelApp.exec_lines=["
    + ", ".join(f"\"__import__('sys').modules.setdefault('{name}', None)\"" for name in SKIPPED)
    + "]"
)


def skip() -> None:
    """Mark `SKIPPED` absent in this process (before jsonschema is imported)."""
    for name in SKIPPED:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]


def skip_in_kernelspec(kernel_json: Path) -> bool:
    """Add `KERNEL_ARGUMENT` to a registered kernel's ``kernel.json`` (the one JupyterLab
    starts), so an interactive kernel skips the 2 s too; True when it was added, False
    when it was there already."""
    spec = json.loads(kernel_json.read_text(encoding="utf-8"))
    if KERNEL_ARGUMENT in spec["argv"]:
        return False
    spec["argv"].append(KERNEL_ARGUMENT)
    kernel_json.write_text(json.dumps(spec, indent=1) + "\n", encoding="utf-8")
    return True


if __name__ == "__main__":  # `python -m mcops.slow_imports KERNEL_JSON` (make setup)
    skip_in_kernelspec(Path(sys.argv[1]))

"""Small helpers for Kubernetes objects as plain dicts: diff, containment, cleaning."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["contains", "diff", "flatten"]

# Fields the server owns; a diff of what *we* change leaves them out.
_IGNORED = (
    "metadata.resourceVersion",
    "metadata.generation",
    "metadata.managedFields",
    "metadata.creationTimestamp",
    "metadata.uid",
    "status",
)


def flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    """``{"spec.template.spec.containers[0].image": "x", ...}``."""
    out: dict[str, Any] = {}
    if isinstance(obj, Mapping) and obj:
        for key, value in obj.items():
            out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(obj, list) and obj:
        for i, value in enumerate(obj):
            out.update(flatten(value, f"{prefix}[{i}]"))
    else:
        out[prefix] = obj
    return out


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One ``{"path", "now", "new"}`` per leaf that differs, server-owned fields left out."""
    a, b = flatten(before), flatten(after)
    paths = sorted(set(a) | set(b))
    return [
        {"path": p, "now": a.get(p), "new": b.get(p)}
        for p in paths
        if a.get(p) != b.get(p) and not any(p == i or p.startswith(i + ".") for i in _IGNORED)
    ]


def _same_scalar(have: Any, want: Any) -> bool:
    if have == want:
        return True
    if isinstance(have, str | int | float) and isinstance(want, str | int | float):
        # the API server normalises quantities ("4000m" comes back as "4")
        from kubernetes.utils.quantity import parse_quantity

        try:
            return bool(parse_quantity(have) == parse_quantity(want))
        except ValueError:
            return False
    return False


def contains(have: Any, want: Any) -> bool:
    """True when every field of `want` is present with that value in `have`.

    Lists must have the same length and contain element-wise, so defaults the server
    adds to a container do not make a finished change look unfinished.
    """
    if isinstance(want, Mapping):
        return isinstance(have, Mapping) and all(
            k in have and contains(have[k], v) for k, v in want.items()
        )
    if isinstance(want, list):
        return (
            isinstance(have, list)
            and len(have) == len(want)
            and all(contains(h, w) for h, w in zip(have, want, strict=True))
        )
    return _same_scalar(have, want)

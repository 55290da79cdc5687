"""Package attributes that import their module on first use (PEP 562).

`mcops.remediate` and `mcops.sources` name many classes and functions whose modules pull
heavy libraries (the Kubernetes client, SQLAlchemy); a notebook pays only for what it
touches. A package declares ``name -> module`` and assigns what `lazy_attributes` returns
to its ``__getattr__`` and ``__dir__``.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_attributes"]


def lazy_attributes(
    package: str, where: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``, each name loaded from ``where[name]``."""

    def getattr_(name: str) -> Any:
        try:
            module = where[name]
        except KeyError:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        value = getattr(importlib.import_module(module), name)
        vars(sys.modules[package])[name] = value  # later lookups skip this function
        return value

    def dir_() -> list[str]:
        return sorted([*vars(sys.modules[package]), *where])

    return getattr_, dir_

"""YAML into frozen dataclasses, every key and type checked against the type hints.

A typo in an operator's override file fails loudly, naming the key and the keys allowed
there, instead of silently keeping a default (mcops.thresholds is the user).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from mcops.errors import ParameterError

__all__ = ["LOADER", "build_typed", "deep_merge", "read_yaml_mapping"]

#: libyaml's safe loader is ~10x faster than the pure-Python one; both are safe.
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

Converters = Mapping[Any, Callable[[Any], Any]]
_NONE: Converters = MappingProxyType({})


def read_yaml_mapping(path: Path, *, what: str) -> dict[str, Any]:
    """The mapping at the top of the YAML file ``path``; ParameterError naming ``what``."""
    try:
        loaded = yaml.load(path.read_text(encoding="utf-8"), Loader=LOADER)
    except OSError as err:
        raise ParameterError(
            f"cannot read {what} {path}: {err.strerror}; pass an existing YAML file",
            name="thresholds",
        ) from err
    except yaml.YAMLError as err:
        raise ParameterError(f"{what} {path} is not valid YAML: {err}") from err
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ParameterError(
            f"{what} {path} must hold a mapping at the top level, got {type(loaded).__name__}",
            name="thresholds",
        )
    return loaded


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` laid over ``base``, mapping by mapping (a user file moves one edge)."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def build_typed(kind: Any, value: Any, where: str, *, converters: Converters = _NONE) -> Any:
    """Convert YAML data to ``kind`` (a type hint), naming ``where`` on any mismatch.

    ``converters`` turn a scalar into a type YAML has no literal for (a timedelta from
    ``"5m"``); a converter's ValueError becomes a ParameterError naming the key.
    """
    origin = typing.get_origin(kind)
    if dataclasses.is_dataclass(kind):
        return _build_dataclass(kind, value, where, converters)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(kind)
        if value is None and type(None) in options:
            return None
        (inner,) = [option for option in options if option is not type(None)]
        return build_typed(inner, value, where, converters=converters)
    if origin is Mapping:
        _, inner = typing.get_args(kind)
        if not isinstance(value, Mapping):
            raise _type_error(where, "a mapping", value)
        return types.MappingProxyType(
            {
                str(k): build_typed(inner, v, f"{where}.{k}", converters=converters)
                for k, v in value.items()
            }
        )
    if origin is tuple:
        args = typing.get_args(kind)
        if not isinstance(value, (list, tuple)) or len(value) != len(args):
            raise _type_error(where, f"a list of {len(args)} items", value)
        return tuple(
            build_typed(a, v, f"{where}[{i}]", converters=converters)
            for i, (a, v) in enumerate(zip(args, value, strict=True))
        )
    return _build_scalar(kind, value, where, converters)


def _build_dataclass(kind: Any, value: Any, where: str, converters: Converters) -> Any:
    if not isinstance(value, Mapping):
        raise _type_error(where, "a mapping", value)
    fields = {f.name: f for f in dataclasses.fields(kind)}
    hints = typing.get_type_hints(kind)
    unknown = [key for key in value if key not in fields]
    if unknown:
        raise ParameterError(
            f"unknown key {where}.{unknown[0]}; allowed keys here: {', '.join(fields)}",
            name=f"{where}.{unknown[0]}",
        )
    missing = [
        name
        for name, f in fields.items()
        if name not in value
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise ParameterError(f"missing key {where}.{missing[0]}", name=f"{where}.{missing[0]}")
    built = {
        key: build_typed(hints[key], item, f"{where}.{key}", converters=converters)
        for key, item in value.items()
    }
    return kind(**built)


def _build_scalar(kind: Any, value: Any, where: str, converters: Converters) -> Any:
    if kind in converters:
        try:
            return converters[kind](value)
        except ValueError as err:
            raise ParameterError(f"{where}: {err}", name=where) from None
    if kind is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise _type_error(where, "a number", value)
    if kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise _type_error(where, "an integer", value)
    if kind is bool:
        if isinstance(value, bool):
            return value
        raise _type_error(where, "true or false", value)
    if kind is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
        raise _type_error(where, "a string", value)
    raise TypeError(f"no converter for {kind!r} at {where}")  # a schema bug, not user input


def _type_error(where: str, expected: str, value: Any) -> ParameterError:
    return ParameterError(
        f"{where}: expected {expected}, got {value!r} ({type(value).__name__})", name=where
    )

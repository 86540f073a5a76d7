"""Shared pieces of the schema validators: the error type, field-path and value helpers,
RE2 matching and the string formats Kubernetes checks."""

from __future__ import annotations

import functools
import ipaddress
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import re2


@dataclass(frozen=True, slots=True)
class SchemaError:
    """One reason the API server would refuse an object.

    ``path`` is a field path such as ``spec.rules[0].matches[0].path.value`` ("" for the
    object itself); ``rule`` is the CRD's CEL message when a CEL rule failed, else None.
    """

    path: str
    message: str
    rule: str | None = None

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message



_Errors = list[SchemaError]
_Check = Callable[[Any, str, _Errors], None]
_Cel = Callable[[Any], bool]


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    return type(value).__name__


def _show(value: Any) -> str:
    """A short JSON rendering of a value for messages."""
    try:
        text = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _copy(value: Any) -> Any:
    """A private plain copy (Mapping -> dict, tuple -> list) that defaulting may modify."""
    if isinstance(value, Mapping):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_copy(v) for v in value]
    return value


def _hashable(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, default=str)
    return (type(value).__name__, value)


@functools.lru_cache(maxsize=1024)
def _re2(pattern: str) -> Any:
    """Compiled RE2 pattern (Go regexp syntax, as the API server evaluates it)."""
    return re2.compile(pattern)


def _matches(pattern: str, value: str) -> bool:
    """Unanchored search, like Go's ``regexp.MatchString`` and CEL's ``matches``."""
    return _re2(pattern).search(value) is not None


_TYPE_ERROR = "must be of type "
_TYPE_TESTS: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
}

_INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
_DATE_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})", re.ASCII
)


def _format_ok(fmt: str, value: Any) -> bool:
    if fmt in _INT_RANGES:
        if isinstance(value, int) and not isinstance(value, bool):
            low, high = _INT_RANGES[fmt]
            return low <= value <= high
        return True
    if not isinstance(value, str):
        return True
    if fmt == "date-time":
        return _DATE_TIME.fullmatch(value) is not None
    if fmt in ("ipv4", "ipv6"):
        try:
            ip = ipaddress.ip_address(value)
        except ValueError:
            return False
        return "%" not in value and ip.version == (4 if fmt == "ipv4" else 6)
    return True  # formats Kubernetes does not check (or that the CRDs do not use)


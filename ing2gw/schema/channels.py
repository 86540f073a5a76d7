"""What only the experimental channel accepts: kinds, fields and enum values."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .bundle import _schema
from .common import SchemaError, _Errors, _join, _show


def experimental_only_fields(api_version: str, kind: str) -> tuple[str, ...]:
    """Schema paths of ``kind`` that only the experimental channel has.

    Fields read ``spec.rules[].retry``; enum values read ``spec.rules[].filters[].type=
    ExternalAuth``. Empty when the kind/version is missing from either channel.
    """
    std = _schema("standard", api_version, kind)
    exp = _schema("experimental", api_version, kind)
    if std is None or exp is None:
        return ()
    found: list[str] = []
    _diff_schemas(std, exp, "", found)
    return tuple(found)


def _diff_schemas(std: Mapping[str, Any], exp: Mapping[str, Any], path: str,
                  found: list[str]) -> None:
    std_enum, exp_enum = std.get("enum"), exp.get("enum")
    if isinstance(std_enum, list) and isinstance(exp_enum, list):
        found.extend(f"{path}={value}" for value in exp_enum if value not in std_enum)
    std_props: Mapping[str, Any] = std.get("properties") or {}
    for name, sub in (exp.get("properties") or {}).items():
        if name not in std_props:
            found.append(_join(path, name))
        else:
            _diff_schemas(std_props[name], sub, _join(path, name), found)
    if isinstance(std.get("items"), Mapping) and isinstance(exp.get("items"), Mapping):
        _diff_schemas(std["items"], exp["items"], f"{path}[]", found)
    if isinstance(std.get("additionalProperties"), Mapping) and isinstance(
            exp.get("additionalProperties"), Mapping):
        _diff_schemas(std["additionalProperties"], exp["additionalProperties"], f"{path}{{}}",
                      found)


def requires_experimental(manifest: Mapping[str, Any]) -> list[SchemaError]:
    """Where ``manifest`` uses something only the experimental channel's CRDs accept: the
    kind/apiVersion itself, a field, or an enum value. Empty for standard-channel objects."""
    api_version = str(manifest.get("apiVersion", ""))
    kind = str(manifest.get("kind", ""))
    std = _schema("standard", api_version, kind)
    exp = _schema("experimental", api_version, kind)
    if exp is None:
        return []
    if std is None:
        return [SchemaError("", f"{kind} {api_version} is only served by the experimental "
                            "channel")]
    found: _Errors = []
    _diff_value(std, exp, manifest, "", found)
    return found


def _diff_value(std: Mapping[str, Any], exp: Mapping[str, Any], value: Any, path: str,
                found: _Errors) -> None:
    std_enum, exp_enum = std.get("enum"), exp.get("enum")
    if isinstance(std_enum, list) and isinstance(exp_enum, list):
        if value in exp_enum and value not in std_enum:
            found.append(SchemaError(
                path, f"value {_show(value)} is only allowed by the experimental channel"))
    if isinstance(value, Mapping):
        std_props: Mapping[str, Any] = std.get("properties") or {}
        exp_props: Mapping[str, Any] = exp.get("properties") or {}
        for key, item in value.items():
            if key in exp_props and key not in std_props:
                found.append(SchemaError(
                    _join(path, str(key)), "field only exists in the experimental channel"))
            elif key in exp_props:
                _diff_value(std_props[key], exp_props[key], item, _join(path, str(key)), found)
    elif isinstance(value, (list, tuple)):
        std_items, exp_items = std.get("items"), exp.get("items")
        if isinstance(std_items, Mapping) and isinstance(exp_items, Mapping):
            for index, item in enumerate(value):
                _diff_value(std_items, exp_items, item, f"{path}[{index}]", found)


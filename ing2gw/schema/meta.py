"""ObjectMeta checks the API server makes on every object (the CRD schemas leave
``metadata`` open): name, namespace, labels, annotations."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .common import SchemaError, _Check, _Errors, _join, _show, _type_name

_DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", re.ASCII)
_DNS1123_SUBDOMAIN = re.compile(
    r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*", re.ASCII
)
_QUALIFIED_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]", re.ASCII)
_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?", re.ASCII)
_ANNOTATIONS_MAX_BYTES = 256 * 1024


def _subdomain_problem(value: str) -> str | None:
    if len(value) > 253:
        return "must be no more than 253 characters"
    if not _DNS1123_SUBDOMAIN.fullmatch(value):
        return ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                "characters, '-' or '.', and must start and end with an alphanumeric character")
    return None


def _label_problem(value: str) -> str | None:
    if len(value) > 63:
        return "must be no more than 63 characters"
    if not _DNS1123_LABEL.fullmatch(value):
        return ("a lowercase RFC 1123 label must consist of lower case alphanumeric "
                "characters or '-', and must start and end with an alphanumeric character")
    return None


def _qualified_name_problem(key: str) -> str | None:
    name = key
    if "/" in key:
        prefix, name = key.split("/", 1)
        if not prefix:
            return "prefix part must be non-empty"
        problem = _subdomain_problem(prefix)
        if problem:
            return f"prefix part {problem}"
    if not name:
        return "name part must be non-empty"
    if len(name) > 63:
        return "name part must be no more than 63 characters"
    if not _QUALIFIED_NAME.fullmatch(name):
        return ("name part must consist of alphanumeric characters, '-', '_' or '.', and "
                "must start and end with an alphanumeric character")
    return None


def _string_map(value: Any, path: str, errors: _Errors, is_label: bool) -> None:
    if not isinstance(value, dict):
        errors.append(SchemaError(path, f"must be of type object, got {_type_name(value)}"))
        return
    total = 0
    for key, item in value.items():
        if not isinstance(key, str):
            errors.append(SchemaError(path, f"key {key!r} is not a string"))
            continue
        key_path = f"{path}[{key}]"
        problem = _qualified_name_problem(key)
        if problem:
            errors.append(SchemaError(key_path, f"Invalid value: {_show(key)}: {problem}"))
        if not isinstance(item, str):
            errors.append(SchemaError(
                key_path, f"must be of type string, got {_type_name(item)}"))
            continue
        total += len(key.encode()) + len(item.encode())
        if is_label:
            if len(item) > 63:
                errors.append(SchemaError(
                    key_path, f"Invalid value: {_show(item)}: must be no more than 63 characters"))
            elif not _LABEL_VALUE.fullmatch(item):
                errors.append(SchemaError(
                    key_path, f"Invalid value: {_show(item)}: a valid label must be an empty "
                    "string or consist of alphanumeric characters, '-', '_' or '.', and must "
                    "start and end with an alphanumeric character"))
    if not is_label and total > _ANNOTATIONS_MAX_BYTES:
        errors.append(SchemaError(
            path, f"Too long: must have at most {_ANNOTATIONS_MAX_BYTES} bytes"))


_META_SIMPLE: dict[str, Callable[[Any], bool]] = {
    "generateName": lambda v: isinstance(v, str),
    "uid": lambda v: isinstance(v, str),
    "resourceVersion": lambda v: isinstance(v, str),
    "selfLink": lambda v: isinstance(v, str),
    "generation": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "deletionGracePeriodSeconds": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "creationTimestamp": lambda v: v is None or isinstance(v, str),
    "deletionTimestamp": lambda v: v is None or isinstance(v, str),
    "finalizers": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
    "ownerReferences": lambda v: isinstance(v, list) and all(isinstance(x, dict) for x in v),
    "managedFields": lambda v: isinstance(v, list) and all(isinstance(x, dict) for x in v),
}


def _object_meta_check(kind: str, scope: str) -> _Check:
    def check_meta(value: Any, path: str, errors: _Errors) -> None:
        if not isinstance(value, dict):
            errors.append(SchemaError(path, f"must be of type object, got {_type_name(value)}"))
            return
        if "name" not in value:
            errors.append(SchemaError(_join(path, "name"), "Required value: name is required"))
        for key, item in value.items():
            key_path = _join(path, str(key))
            if key == "name":
                if not isinstance(item, str):
                    errors.append(SchemaError(
                        key_path, f"must be of type string, got {_type_name(item)}"))
                elif not item:
                    errors.append(SchemaError(key_path, "Required value: name is required"))
                elif problem := _subdomain_problem(item):
                    errors.append(SchemaError(key_path, f"Invalid value: {_show(item)}: {problem}"))
            elif key == "namespace":
                if not isinstance(item, str):
                    errors.append(SchemaError(
                        key_path, f"must be of type string, got {_type_name(item)}"))
                elif scope == "Cluster":
                    if item:
                        errors.append(SchemaError(
                            key_path, f"Forbidden: {kind} is cluster-scoped: namespace must "
                            "not be set"))
                elif item and (problem := _label_problem(item)):
                    errors.append(SchemaError(key_path, f"Invalid value: {_show(item)}: {problem}"))
            elif key in ("labels", "annotations"):
                _string_map(item, key_path, errors, is_label=key == "labels")
            elif key in _META_SIMPLE:
                if not _META_SIMPLE[key](item):
                    errors.append(SchemaError(key_path, f"Invalid value: {_show(item)}"))
            else:
                errors.append(SchemaError(key_path, f'unknown field "{key}"'))

    return check_meta


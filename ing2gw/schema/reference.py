"""The reference validator: a CRD version schema checked as written, the structural schema
with ``jsonschema`` and the ``x-kubernetes-validations`` rules with cel-python.

It validates any CRD's objects (``ing2gw validate --crd``) and is the yardstick the fast path
(:mod:`.builtin`) is tested against. Like the API server on *create* it drops ``status``
(when the CRD has the status subresource), fills in defaults, checks ObjectMeta, then the
schema, then the CEL rules (which see the defaulted object and are skipped over a value with
a type error). Kubernetes' OpenAPI dialect is handled with custom keywords: ``nullable``,
``x-kubernetes-int-or-string``, ``x-kubernetes-preserve-unknown-fields``,
``x-kubernetes-embedded-resource``, ``x-kubernetes-list-type`` ``set``/``map`` with
``x-kubernetes-list-map-keys``, ``pattern`` in Go RE2 syntax. As on the fast path, unknown
fields and nulls in non-nullable fields are reported, although the API server would prune
them: emitting either is a bug worth knowing about. A validator remembers which rules a value
breaks under a schema node (a rule sees only ``self``), so values objects repeat are evaluated once.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping
from typing import Any

import jsonschema
from jsonschema import Draft4Validator, ValidationError

from .common import SchemaError, _copy, _format_ok, _join, _re2, _show
from .meta import _object_meta_check

_BRANCH = "x-ing2gw-branch"
_EMBEDDED_KEYS = ("apiVersion", "kind", "metadata")


def _mark_branches(schema: Any, in_branch: bool = False) -> Any:
    """A copy of ``schema`` whose nodes under oneOf/anyOf/allOf/not carry ``_BRANCH``: there a
    schema only constrains values (no unknown-field errors)."""
    if not isinstance(schema, Mapping):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "properties" and isinstance(value, Mapping):
            out[key] = {name: _mark_branches(sub, in_branch) for name, sub in value.items()}
        elif key in ("items", "additionalProperties"):
            out[key] = _mark_branches(value, in_branch)
        elif key in ("oneOf", "anyOf", "allOf") and isinstance(value, list):
            out[key] = [_mark_branches(sub, True) for sub in value]
        elif key == "not":
            out[key] = _mark_branches(value, True)
        else:
            out[key] = value
    if in_branch:
        out[_BRANCH] = True
    return out


def _type(validator: Any, types: Any, instance: Any, schema: Mapping[str, Any]) -> Iterator[Any]:
    if instance is None and schema.get("nullable"):
        return
    if not validator.is_type(instance, types):
        got = "null" if instance is None else type(instance).__name__
        yield ValidationError(f"must be of type {types}, got {got}")
        return
    if types != "object" or schema.get(_BRANCH) or not isinstance(instance, dict):
        return
    if schema.get("x-kubernetes-preserve-unknown-fields") or "additionalProperties" in schema:
        return
    known = schema.get("properties") or {}
    for key in instance:
        if key not in known and not (schema.get("x-kubernetes-embedded-resource")
                                     and key in _EMBEDDED_KEYS):
            yield ValidationError(f'unknown field "{key}"', path=[key])


def _int_or_string(validator: Any, on: Any, instance: Any, schema: Any) -> Iterator[Any]:
    if instance is None and schema.get("nullable"):
        return
    if on and (isinstance(instance, bool) or not isinstance(instance, (int, str))):
        yield ValidationError(f"must be of type integer or string, got {_show(instance)}")


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[Any]:
    if isinstance(instance, str) and _re2(pattern).search(instance) is None:
        yield ValidationError(f"Invalid value: {_show(instance)}: should match '{pattern}'")


def _format(validator: Any, fmt: str, instance: Any, schema: Any) -> Iterator[Any]:
    if not _format_ok(fmt, instance):
        yield ValidationError(f"Invalid value: {_show(instance)}: must be of format {fmt}")


def _required(validator: Any, names: Any, instance: Any, schema: Any) -> Iterator[Any]:
    if isinstance(instance, dict):
        for name in names:
            if name not in instance:
                yield ValidationError("Required value", path=[name])


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _list_type(validator: Any, kind: str, instance: Any, schema: Mapping[str, Any]) -> Iterator[Any]:
    if not isinstance(instance, list):
        return
    keys = schema.get("x-kubernetes-list-map-keys") or ()
    seen: set[str] = set()
    for index, item in enumerate(instance):
        if kind == "set":
            key = _key(item)
        elif kind == "map" and keys and isinstance(item, dict):
            key = _key([item.get(k) for k in keys])
        else:
            continue
        if key in seen:
            yield ValidationError(f"Duplicate value: {_show(item)}", path=[index])
        seen.add(key)


_Validator = jsonschema.validators.extend(Draft4Validator, {
    "type": _type, "x-kubernetes-int-or-string": _int_or_string, "nullable": None,
    "pattern": _pattern, "format": _format, "required": _required,
    "x-kubernetes-list-type": _list_type,
})


# --------------------------------------------------------------------------- paths, defaults


def _field_path(schema: Mapping[str, Any], parts: Any) -> str:
    """``spec.rules[0].filters`` for jsonschema's path parts, map keys as ``[key]``."""
    path = ""
    node: Any = schema
    for part in parts:
        if isinstance(part, int):
            path = f"{path}[{part}]"
            node = node.get("items") if isinstance(node, Mapping) else None
            continue
        props = node.get("properties") if isinstance(node, Mapping) else None
        if isinstance(props, Mapping) and part in props:
            path = _join(path, part)
            node = props[part]
        elif isinstance(node, Mapping) and isinstance(node.get("additionalProperties"), Mapping):
            path = f"{path}[{part}]"
            node = node["additionalProperties"]
        else:
            path = _join(path, part)
            node = None
    return path


def apply_defaults(schema: Mapping[str, Any], value: Any) -> None:
    """Fill in ``default`` values in place, outside combinators, as the API server does."""
    if isinstance(value, dict):
        props: Mapping[str, Any] = schema.get("properties") or {}
        for name, sub in props.items():
            if "default" in sub and not sub.get("nullable") and value.get(name) is None:
                value[name] = _copy(sub["default"])
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            sub = props.get(key, extra)
            if isinstance(sub, Mapping):
                apply_defaults(sub, item)
    elif isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        for item in value:
            apply_defaults(schema["items"], item)


# --------------------------------------------------------------------------- CEL walk


# (id of a schema node, repr of a value) -> the (message, problem) of each rule of that node
# the value breaks. A rule sees only ``self`` (the value, typed by its schema node), so an
# equal value under the same node breaks the same rules: a validator remembers them (objects
# repeat their parentRefs, backendRefs, matches...; cel-python takes milliseconds a rule).
_Memo = dict[tuple[int, str], list[tuple[str, str]]]
_MEMO_MAX = 100_000


def _cel_errors(schema: Mapping[str, Any], value: Any, path: str, skip: set[str],
                errors: list[SchemaError], memo: _Memo | None = None) -> None:
    """The CEL rules ``value`` breaks, under ``schema`` at ``path``; ``memo`` (the
    validator's) is only a shortcut: without it every rule is evaluated."""
    if value is None:
        return
    if isinstance(value, dict):
        props: Mapping[str, Any] = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            if key in props:
                _cel_errors(props[key], item, _join(path, key), skip, errors, memo)
            elif isinstance(extra, Mapping):
                _cel_errors(extra, item, f"{path}[{key}]", skip, errors, memo)
    elif isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        for index, item in enumerate(value):
            _cel_errors(schema["items"], item, f"{path}[{index}]", skip, errors, memo)
    rules = schema.get("x-kubernetes-validations") or ()
    if not rules or any(p == path or p.startswith(path) for p in skip):
        return
    key = (id(schema), repr(value))  # repr: types and key order count, so equal means the same input
    broken = memo.get(key) if memo is not None else None
    if broken is None:
        broken = _broken_rules(schema, value, rules)
        if memo is not None:
            if len(memo) >= _MEMO_MAX:
                memo.clear()
            memo[key] = broken
    for message, problem in broken:
        if problem == "false":
            errors.append(SchemaError(path, message, rule=message))
        else:
            errors.append(SchemaError(path, f"{message} ({problem})", rule=message))


def _broken_rules(schema: Mapping[str, Any], value: Any, rules: Any) -> list[tuple[str, str]]:
    """(message, problem) of each rule of ``schema`` that ``value`` breaks, in rule order."""
    from .celenv import compile_rule, evaluate, to_cel  # cel-python costs ~0.6 s to import: only when a rule runs

    cel_value = to_cel(value, schema)
    broken: list[tuple[str, str]] = []
    for entry in rules:
        rule = compile_rule(str(entry.get("rule", "")))
        if rule.transition:
            continue
        message = str(entry.get("message") or f"failed rule: {rule.text}")
        problem = evaluate(rule, cel_value)
        if problem is not None:
            broken.append((message, problem))
    return broken


# --------------------------------------------------------------------------- validator


class ReferenceValidator:
    """Validates objects of one CRD version (``schema`` is its ``openAPIV3Schema``)."""

    def __init__(self, schema: Mapping[str, Any], kind: str, scope: str,
                 status_subresource: bool) -> None:
        marked = dict(_mark_branches(schema))
        props = dict(marked.get("properties") or {})
        # The API server knows the root's apiVersion, kind and metadata whatever the schema says.
        props["apiVersion"] = {"type": "string"}
        props["kind"] = {"type": "string"}
        props["metadata"] = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
        marked["properties"] = props
        if status_subresource:
            props["status"] = {"x-kubernetes-preserve-unknown-fields": True}
        self.schema = marked
        self.status_subresource = status_subresource
        self.meta = _object_meta_check(kind, scope)
        self.validator = _Validator(marked)
        self.memo: _Memo = {}  # keyed by id() of nodes of self.schema, which lives as long

    def validate(self, manifest: Mapping[str, Any]) -> list[SchemaError]:
        obj = _copy(manifest)
        if self.status_subresource:
            obj.pop("status", None)
        apply_defaults(self.schema, obj)
        errors: list[SchemaError] = []
        if "metadata" in obj:
            self.meta(obj["metadata"], "metadata", errors)
        else:
            errors.append(SchemaError("metadata.name", "Required value: name is required"))
        type_paths: set[str] = set()
        for error in self.validator.iter_errors(obj):
            path = _field_path(self.schema, error.absolute_path)
            errors.append(SchemaError(path, error.message))
            if error.validator in ("type", "x-kubernetes-int-or-string", "nullable") and \
                    not error.message.startswith("unknown field"):
                type_paths.add(path)
        _cel_errors(self.schema, obj, "", type_paths, errors, self.memo)
        return errors


@functools.lru_cache(maxsize=256)
def _cached(schema_json: str, kind: str, scope: str, status: bool) -> ReferenceValidator:
    return ReferenceValidator(json.loads(schema_json), kind, scope, status)


def reference_validator(schema: Mapping[str, Any], kind: str, scope: str,
                        status_subresource: bool) -> ReferenceValidator:
    """A validator for ``schema``, built once per distinct schema."""
    return _cached(json.dumps(schema, sort_keys=True), kind, scope, status_subresource)

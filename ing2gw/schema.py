"""Offline validation of Gateway API objects against the vendored CRD schemas and CEL rules.

Every manifest ing2gw emits must be accepted by the API server. :func:`validate` checks one
object the way the API server would on *create*, without a cluster:

* the OpenAPI v3 structural-schema subset Kubernetes uses (``type``, ``properties``,
  ``additionalProperties``, ``required``, ``items``, ``enum``, ``pattern`` (Go RE2 syntax,
  compiled with google-re2), ``minLength``/``maxLength`` (unicode characters),
  ``minimum``/``maximum``, ``minItems``/``maxItems``, ``min``/``maxProperties``, ``format``
  (``int32``, ``int64``, ``date-time``, ``ipv4``, ``ipv6``), ``nullable``, ``default``,
  ``oneOf``/``anyOf``/``allOf``/``not``, ``x-kubernetes-int-or-string``,
  ``x-kubernetes-preserve-unknown-fields``, ``x-kubernetes-list-type`` ``set``/``map``).
  Unknown fields are reported: the API server would silently prune them, but emitting one is
  a bug in ing2gw.
* ``metadata`` against the ObjectMeta basics the CRD schema leaves out (name, namespace,
  labels, annotations).
* the ``x-kubernetes-validations`` (CEL) rules, each translated by hand into Python
  (:data:`CEL_RULES` lists every rule message of the CRDs, implemented or skipped and why).

Defaults are applied first, as the API server does, so CEL rules see defaulted values (a
``backendRef`` without ``kind`` is a ``Service`` and needs a ``port``).

The schemas come from ``ing2gw/data/crds/<channel>.json`` (regenerate with
``tools/vendor_crds.py``). Schemas are compiled lazily into closures, once per
(channel, apiVersion, kind).

Tests call :func:`assert_valid` on every manifest they expect to be accepted::

    from ing2gw.schema import assert_valid
    assert_valid(objects, channel="standard")   # AssertionError listing every problem
"""

from __future__ import annotations

import functools
import ipaddress
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from importlib import resources
from typing import Any

import re2

from .errors import UsageError

__all__ = [
    "CEL_RULES",
    "CEL_RULES_SHA256",
    "CHANNELS",
    "CelRule",
    "KindInfo",
    "SchemaError",
    "assert_valid",
    "bundle_version",
    "defaulted",
    "describe",
    "experimental_only_fields",
    "kind_info",
    "known_kinds",
    "parse_duration",
    "requires_experimental",
    "validate",
    "validate_value",
]

CHANNELS = ("standard", "experimental")
GATEWAY_API_GROUPS = frozenset({"gateway.networking.k8s.io", "gateway.networking.x-k8s.io"})


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


@dataclass(frozen=True, slots=True)
class KindInfo:
    """What the CRD of one kind says about it (from the vendored data)."""

    kind: str
    group: str
    plural: str
    scope: str  # "Namespaced" | "Cluster"
    served: tuple[str, ...]
    storage: str
    status_subresource: bool


# --------------------------------------------------------------------------- vendored data


@functools.cache
def _data(channel: str) -> Mapping[str, Any]:
    if channel not in CHANNELS:
        raise UsageError(f"unknown Gateway API channel {channel!r} (expected one of "
                         f"{', '.join(CHANNELS)})")
    text = resources.files("ing2gw").joinpath("data", "crds", f"{channel}.json").read_text(
        encoding="utf-8"
    )
    data: Mapping[str, Any] = json.loads(text)
    return data


def bundle_version(channel: str = "standard") -> str:
    """The Gateway API release the vendored CRDs come from, e.g. ``v1.6.1``."""
    return str(_data(channel)["bundleVersion"])


def known_kinds(channel: str = "standard") -> tuple[KindInfo, ...]:
    """Every kind the channel's CRDs define, sorted by kind name."""
    return tuple(_kind_info(channel, k) for k in sorted(_data(channel)["kinds"]))


def kind_info(kind: str, channel: str = "standard") -> KindInfo | None:
    """The CRD facts of ``kind`` in ``channel`` (None when the channel has no such kind)."""
    if kind not in _data(channel)["kinds"]:
        return None
    return _kind_info(channel, kind)


@functools.cache
def _kind_info(channel: str, kind: str) -> KindInfo:
    raw = _data(channel)["kinds"][kind]
    return KindInfo(kind, raw["group"], raw["plural"], raw["scope"], tuple(raw["served"]),
                    raw["storage"], "status" in raw["subresources"])


def _schema(channel: str, api_version: str, kind: str) -> Mapping[str, Any] | None:
    by_kind = _data(channel)["schemas"].get(api_version)
    if not isinstance(by_kind, Mapping):
        return None
    schema = by_kind.get(kind)
    return schema if isinstance(schema, Mapping) else None


# --------------------------------------------------------------------------- helpers

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


# --------------------------------------------------------------------------- compiler


class _Compiler:
    """Turns one CRD version schema into a tree of closures.

    ``strict`` is off inside ``oneOf``/``anyOf``/``allOf``/``not`` branches: there the
    schema only constrains values (no defaults, no unknown-field errors, no CEL).
    """

    def compile(self, schema: Mapping[str, Any], strict: bool = True,
                override: Mapping[str, _Check] | None = None) -> _Check:
        typ = schema.get("type")
        nullable = bool(schema.get("nullable", False))
        int_or_string = bool(schema.get("x-kubernetes-int-or-string", False))
        type_test: Callable[[Any], bool]
        if int_or_string:
            type_name = "integer or string"
            type_test = _int_or_string
        elif isinstance(typ, str) and typ in _TYPE_TESTS:
            type_name = typ
            type_test = _TYPE_TESTS[typ]
        else:
            type_name = ""
            type_test = _always

        checks: list[_Check] = []
        self._object_checks(schema, strict, override, checks)
        self._array_checks(schema, strict, checks)
        self._scalar_checks(schema, checks)
        self._combinators(schema, checks)
        cel = _cel_for(schema) if strict else ()

        def check(value: Any, path: str, errors: _Errors) -> None:
            if value is None:
                if not nullable and type_name:
                    errors.append(SchemaError(path, f"{_TYPE_ERROR}{type_name}, got null"))
                return
            if not type_test(value):
                errors.append(SchemaError(
                    path, f"{_TYPE_ERROR}{type_name}, got {_type_name(value)}"))
                return
            mark = len(errors)
            for sub in checks:
                sub(value, path, errors)
            # Like the API server, CEL is not evaluated over values of the wrong type.
            if cel and not any(e.message.startswith(_TYPE_ERROR) for e in errors[mark:]):
                for message, rule in cel:
                    if not _holds(rule, value):
                        errors.append(SchemaError(path, message, rule=message))

        return check

    # -- objects ----------------------------------------------------------------------

    def _object_checks(self, schema: Mapping[str, Any], strict: bool,
                       override: Mapping[str, _Check] | None, checks: list[_Check]) -> None:
        props_schema: Mapping[str, Any] = schema.get("properties") or {}
        additional = schema.get("additionalProperties")
        required = tuple(schema.get("required") or ())
        max_props = schema.get("maxProperties")
        min_props = schema.get("minProperties")
        if not (props_schema or additional is not None or required or strict
                or max_props is not None or min_props is not None):
            return
        if schema.get("type") not in (None, "object"):
            return
        props: dict[str, _Check] = {
            name: self.compile(sub, strict) for name, sub in props_schema.items()
        }
        if override:
            props.update(override)
        defaults: list[tuple[str, Any]] = []
        if strict:
            defaults = [(name, sub["default"]) for name, sub in props_schema.items()
                        if "default" in sub and not sub.get("nullable", False)]
        extra: _Check | None = None
        if isinstance(additional, Mapping):
            extra = self.compile(additional, strict)
        allow_unknown = (not strict or additional is True or isinstance(additional, Mapping)
                         or bool(schema.get("x-kubernetes-preserve-unknown-fields")))

        def check_object(value: Any, path: str, errors: _Errors) -> None:
            if not isinstance(value, dict):
                return
            for name, default in defaults:
                if value.get(name) is None:
                    value[name] = _copy(default)
            for name in required:
                if name not in value:
                    errors.append(SchemaError(_join(path, name), "Required value"))
            for key, item in value.items():
                if not isinstance(key, str):
                    errors.append(SchemaError(
                        path, f"{_TYPE_ERROR}string for field names, got {key!r}"))
                    continue
                sub = props.get(key)
                if sub is not None:
                    sub(item, _join(path, key), errors)
                elif extra is not None:
                    extra(item, f"{path}[{key}]", errors)
                elif not allow_unknown:
                    errors.append(SchemaError(_join(path, key), f'unknown field "{key}"'))
            count = len(value)
            if max_props is not None and count > max_props:
                errors.append(SchemaError(
                    path, f"Too many: {count}: must have at most {max_props} properties"))
            if min_props is not None and count < min_props:
                errors.append(SchemaError(
                    path, f"Too few: {count}: must have at least {min_props} properties"))

        checks.append(check_object)

    # -- arrays -----------------------------------------------------------------------

    def _array_checks(self, schema: Mapping[str, Any], strict: bool,
                      checks: list[_Check]) -> None:
        items = schema.get("items")
        max_items = schema.get("maxItems")
        min_items = schema.get("minItems")
        list_type = schema.get("x-kubernetes-list-type")
        map_keys = tuple(schema.get("x-kubernetes-list-map-keys") or ())
        if items is None and max_items is None and min_items is None and list_type is None:
            return
        item_check = self.compile(items, strict) if isinstance(items, Mapping) else None

        def check_array(value: Any, path: str, errors: _Errors) -> None:
            if not isinstance(value, list):
                return
            count = len(value)
            if max_items is not None and count > max_items:
                errors.append(SchemaError(
                    path, f"Too many: {count}: must have at most {max_items} items"))
            if min_items is not None and count < min_items:
                errors.append(SchemaError(
                    path, f"Too few: {count}: must have at least {min_items} items"))
            if item_check is not None:
                for index, item in enumerate(value):
                    item_check(item, f"{path}[{index}]", errors)
            if list_type == "set":
                seen: set[Any] = set()
                for index, item in enumerate(value):
                    key = _hashable(item)
                    if key in seen:
                        errors.append(SchemaError(
                            f"{path}[{index}]", f"Duplicate value: {_show(item)}"))
                    seen.add(key)
            elif list_type == "map" and map_keys:
                seen_keys: set[tuple[Any, ...]] = set()
                for index, item in enumerate(value):
                    if not isinstance(item, dict):
                        continue
                    key_values = tuple(_hashable(item.get(k)) for k in map_keys)
                    if key_values in seen_keys:
                        shown = _show({k: item.get(k) for k in map_keys})
                        errors.append(SchemaError(f"{path}[{index}]", f"Duplicate value: {shown}"))
                    seen_keys.add(key_values)

        checks.append(check_array)

    # -- scalars ----------------------------------------------------------------------

    def _scalar_checks(self, schema: Mapping[str, Any], checks: list[_Check]) -> None:
        enum = schema.get("enum")
        if isinstance(enum, list):
            allowed = [(type(e), e) for e in enum]
            shown = ", ".join(_show(e) for e in enum)

            def check_enum(value: Any, path: str, errors: _Errors) -> None:
                if not any(type(value) is t and value == e for t, e in allowed):
                    errors.append(SchemaError(
                        path, f"Unsupported value: {_show(value)}: supported values: {shown}"))

            checks.append(check_enum)

        min_len = schema.get("minLength")
        max_len = schema.get("maxLength")
        pattern = schema.get("pattern")
        if min_len is not None or max_len is not None or pattern is not None:
            compiled = _re2(pattern) if isinstance(pattern, str) else None

            def check_string(value: Any, path: str, errors: _Errors) -> None:
                if not isinstance(value, str):
                    return
                length = len(value)
                if max_len is not None and length > max_len:
                    errors.append(SchemaError(
                        path, f"Too long: may not be more than {max_len} characters"))
                if min_len is not None and length < min_len:
                    errors.append(SchemaError(
                        path, f"Invalid value: {_show(value)}: should be at least "
                        f"{min_len} chars long"))
                if compiled is not None and compiled.search(value) is None:
                    errors.append(SchemaError(
                        path, f"Invalid value: {_show(value)}: should match '{pattern}'"))

            checks.append(check_string)

        minimum = schema.get("minimum")
        maximum = schema.get("maximum")
        exclusive_min = bool(schema.get("exclusiveMinimum", False))
        exclusive_max = bool(schema.get("exclusiveMaximum", False))
        multiple_of = schema.get("multipleOf")
        if minimum is not None or maximum is not None or multiple_of is not None:

            def check_number(value: Any, path: str, errors: _Errors) -> None:
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    return
                if minimum is not None and (value < minimum or (exclusive_min
                                                                and value == minimum)):
                    word = "greater than" if exclusive_min else "greater than or equal to"
                    errors.append(SchemaError(
                        path, f"Invalid value: {_show(value)}: should be {word} {minimum}"))
                if maximum is not None and (value > maximum or (exclusive_max
                                                                and value == maximum)):
                    word = "less than" if exclusive_max else "less than or equal to"
                    errors.append(SchemaError(
                        path, f"Invalid value: {_show(value)}: should be {word} {maximum}"))
                if multiple_of and value % multiple_of:
                    errors.append(SchemaError(
                        path, f"Invalid value: {_show(value)}: should be a multiple of "
                        f"{multiple_of}"))

            checks.append(check_number)

        fmt = schema.get("format")
        if isinstance(fmt, str):

            def check_format(value: Any, path: str, errors: _Errors) -> None:
                if not _format_ok(fmt, value):
                    errors.append(SchemaError(
                        path, f"Invalid value: {_show(value)}: must be of format {fmt}"))

            checks.append(check_format)

    # -- combinators ------------------------------------------------------------------

    def _combinators(self, schema: Mapping[str, Any], checks: list[_Check]) -> None:
        def passes(sub: _Check, value: Any) -> bool:
            scratch: _Errors = []
            sub(value, "", scratch)
            return not scratch

        one_of = [self.compile(s, strict=False) for s in schema.get("oneOf") or ()]
        if one_of:

            def check_one_of(value: Any, path: str, errors: _Errors) -> None:
                hits = sum(1 for sub in one_of if passes(sub, value))
                if hits != 1:
                    errors.append(SchemaError(
                        path, f"must validate one and only one schema (oneOf); "
                        f"{hits} matched"))

            checks.append(check_one_of)
        any_of = [self.compile(s, strict=False) for s in schema.get("anyOf") or ()]
        if any_of:

            def check_any_of(value: Any, path: str, errors: _Errors) -> None:
                if not any(passes(sub, value) for sub in any_of):
                    errors.append(SchemaError(
                        path, f"Invalid value: {_show(value)}: must validate at least one "
                        "schema (anyOf)"))

            checks.append(check_any_of)
        for sub_schema in schema.get("allOf") or ():
            checks.append(self.compile(sub_schema, strict=False))
        not_schema = schema.get("not")
        if isinstance(not_schema, Mapping):
            negated = self.compile(not_schema, strict=False)

            def check_not(value: Any, path: str, errors: _Errors) -> None:
                if passes(negated, value):
                    errors.append(SchemaError(
                        path, f"Invalid value: {_show(value)}: must not validate the schema "
                        "(not)"))

            checks.append(check_not)


def _holds(rule: _Cel, value: Any) -> bool:
    """Run one translated CEL rule; an evaluation error counts as a failure, as in CEL."""
    try:
        return rule(value)
    except (TypeError, AttributeError, KeyError, ValueError, IndexError):
        return False


def _always(value: Any) -> bool:
    return True


def _ignore(value: Any, path: str, errors: _Errors) -> None:
    return None


def _int_or_string(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


# --------------------------------------------------------------------------- ObjectMeta

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


# --------------------------------------------------------------------------- validate


@functools.cache
def _checker(channel: str, api_version: str, kind: str) -> _Check | None:
    schema = _schema(channel, api_version, kind)
    if schema is None:
        return None
    info = _kind_info(channel, kind)
    override = {"metadata": _object_meta_check(kind, info.scope)}
    if info.status_subresource:
        # The API server drops ``status`` on create when the CRD has the status subresource.
        override["status"] = _ignore
    return _Compiler().compile(schema, override=override)


def _unknown_kind(channel: str, api_version: str, kind: str) -> SchemaError:
    version = bundle_version(channel)
    where = f"the {channel} channel of Gateway API {version}"
    for other in CHANNELS:
        if other != channel and _schema(other, api_version, kind) is not None:
            return SchemaError("apiVersion", f"{kind} {api_version} is only in the {other} "
                               f"channel of Gateway API {version}")
    info = kind_info(kind, channel)
    if info is not None and info.group == api_version.rpartition("/")[0]:
        return SchemaError("apiVersion", f"{kind} {api_version} is not served by {where} "
                           f"(served: {', '.join(info.served)})")
    return SchemaError("", f"unknown apiVersion/kind {api_version}/{kind}: not a kind of {where}")


def _prepare(manifest: Any, channel: str) -> tuple[dict[str, Any] | None, _Errors]:
    """Copy, default and validate; the copy is None when the kind is unknown."""
    _data(channel)  # refuses unknown channels
    if not isinstance(manifest, Mapping):
        return None, [SchemaError("", "expected a Kubernetes object (a mapping), got "
                                  f"{_type_name(manifest)}")]
    api_version = manifest.get("apiVersion")
    kind = manifest.get("kind")
    missing = [SchemaError(field, "Required value") for field, value
               in (("apiVersion", api_version), ("kind", kind))
               if not isinstance(value, str) or not value]
    if missing:
        return None, missing
    assert isinstance(api_version, str) and isinstance(kind, str)
    check = _checker(channel, api_version, kind)
    if check is None:
        return None, [_unknown_kind(channel, api_version, kind)]
    obj = _copy(manifest)
    errors: _Errors = []
    check(obj, "", errors)
    return obj, errors


def validate(manifest: Mapping[str, Any], channel: str = "standard") -> list[SchemaError]:
    """Everything the API server (with ``channel``'s CRDs installed) would refuse in
    ``manifest``; an empty list means it would be accepted. ``manifest`` is not modified."""
    return _prepare(manifest, channel)[1]


def validate_value(schema: Mapping[str, Any], value: Any) -> list[SchemaError]:
    """Validate ``value`` against one structural schema node (no ObjectMeta special case).

    Meant for tests and for schemas that do not come from the vendored CRDs; the schema
    is compiled on every call."""
    errors: _Errors = []
    _Compiler().compile(schema)(_copy(value), "", errors)
    return errors


def defaulted(manifest: Mapping[str, Any], channel: str = "standard") -> dict[str, Any]:
    """A copy of ``manifest`` with the CRD defaults filled in, as the API server stores it.

    Raises ValueError when the object is not valid (see :func:`validate`).
    """
    obj, errors = _prepare(manifest, channel)
    if obj is None or errors:
        raise ValueError("; ".join(str(e) for e in errors))
    return obj


def describe(manifest: Any) -> str:
    """``Kind namespace/name`` of a manifest, for messages."""
    if not isinstance(manifest, Mapping):
        return "<not an object>"
    meta = manifest.get("metadata")
    meta = meta if isinstance(meta, Mapping) else {}
    name = meta.get("name", "<unnamed>")
    namespace = meta.get("namespace")
    ident = f"{namespace}/{name}" if namespace else str(name)
    return f"{manifest.get('kind', '<no kind>')} {ident}"


def assert_valid(manifests: Mapping[str, Any] | Iterable[Any], channel: str = "standard",
                 *, gateway_api_only: bool = False) -> None:
    """Raise AssertionError listing every schema/CEL problem in ``manifests``.

    ``manifests`` is one manifest, an iterable of manifests, or of
    :class:`ing2gw.yamlio.Document` (whose ``origin`` then prefixes each problem). With
    ``gateway_api_only`` objects outside the Gateway API groups are skipped.
    """
    single = isinstance(manifests, Mapping) or hasattr(manifests, "obj")
    items: Iterable[Any] = [manifests] if single else manifests
    problems: list[str] = []
    count = 0
    for item in items:
        origin = getattr(item, "origin", None)
        obj = getattr(item, "obj", item)
        if gateway_api_only and (not isinstance(obj, Mapping) or str(
                obj.get("apiVersion", "")).rpartition("/")[0] not in GATEWAY_API_GROUPS):
            continue
        count += 1
        where = f"{origin}: {describe(obj)}" if origin else describe(obj)
        problems.extend(f"{where}: {error}" for error in validate(obj, channel))
    if problems:
        raise AssertionError(
            f"{len(problems)} schema problem(s) in {count} object(s) "
            f"(Gateway API {bundle_version(channel)}, {channel} channel):\n  "
            + "\n  ".join(problems)
        )


# --------------------------------------------------------------------------- channels


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


# --------------------------------------------------------------------------- CEL rules
#
# Each function below is a hand translation of one CEL rule of the CRDs. It receives the
# (defaulted, structurally valid) value the rule's ``self`` names and returns True when the
# rule holds. Where the CEL would raise (a field read without ``has()``), the function
# returns False, since the API server reports a failed evaluation as a validation error.


def _s(obj: Mapping[str, Any], key: str) -> str:
    """A string field, "" when absent (CEL: ``!has(x.f) || x.f == ''``)."""
    value = obj.get(key)
    return value if isinstance(value, str) else ""


def _size(obj: Mapping[str, Any], key: str) -> int | None:
    value = obj.get(key)
    return len(value) if isinstance(value, (list, dict, str)) else None


def _unique(keys: Sequence[Any]) -> bool:
    return len(set(keys)) == len(keys)


# -- parentRefs / targetRefs --


def _parent(ref: Mapping[str, Any]) -> tuple[Any, ...]:
    return (ref.get("group"), ref.get("kind"), ref.get("name"), _s(ref, "namespace"))


def _section_specified(with_port: bool, with_namespace: bool = True) -> _Cel:
    """All refs to one parent set sectionName (and port) or all leave it empty."""

    def rule(refs: list[dict[str, Any]]) -> bool:
        shapes: dict[tuple[Any, ...], tuple[bool, bool]] = {}
        for ref in refs:
            parent = _parent(ref) if with_namespace else _parent(ref)[:3]
            shape = (not _s(ref, "sectionName"), with_port and not ref.get("port"))
            if shapes.setdefault(parent, shape) != shape:
                return False
        return True

    return rule


def _section_unique(with_port: bool, with_namespace: bool = True) -> _Cel:
    """No two refs to one parent with the same sectionName (and port)."""

    def rule(refs: list[dict[str, Any]]) -> bool:
        keys = []
        for ref in refs:
            parent = _parent(ref) if with_namespace else _parent(ref)[:3]
            port = (ref.get("port") or 0) if with_port else 0
            keys.append((parent, _s(ref, "sectionName"), port))
        return _unique(keys)

    return rule


# -- routes --


def _total_matches(rules: list[dict[str, Any]]) -> bool:
    return sum(len(rule.get("matches") or ()) for rule in rules[:16]) <= 128


def _service_port(ref: Mapping[str, Any]) -> bool:
    if "group" not in ref or "kind" not in ref:
        return False
    if ref["group"] == "" and ref["kind"] == "Service":
        return "port" in ref
    return True


def _filter_not_repeated(filter_type: str) -> _Cel:
    return lambda filters: sum(1 for f in filters if f.get("type") == filter_type) <= 1


def _filter_field_nil(field: str, filter_type: str) -> _Cel:
    return lambda f: not (field in f and f.get("type") != filter_type)


def _filter_field_set(field: str, filter_type: str) -> _Cel:
    return lambda f: not (field not in f and f.get("type") == filter_type)


def _redirect_or_rewrite(filters: list[dict[str, Any]]) -> bool:
    types = {f.get("type") for f in filters}
    return not ("RequestRedirect" in types and "URLRewrite" in types)


def _redirect_without_backends(rule: Mapping[str, Any]) -> bool:
    if rule.get("backendRefs"):
        return all("requestRedirect" not in f for f in rule.get("filters") or ())
    return True


def _uses_prefix_replace(filter_: Mapping[str, Any], field: str) -> bool:
    modifier = filter_.get(field)
    if not isinstance(modifier, Mapping) or not isinstance(modifier.get("path"), Mapping):
        return False
    path = modifier["path"]
    return path.get("type") == "ReplacePrefixMatch" and "replacePrefixMatch" in path


def _single_prefix_match(rule: Mapping[str, Any]) -> bool:
    matches = rule.get("matches")
    if not isinstance(matches, list):
        return False
    if len(matches) != 1 or not isinstance(matches[0].get("path"), Mapping):
        return False
    return bool(matches[0]["path"].get("type") == "PathPrefix")


def _prefix_replace_needs_prefix_match(field: str, in_backends: bool) -> _Cel:
    """``exists_one`` filter (or backendRef with one) doing ReplacePrefixMatch needs exactly
    one PathPrefix match."""

    def exactly_one_filter(filters: Any) -> bool:
        return sum(1 for f in filters or () if _uses_prefix_replace(f, field)) == 1

    def rule(rule_: Mapping[str, Any]) -> bool:
        if in_backends:
            triggered = sum(1 for b in rule_.get("backendRefs") or ()
                            if exactly_one_filter(b.get("filters"))) == 1
        else:
            triggered = exactly_one_filter(rule_.get("filters"))
        return _single_prefix_match(rule_) if triggered else True

    return rule


def _no_star_with_others(values: list[Any]) -> bool:
    return not ("*" in values and len(values) > 1)


def _path_type_requires(path_type: str, field: str) -> _Cel:
    return lambda p: field in p if p.get("type") == path_type else True


def _field_requires_type(field: str, path_type: str) -> _Cel:
    return lambda p: p.get("type") == path_type if field in p else True


_PATH_CHARS = r"^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$"


def _match_path(test: Callable[[str], bool]) -> _Cel:
    """A rule on ``matches[].path.value`` that applies to Exact and PathPrefix only."""

    def rule(path: Mapping[str, Any]) -> bool:
        if path.get("type") not in ("Exact", "PathPrefix"):
            return True
        value = path.get("value")
        return isinstance(value, str) and test(value)

    return rule


_DURATION_PART = re.compile(r"([0-9]*(?:\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)")
_DURATION_UNITS = {"ns": Fraction(1, 10**9), "us": Fraction(1, 10**6),
                   "µs": Fraction(1, 10**6), "μs": Fraction(1, 10**6),
                   "ms": Fraction(1, 1000), "s": Fraction(1), "m": Fraction(60),
                   "h": Fraction(3600)}


def parse_duration(text: str) -> float | None:
    """Seconds in a Go duration string (``1h30m``, ``250ms``, ``0``), None if malformed.

    The same syntax CEL's ``duration()`` accepts."""
    body = text[1:] if text[:1] in "+-" else text
    if body == "0":
        return 0.0
    if not body:
        return None
    total = Fraction(0)
    pos = 0
    while pos < len(body):
        found = _DURATION_PART.match(body, pos)
        if not found or found.group(1) in ("", "."):
            return None
        total += Fraction(found.group(1)) * _DURATION_UNITS[found.group(2)]
        pos = found.end()
    return float(-total if text.startswith("-") else total)


def _timeouts(timeouts: Mapping[str, Any]) -> bool:
    if "request" not in timeouts or "backendRequest" not in timeouts:
        return True
    request = parse_duration(str(timeouts["request"]))
    backend = parse_duration(str(timeouts["backendRequest"]))
    if request is None or backend is None:
        return False
    return not (request != 0 and backend > request)


def _rule_names_unique(rules: list[dict[str, Any]]) -> bool:
    return _unique([r["name"] for r in rules if "name" in r])


def _protocol_needs(protocol: str, field: str) -> _Cel:
    return lambda auth: field in auth if auth.get("protocol") == protocol else True


def _field_needs_protocol(field: str, protocol: str) -> _Cel:
    return lambda auth: auth.get("protocol") == protocol if field in auth else True


def _absolute_timeout(persistence: Mapping[str, Any]) -> bool:
    cookie = persistence.get("cookieConfig")
    if not isinstance(cookie, Mapping) or cookie.get("lifetimeType") != "Permanent":
        return True
    return "absoluteTimeout" in persistence


def _cookie_config_type(persistence: Mapping[str, Any]) -> bool:
    return "cookieConfig" not in persistence or persistence.get("type") == "Cookie"


def _mirror_percent_or_fraction(mirror: Mapping[str, Any]) -> bool:
    return not ("percent" in mirror and "fraction" in mirror)


def _fraction(fraction: Mapping[str, Any]) -> bool:
    numerator, denominator = fraction.get("numerator"), fraction.get("denominator")
    if not isinstance(numerator, int) or not isinstance(denominator, int):
        return False
    return numerator <= denominator


# -- GRPCRoute --

_GRPC_SERVICE = r"^(?i)\.?[a-z_][a-z_0-9]*(\.[a-z_][a-z_0-9]*)*$"
_GRPC_METHOD = r"^[A-Za-z_][A-Za-z_0-9]*$"


def _grpc_service_or_method(match: Mapping[str, Any]) -> bool:
    return "service" in match or "method" in match if "type" in match else True


def _grpc_exact(field: str, pattern: str) -> _Cel:
    def rule(match: Mapping[str, Any]) -> bool:
        if match.get("type", "Exact") == "Exact" and field in match:
            return _matches(pattern, str(match[field]))
        return True

    return rule


# -- Gateway / ListenerSet --

_HOSTNAME = r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
_KEY_FORM = (r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
             r"([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]$")


def _unique_address(address_type: str) -> _Cel:
    def rule(addresses: list[dict[str, Any]]) -> bool:
        values = [a["value"] for a in addresses
                  if a.get("type") == address_type and "value" in a]
        return _unique(values)

    return rule


def _address_hostname(address: Mapping[str, Any]) -> bool:
    if address.get("type") != "Hostname" or "value" not in address:
        return True
    return _matches(_HOSTNAME, str(address["value"]))


def _keys_form(mapping: Mapping[str, Any]) -> bool:
    return all(_matches(_KEY_FORM, key) for key in mapping)


def _keys_prefix_length(mapping: Mapping[str, Any]) -> bool:
    return all(len(key.split("/")[0]) < 253 for key in mapping)


def _no_tls_for_plain(listeners: list[dict[str, Any]]) -> bool:
    return all("tls" not in lis for lis in listeners
               if lis.get("protocol") in ("HTTP", "TCP", "UDP"))


def _https_terminates(listeners: list[dict[str, Any]]) -> bool:
    for lis in listeners:
        if lis.get("protocol") == "HTTPS" and "tls" in lis:
            tls = lis["tls"]
            if not isinstance(tls, Mapping) or tls.get("mode") not in ("", "Terminate"):
                return False
    return True


def _tls_has_mode(listeners: list[dict[str, Any]]) -> bool:
    for lis in listeners:
        if lis.get("protocol") == "TLS":
            tls = lis.get("tls")
            if not isinstance(tls, Mapping) or not _s(tls, "mode"):
                return False
    return True


def _no_hostname_for_l4(listeners: list[dict[str, Any]]) -> bool:
    return all(not _s(lis, "hostname") for lis in listeners
               if lis.get("protocol") in ("TCP", "UDP"))


def _listener_names_unique(listeners: list[dict[str, Any]]) -> bool:
    return _unique([lis.get("name") for lis in listeners])


_NO_HOSTNAME = object()


def _listener_combination_unique(listeners: list[dict[str, Any]]) -> bool:
    # ListenerSet skips listeners without a port; in a Gateway the port is required.
    keys = [(lis["port"], lis.get("protocol"), lis.get("hostname", _NO_HOSTNAME))
            for lis in listeners if "port" in lis]
    return len(set(map(_hashable_key, keys))) == len(keys)


def _hashable_key(key: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple("\0absent" if part is _NO_HOSTNAME else part for part in key)


def _terminate_has_certificates(tls: Mapping[str, Any]) -> bool:
    if tls.get("mode") != "Terminate":
        return True
    return bool(_size(tls, "certificateRefs")) or bool(_size(tls, "options"))


def _per_port_unique(per_port: list[dict[str, Any]]) -> bool:
    return _unique([entry.get("port") for entry in per_port])


# -- TLSRoute --

_RFC1123 = r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)$"


def _is_ip(text: str) -> bool:
    if "%" in text:
        return False
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _hostnames_not_ip(hostnames: list[str]) -> bool:
    return not any(_is_ip(h) for h in hostnames)


def _hostnames_rfc1123(hostnames: list[str]) -> bool:
    return all(_matches(_RFC1123, h) for h in hostnames if "*" not in h)


def _hostnames_wildcard(hostnames: list[str]) -> bool:
    return all(h.startswith("*.") and _matches(_RFC1123, h[2:]) for h in hostnames if "*" in h)


# -- BackendTLSPolicy --


def _ca_not_both(validation: Mapping[str, Any]) -> bool:
    return not (bool(validation.get("caCertificateRefs"))
                and bool(_s(validation, "wellKnownCACertificates")))


def _ca_either(validation: Mapping[str, Any]) -> bool:
    return bool(validation.get("caCertificateRefs")) or bool(
        _s(validation, "wellKnownCACertificates"))


def _san_requires(san_type: str, field: str) -> _Cel:
    return lambda san: not (san.get("type") == san_type and not _s(san, field))


def _san_forbids(san_type: str, field: str) -> _Cel:
    return lambda san: not (san.get("type") != san_type and bool(_s(san, field)))


@dataclass(frozen=True, slots=True)
class CelRule:
    """One ``x-kubernetes-validations`` message of the CRDs and what ing2gw does about it.

    ``check`` is the Python translation (None: deliberately skipped, ``note`` says why)."""

    kinds: tuple[str, ...]
    message: str
    check: _Cel | None
    note: str = ""

    @property
    def implemented(self) -> bool:
        return self.check is not None


_ROUTES = ("GRPCRoute", "HTTPRoute", "TCPRoute", "TLSRoute", "UDPRoute")
_GRPC_HTTP = ("GRPCRoute", "HTTPRoute")
_LISTENERS = ("Gateway", "ListenerSet")
_PATH_RULE = "when type one of ['Exact', 'PathPrefix']"
_REPLACE_PREFIX = "with path.replacePrefixMatch, exactly one PathPrefix match must be specified"


def _filter_rules() -> list[CelRule]:
    """The per-filter-type rules: 'X cannot be repeated', 'filter.x must be nil/specified'."""
    rules = []
    for kinds, filter_type in ((_GRPC_HTTP, "RequestHeaderModifier"),
                               (_GRPC_HTTP, "ResponseHeaderModifier"),
                               (("HTTPRoute",), "RequestRedirect"),
                               (("HTTPRoute",), "URLRewrite"),
                               (("HTTPRoute",), "CORS")):
        rules.append(CelRule(kinds, f"{filter_type} filter cannot be repeated",
                             _filter_not_repeated(filter_type)))
    for kinds, field, filter_type in ((_GRPC_HTTP, "requestHeaderModifier",
                                       "RequestHeaderModifier"),
                                      (_GRPC_HTTP, "responseHeaderModifier",
                                       "ResponseHeaderModifier"),
                                      (_GRPC_HTTP, "requestMirror", "RequestMirror"),
                                      (_GRPC_HTTP, "extensionRef", "ExtensionRef"),
                                      (("HTTPRoute",), "requestRedirect", "RequestRedirect"),
                                      (("HTTPRoute",), "urlRewrite", "URLRewrite"),
                                      (("HTTPRoute",), "cors", "CORS"),
                                      (("HTTPRoute",), "externalAuth", "ExternalAuth")):
        rules.append(CelRule(
            kinds, f"filter.{field} must be nil if the filter.type is not {filter_type}",
            _filter_field_nil(field, filter_type)))
        rules.append(CelRule(
            kinds, f"filter.{field} must be specified for {filter_type} filter.type",
            _filter_field_set(field, filter_type)))
    return rules


def _lacks(part: str) -> Callable[[str], bool]:
    return lambda value: part not in value


def _not_ending(end: str) -> Callable[[str], bool]:
    return lambda value: not value.endswith(end)


def _path_match_rules() -> list[CelRule]:
    h = ("HTTPRoute",)
    return [
        CelRule(h, f"value must be an absolute path and start with '/' {_PATH_RULE}",
                _match_path(lambda v: v.startswith("/"))),
        *(CelRule(h, f"must not contain '{bad}' {_PATH_RULE}", _match_path(_lacks(bad)))
          for bad in ("//", "/./", "/../", "%2f", "%2F", "#")),
        *(CelRule(h, f"must not end with '{end}' {_PATH_RULE}", _match_path(_not_ending(end)))
          for end in ("/..", "/.")),
        CelRule(h, "type must be one of ['Exact', 'PathPrefix', 'RegularExpression']",
                lambda p: p.get("type") in ("Exact", "PathPrefix", "RegularExpression")),
        CelRule(h, f"must only contain valid characters (matching {_PATH_CHARS}) for types "
                "['Exact', 'PathPrefix']", _match_path(lambda v: _matches(_PATH_CHARS, v))),
    ]


_X_KINDS = "an x-k8s.io experimental kind that ing2gw never emits"

CEL_RULES: tuple[CelRule, ...] = (
    # BackendTLSPolicy
    CelRule(("BackendTLSPolicy",), "sectionName must be specified when targetRefs includes 2 "
            "or more references to the same target", _section_specified(False, False)),
    CelRule(("BackendTLSPolicy",), "sectionName must be unique when targetRefs includes 2 or "
            "more references to the same target", _section_unique(False, False)),
    CelRule(("BackendTLSPolicy", "XBackend"),
            "must not contain both CACertificateRefs and WellKnownCACertificates", _ca_not_both),
    CelRule(("BackendTLSPolicy", "XBackend"),
            "must specify either CACertificateRefs or WellKnownCACertificates", _ca_either),
    CelRule(("BackendTLSPolicy", "XBackend"), "SubjectAltName element must contain Hostname, "
            "if Type is set to Hostname", _san_requires("Hostname", "hostname")),
    CelRule(("BackendTLSPolicy", "XBackend"), "SubjectAltName element must not contain "
            "Hostname, if Type is not set to Hostname", _san_forbids("Hostname", "hostname")),
    CelRule(("BackendTLSPolicy", "XBackend"), "SubjectAltName element must contain URI, if "
            "Type is set to URI", _san_requires("URI", "uri")),
    CelRule(("BackendTLSPolicy", "XBackend"), "SubjectAltName element must not contain URI, "
            "if Type is not set to URI", _san_forbids("URI", "uri")),
    # GatewayClass (and XMesh)
    CelRule(("GatewayClass", "XMesh"), "Value is immutable", None,
            "transition rule (self == oldSelf): only evaluated on update, never on create"),
    # Gateway
    CelRule(("Gateway",), "IPAddress values must be unique", _unique_address("IPAddress")),
    CelRule(("Gateway",), "Hostname values must be unique", _unique_address("Hostname")),
    CelRule(("Gateway",), "Hostname value must be empty or contain only valid characters "
            f"(matching {_HOSTNAME})", _address_hostname),
    CelRule(("Gateway",), "Hostname value must only contain valid characters (matching "
            f"{_HOSTNAME})", None, "on status.addresses, which the controller writes; the API "
            "server drops status on create and validate() ignores it"),
    CelRule(("Gateway",), "Annotation keys must be in the form of an optional DNS subdomain "
            "prefix followed by a required name segment of up to 63 characters.", _keys_form),
    CelRule(("Gateway",), "If specified, the annotation key's prefix must be a DNS subdomain "
            "not longer than 253 characters in total.", _keys_prefix_length),
    CelRule(("Gateway",), "Label keys must be in the form of an optional DNS subdomain prefix "
            "followed by a required name segment of up to 63 characters.", _keys_form),
    CelRule(("Gateway",), "If specified, the label key's prefix must be a DNS subdomain not "
            "longer than 253 characters in total.", _keys_prefix_length),
    CelRule(_LISTENERS, "tls must not be specified for protocols ['HTTP', 'TCP', 'UDP']",
            _no_tls_for_plain),
    CelRule(_LISTENERS, "tls mode must be Terminate for protocol HTTPS", _https_terminates),
    CelRule(_LISTENERS, "tls mode must be set for protocol TLS", _tls_has_mode),
    CelRule(_LISTENERS, "hostname must not be specified for protocols ['TCP', 'UDP']",
            _no_hostname_for_l4),
    CelRule(_LISTENERS, "Listener name must be unique within the Gateway",
            _listener_names_unique),
    CelRule(_LISTENERS, "Combination of port, protocol and hostname must be unique for each "
            "listener", _listener_combination_unique,
            "ListenerSet's variant skips listeners without a port; Gateway requires the port"),
    CelRule(_LISTENERS, "certificateRefs or options must be specified when mode is Terminate",
            _terminate_has_certificates),
    CelRule(("Gateway",), "Port for TLS configuration must be unique within the Gateway",
            _per_port_unique),
    # Routes
    CelRule(_ROUTES, "sectionName must be specified when parentRefs includes 2 or more "
            "references to the same parent", _section_specified(False),
            "standard channel wording"),
    CelRule(_ROUTES, "sectionName must be unique when parentRefs includes 2 or more "
            "references to the same parent", _section_unique(False)),
    CelRule(_ROUTES, "sectionName or port must be specified when parentRefs includes 2 or "
            "more references to the same parent", _section_specified(True),
            "experimental channel (ParentRef port)"),
    CelRule(_ROUTES, "sectionName or port must be unique when parentRefs includes 2 or more "
            "references to the same parent", _section_unique(True)),
    CelRule(_ROUTES, "Rule name must be unique within the route", _rule_names_unique),
    CelRule(_ROUTES, "Must have port for Service reference", _service_port),
    CelRule(_GRPC_HTTP, "While 16 rules and 64 matches per rule are allowed, the total number "
            "of matches across all rules in a route must be less than 128", _total_matches,
            "the CEL allows 128 (<= 128) despite the wording"),
    *_filter_rules(),
    CelRule(_GRPC_HTTP, "Only one of percent or fraction may be specified in "
            "HTTPRequestMirrorFilter", _mirror_percent_or_fraction),
    CelRule(_GRPC_HTTP, "numerator must be less than or equal to denominator", _fraction),
    CelRule(("GRPCRoute", "HTTPRoute", "XBackendTrafficPolicy"), "AbsoluteTimeout must be "
            "specified when cookie lifetimeType is Permanent", _absolute_timeout),
    CelRule(("GRPCRoute", "HTTPRoute", "XBackendTrafficPolicy"),
            "cookieConfig can only be set with type Cookie", _cookie_config_type),
    # GRPCRoute
    CelRule(("GRPCRoute",), "One or both of 'service' or 'method' must be specified",
            _grpc_service_or_method),
    CelRule(("GRPCRoute",), f"service must only contain valid characters (matching "
            f"{_GRPC_SERVICE})", _grpc_exact("service", _GRPC_SERVICE)),
    CelRule(("GRPCRoute",), f"method must only contain valid characters (matching "
            f"{_GRPC_METHOD})", _grpc_exact("method", _GRPC_METHOD)),
    # HTTPRoute
    CelRule(("HTTPRoute",), "RequestRedirect filter must not be used together with "
            "backendRefs", _redirect_without_backends),
    CelRule(("HTTPRoute",), f"When using RequestRedirect filter {_REPLACE_PREFIX}",
            _prefix_replace_needs_prefix_match("requestRedirect", False)),
    CelRule(("HTTPRoute",), f"When using URLRewrite filter {_REPLACE_PREFIX}",
            _prefix_replace_needs_prefix_match("urlRewrite", False)),
    CelRule(("HTTPRoute",), f"Within backendRefs, when using RequestRedirect filter "
            f"{_REPLACE_PREFIX}", _prefix_replace_needs_prefix_match("requestRedirect", True)),
    CelRule(("HTTPRoute",), f"Within backendRefs, When using URLRewrite filter "
            f"{_REPLACE_PREFIX}", _prefix_replace_needs_prefix_match("urlRewrite", True)),
    CelRule(("HTTPRoute",), "May specify either httpRouteFilterRequestRedirect or "
            "httpRouteFilterRequestRewrite, but not both", _redirect_or_rewrite),
    CelRule(("HTTPRoute",), "AllowHeaders cannot contain '*' alongside other methods",
            _no_star_with_others),
    CelRule(("HTTPRoute",), "AllowMethods cannot contain '*' alongside other methods",
            _no_star_with_others),
    CelRule(("HTTPRoute",), "AllowOrigins cannot contain '*' alongside other origins",
            _no_star_with_others),
    CelRule(("HTTPRoute",), "replaceFullPath must be specified when type is set to "
            "'ReplaceFullPath'", _path_type_requires("ReplaceFullPath", "replaceFullPath")),
    CelRule(("HTTPRoute",), "type must be 'ReplaceFullPath' when replaceFullPath is set",
            _field_requires_type("replaceFullPath", "ReplaceFullPath")),
    CelRule(("HTTPRoute",), "replacePrefixMatch must be specified when type is set to "
            "'ReplacePrefixMatch'", _path_type_requires("ReplacePrefixMatch",
                                                        "replacePrefixMatch")),
    CelRule(("HTTPRoute",), "type must be 'ReplacePrefixMatch' when replacePrefixMatch is set",
            _field_requires_type("replacePrefixMatch", "ReplacePrefixMatch")),
    *_path_match_rules(),
    CelRule(("HTTPRoute",), "backendRequest timeout cannot be longer than request timeout",
            _timeouts),
    CelRule(("HTTPRoute",), "grpc must be specified when protocol is set to 'GRPC'",
            _protocol_needs("GRPC", "grpc")),
    CelRule(("HTTPRoute",), "protocol must be 'GRPC' when grpc is set",
            _field_needs_protocol("grpc", "GRPC")),
    CelRule(("HTTPRoute",), "http must be specified when protocol is set to 'HTTP'",
            _protocol_needs("HTTP", "http")),
    CelRule(("HTTPRoute",), "protocol must be 'HTTP' when http is set",
            _field_needs_protocol("http", "HTTP")),
    # TLSRoute
    CelRule(("TLSRoute",), "Hostnames cannot contain an IP", _hostnames_not_ip),
    CelRule(("TLSRoute",), "Hostnames must be valid based on RFC-1123", _hostnames_rfc1123),
    CelRule(("TLSRoute",), "Wildcards on hostnames must be the first label, and the rest of "
            "hostname must be valid based on RFC-1123", _hostnames_wildcard),
    # x-k8s.io kinds
    CelRule(("XBackend",), "externalHostname must be set when type is ExternalHostname and "
            "must be unset otherwise", None, _X_KINDS),
    CelRule(("XBackend",), "hostname must not be an IP address or end with .cluster.local",
            None, _X_KINDS),
    CelRule(("XBackend",), "Name must be a valid DNS label", None, _X_KINDS),
    CelRule(("XBackend",), "clientCertificateRef must be set if and only if mode is "
            "ClientAndServer", None, _X_KINDS),
    CelRule(("XBackendTrafficPolicy",), "interval cannot be greater than one hour or less "
            "than one second", None, _X_KINDS),
    CelRule(("XBackendTrafficPolicy",), "interval cannot be greater than one hour", None,
            _X_KINDS),
)

# sha256 of the sorted "kind<TAB>message<TAB>rule" lines of every x-kubernetes-validations
# entry in the CRDs CEL_RULES was reviewed against (both channels, all served versions);
# tests/test_schema.py recomputes it, so a changed rule text forces a new review.
CEL_RULES_SHA256 = "4ba24401c32f72bd9007709354a401b053c256bdaa808453b7afcb9786197288"

_CEL_BY_MESSAGE: dict[str, _Cel] = {
    rule.message: rule.check for rule in CEL_RULES if rule.check is not None
}


def _cel_for(schema: Mapping[str, Any]) -> tuple[tuple[str, _Cel], ...]:
    """The implemented CEL rules of one schema node, in the CRD's order."""
    found = []
    for entry in schema.get("x-kubernetes-validations") or ():
        message = entry.get("message", "")
        check = _CEL_BY_MESSAGE.get(message)
        if check is not None:
            found.append((message, check))
    return tuple(found)

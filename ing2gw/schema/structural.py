"""The fast path's structural-schema compiler: one CRD version schema becomes a tree of
closures that default, check and run the hand-translated CEL rules in one walk."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .celtable import cel_for
from .common import (
    _TYPE_ERROR,
    _TYPE_TESTS,
    SchemaError,
    _Cel,
    _Check,
    _copy,
    _Errors,
    _format_ok,
    _hashable,
    _join,
    _re2,
    _show,
    _type_name,
)


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
        cel = cel_for(schema) if strict else ()

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


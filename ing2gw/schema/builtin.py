"""Validation of the built-in Gateway API kinds (the vendored bundle) on the fast path:
compiled closures with the hand-translated CEL rules, proven equal to the CRDs' own rules
by ``tests/schema/test_schema_differential.py``."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import Any

from .bundle import CHANNELS, GATEWAY_API_GROUPS, _data, _kind_info, _schema, bundle_version, kind_info
from .celtable import untranslated_rules
from .common import SchemaError, _Check, _copy, _Errors, _type_name
from .meta import _object_meta_check
from .reference import reference_validator
from .structural import _Compiler, _ignore


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
    if isinstance(manifest, Mapping) and _needs_reference(
            channel, str(manifest.get("apiVersion")), str(manifest.get("kind"))):
        info = _kind_info(channel, str(manifest.get("kind")))
        schema = _schema(channel, str(manifest.get("apiVersion")), info.kind)
        assert schema is not None
        return reference_validator(schema, info.kind, info.scope,
                                   info.status_subresource).validate(manifest)
    return _prepare(manifest, channel)[1]


@functools.cache
def _needs_reference(channel: str, api_version: str, kind: str) -> bool:
    """Kinds with CEL rules that have no hand translation (the x-k8s.io kinds ing2gw never
    emits) are checked by the reference validator instead."""
    schema = _schema(channel, api_version, kind)
    return schema is not None and bool(untranslated_rules(schema))


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


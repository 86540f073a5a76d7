"""Applying with ``dryRun=All``: what the API server says each object would become.

A server-side apply (``fieldManager=ing2gw``, ``force=true``) per object says *would create*
(201), *would change* (200; the field diff against the live object), *unchanged* or
*rejected* (the API server's ``Status`` message and field causes). Nothing is stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..diff.fields import FieldChange, deep_changes
from ..kube import APIStatus, Cluster, RequestFailed
from .model import ObjectResult, ident, metadata, source

__all__ = ["apply_one", "field_changes"]

# Server-kept metadata that says nothing about what was applied.
_VOLATILE_META = ("resourceVersion", "managedFields", "generation", "uid", "creationTimestamp", "selfLink")


def _normalized(obj: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in obj.items() if k != "status"}
    out["metadata"] = {k: v for k, v in metadata(obj).items() if k not in _VOLATILE_META}
    return out


def field_changes(live: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[FieldChange, ...]:
    """What would change in ``live`` to make it ``new`` (server bookkeeping ignored)."""
    return tuple(sorted(deep_changes(_normalized(live), _normalized(new)), key=lambda c: c.path))


def apply_one(manifest: Mapping[str, Any], cluster: Cluster) -> ObjectResult:
    kind, ns, name = ident(manifest)
    api_version = str(manifest.get("apiVersion", ""))
    origin = source(manifest)

    def rejected(message: str, causes: tuple[tuple[str, str], ...] = ()) -> ObjectResult:
        return ObjectResult(api_version, kind, ns, name, origin, "rejected", message=message, causes=causes)

    resource = cluster.resource(api_version, kind)
    if resource is None:
        return rejected(f"the API server does not serve {api_version} {kind} (is its CRD installed?)")
    live = None
    try:
        live = cluster.get(api_version, resource.plural, name, ns if resource.namespaced else None)
    except RequestFailed as exc:
        if exc.status.code != 403:
            raise
    result = cluster.dry_run_apply(manifest, resource.plural, resource.namespaced)
    if result.status is not None or result.obj is None:
        status = result.status or APIStatus(result.code, "Unknown", "empty answer")
        return rejected(status.message or f"{status.code} {status.reason}", status.causes)
    if result.code == 201:
        return ObjectResult(api_version, kind, ns, name, origin, "create")
    if live is None:  # it exists, but reading it was forbidden: no diff to show
        return ObjectResult(api_version, kind, ns, name, origin, "change",
                            message="exists; the live object could not be read (forbidden), so no field diff")
    changes = field_changes(live, result.obj)
    return ObjectResult(api_version, kind, ns, name, origin, "change" if changes else "unchanged", changes)


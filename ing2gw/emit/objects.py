"""Manifest skeletons shared by the emitter's modules: the Gateway API group and version,
object metadata with the ``ing2gw.io/source`` annotation, and the output order.

Output is ordered by kind rank (other kinds last, by kind name), then namespace and name; :func:`ordered` also refuses a
duplicate object (names are made unique before; a duplicate is a bug).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..names import short_hash

__all__ = ["API", "GROUP", "KIND_ORDER", "SOURCE_ANNOTATION", "Manifest", "meta", "obj", "ordered"]

GROUP = "gateway.networking.k8s.io"
API = f"{GROUP}/v1"
SOURCE_ANNOTATION = "ing2gw.io/source"

KIND_ORDER = {
    "GatewayClass": 0,
    "Gateway": 1,
    "ListenerSet": 2,
    "ReferenceGrant": 3,
    "HTTPRoute": 4,
    "GRPCRoute": 5,
    "TLSRoute": 6,
    "TCPRoute": 7,
    "UDPRoute": 8,
    "BackendTLSPolicy": 9,
}

Manifest = dict[str, Any]


def meta(name: str, namespace: str | None, sources: Iterable[str]) -> dict[str, Any]:
    """``metadata`` with the names of the source objects in ``ing2gw.io/source``."""
    out: dict[str, Any] = {"name": name}
    if namespace:
        out["namespace"] = namespace
    src = sorted(set(sources))
    if src:
        out["annotations"] = {SOURCE_ANNOTATION: ", ".join(src)}
    return out


def obj(kind: str, metadata: dict[str, Any], spec: dict[str, Any], api: str = API) -> Manifest:
    return {"apiVersion": api, "kind": kind, "metadata": metadata, "spec": spec}


def _sort_key(m: Mapping[str, Any]) -> tuple[int, str, str, str]:
    md = m["metadata"]
    rank = KIND_ORDER.get(m["kind"], 99)
    # kinds outside the Gateway API (implementation policies) come last, grouped by kind
    return (rank, m["kind"] if rank == 99 else "", md.get("namespace", ""), md["name"])


def ordered(manifests: Sequence[Manifest]) -> list[Manifest]:
    """The manifests in output order; a duplicate (kind, namespace, name) is a bug."""
    seen: set[tuple[str, str, str]] = set()
    for m in manifests:
        key = (m["kind"], m["metadata"].get("namespace", ""), m["metadata"]["name"])
        if key in seen:
            raise AssertionError(f"duplicate object emitted: {key} ({short_hash(str(key))})")
        seen.add(key)
    return sorted(manifests, key=_sort_key)

"""The two sides of a diff: each side's documents converted and merged into one object set.

Ingresses are converted with the given options, Gateway API objects are taken as written (a
hand-written object wins over a generated one with the same identity), so an Ingress side can
also be compared with a hand-migrated Gateway API side (a drift check).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..convert import ConvertOptions, convert
from ..plugins import Registry
from ..resources import build_resource_set
from ..yamlio import Document
from .model import Side

__all__ = ["GATEWAY_GROUPS", "build_side", "identity", "is_gateway_api"]

GATEWAY_GROUPS = ("gateway.networking.k8s.io/", "gateway.networking.x-k8s.io/")


def is_gateway_api(obj: Mapping[str, Any]) -> bool:
    api = obj.get("apiVersion")
    return isinstance(api, str) and api.startswith(GATEWAY_GROUPS)


def identity(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    return f"{obj.get('apiVersion')}/{obj.get('kind')}/{meta.get('namespace', '')}/{meta.get('name', '')}"


def build_side(label: str, docs: Sequence[Document], options: ConvertOptions, registry: Registry) -> Side:
    """Convert the side's Ingresses and merge its own Gateway API objects over them."""
    gateway_docs = [d.obj for d in docs if is_gateway_api(d.obj)]
    other = [d for d in docs if not is_gateway_api(d.obj)]
    rs = build_resource_set(other, kinds=list(registry.claims()))
    result = convert(rs, options, registry) if rs.ingresses or rs.objects else None
    merged: dict[str, dict[str, Any]] = {}
    for m in result.manifests if result else []:
        merged[identity(m)] = dict(m)
    for obj in gateway_docs:
        merged[identity(obj)] = dict(obj)
    notes = list(result.notes) if result else list(rs.notes)
    return Side(label, [merged[k] for k in sorted(merged)], notes, len(rs.ingresses))

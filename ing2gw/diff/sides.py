"""The two sides of a diff: each side's documents converted and merged into one object set.

Ingresses are converted with the given options, Gateway API objects are taken as written (a
hand-written object wins over a generated one with the same identity), so an Ingress side can
also be compared with a hand-migrated Gateway API side (a drift check).
:func:`incremental_sides` converts only what a change can affect when that is provably
enough.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..convert import ConvertOptions, convert
from ..plugins import Registry
from ..resources import build_resource_set
from ..yamlio import Document
from .model import Side

__all__ = ["GATEWAY_GROUPS", "build_side", "identity", "incremental_sides", "is_gateway_api"]

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


# Annotations whose effect reaches beyond the Ingress's own hosts: a change to an Ingress
# carrying one is diffed by converting everything.
_FAR_REACHING = ("from-to-www-redirect", "server-alias", "backend-protocol", "proxy-ssl-")


def _evidence(obj: Mapping[str, Any]) -> tuple[str, frozenset[str]]:
    """What an Ingress tells detection about its class: the class it names and the annotation
    prefixes it uses."""
    meta = obj.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    cls = (obj.get("spec") or {}).get("ingressClassName") or annotations.get("kubernetes.io/ingress.class") or ""
    return str(cls), frozenset(str(k).partition("/")[0] for k in annotations if "/" in str(k))


def _hosts_of(obj: Mapping[str, Any]) -> set[str] | None:
    """The rule hosts of a raw Ingress; None when it has host-less or wildcard rules, TLS,
    far-reaching annotations or a shape not worth reasoning about."""
    spec = obj.get("spec")
    meta = obj.get("metadata")
    if not isinstance(spec, Mapping) or not isinstance(meta, Mapping):
        return None
    annotations = meta.get("annotations") or {}
    if not isinstance(annotations, Mapping) or any(
            any(part in str(k) for part in _FAR_REACHING) for k in annotations):
        return None
    if spec.get("tls") or spec.get("defaultBackend") or spec.get("backend"):
        return None
    rules = spec.get("rules")
    if not isinstance(rules, list) or not rules:
        return None
    hosts: set[str] = set()
    for rule in rules:
        host = rule.get("host") if isinstance(rule, Mapping) else None
        if not isinstance(host, str) or not host or "*" in host:
            return None
        hosts.add(host.lower())
    return hosts


def incremental_sides(base: tuple[str, Sequence[Document]], head: tuple[str, Sequence[Document]],
                      options: ConvertOptions, registry: Registry) -> tuple[Side, Side] | None:
    """Both sides converted from only what the change can affect, or None when that cannot be
    shown safe (then convert everything).

    When the two sides differ only in Ingresses with plain hosts (no TLS, default backend,
    wildcard, host-less rule, or annotation reaching other hosts) and the set of namespaces
    with Ingresses is the same, every other Ingress converts identically on both sides and
    the Gateways do not change: converting the Ingresses that share a host with a changed
    one (plus every wildcard and host-less one) on each side gives the same differences as
    converting everything -- at a fraction of the cost on large, mostly unchanged sets.
    """
    docs_b, docs_h = base[1], head[1]
    if any(is_gateway_api(d.obj) for d in (*docs_b, *docs_h)):
        return None
    b = {identity(d.obj): d.obj for d in docs_b}
    h = {identity(d.obj): d.obj for d in docs_h}
    changed = {k for k in b.keys() | h.keys() if b.get(k) != h.get(k)}
    affected: set[str] = set()
    for key in changed:
        for obj in (b.get(key), h.get(key)):
            if obj is None:
                continue
            if obj.get("kind") != "Ingress":
                return None
            hosts = _hosts_of(obj)
            if hosts is None:
                return None
            affected |= hosts

    def namespaces(objs: Mapping[str, Mapping[str, Any]]) -> set[str]:
        return {str((o.get("metadata") or {}).get("namespace", ""))
                for o in objs.values() if o.get("kind") == "Ingress"}

    if namespaces(b) != namespaces(h):
        return None

    def keep(obj: Mapping[str, Any]) -> bool:
        hosts = _hosts_of(obj)
        return hosts is None or bool(hosts & affected)  # wildcard, TLS...: they may reach those hosts

    # The Gateways admit every namespace that has routes: one unchanged Ingress of each
    # namespace the kept ones miss keeps that list (and so the Gateways) as in full.
    def kept_namespaces(objs: Mapping[str, Mapping[str, Any]]) -> set[str]:
        return {str((o.get("metadata") or {}).get("namespace", ""))
                for o in objs.values() if o.get("kind") == "Ingress" and keep(o)}

    covered = kept_namespaces(b) & kept_namespaces(h)
    extra: set[str] = set()
    for key in sorted(b.keys() & h.keys()):
        obj = b[key]
        ns = str((obj.get("metadata") or {}).get("namespace", ""))
        if obj.get("kind") == "Ingress" and ns not in covered and key not in changed:
            covered.add(ns)
            extra.add(key)
    # Detection reads the annotation prefixes of every Ingress of a class (ing2gw.detect): one
    # unchanged Ingress per (class, prefixes) the kept ones miss keeps that evidence as in full.
    seen = [{_evidence(o) for o in objs.values() if o.get("kind") == "Ingress" and (keep(o) or identity(o) in extra)}
            for objs in (b, h)]
    for key in sorted(b.keys() & h.keys()):
        obj = b[key]
        if obj.get("kind") == "Ingress" and key not in changed and any(_evidence(obj) not in side for side in seen):
            for side in seen:
                side.add(_evidence(obj))
            extra.add(key)

    def relevant(docs: Sequence[Document]) -> list[Document]:
        return [d for d in docs if d.obj.get("kind") != "Ingress" or keep(d.obj) or identity(d.obj) in extra]

    return (build_side(base[0], relevant(docs_b), options, registry),
            build_side(head[0], relevant(docs_h), options, registry))

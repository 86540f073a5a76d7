"""The diff's shortcut: convert only the Ingresses a change can affect, on both sides.

Ingresses are *coupled* when the output made from one can depend on another: they share a
rule or TLS host (the routes of a host merge, canaries pair with their main Ingress, the
first TLS entry of a host wins its listener), a TLS Secret (the hosts of one Secret may share
a wildcard listener), or a possible route name (route names are ``<ingress>-<host>`` made
unique per namespace, so two Ingresses of a namespace whose names start alike may collide).
Coupled Ingresses form a *unit*; a unit's output does not depend on the rest except through
the Gateways (listeners, admitted namespaces), which every side shares.

Some Ingresses reach beyond their own hosts and are *global*: host-less or wildcard rules,
a default backend, a wildcard or host-less TLS entry, a Secret listed for two or more hosts
(a wildcard certificate may be inferred), annotations whose effect reaches other hosts, any
annotation that is not an ingress-nginx key known to carry no protection (a lost protection
is reported for the whole of HEAD), or a class that is not ingress-nginx's. Global Ingresses
are always converted; a change to one is diffed by converting everything, and so is a
change to anything but an Ingress, an input with Gateway API objects, or an object kind
that may configure the controller as a whole (a ConfigMap).

When the shortcut applies, each side converts its global Ingresses, every Ingress of a unit
a changed Ingress belongs to (on either side), and one unchanged Ingress per namespace and
per detection evidence the others miss (so that the admitted namespaces and the controller
detection are as in full). Both conversions must then give identical objects other than
routes (Gateways, ListenerSets, grants...): the Gateways of the full conversions are
identical too (what they hold is a union over the Ingresses, and the Ingresses left out are
the same on both sides), so the report -- objects, behaviour, notes -- is the report of the
full conversions. Otherwise everything is converted. ``tests/diff/test_units.py`` checks
this equality on generated changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeGuard

from ..convert import ConvertOptions
from ..names import slug
from ..plugins import Registry
from ..yamlio import Document
from .model import Side
from .sides import build_side, identity, is_gateway_api

__all__ = ["incremental_sides", "plan", "same_gateways"]

# Annotations whose effect reaches beyond the Ingress's own hosts.
_FAR_REACHING = ("from-to-www-redirect", "server-alias", "backend-protocol", "proxy-ssl-")
# Objects besides Ingresses an input may hold without configuring the controller as a whole.
_PLAIN_KINDS = frozenset({"Service", "Secret", "Namespace", "Endpoints", "EndpointSlice", "Deployment",
                          "StatefulSet", "DaemonSet", "Pod", "ReplicaSet", "ServiceAccount"})
_ROUTE_KINDS = frozenset({"HTTPRoute", "GRPCRoute", "TLSRoute", "TCPRoute", "UDPRoute"})
_NGINX = "ingress-nginx"


class _Rules:
    """What makes an Ingress global, from the ingress-nginx provider of the registry."""

    def __init__(self, registry: Registry, options: ConvertOptions) -> None:
        provider = registry.get(_NGINX) if _NGINX in registry.names() else None
        self.usable = provider is not None and options.provider in (None, _NGINX)
        self.classes: frozenset[str] = frozenset(provider.class_names) if provider is not None else frozenset()
        self.controllers: frozenset[str] = frozenset(provider.controllers) if provider is not None else frozenset()
        self.safe: frozenset[str] = frozenset()
        if provider is not None:
            prefix = (options.conversion.annotation_prefix or provider.annotations.prefix).rstrip("/")
            self.safe = frozenset(f"{prefix}/{spec.key}" for spec in provider.annotations
                                  if not any(part in spec.key for part in _FAR_REACHING) and _harmless(spec.intent))
        # what an Ingress may carry and stay local: those annotations and the class annotation
        self.safe_or_class = self.safe | {"kubernetes.io/ingress.class"}

    def plain_object(self, obj: Mapping[str, Any]) -> bool:
        """Can this non-Ingress object stay out of the reasoning (it only names things)?"""
        kind = obj.get("kind")
        if kind == "IngressClass":
            return (obj.get("spec") or {}).get("controller") in self.controllers
        return kind in _PLAIN_KINDS


def _harmless(intent: Any) -> bool:
    """An annotation feeding no intent, or one that is never a protection."""
    if intent is None:
        return True
    return getattr(intent, "security_category", None) is None and "protection" not in getattr(
        intent, "__dataclass_fields__", {})


def _is_mapping(value: Any) -> TypeGuard[Mapping[str, Any]]:
    return type(value) is dict or isinstance(value, Mapping)  # (the ABC check only for what is not a dict)


def _keys(obj: Mapping[str, Any], rules: _Rules) -> set[str] | None:
    """The coupling keys of a raw Ingress (``h:`` hosts, ``s:`` Secrets, ``n:`` name stems);
    None when it is global (or of a shape not worth reasoning about)."""
    spec = obj.get("spec")
    meta = obj.get("metadata")
    if not _is_mapping(spec) or not _is_mapping(meta):
        return None
    annotations = meta.get("annotations") or {}
    if not _is_mapping(annotations) or not annotations.keys() <= rules.safe_or_class:
        return None
    cls = spec.get("ingressClassName") or annotations.get("kubernetes.io/ingress.class")
    if cls not in rules.classes or spec.get("defaultBackend") or spec.get("backend"):
        return None
    namespace, name = meta.get("namespace", ""), meta.get("name")
    if not isinstance(namespace, str) or not isinstance(name, str):
        return None
    keys = {f"n:{namespace}/{slug(name).split('-')[0]}"}
    ingress_rules = spec.get("rules")
    if not isinstance(ingress_rules, list) or not ingress_rules:
        return None
    for rule in ingress_rules:
        host = rule.get("host") if _is_mapping(rule) else None
        if not isinstance(host, str) or not host or "*" in host:
            return None
        keys.add("h:" + host.lower())
    tls = spec.get("tls") or []
    if not isinstance(tls, list):
        return None
    for entry in tls:
        hosts = entry.get("hosts") if _is_mapping(entry) else None
        secret = entry.get("secretName") if _is_mapping(entry) else None
        if not isinstance(hosts, list) or not hosts or not isinstance(secret, str) or not secret:
            return None
        for host in hosts:
            if not isinstance(host, str) or not host or "*" in host:
                return None
            keys.add("h:" + host.lower())
        keys.add(f"s:{namespace}/{secret}")
    return keys


def _profiles(objs: Iterable[Mapping[str, Any]], rules: _Rules,
              known: dict[int, set[str] | None]) -> dict[int, set[str] | None]:
    """Coupling keys per Ingress (by ``id``); None for a global one. A Secret listed for two
    or more hosts (across the side's Ingresses) makes its Ingresses global. ``known``: the
    keys of objects seen before (the sides share unchanged objects)."""
    out: dict[int, set[str] | None] = {}
    secret_hosts: dict[str, set[str]] = {}
    for obj in objs:
        if id(obj) in known:
            keys = known[id(obj)]
        else:
            keys = known[id(obj)] = _keys(obj, rules)
        out[id(obj)] = keys
        if keys is not None:
            hosts = {k for k in keys if k.startswith("h:")}
            for k in keys:
                if k.startswith("s:"):
                    secret_hosts.setdefault(k, set()).update(hosts)
    shared = {s for s, hosts in secret_hosts.items() if len(hosts) > 1}
    if shared:
        for key, keys in out.items():
            if keys is not None and keys & shared:
                out[key] = None
    return out


class _Components:
    """Union-find over coupling keys."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, key: str) -> str:
        parent = self.parent.setdefault(key, key)
        while parent != key:
            grand = self.parent[parent]
            self.parent[key] = grand
            key, parent = parent, grand
        return key

    def join(self, keys: Iterable[str]) -> None:
        it = iter(keys)
        first = next(it, None)
        if first is None:
            return
        root = self.find(first)
        for k in it:
            other = self.find(k)
            if other != root:
                self.parent[other] = root


def _evidence(obj: Mapping[str, Any]) -> tuple[str, frozenset[str]]:
    """What an Ingress tells detection about its class: the class it names and the annotation
    prefixes it uses."""
    meta = obj.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    cls = (obj.get("spec") or {}).get("ingressClassName") or annotations.get("kubernetes.io/ingress.class") or ""
    return str(cls), frozenset(str(k).partition("/")[0] for k in annotations if "/" in str(k))


def _namespace(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("namespace", ""))


def _kept(docs_b: Sequence[Document], docs_h: Sequence[Document], rules: _Rules) -> tuple[set[int], set[int]] | None:
    """The objects (by ``id``) each side converts, or None when the shortcut does not apply."""
    b = {identity(d.obj): d.obj for d in docs_b}
    h = {identity(d.obj): d.obj for d in docs_h}
    if len(b) != len(docs_b) or len(h) != len(docs_h):
        return None  # an object given twice: which one wins is the conversion's business
    for objs in (b, h):
        if any(o.get("kind") != "Ingress" and not rules.plain_object(o) for o in objs.values()):
            return None
    known: dict[int, set[str] | None] = {}
    profile = _profiles((o for o in b.values() if o.get("kind") == "Ingress"), rules, known)
    for ref, keys in _profiles((o for o in h.values() if o.get("kind") == "Ingress"), rules, known).items():
        # an object both sides share (ing2gw.diff.reading) is global when it is on either side
        profile[ref] = None if keys is None or (ref in profile and profile[ref] is None) else keys
    changed = {k for k in b.keys() | h.keys() if b.get(k) is not h.get(k) and b.get(k) != h.get(k)}
    components = _Components()
    for keys in profile.values():
        if keys is not None:
            components.join(keys)
    affected: set[str] = set()
    for key in changed:
        for obj in (b.get(key), h.get(key)):
            if obj is None:
                continue
            if obj.get("kind") != "Ingress":
                return None
            keys = profile[id(obj)]
            if keys is None:
                return None
            affected.update(components.find(k) for k in keys)

    if {_namespace(o) for o in b.values() if o.get("kind") == "Ingress"} != {
            _namespace(o) for o in h.values() if o.get("kind") == "Ingress"}:
        return None

    reached = {k for k in components.parent if components.find(k) in affected}  # the keys of affected units

    def keep(obj: Mapping[str, Any]) -> bool:
        if obj.get("kind") != "Ingress":
            return True
        keys = profile[id(obj)]
        return keys is None or not keys.isdisjoint(reached)

    kept = [{id(o) for o in objs.values() if keep(o)} for objs in (b, h)]
    # The Gateways admit every namespace that has routes: one unchanged Ingress of each
    # namespace the kept ones miss keeps that list as in full.
    covered = [{_namespace(o) for o in objs.values() if o.get("kind") == "Ingress" and id(o) in side}
               for objs, side in zip((b, h), kept, strict=True)]
    # Detection reads the annotation prefixes of every Ingress of a class (ing2gw.detect): one
    # unchanged Ingress per (class, prefixes) the kept ones miss keeps that evidence as in full.
    seen = [{_evidence(o) for o in objs.values() if o.get("kind") == "Ingress" and id(o) in side}
            for objs, side in zip((b, h), kept, strict=True)]
    for key in sorted(b.keys() & h.keys()):
        obj = b[key]
        if obj.get("kind") != "Ingress" or key in changed:
            continue
        ns, evidence = _namespace(obj), _evidence(obj)
        if any(ns not in c for c in covered) or any(evidence not in s for s in seen):
            for c, s, side, o in zip(covered, seen, kept, (obj, h[key]), strict=True):
                c.add(ns)
                s.add(evidence)
                side.add(id(o))
    return kept[0], kept[1]


def _shared(side: Side) -> list[dict[str, Any]]:
    return [m for m in side.manifests if m.get("kind") not in _ROUTE_KINDS]


def plan(base: Sequence[Document], head: Sequence[Document], options: ConvertOptions,
         registry: Registry) -> tuple[list[Document], list[Document]] | None:
    """The documents each side converts for the shortcut, or None when it does not apply."""
    if any(is_gateway_api(d.obj) for d in (*base, *head)):
        return None
    rules = _Rules(registry, options)
    if not rules.usable or options.ingress_class is not None or options.extra_ir:
        return None
    kept = _kept(base, head, rules)
    if kept is None:
        return None
    return [d for d in base if id(d.obj) in kept[0]], [d for d in head if id(d.obj) in kept[1]]


def same_gateways(base: Side, head: Side) -> bool:
    """Did the planned conversions give identical objects other than routes (else the
    shortcut's report may not be the full one)?"""
    return _shared(base) == _shared(head)


def incremental_sides(base: tuple[str, Sequence[Document]], head: tuple[str, Sequence[Document]],
                      options: ConvertOptions, registry: Registry) -> tuple[Side, Side] | None:
    """Both sides converted from only what the change can affect, or None when that cannot be
    shown to give the report of converting everything (then convert everything)."""
    docs = plan(base[1], head[1], options, registry)
    if docs is None:
        return None
    sides = build_side(base[0], docs[0], options, registry), build_side(head[0], docs[1], options, registry)
    return sides if same_gateways(*sides) else None

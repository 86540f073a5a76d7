"""Routes as Gateway API YAML: HTTPRoute, GRPCRoute, TLSRoute, TCPRoute and UDPRoute, in
their own namespaces, named uniquely, split within the limits, attached to their parents.

A route's ``parentRefs`` are the listeners its ``sections`` name (the Ingress shorthand), the
listeners its :class:`~ing2gw.ir.ListenerParent` parents name, and the Services its
:class:`~ing2gw.ir.ServiceParent` parents name (GAMMA mesh routes, which need no Gateway). A
parent the route kind cannot attach to (an HTTPRoute on a TCP listener) or a listener that
was not emitted is left out with an error note. TLS passthrough hostnames of the Ingress
shorthand become one TLSRoute each on their Passthrough listener.
"""

from __future__ import annotations

from typing import Any

from ..ir import IR, Route, Rule, ServiceParent
from ..names import unique_names
from ..notes import Level, Note, Notes
from .limits import L4_KINDS, MAX_MATCHES_PER_ROUTE, MAX_MATCHES_PER_RULE, max_rules, split_rules
from .listeners import ATTACHES, Holder, Listeners
from .objects import GROUP, Manifest, meta, obj
from .rules import Leaves, backend, leaf, render_rule

__all__ = ["Placed", "route_manifests"]

# (IR route, IR rule, the emitted route manifest, the rule's index in its spec.rules)
Placed = tuple[Route, Rule, Manifest, int]


def _gateway_parent(holder: Holder, section: str, route_namespace: str, leaves: Leaves | None = None) -> dict[str, Any]:
    return leaf(leaves, ("parent", holder.kind, holder.name, holder.namespace, section, route_namespace),
                _new_gateway_parent, holder, section, route_namespace)


def _new_gateway_parent(holder: Holder, section: str, route_namespace: str) -> dict[str, Any]:
    r: dict[str, Any] = {"group": GROUP, "kind": holder.kind, "name": holder.name}
    if holder.namespace != route_namespace:
        r["namespace"] = holder.namespace
    r["sectionName"] = section
    return r


def _service_parent(p: ServiceParent, route_namespace: str) -> dict[str, Any]:
    r: dict[str, Any] = {"group": "", "kind": "Service", "name": p.name}
    if p.namespace != route_namespace:
        r["namespace"] = p.namespace
    if p.port is not None:
        r["port"] = p.port
    return r


def _subject(route: Route) -> str:
    """What a note about the route names: its first source, else the route itself."""
    return route.sources[0].subject if route.sources else f"{route.kind} {route.namespace}/{route.name}"


def _parent_refs(route: Route, listeners: Listeners, notes: Notes, leaves: Leaves) -> list[dict[str, Any]]:
    refs: list[dict[str, Any]] = []
    if route.gateway is not None and route.sections:
        refs += [_gateway_parent(h, section, route.namespace, leaves)
                 for h, section in listeners.section_parents(route)]
    for p in route.parents:
        if isinstance(p, ServiceParent):
            refs.append(_service_parent(p, route.namespace))
            continue
        found = listeners.find(p, route.namespace)
        if not found:
            why = f"listener {p.listener!r} of Gateway {p.gateway.key!r} was not emitted"
        elif found[0][1].node.protocol not in ATTACHES[route.kind]:
            why = f"a {route.kind} cannot attach to the {found[0][1].node.protocol} listener {p.listener!r}"
        else:
            refs += [_gateway_parent(h, slot.section, route.namespace) for h, slot in found]
            continue
        notes.add(Note("EMIT-INVALID-PARENT", Level.ERROR, f"{route.kind} {route.namespace}/{route.name}: {why}",
                       subject=_subject(route), instead="parent left out"))
    if len(refs) == 1:
        return refs
    unique: dict[str, dict[str, Any]] = {}
    for r in refs:
        tail = r.get("sectionName", r.get("port", ""))
        unique.setdefault(f"{r.get('namespace', '')}/{r['kind']}/{r['name']}/{tail}", r)
    return [unique[k] for k in sorted(unique)]


def _attachable(route: Route, notes: Notes) -> bool:
    """TLSRoutes need hostnames; TCP/UDP routes take none; sections need a Gateway."""
    if route.sections and route.gateway is None:
        why = "listener sections without a Gateway"
    elif route.kind == "TLSRoute" and not route.hostnames:
        why = "a TLSRoute without hostnames"
    elif route.kind in ("TCPRoute", "UDPRoute") and route.hostnames:
        why = f"hostnames on a {route.kind}"
    else:
        return True
    notes.add(Note("EMIT-INVALID-COMBINATION", Level.ERROR,
                   f"{route.kind} {route.namespace}/{route.name}: {why} (the API server would reject it)",
                   subject=_subject(route), instead="route not emitted (a bug in the provider)"))
    return False


def route_manifests(ir: IR, listeners: Listeners, notes: Notes,
                    placed: list[Placed] | None = None) -> list[Manifest]:
    """Every route of the IR, plus a TLSRoute per passthrough hostname. ``placed``, when
    given, receives where each IR rule ended up (implementation emitters attach to it)."""
    pieces: list[tuple[Route, list[Rule]]] = []
    wanted: list[tuple[str, str]] = []
    for route in ir.routes:
        if not _attachable(route, notes):
            continue
        identity = "/".join([route.kind, route.namespace, route.name, ",".join(route.hostnames),
                             ",".join(s.ref for s in route.sources)])
        if route.parents:  # routes alike but for their parents (one per listener) stay apart
            identity += "|" + ",".join(sorted(repr(p) for p in route.parents))
        limit = max_rules(route.kind)
        for i, chunk in enumerate(split_rules(route.rules, limit)):
            pieces.append((route, chunk))
            wanted.append((f"{identity}#{i}", route.name if i == 0 else f"{route.name}-{i + 1}"))
        if len(route.rules) > limit or any(len(r.matches) > MAX_MATCHES_PER_RULE for r in route.rules):
            limits = (f"{limit} rule" if route.kind in L4_KINDS else
                      f"{limit} rules, {MAX_MATCHES_PER_RULE} matches per rule, {MAX_MATCHES_PER_ROUTE} per route")
            notes.add(Note("EMIT-ROUTE-SPLIT", Level.INFO,
                           f"{route.kind} {route.namespace}/{route.name} exceeds the Gateway API limits ({limits})",
                           subject=route.sources[0].subject if route.sources else "",
                           instead="split into several routes with the same parents and hostnames"))
    # Names are unique per (kind, namespace): colliding base names get a hash suffix. TLSRoutes
    # of passthrough hostnames share the pool of their namespace.
    per_scope: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for (route, _), pair in zip(pieces, wanted, strict=True):
        per_scope.setdefault((route.kind, route.namespace), []).append(pair)
    for pt in ir.passthrough:
        per_scope.setdefault(("TLSRoute", pt.namespace), []).append((f"{pt.namespace}/{pt.hostname}", pt.name))
    names: dict[tuple[str, str], dict[str, str]] = {scope: unique_names(pairs) for scope, pairs in per_scope.items()}
    out: list[Manifest] = []
    leaves: Leaves = {}
    for (route, rules), (key, _) in zip(pieces, wanted, strict=True):
        kept = [(rule, r) for rule in rules if (r := render_rule(route, rule, notes, leaves)) is not None]
        rendered = [r for _, r in kept]
        if not rendered:
            continue
        parents = _parent_refs(route, listeners, notes, leaves)
        if not parents:
            notes.add(Note("EMIT-ROUTE-UNATTACHED", Level.ERROR,
                           f"{route.kind} {route.namespace}/{route.name} has no parent left to attach to",
                           subject=route.sources[0].subject if route.sources else "",
                           instead="route not emitted"))
            continue
        spec: dict[str, Any] = {"parentRefs": parents}
        if route.hostnames:
            spec["hostnames"] = list(route.hostnames)
        spec["rules"] = rendered
        # the route's sources, and any other whose rules were merged in (canaries)
        sources = {s.subject for s in route.sources}
        own = route.sources[0] if route.sources else None
        for rule in rules:
            for p in rule.provenance:
                if own is None or p.name != own.name or p.namespace != own.namespace or p.kind != own.kind:
                    sources.add(p.subject)  # (the subject is kind, namespace and name)
        name = names[(route.kind, route.namespace)][key]
        manifest = obj(route.kind, meta(name, route.namespace, sources), spec)
        out.append(manifest)
        if placed is not None:
            placed.extend((route, rule, manifest, i) for i, (rule, _) in enumerate(kept))
    for pt in sorted(ir.passthrough, key=lambda p: (p.namespace, p.hostname)):
        parents = [_gateway_parent(holder, section, pt.namespace)
                   for holder, section in listeners.passthrough_parents(pt.gateway, pt.namespace, pt.hostname)]
        spec = {"parentRefs": parents, "hostnames": [pt.hostname],
                "rules": [{"backendRefs": [backend(pt.backend, pt.namespace)]}]}
        name = names[("TLSRoute", pt.namespace)][f"{pt.namespace}/{pt.hostname}"]
        out.append(obj("TLSRoute", meta(name, pt.namespace, {pt.source.subject}), spec))
    return out


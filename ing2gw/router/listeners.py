"""Gateway listeners and route attachment: the listeners of a Gateway as
:class:`ListenerSpec` values (:func:`listener_specs`: HTTP and HTTPS only, conflicted listeners
left out, an HTTPS listener needs a resolvable certificate; :func:`parse_listeners`: every
listener, for the stream router :mod:`.streams`), the certificate a listener presents, and
whether a route attaches to one (``allowedRoutes`` namespaces and kinds, hostname intersection).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .hostnames import HostIndex, intersect
from .inventory import GATEWAY_GROUP, Inventory, Obj, int_of, map_of, maps_of, str_of
from .model import Group

__all__ = ["ListenerSpec", "admits", "admits_listener_set", "attach", "distinct", "effective_hostnames",
           "listener_certificate", "listener_set_parent", "listener_specs", "parse_listeners"]

ROUTED_PROTOCOLS = ("HTTP", "HTTPS")
ROUTE_KINDS = ("HTTPRoute", "GRPCRoute")
# The route kinds a listener of each protocol takes (``allowedRoutes.kinds`` narrowed to these)
# and those it takes when ``kinds`` is empty; a TLS listener in Terminate mode may also name
# TCPRoute (the decrypted stream forwarded as it comes).
_KINDS = {"HTTP": ROUTE_KINDS, "HTTPS": ROUTE_KINDS, "TLS": ("TLSRoute", "TCPRoute"), "TCP": ("TCPRoute",),
          "UDP": ("UDPRoute",)}
_DEFAULT_KINDS = {**_KINDS, "TLS": ("TLSRoute",)}
_DEFAULT_KIND_SETS = {protocol: frozenset(kinds) for protocol, kinds in _DEFAULT_KINDS.items()}  # (one set each)
_ROUTE_KIND_SET = frozenset(ROUTE_KINDS)


@dataclass(slots=True)
class ListenerSpec:
    gateway: Obj
    name: str
    port: int
    protocol: str
    hostname: str | None
    allowed_from: str
    selector: Mapping[str, Any]
    kinds: frozenset[str]
    problem: str | None
    notes: list[str]
    routes: HostIndex[Group]
    raw: Mapping[str, Any] | None = None  # the listener as written


def _label_selector_matches(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    match_labels = selector.get("matchLabels") or {}
    if isinstance(match_labels, Mapping):
        for k, v in match_labels.items():
            if labels.get(str(k)) != str(v):
                return False
    for expr in selector.get("matchExpressions") or []:
        if not isinstance(expr, Mapping):
            return False
        key, op = str(expr.get("key")), expr.get("operator")
        values = [str(v) for v in expr.get("values") or []]
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def admits_listener_set(gw: Obj, lset: Obj, inv: Inventory, notes: set[str]) -> bool:
    """Does the Gateway's ``allowedListeners`` admit this ListenerSet (default: none)?"""
    spec = map_of(gw, gw.body.get("spec"), "spec")
    allowed = map_of(gw, spec.get("allowedListeners"), "spec.allowedListeners")
    namespaces = map_of(gw, allowed.get("namespaces"), "spec.allowedListeners.namespaces")
    source = str(namespaces.get("from") or "None")
    if source == "All":
        return True
    if source == "Same":
        return lset.namespace == gw.namespace
    if source == "Selector":
        labels, _ = inv.namespace_labels(lset.namespace)
        if labels is None:
            notes.add(f"ListenerSet {lset.ref}: assumed Namespace {lset.namespace} matches the allowedListeners "
                      f"selector of Gateway {gw.ref}")
            return True
        selector = map_of(gw, namespaces.get("selector"), "spec.allowedListeners.namespaces.selector")
        return _label_selector_matches(selector, labels)
    return False


def listener_set_parent(lset: Obj, inv: Inventory, notes: set[str]) -> str | None:
    """``ns/name`` of the Gateway a ListenerSet attaches to, or None (noted) when that Gateway
    is absent or its ``allowedListeners`` does not admit the set."""
    pref = map_of(lset, map_of(lset, lset.body.get("spec"), "spec").get("parentRef"), "spec.parentRef")
    parent_ns = str_of(lset, pref.get("namespace"), "spec.parentRef.namespace") or lset.namespace
    parent_ref = f"{parent_ns}/{str_of(lset, pref.get('name'), 'spec.parentRef.name') or ''}"
    parent = inv.by_key.get((GATEWAY_GROUP, "Gateway", parent_ns, parent_ref.split("/", 1)[1]))
    if parent is None or not admits_listener_set(parent, lset, inv, notes):
        notes.add(f"ListenerSet {lset.ref}: not attached (Gateway {parent_ref} is absent or its "
                  "allowedListeners does not admit it)")
        return None
    return parent_ref


def parse_listeners(gw: Obj, inv: Inventory, notes: set[str]) -> list[ListenerSpec]:
    """Every listener of a Gateway, or of a ListenerSet (whose ``Same`` is its own namespace),
    conflicted or not, with the route kinds its protocol takes."""
    spec = map_of(gw, gw.body.get("spec"), "spec")
    specs: list[ListenerSpec] = []
    for i, raw in enumerate(maps_of(gw, spec.get("listeners"), "spec.listeners")):
        where = f"spec.listeners[{i}]"
        get = raw.get
        name, port, protocol, hostname = get("name"), get("port"), get("protocol"), get("hostname")
        # (a well-formed listener -- each field of its type, its allowedRoutes and namespaces plain mappings
        # or absent -- read without the typed accessors; any other is read through them, which say what is wrong)
        if not (type(name) is str and type(port) is int and type(protocol) is str
                and (hostname is None or type(hostname) is str)):
            name = str_of(gw, name, f"{where}.name")
            port = int_of(gw, port, f"{where}.port")
            protocol = str_of(gw, protocol, f"{where}.protocol")
            hostname = str_of(gw, hostname, f"{where}.hostname")
        name, port, protocol = name or str(i), port or 0, protocol or ""
        allowed = get("allowedRoutes")
        if type(allowed) is not dict:
            allowed = map_of(gw, allowed, f"{where}.allowedRoutes")
        namespaces = allowed.get("namespaces")
        if type(namespaces) is not dict:
            namespaces = map_of(gw, namespaces, f"{where}.allowedRoutes.namespaces")
        kinds_raw = allowed.get("kinds")
        if kinds_raw is not None:
            kinds_raw = maps_of(gw, kinds_raw, f"{where}.allowedRoutes.kinds")
        problem: str | None = None
        lnotes: list[str] = []
        if kinds_raw:
            kinds = frozenset(
                str(k.get("kind")) for k in kinds_raw
                if (k.get("group") or GATEWAY_GROUP) == GATEWAY_GROUP
                and k.get("kind") in _KINDS.get(protocol, ROUTE_KINDS)
            )
        else:
            kinds = _DEFAULT_KIND_SETS.get(protocol, _ROUTE_KIND_SET)
        if protocol == "HTTPS":
            problem = _check_tls(gw, raw, where, inv, lnotes)
        selector = namespaces.get("selector")
        if type(selector) is not dict:
            selector = map_of(gw, selector, f"{where}.allowedRoutes.namespaces.selector")
        specs.append(ListenerSpec(gw, name, port, protocol, hostname.lower() if hostname else None,
                                  str(namespaces.get("from") or "Same"), selector, kinds, problem, lnotes, HostIndex(),
                                  raw))
    return specs


def listener_specs(gw: Obj, inv: Inventory, notes: set[str]) -> list[ListenerSpec]:
    """The HTTP and HTTPS listeners of a Gateway, or of a ListenerSet, that are distinct."""
    specs = parse_listeners(gw, inv, notes)
    # Listeners that are not distinct are left out (Conflicted=True).
    by_port: dict[int, list[ListenerSpec]] = {}
    for ls in specs:
        by_port.setdefault(ls.port, []).append(ls)
    kept: list[ListenerSpec] = []
    for port, group in sorted(by_port.items()):
        for ls in distinct(gw, port, group, notes):
            if ls.protocol not in ROUTED_PROTOCOLS:
                notes.add(f"Gateway {gw.ref} listener {ls.name}: protocol {ls.protocol or '?'} "
                          "is not routed by this router; left out")
            else:
                kept.append(ls)
    return kept


def distinct(gw: Obj, port: int, group: list[ListenerSpec], notes: set[str]) -> list[ListenerSpec]:
    """The listeners of ``group`` (those of one port) that are distinct: two protocols on the
    port (but HTTPS beside TLS) conflict all, two listeners with one protocol and hostname
    conflict both (Conflicted=True; a note says so)."""
    protocols = {ls.protocol for ls in group}
    if len(protocols) > 1 and protocols != {"HTTPS", "TLS"}:
        for ls in group:
            notes.add(f"Gateway {gw.ref} listener {ls.name}: ProtocolConflict on port {port}; "
                      "left out")
        return []
    seen: dict[tuple[str, str | None], int] = {}
    for ls in group:
        seen[(ls.protocol, ls.hostname)] = seen.get((ls.protocol, ls.hostname), 0) + 1
    kept: list[ListenerSpec] = []
    for ls in group:
        if seen[(ls.protocol, ls.hostname)] > 1:
            notes.add(f"Gateway {gw.ref} listener {ls.name}: HostnameConflict on port {port}; "
                      "left out")
        else:
            kept.append(ls)
    return kept


def _check_tls(
    gw: Obj, raw: Mapping[str, Any], where: str, inv: Inventory, notes: list[str]
) -> str | None:
    tls = map_of(gw, raw.get("tls"), f"{where}.tls")
    mode = tls.get("mode") or "Terminate"
    if mode != "Terminate":
        return f"HTTPS listener with TLS mode {mode} (must be Terminate)"
    return listener_certificate(gw, "HTTPS", tls, where, inv, notes)[1]


def listener_certificate(
    gw: Obj, protocol: str, tls: Mapping[str, Any], where: str, inv: Inventory, notes: list[str]
) -> tuple[str | None, str | None]:
    """``(Secret "ns/name", None)`` a terminating listener presents (its first usable
    certificateRef), or ``(None, problem)``."""
    refs = maps_of(gw, tls.get("certificateRefs"), f"{where}.tls.certificateRefs")
    if not refs:
        return None, f"InvalidCertificateRef: {protocol} listener without certificateRefs"
    problems: list[str] = []
    for ref in refs:
        group, kind = str(ref.get("group") or ""), str(ref.get("kind") or "Secret")
        name = str(ref.get("name") or "")
        ns = str(ref.get("namespace") or gw.namespace)
        if (group, kind) != ("", "Secret"):
            problems.append(f"InvalidCertificateRef: {kind} {ns}/{name} is not a Secret")
            continue
        if ns != gw.namespace and not inv.granted(
            GATEWAY_GROUP, gw.kind, gw.namespace, "", "Secret", ns, name
        ):
            problems.append(f"RefNotPermitted: Secret {ns}/{name} (no ReferenceGrant)")
            continue
        exists, note = inv.resolve("", "Secret", ns, name)
        if not exists:
            problems.append(f"InvalidCertificateRef: Secret {ns}/{name} not found")
            continue
        if note:
            notes.append(note)
        return f"{ns}/{name}", None
    return None, "; ".join(problems)


def attach(
    o: Obj, ls: ListenerSpec, hostnames: list[str], inv: Inventory
) -> tuple[list[str | None], list[str]] | None:
    """Effective hostnames and assumption notes, or None when the route does not attach."""
    notes = admits(o.kind, o.namespace, ls, inv)
    if notes is None:
        return None
    effective = effective_hostnames(ls.hostname, hostnames)
    return (effective, notes) if effective else None


def admits(kind: str, namespace: str, ls: ListenerSpec, inv: Inventory) -> list[str] | None:
    """The assumption notes of attaching a route of ``kind`` in ``namespace`` to ``ls`` (its
    ``allowedRoutes``), or None when the listener does not take such a route. The same for
    every route of a kind and namespace: a caller attaching many may keep it."""
    if kind not in ls.kinds:
        return None
    notes: list[str] = []
    if ls.allowed_from == "Same":
        if namespace != ls.gateway.namespace:
            return None
    elif ls.allowed_from == "Selector":
        labels, note = inv.namespace_labels(namespace)
        if labels is None:
            notes.append(note or "")
        elif not _label_selector_matches(ls.selector, labels):
            return None
    elif ls.allowed_from != "All":
        return None
    return notes


def effective_hostnames(listener: str | None, hostnames: list[str]) -> list[str | None]:
    """The hostnames a route with ``hostnames`` gets on a listener with hostname ``listener``
    (their intersections, each once, in order; none: the route does not attach)."""
    if not hostnames:
        return [listener]
    if len(hostnames) == 1 and hostnames[0] == listener:  # (a listener of the route's one host: most)
        return [listener]
    effective: list[str | None] = []
    for h in hostnames:
        ok, eff = intersect(listener, h)
        if ok and eff not in effective:
            effective.append(eff)
    return effective


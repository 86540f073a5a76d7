"""Listener nodes, and the Gateways (and ListenerSets) that hold them.

Listeners come from two places, and are emitted the same way:

* explicit :class:`~ing2gw.ir.Listener` nodes, from sources with their own ports and entry
  points (checked against the Gateway CRD's listener rules; an invalid or conflicting one is
  dropped with an error note);
* the Ingress shorthand, derived here into the same nodes: every Gateway that section-based
  routes, certificates or passthrough hostnames use gets an ``http`` listener on port 80,
  one HTTPS listener on 443 per certificate (Terminate; :mod:`.certificates` decides: one
  per hostname, or one ``*.D`` listener for the hosts a wildcard Secret serves) and one TLS
  listener on 443 per passthrough hostname (Passthrough; such a hostname gets no HTTPS
  listener).

A Gateway is a (GatewayRef, namespace) scope: ``--topology shared`` puts every Gateway in
``--gateway-namespace``, ``per-namespace`` in its routes' namespace; ``listenersets`` keeps
the shared Gateway's ``http`` listener and moves each namespace's HTTPS and TLS listeners
into a ListenerSet in that namespace (one address, no ReferenceGrants for Secrets). ``allowedRoutes`` admits
exactly the namespaces whose routes attach: to the Gateway for the shorthand's listeners, to
the listener itself for explicit ones. More than 64 listeners are spread over several
Gateways or ListenerSets (:mod:`.limits`). Routes find their listeners here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from ..gateways import Existing
from ..ir import IR, Certificate, CertificateRef, GatewayRef, Listener, ListenerParent, Route
from ..names import host_slug, slug, unique_names
from ..notes import Level, Note, Notes
from .certificates import certificate_listeners, wildcard_note
from .existing import Need, attach_existing
from .limits import MAX_LISTENERS, chunk_listeners
from .objects import GROUP, Manifest, meta, obj

__all__ = ["Holder", "Listeners", "Slot", "certificate_names"]

Scope = tuple[GatewayRef, str]  # (Gateway, its namespace)
_HTTP = "http:"  # the key of the implicit http listener (no hostname has a colon)

# The listener protocols each route kind attaches to.
ATTACHES: dict[str, frozenset[str]] = {
    "HTTPRoute": frozenset({"HTTP", "HTTPS"}),
    "GRPCRoute": frozenset({"HTTP", "HTTPS"}),
    "TLSRoute": frozenset({"TLS"}),
    "TCPRoute": frozenset({"TCP"}),
    "UDPRoute": frozenset({"UDP"}),
}


@dataclass(frozen=True, slots=True)
class Slot:
    """A listener as emitted: its node, its section name, and what its certificates came from."""

    node: Listener
    section: str
    sources: frozenset[str] = frozenset()
    explicit: bool = False  # from an IR Listener node (not the Ingress shorthand)
    existing: bool = False  # a listener the existing Gateway (or its ListenerSet) already has


@dataclass(slots=True)
class Holder:
    """One Gateway (or a Gateway's ListenerSet) being assembled."""

    ref: GatewayRef
    namespace: str
    name: str
    kind: Literal["Gateway", "ListenerSet"] = "Gateway"
    parent: str | None = None  # ListenerSet: its Gateway's name
    parent_namespace: str | None = None  # ListenerSet: its Gateway's namespace, when not its own
    existing: bool = False  # already in the cluster: routes attach, nothing is emitted
    slots: list[Slot] = field(default_factory=list)
    route_namespaces: set[str] = field(default_factory=set)


def certificate_names(host: str) -> list[str]:
    """Certificate hostnames that serve ``host``: itself, then its one-label wildcard."""
    if "." in host and not host.startswith("*."):
        return [host, "*." + host.split(".", 1)[1]]
    return [host]


def _invalid(node: Listener) -> str | None:
    """Why the Gateway CRD would reject this listener, or None."""
    if not 1 <= node.port <= 65535:
        return f"port {node.port} is out of range"
    if node.protocol in ("TCP", "UDP") and node.hostname:
        return f"a hostname on a {node.protocol} listener"
    if node.protocol in ("HTTP", "TCP", "UDP") and (node.tls_mode or node.certificates):
        return f"TLS settings on a {node.protocol} listener"
    if node.protocol == "HTTPS" and node.tls_mode == "Passthrough":
        return "an HTTPS listener in Passthrough mode (use protocol TLS)"
    if node.protocol == "TLS" and node.tls_mode is None:
        return "a TLS listener without a TLS mode"
    if node.protocol in ("HTTPS", "TLS") and node.tls_mode != "Passthrough" and not node.certificates:
        return "a terminating listener without certificates"
    return None


def _listener_manifest(slot: Slot, holder: Holder, allowed: dict[str, Any]) -> dict[str, Any]:
    node = slot.node
    item: dict[str, Any] = {"name": slot.section}
    if node.hostname:
        item["hostname"] = node.hostname
    item.update(port=node.port, protocol=node.protocol)
    mode = node.tls_mode or ("Terminate" if node.protocol == "HTTPS" else None)
    if mode is not None:
        tls: dict[str, Any] = {"mode": mode}
        if node.certificates and mode == "Terminate":
            refs = []
            for c in node.certificates:
                ref: dict[str, Any] = {"group": c.group, "kind": c.kind, "name": c.name}
                if c.namespace != holder.namespace:
                    ref["namespace"] = c.namespace
                refs.append(ref)
            tls["certificateRefs"] = refs
        item["tls"] = tls
    item["allowedRoutes"] = allowed
    return item


def _allowed_routes(namespace: str, route_namespaces: Iterable[str]) -> dict[str, Any]:
    namespaces = sorted(route_namespaces)
    if not namespaces or namespaces == [namespace]:
        return {"namespaces": {"from": "Same"}}
    return {
        "namespaces": {
            "from": "Selector",
            "selector": {
                "matchExpressions": [
                    {"key": "kubernetes.io/metadata.name", "operator": "In", "values": namespaces}
                ]
            },
        }
    }


class Listeners:
    """The Gateways of one emission, and how routes find their listeners."""

    def __init__(self, ir: IR, topology: str, gateway_namespace: str, listener_sets: bool, notes: Notes,
                 existing: Existing | None = None) -> None:
        self.ir = ir
        self.existing = existing
        self.topology = topology
        self.gateway_ns = gateway_namespace
        self.listener_sets = listener_sets
        self.notes = notes
        self.holders: dict[Scope, list[Holder]] = {}
        # (ref, gateway namespace, listener key) -> its holder and slot; keys: "http:", a
        # certificate hostname, "tls:" + a passthrough hostname, "listener:" + an explicit name
        # (with existing Gateways, one per Gateway)
        self._slots: dict[tuple[GatewayRef, str, str], list[tuple[Holder, Slot]]] = {}
        self._shorthand: set[Scope] = set()
        self._sources: dict[tuple[Scope, str], frozenset[str]] = {}  # certificate listeners' sources
        self._homes: dict[tuple[Scope, str], str] = {}  # passthrough hostname -> its route's namespace
        self._set_sources: dict[Scope, set[str]] = {}  # ListenerSets added to existing Gateways
        # explicit listeners admit the namespaces of the routes attached to them:
        # (holder name, holder namespace, section) -> namespaces
        self._admits: dict[tuple[str, str, str], set[str]] = {}
        self._build()

    # --- lookups ----------------------------------------------------------------------------

    def namespace_for(self, route_namespace: str) -> str:
        """The namespace of the Gateway serving routes of ``route_namespace``."""
        return route_namespace if self.topology == "per-namespace" else self.gateway_ns

    def scope(self, ref: GatewayRef, route_namespace: str) -> Scope:
        return (ref, self.namespace_for(route_namespace))

    def section_parents(self, route: Route) -> list[tuple[Holder, str]]:
        """The listeners ``route.sections`` names: ``http``, and the HTTPS listener serving
        each hostname (its own certificate, else its one-label wildcard's)."""
        assert route.gateway is not None
        gw_ns = self.namespace_for(route.namespace)
        out: list[tuple[Holder, str]] = []
        if "http" in route.sections:
            out += [(h, slot.section) for h, slot in self._slots.get((route.gateway, gw_ns, _HTTP), ())]
        if "https" in route.sections:
            for host in route.hostnames:
                for candidate in certificate_names(host):
                    found = self._slots.get((route.gateway, gw_ns, candidate))
                    if found is not None:
                        out += [(h, slot.section) for h, slot in found]
                        break
        return out

    def passthrough_parents(self, ref: GatewayRef, namespace: str, hostname: str) -> list[tuple[Holder, str]]:
        return [(h, slot.section) for h, slot in self._slots[(ref, self.namespace_for(namespace), "tls:" + hostname)]]

    def find(self, parent: ListenerParent, route_namespace: str) -> list[tuple[Holder, Slot]]:
        """The explicit listeners a route's :class:`ListenerParent` names (none if not emitted)."""
        return self._slots.get((parent.gateway, self.namespace_for(route_namespace), "listener:" + parent.listener), [])

    def classes(self) -> list[str]:
        if self.existing is not None:  # the platform's Gateways have their classes
            return []
        return sorted({ref.gateway_class for ref, _ in self.holders})

    # --- building -------------------------------------------------------------------------

    def _build(self) -> None:
        ir = self.ir
        scopes: dict[Scope, set[str]] = {}  # -> namespaces of the routes attached (shorthand)
        implicit: set[Scope] = set()  # scopes that get the Ingress shorthand's listeners
        attached: dict[Scope, set[str]] = {}  # -> namespaces of the routes with sections
        for route in ir.routes:
            if route.gateway is not None and route.sections:
                scope = self.scope(route.gateway, route.namespace)
                scopes.setdefault(scope, set()).add(route.namespace)
                attached.setdefault(scope, set()).add(route.namespace)
                implicit.add(scope)
        passthrough: dict[Scope, dict[str, str]] = {}  # hostname -> route namespace
        for pt in ir.passthrough:
            scope = self.scope(pt.gateway, pt.namespace)
            scopes.setdefault(scope, set()).add(pt.namespace)
            implicit.add(scope)
            passthrough.setdefault(scope, {}).setdefault(pt.hostname, pt.namespace)
            self._homes.setdefault((scope, pt.hostname), pt.namespace)
        certs: dict[Scope, dict[str, Certificate]] = {}
        for cert in ir.certificates:
            if self.topology != "per-namespace":
                ns_list = [ns for (ref, ns) in scopes if ref == cert.gateway]
            else:
                ns_list = [cert.secret_namespace]
            for ns in ns_list or [self.namespace_for(cert.secret_namespace)]:
                scope = (cert.gateway, ns)
                scopes.setdefault(scope, set())
                implicit.add(scope)
                certs.setdefault(scope, {}).setdefault(cert.hostname, cert)
        # An explicit listener goes to the Gateways of the routes attached to it (one per route
        # namespace with --topology per-namespace), else to its source's.
        users: dict[tuple[GatewayRef, str], set[str]] = {}
        for route in ir.routes:
            for p in route.parents:
                if isinstance(p, ListenerParent):
                    users.setdefault((p.gateway, p.listener), set()).add(self.namespace_for(route.namespace))
        explicit: dict[Scope, list[Listener]] = {}
        for node in ir.listeners:
            home = node.source.namespace if node.source is not None else "default"
            for ns in sorted(users.get((node.gateway, node.name), set())) or [self.namespace_for(home)]:
                scopes.setdefault((node.gateway, ns), set())
                explicit.setdefault((node.gateway, ns), []).append(node)
        self._shorthand = implicit
        gathered: list[tuple[Scope, list[tuple[Listener, str]]]] = []
        for scope in sorted(scopes):
            pass_hosts = sorted(passthrough.get(scope, {}))
            # A passthrough hostname cannot also have a terminating HTTPS listener on 443.
            scope_certs = [c for h, c in sorted(certs.get(scope, {}).items()) if h not in pass_hosts]
            nodes = self._implicit(scope, scope_certs, pass_hosts) if scope in implicit else []
            nodes += self._explicit(scope, explicit.get(scope, []), [n for n, _ in nodes])
            if nodes and self.existing is not None:
                gathered.append((scope, nodes))
            elif nodes:  # every explicit listener of this Gateway was invalid: no Gateway at all
                self._hold(scope, nodes)
        if self.existing is not None:
            self._hold_existing(self.existing, gathered)
            self._admit_route_namespaces(ir)
            return
        sets = self.topology == "listenersets"
        if sets:  # exactly the holders each route attaches to
            for route in ir.routes:
                if route.gateway is not None and route.sections:
                    holders = self.holders[self.scope(route.gateway, route.namespace)]
                    for h in [holders[0]] * ("http" in route.sections) + [h for h, _ in self.section_parents(route)]:
                        h.route_namespaces.add(route.namespace)
        else:  # every holder of the route's scope: once per scope, not per route and holder
            for scope, namespaces in attached.items():
                for h in self.holders[scope]:
                    h.route_namespaces |= namespaces
        self._admit_route_namespaces(ir)
        for pt in ir.passthrough:
            if sets:
                for h, _ in self.passthrough_parents(pt.gateway, pt.namespace, pt.hostname):
                    h.route_namespaces.add(pt.namespace)
                continue
            for h in self.holders[self.scope(pt.gateway, pt.namespace)]:
                h.route_namespaces.add(pt.namespace)

    def _admit_route_namespaces(self, ir: IR) -> None:
        """Each explicit listener admits the namespaces of the routes that name it (its
        ``allowedRoutes``), on new Gateways and on the ListenerSets beside existing ones."""
        for route in ir.routes:
            for p in route.parents:
                for h, slot in self.find(p, route.namespace) if isinstance(p, ListenerParent) else ():
                    self._admits.setdefault((h.name, h.namespace, slot.section), set()).add(route.namespace)

    def _implicit(self, scope: Scope, certs: list[Certificate], pass_hosts: list[str]) -> list[tuple[Listener, str]]:
        """The Ingress shorthand's listener nodes, with their keys."""
        ref = scope[0]
        out: list[tuple[Listener, str]] = [(Listener(ref, "http", 80, "HTTP"), _HTTP)]
        for cl in certificate_listeners(certs):
            c = cl.certificate
            out.append((Listener(ref, cl.hostname, 443, "HTTPS", cl.hostname, "Terminate",
                                 (CertificateRef(c.secret_namespace, c.secret_name),), c.source), cl.hostname))
            self._sources[(scope, cl.hostname)] = cl.sources
            if cl.inferred:
                self.notes.add(wildcard_note(cl, f"{scope[1]}/{slug(scope[0].key) or 'gateway'}"))
        for h in pass_hosts:
            out.append((Listener(ref, "tls:" + h, 443, "TLS", h, "Passthrough"), "tls:" + h))
        return out

    def _explicit(self, scope: Scope, nodes: list[Listener], taken: Iterable[Listener]) -> list[tuple[Listener, str]]:
        """Explicit listener nodes that the Gateway CRD accepts next to those already there."""
        seen = {(n.port, n.protocol, n.hostname) for n in taken}
        names: set[str] = set()
        out: list[tuple[Listener, str]] = []
        for node in sorted(nodes, key=lambda n: (n.port, n.protocol, n.hostname, n.name)):
            subject = node.source.subject if node.source is not None else f"Gateway {scope[1]}/{scope[0].key}"
            why = _invalid(node)
            if why is None and node.name in names:
                why = f"a second listener named {node.name!r}"
            if why is None and (node.port, node.protocol, node.hostname) in seen:
                why = (f"port {node.port} {node.protocol} hostname {node.hostname or '*'} is already a listener "
                       "of this Gateway")
            if why is not None:
                self.notes.add(Note("EMIT-INVALID-LISTENER", Level.ERROR,
                                    f"listener {node.name!r}: {why} (the API server would reject it)",
                                    subject=subject, instead="listener dropped; routes attached to it are not"))
                continue
            names.add(node.name)
            seen.add((node.port, node.protocol, node.hostname))
            out.append((node, "listener:" + node.name))
        return out

    @staticmethod
    def _section_names(nodes: Iterable[tuple[Listener, str]]) -> dict[str, str]:
        """Listener key -> a unique section name."""
        wanted: list[tuple[str, str]] = []
        for node, key in nodes:
            if key == _HTTP:
                wanted.append((key, "http"))
            elif key.startswith("tls:"):
                wanted.append((key, "tls-" + (host_slug(node.hostname) or "default")))
            elif key.startswith("listener:"):
                wanted.append((key, slug(node.name) or "listener"))
            else:
                wanted.append((key, "https-" + (host_slug(node.hostname) or "default")))
        return unique_names(wanted)

    def _hold(self, scope: Scope, nodes: list[tuple[Listener, str]]) -> None:
        ref, ns = scope
        names = self._section_names(nodes)
        slots = [Slot(node, names[key], self._sources.get((scope, key)) or (
            frozenset({node.source.subject}) if node.source and node.certificates else frozenset()),
            key.startswith("listener:")) for node, key in nodes]
        by_section = {names[key]: key for _, key in nodes}
        base = slug(ref.key) or "gateway"
        chunks = chunk_listeners(slots, self.listener_sets, lambda s: s.node.certificates or s.section)
        holders: list[Holder] = []
        if self.topology == "listenersets" and scope in self._shorthand:
            holders = self._per_namespace_sets(scope, base, slots)
        elif len(chunks) > 1 and self.listener_sets:
            holders.append(Holder(ref, ns, base, slots=chunks[0]))
            for i, chunk in enumerate(chunks[1:]):
                holders.append(Holder(ref, ns, f"{base}-listeners-{i + 1}", kind="ListenerSet", parent=base,
                                      slots=chunk))
            self.notes.add(Note("EMIT-LISTENERSETS", Level.INFO,
                                f"{len(slots)} listeners exceed the Gateway limit of {MAX_LISTENERS}; "
                                f"HTTPS listeners moved to {len(holders) - 1} ListenerSets",
                                subject=f"Gateway {ns}/{base}"))
        else:
            holders = [Holder(ref, ns, base if i == 0 else f"{base}-{i + 1}", slots=chunk)
                       for i, chunk in enumerate(chunks)]
            if len(chunks) > 1:
                self.notes.add(Note("EMIT-GATEWAY-SPLIT", Level.WARNING,
                                    f"{len(slots)} listeners exceed the Gateway limit of {MAX_LISTENERS}; "
                                    f"split into {len(holders)} Gateways (each may get its own address)",
                                    subject=f"Gateway {ns}/{base}",
                                    instead="use --listener-sets or --topology listenersets to keep one address"))
        for h in holders:
            for slot in h.slots:
                self._slots.setdefault((ref, ns, by_section[slot.section]), [(h, slot)])
        self.holders[scope] = holders

    def _per_namespace_sets(self, scope: Scope, base: str, slots: list[Slot]) -> list[Holder]:
        """``--topology listenersets``: the Gateway keeps the ``http`` listener (and explicit
        ones); each namespace's HTTPS and TLS listeners go to a ListenerSet in that namespace
        (beside its Secrets: no ReferenceGrant), split at 64 listeners, packed by certificate."""
        ref, ns = scope
        own: list[Slot] = []
        per_ns: dict[str, list[Slot]] = {}
        for slot in slots:
            home = self._homes.get((scope, slot.node.hostname)) if slot.node.protocol == "TLS" else None
            if slot.node.protocol == "HTTPS" and not slot.explicit and slot.node.certificates:
                home = slot.node.certificates[0].namespace
            if home is None or slot.explicit:
                own.append(slot)
            else:
                per_ns.setdefault(home, []).append(slot)
        holders = [Holder(ref, ns, base, slots=own)]
        for set_ns, members in sorted(per_ns.items()):
            chunks = chunk_listeners([members[0], *members], True, lambda s: s.node.certificates or s.section)
            parts = chunks[1:] if len(chunks) > 1 else [members]
            for i, part in enumerate(parts):
                holders.append(Holder(ref, set_ns, base if i == 0 else f"{base}-{i + 1}", kind="ListenerSet",
                                      parent=base, parent_namespace=ns, slots=part))
        return holders

    def _hold_existing(self, existing: Existing, gathered: list[tuple[Scope, list[tuple[Listener, str]]]]) -> None:
        """Every listener the routes need, placed on the existing Gateways (:mod:`.existing`)."""
        merged: dict[str, Listener] = {}
        for _, nodes in gathered:
            for node, key in nodes:
                merged.setdefault(key, node)
        names = self._section_names((node, key) for key, node in merged.items())
        needs = {key: Need(node, key, names[key], sources=next(
            (self._sources[(s, key)] for s, _ in gathered if (s, key) in self._sources), frozenset()))
            for key, node in merged.items()}

        def use(key: str | None, namespace: str, kind: str, hosts: Iterable[str]) -> None:
            if key is not None and key in needs:
                needs[key].namespaces.add(namespace)
                needs[key].kinds.add(kind)
                needs[key].hosts.setdefault(namespace, set()).update(hosts)

        for route in self.ir.routes:
            if route.gateway is not None and "http" in route.sections:
                use(_HTTP, route.namespace, route.kind, route.hostnames)
            if route.gateway is not None and "https" in route.sections:
                for host in route.hostnames:
                    use(next((c for c in certificate_names(host) if c in needs), None), route.namespace, route.kind,
                        [host])
            for p in route.parents:
                if isinstance(p, ListenerParent):
                    use("listener:" + p.listener, route.namespace, route.kind, route.hostnames)
        for pt in self.ir.passthrough:
            use("tls:" + pt.hostname, pt.namespace, "TLSRoute", [pt.hostname])
        classes = {f"IngressClass {s[0].key}" for s, _ in gathered}
        holders: dict[tuple[str, str, str], Holder] = {}
        for pl in attach_existing(existing, list(needs.values()), self.notes):
            gw = pl.gateway
            ref = GatewayRef(gw.name, gw.gateway_class)
            h = holders.get((pl.kind, pl.namespace, pl.name))
            if h is None:
                h = holders[(pl.kind, pl.namespace, pl.name)] = Holder(
                    ref, pl.namespace, pl.name, kind=pl.kind,  # type: ignore[arg-type]
                    parent=gw.name if pl.kind == "ListenerSet" else None, parent_namespace=gw.namespace,
                    existing=not pl.emitted)
                self.holders.setdefault((ref, gw.namespace), []).append(h)
                self._set_sources[(ref, gw.namespace)] = classes
            slot = Slot(pl.need.node, pl.section, pl.need.sources, pl.need.key.startswith("listener:"), pl.present)
            h.slots.append(slot)
            h.route_namespaces |= pl.need.namespaces
            for scope, _ in gathered:
                self._slots.setdefault((scope[0], scope[1], pl.need.key), []).append((h, slot))

    # --- output ---------------------------------------------------------------------------

    def manifests(self) -> list[Manifest]:
        out: list[Manifest] = []
        for (ref, ns), holders in sorted(self.holders.items()):
            # Named after the ingress class for the Ingress shorthand, else after the sources
            # of its explicit listeners.
            sources = {f"IngressClass {ref.key}"} if (ref, ns) in self._shorthand else self._set_sources.get(
                (ref, ns)) or {s.node.source.subject for h in holders for s in h.slots if s.node.source is not None}
            for h in holders:
                if h.existing:
                    continue
                allowed = _allowed_routes(h.namespace, h.route_namespaces)
                listeners = [_listener_manifest(s, h, _allowed_routes(h.namespace, self._admits.get(
                    (h.name, h.namespace, s.section), set())) if s.explicit else allowed) for s in h.slots]
                if h.kind == "ListenerSet":
                    parent = {"group": GROUP, "kind": "Gateway", "name": h.parent}
                    if h.parent_namespace and h.parent_namespace != h.namespace:
                        parent["namespace"] = h.parent_namespace
                    spec: dict[str, Any] = {"parentRef": parent, "listeners": listeners}
                    out.append(obj("ListenerSet", meta(h.name, h.namespace, sources), spec))
                    continue
                spec = {"gatewayClassName": ref.gateway_class, "listeners": listeners}
                set_namespaces = {x.namespace for x in holders if x.kind == "ListenerSet"}
                if set_namespaces:
                    spec["allowedListeners"] = _allowed_routes(h.namespace, set_namespaces)
                out.append(obj("Gateway", meta(h.name, h.namespace, sources), spec))
        return out

    def gateway_classes(self, controller: str | None) -> list[Manifest]:
        """GatewayClasses when a controller name is given; otherwise a note per class."""
        classes = self.classes()
        if controller:
            return [obj("GatewayClass", meta(c, None, ()), {"controllerName": controller}) for c in classes]
        for c in classes:
            self.notes.add(Note("EMIT-GATEWAYCLASS-EXPECTED", Level.INFO,
                                f"the Gateways expect a GatewayClass named {c!r}, which is not emitted",
                                subject=f"GatewayClass {c}",
                                instead="pass --gateway-controller to emit it, "
                                        "or --gateway-class to use an existing one"))
        return []

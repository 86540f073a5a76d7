"""IR -> Gateway API manifests, role by role, within the Gateway API's limits.

* GatewayClass (infrastructure provider) -- only when a controller name is given.
* Gateways (cluster operator): an ``http`` listener on port 80 and one HTTPS listener on
  443 per certificate hostname; ``allowedRoutes`` admits exactly the namespaces that have
  routes. More than 64 listeners split into several Gateways, or into ListenerSets.
* ReferenceGrants for TLS Secrets in other namespaces than their Gateway.
* HTTPRoutes/GRPCRoutes (application developers), in their own namespaces; at most 16
  rules, 64 matches per rule and 128 per route -- larger ones are split.
* BackendTLSPolicies.

Output is ordered by kind rank, then namespace and name, and contains no map-iteration
order: the same IR always gives the same manifests. Every object carries the
``ing2gw.io/source`` annotation naming what it was made from.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from ..ir import (
    CORS,
    IR,
    BackendRef,
    BackendTLS,
    Certificate,
    Filter,
    GatewayRef,
    HeaderModifier,
    PathModifier,
    RequestMirror,
    RequestRedirect,
    Route,
    RouteMatch,
    Rule,
    URLRewrite,
)
from ..names import host_slug, short_hash, slug, unique_names
from ..notes import Level, Note, Notes

__all__ = ["EmitOptions", "KIND_ORDER", "emit"]

GROUP = "gateway.networking.k8s.io"
API = f"{GROUP}/v1"
SOURCE_ANNOTATION = "ing2gw.io/source"
MAX_RULES = 16
MAX_MATCHES_PER_RULE = 64
MAX_MATCHES_PER_ROUTE = 128
MAX_LISTENERS = 64
MAX_GRANT_ITEMS = 16

KIND_ORDER = {
    "GatewayClass": 0,
    "Gateway": 1,
    "ListenerSet": 2,
    "ReferenceGrant": 3,
    "HTTPRoute": 4,
    "GRPCRoute": 5,
    "TLSRoute": 6,
    "BackendTLSPolicy": 7,
}

Manifest = dict[str, Any]


@dataclass(frozen=True, slots=True)
class EmitOptions:
    topology: Literal["shared", "per-namespace"] = "shared"
    gateway_namespace: str = "gateway-system"
    gateway_controller: str | None = None
    listener_sets: bool = False


@dataclass(slots=True)
class _Listener:
    name: str
    hostname: str
    certificate: Certificate | None  # None = the plain HTTP listener (or a passthrough one)
    passthrough: bool = False  # a TLS listener in Passthrough mode


@dataclass(slots=True)
class _Gateway:
    """One Gateway (or a Gateway's ListenerSet) being assembled."""

    ref: GatewayRef
    namespace: str
    name: str
    kind: Literal["Gateway", "ListenerSet"] = "Gateway"
    parent: str | None = None  # ListenerSet: its Gateway's name
    listeners: list[_Listener] = field(default_factory=list)
    route_namespaces: set[str] = field(default_factory=set)


def _meta(name: str, namespace: str | None, sources: Iterable[str]) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    src = sorted(set(sources))
    if src:
        meta["annotations"] = {SOURCE_ANNOTATION: ", ".join(src)}
    return meta


def _obj(kind: str, meta: dict[str, Any], spec: dict[str, Any], api: str = API) -> Manifest:
    return {"apiVersion": api, "kind": kind, "metadata": meta, "spec": spec}


def _listener_name(hostname: str) -> str:
    return "https-" + (host_slug(hostname) or "default")


def _allowed_routes(gw: _Gateway) -> dict[str, Any]:
    namespaces = sorted(gw.route_namespaces)
    if not namespaces or namespaces == [gw.namespace]:
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


class _Emitter:
    def __init__(self, ir: IR, options: EmitOptions, notes: Notes) -> None:
        self.ir = ir
        self.opt = options
        self.notes = notes
        # (GatewayRef, route namespace) -> gateways serving it; the first holds the http listener
        self.gateways: dict[tuple[GatewayRef, str], list[_Gateway]] = {}
        self.https: dict[tuple[GatewayRef, str, str], _Gateway] = {}  # (ref, ns, hostname) -> holder
        self.listener_names: dict[tuple[GatewayRef, str, str], str] = {}
        self.passthrough: dict[tuple[GatewayRef, str, str], tuple[_Gateway, str]] = {}  # -> holder, listener

    # --- gateways -------------------------------------------------------------------------

    def _gateway_ns(self, route_ns: str) -> str:
        return self.opt.gateway_namespace if self.opt.topology == "shared" else route_ns

    def _scope(self, ref: GatewayRef, route_ns: str) -> tuple[GatewayRef, str]:
        return (ref, self._gateway_ns(route_ns))

    def build_gateways(self) -> None:
        scopes: dict[tuple[GatewayRef, str], set[str]] = {}
        for route in self.ir.routes:
            scopes.setdefault(self._scope(route.gateway, route.namespace), set()).add(route.namespace)
        passthrough_by_scope: dict[tuple[GatewayRef, str], dict[str, str]] = {}  # hostname -> route namespace
        for pt in self.ir.passthrough:
            scope = self._scope(pt.gateway, pt.namespace)
            scopes.setdefault(scope, set()).add(pt.namespace)
            passthrough_by_scope.setdefault(scope, {}).setdefault(pt.hostname, pt.namespace)
        certs_by_scope: dict[tuple[GatewayRef, str], dict[str, Certificate]] = {}
        for cert in self.ir.certificates:
            if self.opt.topology == "shared":
                ns_list = [ns for (ref, ns) in scopes if ref == cert.gateway]
            else:
                ns_list = [cert.secret_namespace]
            for ns in ns_list or [self._gateway_ns(cert.secret_namespace)]:
                scope = (cert.gateway, ns)
                scopes.setdefault(scope, set())
                certs_by_scope.setdefault(scope, {}).setdefault(cert.hostname, cert)
        for scope in sorted(scopes):
            ref, ns = scope
            passthrough = sorted(passthrough_by_scope.get(scope, {}))
            # A passthrough hostname cannot also have a terminating HTTPS listener on 443.
            certs = [c for h, c in sorted(certs_by_scope.get(scope, {}).items()) if h not in passthrough]
            names = unique_names([(c.hostname, _listener_name(c.hostname)) for c in certs]
                                 + [("tls:" + h, "tls-" + (host_slug(h) or "default")) for h in passthrough])
            for c in certs:
                self.listener_names[(ref, ns, c.hostname)] = names[c.hostname]
            listeners = ([_Listener("http", "", None)]
                         + [_Listener(names[c.hostname], c.hostname, c) for c in certs]
                         + [_Listener(names["tls:" + h], h, None, passthrough=True) for h in passthrough])
            base = slug(ref.key) or "gateway"
            holders: list[_Gateway] = []
            if len(listeners) <= MAX_LISTENERS:
                holders.append(_Gateway(ref, ns, base, listeners=listeners))
            elif self.opt.listener_sets:
                holders.append(_Gateway(ref, ns, base, listeners=listeners[:1]))
                rest = listeners[1:]
                for i in range(0, len(rest), MAX_LISTENERS):
                    holders.append(_Gateway(ref, ns, f"{base}-listeners-{i // MAX_LISTENERS + 1}",
                                            kind="ListenerSet", parent=base, listeners=rest[i:i + MAX_LISTENERS]))
                self.notes.add(Note("EMIT-LISTENERSETS", Level.INFO,
                                    f"{len(listeners)} listeners exceed the Gateway limit of {MAX_LISTENERS}; "
                                    f"HTTPS listeners moved to {len(holders) - 1} ListenerSets",
                                    subject=f"Gateway {ns}/{base}"))
            else:
                chunk = MAX_LISTENERS - 1
                rest = listeners[1:]
                for i in range(0, len(rest), chunk):
                    name = base if i == 0 else f"{base}-{i // chunk + 1}"
                    holders.append(_Gateway(ref, ns, name, listeners=[listeners[0]] + rest[i:i + chunk]))
                self.notes.add(Note("EMIT-GATEWAY-SPLIT", Level.WARNING,
                                    f"{len(listeners)} listeners exceed the Gateway limit of {MAX_LISTENERS}; "
                                    f"split into {len(holders)} Gateways (each may get its own address)",
                                    subject=f"Gateway {ns}/{base}",
                                    instead="use --listener-sets to keep one Gateway"))
            for h in holders:
                for lst in h.listeners:
                    if lst.certificate is not None:
                        self.https[(ref, ns, lst.hostname)] = h
                    if lst.passthrough:
                        self.passthrough[(ref, ns, lst.hostname)] = (h, lst.name)
            self.gateways[scope] = holders
        for ref_ns in [(r.gateway, r.namespace) for r in self.ir.routes] + [
                (p.gateway, p.namespace) for p in self.ir.passthrough]:
            for h in self.gateways[self._scope(*ref_ns)]:
                h.route_namespaces.add(ref_ns[1])

    def gateway_manifests(self) -> list[Manifest]:
        out: list[Manifest] = []
        for (ref, _), holders in sorted(self.gateways.items()):
            for h in holders:
                listeners = []
                for lst in h.listeners:
                    item: dict[str, Any] = {"name": lst.name}
                    if lst.hostname:
                        item["hostname"] = lst.hostname
                    if lst.passthrough:
                        item.update(port=443, protocol="TLS", tls={"mode": "Passthrough"})
                    elif lst.certificate is None:
                        item.update(port=80, protocol="HTTP")
                    else:
                        cert = lst.certificate
                        ref_obj: dict[str, Any] = {"group": "", "kind": "Secret", "name": cert.secret_name}
                        if cert.secret_namespace != h.namespace:
                            ref_obj["namespace"] = cert.secret_namespace
                        tls = {"mode": "Terminate", "certificateRefs": [ref_obj]}
                        item.update(port=443, protocol="HTTPS", tls=tls)
                    item["allowedRoutes"] = _allowed_routes(h)
                    listeners.append(item)
                sources = {f"IngressClass {ref.key}"}
                if h.kind == "ListenerSet":
                    parent = {"group": GROUP, "kind": "Gateway", "name": h.parent}
                    spec: dict[str, Any] = {"parentRef": parent, "listeners": listeners}
                    out.append(_obj("ListenerSet", _meta(h.name, h.namespace, sources), spec))
                    continue
                spec = {"gatewayClassName": ref.gateway_class, "listeners": listeners}
                if self.opt.listener_sets and len(holders) > 1:
                    spec["allowedListeners"] = {"namespaces": {"from": "Same"}}
                out.append(_obj("Gateway", _meta(h.name, h.namespace, sources), spec))
        return out

    def reference_grants(self) -> list[Manifest]:
        """Grants for every cross-namespace reference: Gateways (and ListenerSets) to TLS
        Secrets, routes to backend Services (backendRefs and mirrors)."""
        # (target namespace, from kind, from namespace, to kind) -> target name -> sources
        wanted: dict[tuple[str, str, str, str], dict[str, set[str]]] = {}
        key: tuple[str, str, str, str]
        for holders in self.gateways.values():
            for h in holders:
                for lst in h.listeners:
                    c = lst.certificate
                    if c is None or c.secret_namespace == h.namespace:
                        continue
                    key = (c.secret_namespace, h.kind, h.namespace, "Secret")
                    wanted.setdefault(key, {}).setdefault(c.secret_name, set()).add(c.source.subject)
        for route in self.ir.routes:
            sources = {s.subject for s in route.sources}
            for backend in _backend_refs(route):
                if backend.namespace == route.namespace or backend.kind != "Service" or backend.group:
                    continue
                key = (backend.namespace, route.kind, route.namespace, "Service")
                wanted.setdefault(key, {}).setdefault(backend.name, set()).update(sources)
        out: list[Manifest] = []
        for (target_ns, from_kind, from_ns, to_kind), targets in sorted(wanted.items()):
            names = sorted(targets)
            chunks = [names[i:i + MAX_GRANT_ITEMS] for i in range(0, len(names), MAX_GRANT_ITEMS)]
            suffix = "tls" if to_kind == "Secret" else "backends"
            for i, chunk in enumerate(chunks):
                base = f"{slug(from_kind)}-{from_ns}-{suffix}"
                name = base if i == 0 else f"{base}-{i + 1}"
                chunk_sources = set().union(*(targets[n] for n in chunk))
                spec = {
                    "from": [{"group": GROUP, "kind": from_kind, "namespace": from_ns}],
                    "to": [{"group": "", "kind": to_kind, "name": n} for n in chunk],
                }
                out.append(_obj("ReferenceGrant", _meta(name, target_ns, chunk_sources), spec))
        return out

    # --- routes ---------------------------------------------------------------------------

    def parent_refs(self, route: Route) -> list[dict[str, Any]]:
        gw_ns = self._gateway_ns(route.namespace)
        holders = self.gateways[(route.gateway, gw_ns)]
        refs: list[dict[str, Any]] = []

        def ref(h: _Gateway, section: str) -> dict[str, Any]:
            r: dict[str, Any] = {"group": GROUP, "kind": h.kind, "name": h.name}
            if h.namespace != route.namespace:
                r["namespace"] = h.namespace
            r["sectionName"] = section
            return r

        if "http" in route.sections:
            refs.append(ref(holders[0], "http"))
        if "https" in route.sections:
            for host in route.hostnames or ():
                for candidate in _certificate_names(host):
                    h = self.https.get((route.gateway, gw_ns, candidate))
                    if h is not None:
                        refs.append(ref(h, self.listener_names[(route.gateway, gw_ns, candidate)]))
                        break
        unique: dict[str, dict[str, Any]] = {}
        for r in refs:
            unique.setdefault(f"{r.get('namespace', '')}/{r['kind']}/{r['name']}/{r['sectionName']}", r)
        return [unique[k] for k in sorted(unique)]

    def route_manifests(self) -> list[Manifest]:
        pieces: list[tuple[Route, list[Rule]]] = []
        wanted: list[tuple[str, str]] = []
        keys: list[str] = []
        for route in self.ir.routes:
            identity = "/".join([route.kind, route.namespace, route.name, ",".join(route.hostnames),
                                 ",".join(s.ref for s in route.sources)])
            for i, chunk in enumerate(_split_rules(route.rules)):
                pieces.append((route, chunk))
                base = route.name if i == 0 else f"{route.name}-{i + 1}"
                wanted.append((f"{identity}#{i}", base))
                keys.append(f"{identity}#{i}")
            if len(route.rules) > MAX_RULES or any(len(r.matches) > MAX_MATCHES_PER_RULE for r in route.rules):
                self.notes.add(Note("EMIT-ROUTE-SPLIT", Level.INFO,
                                    f"{route.kind} {route.namespace}/{route.name} exceeds the Gateway API limits "
                                    f"({MAX_RULES} rules, {MAX_MATCHES_PER_RULE} matches per rule, "
                                    f"{MAX_MATCHES_PER_ROUTE} per route)",
                                    subject=route.sources[0].subject if route.sources else "",
                                    instead="split into several routes with the same parents and hostnames"))
        # Names are unique per (kind, namespace): colliding base names get a hash suffix.
        per_scope: dict[tuple[str, str], list[tuple[str, str]]] = {}
        for (route, _), pair in zip(pieces, wanted, strict=True):
            per_scope.setdefault((route.kind, route.namespace), []).append(pair)
        names: dict[str, str] = {}
        for pairs in per_scope.values():
            names.update(unique_names(pairs))
        out: list[Manifest] = []
        for (route, rules), key in zip(pieces, keys, strict=True):
            spec: dict[str, Any] = {"parentRefs": self.parent_refs(route)}
            if route.hostnames:
                spec["hostnames"] = list(route.hostnames)
            spec["rules"] = [self.rule(route, r) for r in rules]
            # the route's Ingress, and any other whose rules were merged in (canaries)
            sources = {s.subject for s in route.sources} | {p.subject for r in rules for p in r.provenance}
            out.append(_obj(route.kind, _meta(names[key], route.namespace, sources), spec))
        return out

    def rule(self, route: Route, rule: Rule) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if rule.name:
            out["name"] = rule.name
        matches = [_match(m, route.kind) for m in rule.matches]
        if matches and matches != [{}]:
            out["matches"] = matches
        filters, backends = self._legal(route, rule)
        if filters:
            out["filters"] = [_filter(f, route.namespace) for f in filters]
        if backends:
            out["backendRefs"] = [_backend(b, route.namespace) for b in backends]
        if rule.timeouts and route.kind == "HTTPRoute":
            t: dict[str, str] = {}
            if rule.timeouts.request:
                t["request"] = rule.timeouts.request
            if rule.timeouts.backend_request:
                t["backendRequest"] = rule.timeouts.backend_request
            if t:
                out["timeouts"] = t
        if rule.session_persistence:
            sp = rule.session_persistence
            s: dict[str, Any] = {"type": sp.type}
            if sp.session_name:
                s["sessionName"] = sp.session_name
            if sp.absolute_timeout:
                s["absoluteTimeout"] = sp.absolute_timeout
            if sp.idle_timeout:
                s["idleTimeout"] = sp.idle_timeout
            if sp.lifetime_type:
                s["cookieConfig"] = {"lifetimeType": sp.lifetime_type}
            out["sessionPersistence"] = s
        return out

    def _legal(self, route: Route, rule: Rule) -> tuple[list[Filter], tuple[BackendRef, ...]]:
        """Filters and backends, minus the combinations the CRDs' CEL rules reject.

        A provider never asks for these; if one does, the conflicting part is dropped with
        an error note instead of emitting an object the API server would refuse.
        """
        filters: list[Filter] = []
        seen: set[str] = set()
        subject = rule.provenance[0].subject if rule.provenance else f"{route.kind} {route.namespace}/{route.name}"

        def drop(what: str) -> None:
            self.notes.add(Note("EMIT-INVALID-COMBINATION", Level.ERROR,
                                f"{route.kind} {route.namespace}/{route.name}: {what} (the API server would "
                                "reject it)", subject=subject, instead="dropped (a bug in the provider)"))

        for f in rule.filters:
            if f.type in seen and f.type != "RequestMirror":
                drop(f"repeated {f.type} filter")
                continue
            if {f.type, *seen} >= {"RequestRedirect", "URLRewrite"}:
                drop("RequestRedirect together with URLRewrite")
                continue
            if _replaces_prefix(f) and not (len(rule.matches) == 1 and rule.matches[0].path is not None
                                            and rule.matches[0].path.type == "PathPrefix"):
                drop("ReplacePrefixMatch without exactly one PathPrefix match")
                continue
            seen.add(f.type)
            filters.append(f)
        backends = rule.backends
        if "RequestRedirect" in seen and backends:
            drop("RequestRedirect together with backendRefs")
            backends = ()
        return filters, backends

    def tls_routes(self) -> list[Manifest]:
        """One TLSRoute per passthrough hostname, on its Passthrough listener."""
        names: dict[str, str] = {}
        for ns in sorted({p.namespace for p in self.ir.passthrough}):
            names.update(unique_names((f"{p.namespace}/{p.hostname}", p.name) for p in self.ir.passthrough
                                      if p.namespace == ns))
        out: list[Manifest] = []
        for pt in sorted(self.ir.passthrough, key=lambda p: (p.namespace, p.hostname)):
            holder, section = self.passthrough[(pt.gateway, self._gateway_ns(pt.namespace), pt.hostname)]
            parent: dict[str, Any] = {"group": GROUP, "kind": holder.kind, "name": holder.name}
            if holder.namespace != pt.namespace:
                parent["namespace"] = holder.namespace
            parent["sectionName"] = section
            spec = {"parentRefs": [parent], "hostnames": [pt.hostname],
                    "rules": [{"backendRefs": [_backend(pt.backend, pt.namespace)]}]}
            out.append(_obj("TLSRoute", _meta(names[f"{pt.namespace}/{pt.hostname}"], pt.namespace,
                                              {pt.source.subject}), spec))
        return out

    def backend_tls(self) -> list[Manifest]:
        out: list[Manifest] = []
        grouped: dict[tuple[str, str], list[BackendTLS]] = {}
        for b in self.ir.backend_tls:
            grouped.setdefault((b.namespace, b.service), []).append(b)
        for (ns, svc), items in sorted(grouped.items()):
            first = sorted(items, key=lambda b: (b.port or 0, b.hostname))[0]
            validation: dict[str, Any] = {"hostname": first.hostname}
            if first.ca_certificate_refs:
                validation["caCertificateRefs"] = [
                    {"group": "", "kind": "ConfigMap", "name": n} for n in first.ca_certificate_refs
                ]
            else:
                validation["wellKnownCACertificates"] = first.well_known_ca or "System"
            spec = {"targetRefs": [{"group": "", "kind": "Service", "name": svc}], "validation": validation}
            sources = {b.source.subject for b in items if b.source}
            out.append(_obj("BackendTLSPolicy", _meta(f"{slug(svc)}-tls", ns, sources), spec))
        return out

    def gateway_class(self) -> list[Manifest]:
        classes = sorted({r.gateway.gateway_class for r in self.ir.routes}
                         | {c.gateway.gateway_class for c in self.ir.certificates}
                         | {p.gateway.gateway_class for p in self.ir.passthrough})
        if self.opt.gateway_controller:
            return [
                _obj("GatewayClass", _meta(c, None, ()), {"controllerName": self.opt.gateway_controller})
                for c in classes
            ]
        for c in classes:
            self.notes.add(Note("EMIT-GATEWAYCLASS-EXPECTED", Level.INFO,
                                f"the Gateways expect a GatewayClass named {c!r}, which is not emitted",
                                subject=f"GatewayClass {c}",
                                instead="pass --gateway-controller to emit it, "
                                        "or --gateway-class to use an existing one"))
        return []


def _backend_refs(route: Route) -> list[BackendRef]:
    """Every Service the route points at: backendRefs and mirror targets (also per backend)."""
    refs: list[BackendRef] = []

    def mirrors(filters: Sequence[Filter]) -> None:
        refs.extend(f.value.backend for f in filters if isinstance(f.value, RequestMirror))

    for rule in route.rules:
        mirrors(rule.filters)
        for b in rule.backends:
            refs.append(b)
            mirrors(b.filters)
    return refs


def _certificate_names(host: str) -> list[str]:
    """Certificate hostnames that serve ``host``: itself, then its one-label wildcard."""
    if "." in host and not host.startswith("*."):
        return [host, "*." + host.split(".", 1)[1]]
    return [host]


def _replaces_prefix(f: Filter) -> bool:
    v = f.value
    return isinstance(v, (RequestRedirect, URLRewrite)) and v.path is not None and v.path.type == "ReplacePrefixMatch"


def _split_rules(rules: Sequence[Rule]) -> list[list[Rule]]:
    """Pack rules into chunks within the rule and match limits (keeping rule order)."""
    expanded: list[Rule] = []
    for r in rules:
        if len(r.matches) <= MAX_MATCHES_PER_RULE:
            expanded.append(r)
            continue
        for i in range(0, len(r.matches), MAX_MATCHES_PER_RULE):
            expanded.append(replace(r, matches=r.matches[i:i + MAX_MATCHES_PER_RULE], name=None))
    chunks: list[list[Rule]] = [[]]
    count = 0
    for r in expanded:
        n = max(1, len(r.matches))
        if chunks[-1] and (len(chunks[-1]) >= MAX_RULES or count + n > MAX_MATCHES_PER_ROUTE):
            chunks.append([])
            count = 0
        chunks[-1].append(r)
        count += n
    return [c for c in chunks if c]


def _match(m: RouteMatch, kind: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if kind == "GRPCRoute":
        # For GRPCRoute the path holds "service/method" (either part may be empty).
        if m.path is not None:
            service, _, method = m.path.value.strip("/").partition("/")
            meth: dict[str, Any] = {"type": "Exact" if m.path.type != "RegularExpression" else "RegularExpression"}
            if service:
                meth["service"] = service
            if method:
                meth["method"] = method
            out["method"] = meth
    elif m.path is not None:
        out["path"] = {"type": m.path.type, "value": m.path.value}
    if m.headers:
        out["headers"] = [{"type": h.type, "name": h.name, "value": h.value} for h in m.headers]
    if m.query and kind == "HTTPRoute":
        out["queryParams"] = [{"type": q.type, "name": q.name, "value": q.value} for q in m.query]
    if m.method and kind == "HTTPRoute":
        out["method"] = m.method
    return out


def _path_modifier(p: PathModifier) -> dict[str, Any]:
    if p.type == "ReplaceFullPath":
        return {"type": "ReplaceFullPath", "replaceFullPath": p.value}
    return {"type": "ReplacePrefixMatch", "replacePrefixMatch": p.value}


def _header_modifier(h: HeaderModifier) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if h.set:
        out["set"] = [{"name": n, "value": v} for n, v in h.set]
    if h.add:
        out["add"] = [{"name": n, "value": v} for n, v in h.add]
    if h.remove:
        out["remove"] = list(h.remove)
    return out


def _filter(f: Filter, namespace: str) -> dict[str, Any]:
    v = f.value
    if isinstance(v, HeaderModifier):
        key = "requestHeaderModifier" if f.type == "RequestHeaderModifier" else "responseHeaderModifier"
        return {"type": f.type, key: _header_modifier(v)}
    if isinstance(v, RequestRedirect):
        r: dict[str, Any] = {}
        if v.scheme:
            r["scheme"] = v.scheme
        if v.hostname:
            r["hostname"] = v.hostname
        if v.port is not None:
            r["port"] = v.port
        if v.path:
            r["path"] = _path_modifier(v.path)
        r["statusCode"] = v.status_code
        return {"type": "RequestRedirect", "requestRedirect": r}
    if isinstance(v, URLRewrite):
        u: dict[str, Any] = {}
        if v.hostname:
            u["hostname"] = v.hostname
        if v.path:
            u["path"] = _path_modifier(v.path)
        return {"type": "URLRewrite", "urlRewrite": u}
    if isinstance(v, RequestMirror):
        m: dict[str, Any] = {"backendRef": _backend(v.backend, namespace, weight=False)}
        if v.percent is not None:
            m["percent"] = v.percent
        return {"type": "RequestMirror", "requestMirror": m}
    if isinstance(v, CORS):
        c: dict[str, Any] = {}
        if v.allow_origins:
            c["allowOrigins"] = list(v.allow_origins)
        if v.allow_credentials is not None:
            c["allowCredentials"] = v.allow_credentials
        if v.allow_methods:
            c["allowMethods"] = list(v.allow_methods)
        if v.allow_headers:
            c["allowHeaders"] = list(v.allow_headers)
        if v.expose_headers:
            c["exposeHeaders"] = list(v.expose_headers)
        if v.max_age is not None:
            c["maxAge"] = v.max_age
        return {"type": "CORS", "cors": c}
    raise TypeError(f"unknown filter value {type(v).__name__}")


def _backend(b: BackendRef, namespace: str, weight: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if b.group:
        out["group"] = b.group
    if b.kind != "Service":
        out["kind"] = b.kind
    out["name"] = b.name
    if b.namespace != namespace:
        out["namespace"] = b.namespace
    if b.port is not None:
        out["port"] = b.port
    if weight and b.weight != 1:
        out["weight"] = b.weight
    if b.filters:
        out["filters"] = [_filter(f, namespace) for f in b.filters]
    return out


def _sort_key(m: Mapping[str, Any]) -> tuple[int, str, str]:
    meta = m["metadata"]
    return (KIND_ORDER.get(m["kind"], 99), meta.get("namespace", ""), meta["name"])


def emit(ir: IR, options: EmitOptions, notes: Notes) -> list[Manifest]:
    """Gateway API manifests for ``ir``, in deterministic order."""
    e = _Emitter(ir, options, notes)
    e.build_gateways()
    manifests = (e.gateway_class() + e.gateway_manifests() + e.reference_grants() + e.route_manifests()
                 + e.tls_routes() + e.backend_tls())
    _check_unique(manifests)
    return sorted(manifests, key=_sort_key)


def _check_unique(manifests: Sequence[Manifest]) -> None:
    seen: set[tuple[str, str, str]] = set()
    for m in manifests:
        key = (m["kind"], m["metadata"].get("namespace", ""), m["metadata"]["name"])
        if key in seen:  # names are made unique above; a duplicate is a bug
            raise AssertionError(f"duplicate object emitted: {key} ({short_hash(str(key))})")
        seen.add(key)

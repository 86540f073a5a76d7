"""Istio's route tables, as its proxies hold them: what the data-plane model (:mod:`.model`) routes
with. Built from the Ingresses and Istio objects directly -- the model shares no conversion
code with the provider but the delegate merge (:mod:`.delegate`) and the host names
(:mod:`.objects`).

Gateway proxies: every server of every Istio Gateway (and the Gateway istiod makes per
Ingress: HTTP on 80 for every host, HTTPS on 443 per ``spec.tls`` entry) is indexed by port.
For each port, every VirtualService bound to a gateway with a server there contributes its
routes to a virtual host per host it shares with the server (the more specific of the two
names); several VirtualServices on one virtual host are concatenated in Istio's order with
the catch-all routes moved last; in one VirtualService, routes after a catch-all are dropped;
``match.gateways`` and ``match.port`` filter per gateway and port. An HTTP server with
``httpsRedirect`` marks its hosts ``require_tls``. Ingresses of one host become one
VirtualService (routes sorted by path length, exact first, catch-alls last) bound to the first
Ingress's gateway only.

Sidecars: VirtualServices bound to ``mesh`` (or to nothing), per Service their hosts name, in
Istio's order (the model picks per client, :func:`.objects.export_rank`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ing2gw.kinds import KubeObject
from ing2gw.resources import Ingress, ResourceSet

from .delegate import expand
from .objects import Index, ServiceHost, as_map, istio_order, service_host, spec_list, str_list

__all__ = ["Cond", "IRoute", "MeshEntry", "Server", "Tables", "VHost", "build_tables", "domain_matches", "filtered",
           "vs_routes"]

INGRESS_NS = "istio-system"


@dataclass(frozen=True, slots=True)
class Cond:
    """One Istio HTTPMatchRequest, as Envoy evaluates it."""

    raw: Mapping[str, Any]
    segment: bool  # a uri prefix is segment-wise (Ingress-made routes), else character-wise
    rule_name: str  # the path verify's explanations know it by

    @property
    def catch_all(self) -> bool:
        """Matches every request (Istio's isCatchAllMatch): no condition but a ``/`` prefix."""
        # the port, gateways and workload labels were checked when the proxy's routes were built
        keys = {k for k, v in self.raw.items() if v not in (None, {}, [], "", 0, False)
                and k not in ("name", "port", "gateways", "sourceLabels", "sourceNamespace")}
        if not keys:
            return True
        uri = as_map(self.raw.get("uri"))
        return keys == {"uri"} and (uri.get("prefix") == "/" or uri.get("regex") in ("*", ".*"))


@dataclass(frozen=True, slots=True)
class IRoute:
    """One route of a virtual host: its matches (ORed; none = every request) and its action."""

    conds: tuple[Cond, ...]
    spec: Mapping[str, Any]
    namespace: str  # short destination hosts are read here
    kind: str  # "VirtualService" | "Ingress"
    ref: str  # ns/name of the object
    fld: str

    @property
    def catch_all(self) -> bool:
        return not self.conds or any(c.catch_all for c in self.conds)


@dataclass(slots=True)
class VHost:
    domain: str
    routes: list[IRoute] = field(default_factory=list)
    require_tls: bool = False


@dataclass(frozen=True, slots=True)
class Server:
    gateway: str  # "ns/name"
    port: int
    tls: bool  # terminates TLS (HTTPS)
    hosts: tuple[tuple[str, str], ...]  # (namespace restriction, host)
    https_redirect: bool = False

    def admits(self, namespace: str, host: str) -> list[str]:
        """The server hosts a VirtualService host of ``namespace`` binds to."""
        gw_ns = self.gateway.split("/")[0]
        return [h for ns, h in self.hosts if (ns in ("*", namespace) or (ns == "." and namespace == gw_ns))
                and hosts_meet(h, host)]


@dataclass(frozen=True, slots=True)
class MeshEntry:
    """A mesh VirtualService naming a Service: its routes as written (each sidecar filters them
    for its namespace and the port, :func:`filtered`)."""

    vs: KubeObject
    routes: tuple[IRoute, ...]


@dataclass(slots=True)
class Tables:
    servers: dict[int, list[Server]] = field(default_factory=dict)
    vhosts: dict[tuple[int, bool], dict[str, VHost]] = field(default_factory=dict)  # (port, tls) -> domain
    mesh: dict[ServiceHost, list[MeshEntry]] = field(default_factory=dict)


def host_covers(pattern: str, host: str) -> bool:
    pattern, host = pattern.lower(), host.lower()
    if pattern == "*" or pattern == host:
        return True
    return pattern.startswith("*.") and host.endswith(pattern[1:]) and host != pattern[2:]


def hosts_meet(a: str, b: str) -> bool:
    return host_covers(a, b) or host_covers(b, a)


def domain_matches(domain: str, hostname: str) -> bool:
    """Envoy's virtual host domain matching: exact, ``*.suffix`` (any depth), ``*``."""
    if domain in ("*", hostname):
        return True
    return domain.startswith("*.") and hostname.endswith(domain[1:])


# --- Ingresses ---------------------------------------------------------------------------


def _ingress_gateway(ing: Ingress) -> str:
    return f"{INGRESS_NS}/{ing.name}-istio-autogenerated-k8s-ingress-{ing.namespace}"


def _ingress_path(path: str, path_type: str) -> dict[str, str] | None:
    """istiod's uri match for an Ingress path (None: every path)."""
    if path_type == "Exact":
        return {"exact": path}
    if path_type == "Prefix":
        return {"prefix": path or "/"}
    if path in ("", "*", "/*", ".*"):
        return None
    if path.endswith((".*", "/*")):
        return {"prefix": path[:-2] or "/"}
    return {"exact": path}


def _ingress_tables(ingresses: Sequence[Ingress], rs: ResourceSet) -> tuple[list[Server], list[tuple[str, str,
                                                                                                   list[IRoute]]]]:
    """Servers of the Ingress gateways, and (gateway, host, routes) per host."""
    ordered = sorted(ingresses, key=lambda i: (i.created or "~", i.name, i.namespace))
    servers: list[Server] = []
    hosts: dict[str, tuple[str, list[tuple[int, IRoute]]]] = {}
    for ing in ordered:
        gw = _ingress_gateway(ing)
        servers.append(Server(gw, 80, False, (("*", "*"),)))
        for tls in ing.tls:
            servers.append(Server(gw, 443, True, tuple(("*", h) for h in tls.hosts) or (("*", "*"),)))
        for rule in ing.rules:
            host = rule.host or "*"
            _, found = hosts.setdefault(host, (gw, []))
            for p in rule.paths:
                if p.backend.service is None:
                    continue
                uri = _ingress_path(p.path, p.path_type)
                port = p.backend.port_number
                if port is None:
                    svc = rs.services.get((ing.namespace, p.backend.service))
                    port = next((sp.port for sp in svc.ports if sp.name == p.backend.port_name), None) if svc else None
                spec = {"route": [{"destination": {"host": f"{p.backend.service}.{ing.namespace}.svc.cluster.local",
                                                   **({"port": {"number": port}} if port else {})}}]}
                conds = (Cond({"uri": uri}, True, p.path or "/"),) if uri else ()
                route = IRoute(conds, spec, ing.namespace, "Ingress", ing.ref, p.field)
                key = len(next(iter(uri.values()))) if uri else -1
                found.append((key, route))
    out = []
    for host, (gw, routes) in hosts.items():
        # longest match first, exact before prefix at equal length, catch-alls last (stable)
        ordered_routes = sorted(routes, key=lambda kr: (-kr[0], 0 if kr[1].conds and "exact" in (
            kr[1].conds[0].raw.get("uri") or {}) else 1))
        out.append((gw, host, [r for _, r in ordered_routes]))
    return servers, out


# --- Istio objects -------------------------------------------------------------------------


def _servers(gw: KubeObject) -> list[Server]:
    out = []
    for server in spec_list(gw.spec.get("servers")):
        port = as_map(server.get("port"))
        number = port.get("number")
        protocol = str(port.get("protocol") or "").upper()
        tls = as_map(server.get("tls"))
        mode = str(tls.get("mode") or "SIMPLE").upper()
        if not isinstance(number, int):
            continue
        if protocol in ("HTTP", "HTTP2", "GRPC", "GRPC-WEB"):
            terminates = False
        elif protocol == "HTTPS" and mode in ("SIMPLE", "MUTUAL", "OPTIONAL_MUTUAL"):
            terminates = True
        else:
            continue  # TLS passthrough and TCP: no HTTP routing
        hosts = []
        for h in str_list(server.get("hosts")):
            ns, _, host = h.rpartition("/")
            hosts.append((ns or "*", host))
        out.append(Server(f"{gw.namespace}/{gw.name}", number, terminates, tuple(hosts),
                          bool(tls.get("httpsRedirect"))))
    return out


SEMANTICS = "internal.istio.io/route-semantics"  # "ingress" / "gateway": istiod-made, segment prefixes


def vs_routes(vs: KubeObject, index: Index) -> list[IRoute]:
    """A VirtualService's http routes, delegates merged."""
    def lookup(ns: str, name: str) -> list[Mapping[str, Any]] | None:
        target = index.virtual_service(ns, name)
        if target is None or str_list(target.spec.get("hosts")):
            return None
        return spec_list(target.spec.get("http"))

    out = []
    expanded = expand(spec_list(vs.spec.get("http")), vs.namespace, lookup, lambda n, why: None)
    for n, route in expanded:
        segment = vs.annotations.get(SEMANTICS) in ("ingress", "gateway")
        conds = tuple(Cond(m, segment, _rule_name(m)) for m in spec_list(route.get("match")))
        out.append(IRoute(conds, route, vs.namespace, "VirtualService", vs.ref, f"spec.http[{n}]"))
    return out


def _rule_name(m: Mapping[str, Any]) -> str:
    uri = as_map(m.get("uri"))
    for key in ("exact", "prefix", "regex"):
        if key in uri:
            value = str(uri[key])
            if m.get("ignoreUriCase") and key != "regex":
                return "(?i)" + re.escape(value) + (".*" if key == "prefix" else "")
            return ("(?i)" if m.get("ignoreUriCase") else "") + value if key == "regex" else value
    return "/"


def filtered(routes: list[IRoute], gateway: str, port: int | None,
             labels: Mapping[str, str] | None = None, namespace: str | None = None) -> list[IRoute]:
    """The routes as one proxy sees them -- a gateway (or ``mesh``), port, the proxy's
    workload ``labels`` (the gateway pods'; a sidecar's are unknown) and ``namespace`` (a
    sidecar's client namespace; unknown for gateways): matches for other gateways or ports,
    for labels the proxy does not carry or another ``sourceNamespace``, left out (a route left
    with none is dropped), nothing after a catch-all. Istio does this when it builds each
    proxy's routes."""
    out = []
    for r in routes:
        if r.conds:
            conds = tuple(c for c in r.conds if (not c.raw.get("gateways") or gateway in _gateways(c, r.namespace))
                          and (not c.raw.get("port") or port is None or c.raw["port"] == port)
                          and _labels_hold(as_map(c.raw.get("sourceLabels")), labels)
                          and (not c.raw.get("sourceNamespace") or c.raw["sourceNamespace"] == namespace))
            if not conds:
                continue
            r = IRoute(conds, r.spec, r.namespace, r.kind, r.ref, r.fld)
        out.append(r)
        if r.catch_all:
            break
    return out


def _labels_hold(wanted: Mapping[str, Any], labels: Mapping[str, str] | None) -> bool:
    if not wanted:
        return True
    return labels is not None and all(labels.get(str(k)) == str(v) for k, v in wanted.items())


def _gateways(c: Cond, namespace: str) -> list[str]:
    return [g if "/" in g or g == "mesh" else f"{namespace}/{g}" for g in str_list(c.raw.get("gateways"))]


def build_tables(rs: ResourceSet, ingresses: Sequence[Ingress], index: Index) -> Tables:
    t = Tables()
    ing_servers, ing_hosts = _ingress_tables(ingresses, rs)
    servers = list(ing_servers)
    for obj in index.gateways:
        servers += _servers(obj)
    for s in servers:
        t.servers.setdefault(s.port, []).append(s)
    selectors: dict[str, Mapping[str, str]] = {f"{INGRESS_NS}/" + g.split("/", 1)[1]: {"istio": "ingressgateway"}
                                               for g in {s.gateway for s in ing_servers}}
    for obj in index.gateways:
        selectors[obj.ref] = {str(k): str(v) for k, v in as_map(obj.spec.get("selector")).items()}
    # what binds where: (gateway, namespace, hosts, routes, merge order)
    bound: list[tuple[str, str, list[str], list[IRoute], tuple[str, ...]]] = []
    for gw, host, routes in ing_hosts:
        ns = routes[0].namespace if routes else ""
        bound.append((gw, ns, [host], routes, ("", "", "")))  # Ingress-made VirtualServices sort first
    for vs in index.virtual_services:
        hosts = str_list(vs.spec.get("hosts"))
        gateways = str_list(vs.spec.get("gateways")) or ["mesh"]
        if not hosts:
            continue
        routes = vs_routes(vs, index)
        for g in gateways:
            if g == "mesh":
                for h in hosts:
                    svc = service_host(h, vs.namespace)
                    if svc is not None and all(e.vs is not vs for e in t.mesh.get(svc, [])):
                        t.mesh.setdefault(svc, []).append(MeshEntry(vs, tuple(routes)))
                continue
            ref = g if "/" in g else f"{vs.namespace}/{g}"
            bound.append((ref, vs.namespace, hosts, routes, istio_order(vs)))
    for port, port_servers in sorted(t.servers.items()):
        for tls in (False, True):
            vhosts: dict[str, VHost] = {}
            contributions: dict[str, list[tuple[tuple[str, ...], str, list[IRoute]]]] = {}
            for s in port_servers:
                if s.tls != tls:
                    continue
                for _, h in s.hosts:
                    if s.https_redirect:  # the redirect holds with no VirtualService bound
                        vhosts.setdefault(h.lower(), VHost(h.lower()))
                for gw, ns, hosts, routes, order in bound:
                    if gw != s.gateway:
                        continue
                    for host in hosts:
                        for server_host in s.admits(ns, host):
                            domain = (host if host_covers(server_host, host) else server_host).lower()
                            vhosts.setdefault(domain, VHost(domain))
                            mine = contributions.setdefault(domain, [])
                            key = f"{gw}|{order}|{host}"
                            if all(k != key for _, k, _ in mine):
                                mine.append((order, key, filtered(routes, gw, port, selectors.get(gw))))
            for domain, found in contributions.items():
                found.sort(key=lambda c: c[0])
                merged = [r for _, _, rs_ in found for r in rs_]
                if len(found) > 1:
                    merged = [r for r in merged if not r.catch_all] + [r for r in merged if r.catch_all]
                vhosts[domain].routes = merged
            for s in port_servers:
                if s.https_redirect and s.tls == tls:
                    for domain, vh in vhosts.items():
                        if any(hosts_meet(h, domain) for _, h in s.hosts):
                            vh.require_tls = True
            if vhosts:
                t.vhosts[(port, tls)] = vhosts
    return t

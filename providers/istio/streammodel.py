"""Istio's gateways as a stream model for ``verify`` and ``ing2gw route tcp://.../tls://...``
(:class:`ing2gw.dataplane.StreamModel`): what the Envoy of an Istio ingress gateway does with a
TCP connection or a TLS ClientHello, from the Gateways and VirtualServices themselves.

Istio builds one Envoy listener per server port; its filter chains, and so the decision, are:

* a ``TCP`` server (``MONGO``, ``MYSQL``, ``REDIS`` are proxied as TCP too) takes every
  connection to its port, bytes as they come: the first ``tcp`` route, in VirtualService order
  (oldest first, then name and namespace), of a VirtualService that names the server's Gateway
  in ``gateways`` and has a host the server admits (``ns/host``: of that namespace only), whose
  ``match`` is empty or has an entry whose ``port`` (if set) is the server's and whose
  ``gateways`` (if set) name it. No such route: the connection is closed;
* otherwise the port's filter chains are chosen by the ClientHello's SNI, Envoy's way: the
  chain naming the SNI exactly, else the ``*.`` wildcard with the longest suffix covering it
  (at any depth), else the chain without names (a server host ``*``); a connection without a
  ClientHello, or with an SNI no chain names, is closed. The chains:

  - a ``TLS``/``HTTPS`` server in ``PASSTHROUGH`` (or ``AUTO_PASSTHROUGH``) mode has one chain
    per ``tls`` route match: its ``sniHosts`` met with the server's hosts (the narrower of the
    two), the connection passed on encrypted to the route's destinations; of two chains with one
    name the first (Gateway, server, VirtualService, route and match order) is kept;
  - a ``TLS`` server that terminates (``SIMPLE``, ``MUTUAL``, ``OPTIONAL_MUTUAL``) has a chain
    for its hosts: the handshake completes with ``credentialName`` (a Secret of the Gateway's
    namespace) and the decrypted stream goes by its ``tcp`` routes as for a TCP server;
  - an ``HTTPS`` server's chain for its hosts leads to HTTP routing (not a stream: the HTTP
    replay covers it);

* UDP: Istio gateways have no UDP listeners.

A destination's host names a Service (a short name in the VirtualService's namespace) and its
``port.number`` a Service port (none: the Service's only port); weights as in the HTTP model
(an absent weight is 100 for a lone destination, else 0); the largest share is reported.
Servers of every Gateway are taken together, as the router takes the converted listeners.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ing2gw.kinds import KubeObject
from ing2gw.resources import ResourceSet
from ing2gw.router.streams import Connection, StreamOutcome

from .gateway import host_covers, hosts_meet
from .objects import KINDS, Index, as_map, service_host, spec_list, str_list

__all__ = ["IstioStreams"]

_TCP = ("TCP", "MONGO", "MYSQL", "REDIS")


@dataclass(frozen=True, slots=True)
class _Server:
    gateway: KubeObject
    index: int
    port: int
    family: str  # TCP, PASSTHROUGH, TERMINATE, HTTPS
    hosts: tuple[tuple[str, str], ...]  # (namespace restriction, host pattern)
    certificate: str | None

    @property
    def label(self) -> str:
        return f"Istio Gateway {self.gateway.namespace}/{self.gateway.name} server {self.index} :{self.port}"

    def admits(self, vs: KubeObject, host: str) -> bool:
        return any((ns == "*" or ns == vs.namespace or (ns == "." and vs.namespace == self.gateway.namespace))
                   and hosts_meet(pattern, host) for ns, pattern in self.hosts)


@dataclass(frozen=True, slots=True)
class _Chain:
    name: str | None  # the SNI it is chosen for (None: any)
    server: _Server
    vs: KubeObject | None  # passthrough: the VirtualService of the tls route
    route: Mapping[str, Any] | None


def _server(gw: KubeObject, index: int, raw: Mapping[str, Any]) -> _Server | None:
    port = as_map(raw.get("port"))
    number = port.get("number")
    protocol = str(port.get("protocol") or "").upper()
    tls = as_map(raw.get("tls"))
    mode = str(tls.get("mode") or "SIMPLE").upper()
    hosts = tuple((ns or "*", h) for ns, _, h in (x.rpartition("/") for x in str_list(raw.get("hosts"))))
    if not isinstance(number, int) or not 0 < number < 65536 or not hosts:
        return None
    credential = str(tls.get("credentialName") or next(iter(str_list(tls.get("credentialNames"))), ""))
    if protocol in _TCP:
        return _Server(gw, index, number, "TCP", hosts, None)
    if protocol in ("TLS", "HTTPS") and mode in ("PASSTHROUGH", "AUTO_PASSTHROUGH"):
        return _Server(gw, index, number, "PASSTHROUGH", hosts, None)
    if protocol == "HTTPS":
        return _Server(gw, index, number, "HTTPS", hosts, None)
    if protocol == "TLS" and mode in ("SIMPLE", "MUTUAL", "OPTIONAL_MUTUAL") and credential:
        return _Server(gw, index, number, "TERMINATE", hosts, f"{gw.namespace}/{credential}")
    return None


def _narrower(a: str, b: str) -> str | None:
    """The name two host patterns share: the narrower of the two, or None."""
    if host_covers(a, b):
        return b.lower()
    if host_covers(b, a):
        return a.lower()
    return None


class IstioStreams:
    """The stream side of an Istio ingress gateway for a set of Gateways and VirtualServices."""

    def __init__(self, resources: ResourceSet) -> None:
        self.index = Index(resources.claimed(KINDS))
        self.resources = resources
        self.servers = [s for gw in self.index.gateways
                        for n, raw in enumerate(spec_list(gw.spec.get("servers")))
                        for s in [_server(gw, n, raw)] if s is not None]
        self.chains: dict[int, list[_Chain]] = {}
        for server in self.servers:
            if server.family == "TCP":
                continue
            chains = self.chains.setdefault(server.port, [])
            if server.family != "PASSTHROUGH":
                chains += [_Chain(None if h == "*" else h.lower(), server, None, None) for _, h in server.hosts]
                continue
            for vs in self._bound(server):
                for route in spec_list(vs.spec.get("tls")):
                    for match in spec_list(route.get("match")):
                        if not self._holds(match, server):
                            continue
                        for sni in str_list(match.get("sniHosts")):
                            for _, pattern in server.hosts:
                                name = _narrower(pattern, sni)
                                if name is not None:
                                    chains.append(_Chain(None if name == "*" else name, server, vs, route))

    @classmethod
    def from_resources(cls, resources: ResourceSet) -> IstioStreams | None:
        """The model, or None when no Istio Gateway has a TCP or TLS (non-HTTPS) server."""
        model = cls(resources)
        return model if any(s.family in ("TCP", "PASSTHROUGH", "TERMINATE") for s in model.servers) else None

    def _bound(self, server: _Server) -> list[KubeObject]:
        """The VirtualServices bound to the server: naming its Gateway, with a host it admits."""
        out = []
        for vs in self.index.virtual_services:
            named = {(ns or vs.namespace, name) for ns, _, name in (g.rpartition("/") for g in
                                                                    str_list(vs.spec.get("gateways")))}
            if (server.gateway.namespace, server.gateway.name) not in named:
                continue
            hosts = str_list(vs.spec.get("hosts"))
            if any(server.admits(vs, h) for h in hosts):
                out.append(vs)
        return out

    @staticmethod
    def _holds(match: Mapping[str, Any], server: _Server) -> bool:
        port = match.get("port")
        gateways = str_list(match.get("gateways"))
        gw = server.gateway
        return (not isinstance(port, int) or port == server.port) and (
            not gateways or any(g in (gw.name, f"{gw.namespace}/{gw.name}") for g in gateways))

    def endpoints(self) -> list[Connection]:
        out = {Connection("TCP", s.port) for s in self.servers if s.family == "TCP"}
        for port, chains in self.chains.items():
            out |= {Connection("TLS", port, c.name) for c in chains if c.name and c.server.family != "HTTPS"}
        return sorted(out)

    def route(self, conn: Connection, /) -> StreamOutcome:
        if conn.protocol == "UDP":
            return StreamOutcome(None, "Istio gateways have no UDP listeners")
        tcp = next((s for s in self.servers if s.family == "TCP" and s.port == conn.port), None)
        if tcp is not None:
            return self._tcp(tcp, "", None)
        chains = self.chains.get(conn.port, [])
        if not chains:
            return StreamOutcome(None, f"no server on port {conn.port}")
        if conn.protocol != "TLS":
            return StreamOutcome(None, f"port {conn.port} chooses filter chains by SNI: a connection without a "
                                       "ClientHello is closed")
        chain = self._chain(chains, (conn.sni or "").lower())
        if chain is None:
            return StreamOutcome(None, f"no filter chain on port {conn.port} names SNI {conn.sni or '(none)'}")
        server = chain.server
        if server.family == "HTTPS":
            return StreamOutcome(None, f"HTTPS server takes SNI {conn.sni or '(none)'}: HTTP routing",
                                 listener=server.label)
        if server.family == "TERMINATE":
            return self._tcp(server, "terminate", server.certificate)
        assert chain.vs is not None and chain.route is not None
        return self._to(chain.vs, chain.route, server, "passthrough", None)

    @staticmethod
    def _chain(chains: list[_Chain], sni: str) -> _Chain | None:
        """Envoy's choice: the exact name, else the longest wildcard suffix, else the unnamed chain."""
        labels = sni.split(".") if sni else []
        names = [sni] if sni else []
        names += ["*." + ".".join(labels[i:]) for i in range(1, len(labels))]
        for name in [*names, None]:
            found = next((c for c in chains if c.name == name), None)
            if found is not None:
                return found
        return None

    def _tcp(self, server: _Server, tls: str, certificate: str | None) -> StreamOutcome:
        for vs in self._bound(server):
            for route in spec_list(vs.spec.get("tcp")):
                matches = spec_list(route.get("match"))
                if not matches or any(self._holds(m, server) for m in matches):
                    return self._to(vs, route, server, tls, certificate)
        return StreamOutcome(None, f"no tcp route of a VirtualService bound to {server.label} takes it",
                             listener=server.label)

    def _to(self, vs: KubeObject, route: Mapping[str, Any], server: _Server, tls: str,
            certificate: str | None) -> StreamOutcome:
        dests = spec_list(route.get("route"))
        weighted: list[tuple[str, int]] = []
        for d in dests:
            backend = self._backend(as_map(d.get("destination")), vs.namespace)
            w = d.get("weight")
            if backend is not None:
                weighted.append((backend, w if isinstance(w, int) else (100 if len(dests) == 1 else 0)))
        total = sum(w for _, w in weighted)
        if not weighted or total == 0:
            return StreamOutcome(None, f"{vs.subject}: no destination takes traffic", listener=server.label,
                                 route=vs.subject)
        pick = max(weighted, key=lambda bw: bw[1])[0]
        weights: dict[str, int] = {}
        for b, w in weighted:
            if w:
                weights[b] = weights.get(b, 0) + w
        shares = tuple((b, round(100 * w / total)) for b, w in weights.items())
        return StreamOutcome(pick, "", tls, certificate, shares, server.label, vs.subject)

    def _backend(self, dest: Mapping[str, Any], namespace: str) -> str | None:
        svc = service_host(str(dest.get("host") or ""), namespace) if dest.get("host") else None
        if svc is None:
            return None
        port = as_map(dest.get("port")).get("number")
        if not isinstance(port, int):
            found = self.resources.services.get((svc.namespace, svc.name))
            if found is None or len(found.ports) != 1:
                return None
            port = found.ports[0].port
        return f"{svc.namespace}/{svc.name}:{port}"

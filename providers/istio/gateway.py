"""Istio Gateways -> Gateway API listeners.

Istio Gateways configure the gateway pods their ``selector`` picks, and Gateways with one
selector share those pods -- one address, their servers merged per port and host. So the
Istio Gateways of one selector become one Gateway API Gateway (``istio-<selector values>``)
and each (port, protocol, host) of their servers one listener (the first server's settings
win, a differing one is noted): HTTP, HTTP2 and GRPC servers -> HTTP (a GRPC server's routes
become GRPCRoutes, :mod:`.grpc`); HTTPS with SIMPLE or MUTUAL
TLS -> HTTPS (Terminate; MUTUAL adds the client-cert-auth intent to the routes); HTTPS or TLS
with PASSTHROUGH -> TLS Passthrough; TLS that terminates -> TLS Terminate; TCP (and the
protocols Istio proxies as TCP) -> TCP. ``credentialName`` is a Secret in the Gateway's
namespace (Istio reads it where the gateway runs: the usual installation keeps both in one
namespace); the emitter adds the ReferenceGrant the converted Gateway needs. An HTTP server
with ``tls.httpsRedirect`` answers every request with a 301 to https, whatever the
VirtualServices say (:func:`redirect_routes`; routes do not attach there). A host
``ns/name`` admits VirtualServices of that namespace only (``.``: the Gateway's, ``*``: any):
:meth:`Server.admits` is what the route conversion asks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ing2gw import intents as i
from ing2gw.ir import (
    CertificateRef,
    Filter,
    GatewayRef,
    Listener,
    ListenerParent,
    Provenance,
    RequestRedirect,
    Route,
    RouteMatch,
    Rule,
)
from ing2gw.kinds import KubeObject
from ing2gw.notes import Fidelity, Level, Note, Notes
from ing2gw.provider import ProviderContext

from .fields import walk
from .objects import Index, as_map, spec_list, str_list

__all__ = ["Server", "Servers", "convert_gateways", "host_covers", "hosts_meet", "redirect_listeners",
           "redirect_routes"]

Family = Literal["HTTP", "HTTPS", "TLS-PASSTHROUGH", "TLS-TERMINATE", "TCP"]
_HTTP = ("HTTP", "HTTP2", "GRPC", "GRPC-WEB")
_TCP = ("TCP", "MONGO", "MYSQL", "REDIS")


def host_covers(pattern: str, host: str) -> bool:
    """Does an Istio host pattern (``*``, ``*.example.com``, ``example.com``) include ``host``
    (itself possibly a wildcard)?"""
    pattern, host = pattern.lower(), host.lower()
    if pattern == "*" or pattern == host:
        return True
    if pattern.startswith("*."):
        return host.endswith(pattern[1:]) and host != pattern[2:]
    return False


def hosts_meet(a: str, b: str) -> bool:
    return host_covers(a, b) or host_covers(b, a)


@dataclass(frozen=True, slots=True)
class Server:
    """One server of an Istio Gateway, as routes bind to it."""

    gateway: KubeObject
    ref: GatewayRef
    index: int
    port: int
    family: Family
    hosts: tuple[tuple[str, str], ...]  # (namespace restriction, host); "*" = any namespace
    listeners: tuple[str, ...]  # the listener name of each host ("" when not emitted)
    https_redirect: bool = False
    client_auth: i.ClientCertAuth | None = None
    grpc: bool = False  # protocol GRPC: the routes bound here become GRPCRoutes


    def admits(self, namespace: str, host: str) -> list[ListenerParent]:
        """The listeners a VirtualService of ``namespace`` with ``host`` binds to."""
        out = []
        for (ns, pattern), name in zip(self.hosts, self.listeners, strict=True):
            allowed = ns == "*" or ns == namespace or (ns == "." and namespace == self.gateway.namespace)
            if name and allowed and hosts_meet(pattern, host):
                out.append(ListenerParent(self.ref, name))
        return out


@dataclass(slots=True)
class Servers:
    listeners: list[Listener] = field(default_factory=list)
    by_gateway: dict[tuple[str, str], list[Server]] = field(default_factory=dict)

    def of(self, ref: str, namespace: str, index: Index) -> list[Server] | None:
        gw = index.gateway(ref, namespace)
        return None if gw is None else self.by_gateway.get((gw.namespace, gw.name), [])


def _note(notes: Notes, obj: KubeObject, code: str, level: Level, message: str, fld: str,
          fidelity: Fidelity | None = Fidelity.UNSUPPORTED, instead: str = "not converted",
          aspects: tuple[str, ...] = ("status", "tls")) -> None:
    notes.add(Note(f"ISTIO-{code}", level, message, subject=obj.subject, field=fld, fidelity=fidelity,
                   instead=instead, origin=obj.origin, aspects=frozenset(aspects), scope=(("*", ""),)))


def _family(obj: KubeObject, server: Mapping[str, Any], fld: str, notes: Notes) -> Family | None:
    port = as_map(server.get("port"))
    protocol = str(port.get("protocol") or "").upper()
    tls = as_map(server.get("tls"))
    mode = str(tls.get("mode") or "SIMPLE").upper()
    if protocol in _HTTP:
        return "HTTP"
    if protocol in _TCP:
        if protocol != "TCP":
            _note(notes, obj, "PROTOCOL-AS-TCP", Level.INFO, f"protocol {protocol} is proxied as TCP", fld,
                  Fidelity.APPROXIMATE, "TCP listener", ())
        return "TCP"
    if protocol not in ("HTTPS", "TLS"):
        _note(notes, obj, "PROTOCOL-UNKNOWN", Level.WARNING, f"protocol {protocol or '(none)'} has no Gateway API "
              "listener form", fld + ".port.protocol")
        return None
    if mode in ("PASSTHROUGH", "AUTO_PASSTHROUGH"):
        if mode == "AUTO_PASSTHROUGH":
            _note(notes, obj, "AUTO-PASSTHROUGH", Level.WARNING, "AUTO_PASSTHROUGH routes by the SNI Istio gives "
                  "mesh services (multi-network east-west gateways), not by VirtualServices", fld + ".tls.mode",
                  Fidelity.APPROXIMATE, "TLS Passthrough listener; add TLSRoutes for the services")
        return "TLS-PASSTHROUGH"
    if mode == "ISTIO_MUTUAL":
        _note(notes, obj, "ISTIO-MUTUAL", Level.WARNING, "ISTIO_MUTUAL terminates with the mesh's own "
              "certificates (clients are sidecars)", fld + ".tls.mode", instead="listener not converted")
        return None
    if mode not in ("SIMPLE", "MUTUAL", "OPTIONAL_MUTUAL"):
        _note(notes, obj, "TLS-MODE-UNKNOWN", Level.WARNING, f"TLS mode {mode} is not one Istio defines",
              fld + ".tls.mode", instead="listener not converted")
        return None
    return "HTTPS" if protocol == "HTTPS" else "TLS-TERMINATE"


@dataclass(slots=True)
class _Group:
    """The Istio Gateways of one selector: one set of gateway pods, one converted Gateway."""

    ref: GatewayRef
    made: dict[tuple[int, str, str], str] = field(default_factory=dict)  # (port, family, hostname) -> name
    taken: set[str] = field(default_factory=set)
    certs: dict[str, tuple[CertificateRef, ...]] = field(default_factory=dict)  # listener -> its certificates


def _one(obj: KubeObject, ctx: ProviderContext, out: Servers, group: _Group) -> None:
    notes = ctx.notes
    ref = group.ref
    walk(obj, notes, (("*", ""),))
    servers: list[Server] = []
    for n, server in enumerate(spec_list(obj.spec.get("servers"))):
        fld = f"spec.servers[{n}]"
        port = as_map(server.get("port"))
        number = port.get("number")
        if not isinstance(number, int) or not 0 < number < 65536:
            _note(notes, obj, "SERVER-INVALID", Level.ERROR, f"port.number {number!r} is not a port", fld + ".port",
                  None, "server not converted (Istio rejects it)")
            continue
        family = _family(obj, server, fld, notes)
        if family is None:
            continue
        tls = as_map(server.get("tls"))
        certs: tuple[CertificateRef, ...] = ()
        client_auth = None
        if family in ("HTTPS", "TLS-TERMINATE"):
            names = [str(tls["credentialName"])] if tls.get("credentialName") else str_list(tls.get("credentialNames"))
            if not names:
                _note(notes, obj, "TLS-NO-CREDENTIAL", Level.WARNING, "the server's certificate is a file in the "
                      "gateway pod (serverCertificate/privateKey), which Gateway API cannot name",
                      fld + ".tls", instead="listener not converted: put the certificate in a Secret")
                continue
            certs = tuple(CertificateRef(obj.namespace, name) for name in names)
            mode = str(tls.get("mode") or "SIMPLE").upper()
            if mode in ("MUTUAL", "OPTIONAL_MUTUAL"):
                prov = Provenance("Gateway", obj.namespace, obj.name, fld + ".tls.mode", obj.origin)
                client_auth = i.ClientCertAuth(ca_secret=f"{obj.namespace}/{names[0]}",
                                               mode="on" if mode == "MUTUAL" else "optional", provenance=prov)
        hosts: list[tuple[str, str]] = []
        for h in str_list(server.get("hosts")):
            ns, _, host = h.rpartition("/")
            hosts.append((ns or "*", host))
        if not hosts:
            _note(notes, obj, "SERVER-NO-HOSTS", Level.ERROR, "server lists no hosts", fld + ".hosts", None,
                  "server not converted (Istio rejects it)")
            continue
        port_name = str(port.get("name") or server.get("name") or f"port-{number}")
        names_out: list[str] = []
        for _, host in hosts:
            hostname = "" if host == "*" or family == "TCP" else host.lower()
            key = (number, family, hostname)
            if key in group.made:
                name = group.made[key]
                if group.certs.get(name, ()) != certs:
                    _note(notes, obj, "LISTENER-CONFLICT", Level.WARNING, f"port {number} host {host} is already "
                          f"served with other settings by another server of these gateway pods", fld,
                          Fidelity.APPROXIMATE, "the first server's certificate is used")
                names_out.append(name)
                continue
            name = port_name if family == "TCP" else f"{port_name}-{host}"
            if name in group.taken:
                name = f"{obj.name}-{name}"
            while name in group.taken:
                name += "-x"
            group.taken.add(name)
            protocol = {"HTTP": "HTTP", "HTTPS": "HTTPS", "TLS-PASSTHROUGH": "TLS", "TLS-TERMINATE": "TLS",
                        "TCP": "TCP"}[family]
            mode_out = "Passthrough" if family == "TLS-PASSTHROUGH" else "Terminate" if certs else None
            out.listeners.append(Listener(
                ref, name, number, protocol, hostname, mode_out, certs,  # type: ignore[arg-type]
                Provenance("Gateway", obj.namespace, obj.name, fld, obj.origin)))
            group.made[key] = name
            group.certs[name] = certs
            names_out.append(name)
        servers.append(Server(obj, ref, n, number, family, tuple(hosts), tuple(names_out),
                              bool(tls.get("httpsRedirect")) and family == "HTTP", client_auth,
                              str(port.get("protocol") or "").upper() == "GRPC"))
    out.by_gateway[(obj.namespace, obj.name)] = servers


def convert_gateways(index: Index, ctx: ProviderContext) -> Servers:
    out = Servers()
    groups: dict[str, _Group] = {}
    for gw in index.gateways:
        sel = gw.spec.get("selector")
        labels = sorted(sel.items()) if isinstance(sel, Mapping) else []
        key = "istio-" + "-".join(str(v) for _, v in labels) if labels else "istio-all-gateways"
        group = groups.setdefault(key, _Group(GatewayRef(key=key, gateway_class=ctx.options.gateway_class
                                                         or "istio")))
        _one(gw, ctx, out, group)
        if not labels:
            _note(ctx.notes, gw, "GATEWAY-NO-SELECTOR", Level.INFO, "a Gateway without selector configures every "
                  "gateway pod of the mesh", "spec.selector", Fidelity.APPROXIMATE,
                  f"one Gateway ({key}) for every Istio Gateway without selector", ())
    return out


def redirect_routes(servers: Servers) -> list[Route]:
    """One HTTPRoute per Istio Gateway with ``httpsRedirect`` servers: a 301 to https on their
    listeners (Istio's ``require_tls: ALL``)."""
    routes = []
    for (ns, name), found in sorted(servers.by_gateway.items()):
        parents = sorted({ListenerParent(s.ref, listener) for s in found if s.https_redirect
                          for listener in s.listeners if listener})
        if not parents:
            continue
        obj = found[0].gateway
        prov = Provenance("Gateway", ns, name, "spec.servers[].tls.httpsRedirect", obj.origin)
        redirect = Filter("RequestRedirect", RequestRedirect(scheme="https", status_code=301), prov)
        rule = Rule(matches=(RouteMatch(),), filters=(redirect,), provenance=(prov,))
        routes.append(Route("HTTPRoute", ns, f"{name}-https-redirect", found[0].ref, (), frozenset(), (rule,),
                            (Provenance("Gateway", ns, name, "", obj.origin),), tuple(parents)))
    return routes


def redirect_listeners(servers: Servers) -> set[ListenerParent]:
    """The listeners that only redirect to https."""
    return {ListenerParent(s.ref, listener) for found in servers.by_gateway.values() for s in found
            if s.https_redirect for listener in s.listeners if listener}

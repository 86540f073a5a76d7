"""Kong TCPIngress and UDPIngress (``configuration.konghq.com/v1beta1``) -> Gateway listeners
and TCPRoute / TLSRoute / UDPRoute.

KIC turns each rule of a TCPIngress into a Kong stream route on one of the proxy's
``stream_listen`` ports (``rules[].port``) to ``backend.serviceName:servicePort``:

* a rule without ``host`` matches every connection to the port: a TCP listener on the port and
  a TCPRoute;
* a rule with ``host`` matches the TLS SNI: Kong terminates TLS with the certificate of
  ``spec.tls`` listing the host (a TLS listener in Terminate mode for that hostname and a
  TLSRoute; the backend receives plain TCP), or hands the TLS on untouched when the
  TCPIngress has ``konghq.com/protocols: tls_passthrough`` (a Passthrough listener). A host
  with no certificate is served with Kong's default certificate, which no Gateway listener
  can name: that rule is not converted (an error note says so).

Each rule of a UDPIngress becomes a UDP listener on its port and a UDPRoute. Two host-less
rules on one port are one Kong route conflict: the first (by namespace, name, rule) is kept. A
host-less rule on a port that also has SNI rules is noted and left out (Kong sends it what no
SNI rule takes; a Gateway cannot put a TCP listener beside TLS listeners).
The listeners belong to the Gateway of the object's class (``kubernetes.io/ingress.class``,
default ``kong``). ``verify`` replays connections to them through Kong's stream model
(:mod:`.streammodel`) and the reference stream router (:mod:`ing2gw.router.streams`); a note
that explains a stream difference is scoped to its connections (:mod:`ing2gw.streamverify`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Literal

from ing2gw.ir import IR, BackendRef, CertificateRef, Listener, ListenerParent, Provenance, Route, Rule
from ing2gw.kinds import APIKind, KubeObject
from ing2gw.names import host_slug
from ing2gw.notes import Fidelity, Level, Note, Scope, stream_scope
from ing2gw.provider import Claimed, ProviderContext

__all__ = ["TCP_INGRESS", "UDP_INGRESS", "convert_streams"]

TCP_INGRESS = APIKind("configuration.konghq.com", "v1beta1", "TCPIngress")
UDP_INGRESS = APIKind("configuration.konghq.com", "v1beta1", "UDPIngress")
_CLASS = "kubernetes.io/ingress.class"
_STREAM_ASPECTS = frozenset({"status", "backend", "tls"})  # what a stream note explains (ing2gw.streamverify)


class _Bad(ValueError):
    pass


def _backend(obj: KubeObject, rule: Mapping[str, Any], fld: str) -> BackendRef:
    backend = rule.get("backend")
    if not isinstance(backend, Mapping) or not isinstance(backend.get("serviceName"), str):
        raise _Bad(f"{fld}.backend.serviceName is required")
    port = backend.get("servicePort")
    if not isinstance(port, int) or not 1 <= port <= 65535:
        raise _Bad(f"{fld}.backend.servicePort must be a port number")
    return BackendRef(backend["serviceName"], obj.namespace, port)


def _port(rule: Mapping[str, Any], fld: str) -> int:
    port = rule.get("port")
    if not isinstance(port, int) or not 1 <= port <= 65535:
        raise _Bad(f"{fld}.port must be a port number")
    return port


class _Streams:
    def __init__(self, ctx: ProviderContext) -> None:
        self.ctx = ctx
        self.listeners: dict[tuple[str, str], Listener] = {}  # (gateway key, listener name)
        self.routes: list[Route] = []
        self.taken: dict[tuple[str, str, int], str] = {}  # (gateway, protocol, port) of host-less rules -> owner
        self.sni_ports: set[tuple[str, int]] = set()  # (gateway, port) of rules with a host

    def note(self, obj: KubeObject, code: str, level: Level, message: str, fld: str,
             fidelity: Fidelity | None = None, instead: str = "", scope: Scope = ()) -> None:
        self.ctx.notes.add(Note(f"KONG-{code}", level, message, subject=obj.subject, field=fld,
                                fidelity=fidelity, instead=instead, origin=obj.origin,
                                aspects=_STREAM_ASPECTS if scope else frozenset(), scope=scope))

    def listener(self, listener: Listener) -> None:
        self.listeners.setdefault((listener.gateway.key, listener.name), listener)

    def convert(self, obj: KubeObject, udp: bool) -> None:
        gw = self.ctx.gateway(str(obj.annotations.get(_CLASS) or "kong"))
        passthrough = "tls_passthrough" in str(obj.annotations.get("konghq.com/protocols", ""))
        certs: dict[str, str] = {}
        for t in obj.spec.get("tls") or [] if not udp else []:
            for host in t.get("hosts") or []:
                if t.get("secretName"):
                    certs.setdefault(str(host), str(t["secretName"]))
        for n, rule in enumerate(obj.spec.get("rules") or []):
            fld = f"spec.rules[{n}]"
            try:
                if not isinstance(rule, Mapping):
                    raise _Bad(f"{fld} must be a mapping")
                port, backend = _port(rule, fld), _backend(obj, rule, fld)
            except _Bad as exc:
                self.note(obj, "STREAM-INVALID", Level.ERROR, f"{obj.origin}: {exc}", fld,
                          instead="rule not converted (KIC rejects it too)")
                continue
            prov = Provenance(obj.kind.kind, obj.namespace, obj.name, fld, obj.origin)
            host = str(rule.get("host") or "")
            if udp or not host:
                protocol = "UDP" if udp else "TCP"
                owner = self.taken.setdefault((gw.key, protocol, port), f"{obj.subject} {fld}")
                if owner != f"{obj.subject} {fld}":
                    self.note(obj, "STREAM-PORT-TAKEN", Level.WARNING, f"{protocol} port {port} is already routed by "
                              f"{owner}; Kong keeps one route per port", fld, Fidelity.EXACT, "not converted")
                    continue
                name = f"{protocol.lower()}-{port}"
                self.listener(Listener(gw, name, port, "UDP" if udp else "TCP", source=prov))
                kind: Literal["TCPRoute", "UDPRoute"] = "UDPRoute" if udp else "TCPRoute"
                self.routes.append(Route(kind, obj.namespace, f"{obj.name}-{port}", None, (), frozenset(),
                                         (Rule(matches=(), backends=(backend,), provenance=(prov,)),), (prov,),
                                         parents=(ListenerParent(gw, name),)))
                continue
            name = f"tls-{port}-{host_slug(host)}"
            self.sni_ports.add((gw.key, port))
            if passthrough:
                self.listener(Listener(gw, name, port, "TLS", host, "Passthrough", source=prov))
            elif host in certs:
                secret = certs[host]
                ns, _, secret_name = secret.rpartition("/")
                self.listener(Listener(gw, name, port, "TLS", host, "Terminate",
                                       (CertificateRef(ns or obj.namespace, secret_name),), prov))
                if host.startswith("*."):
                    self.note(obj, "STREAM-WILDCARD-DEPTH", Level.WARNING, f"SNI rule {host} takes every name "
                              "under it, but Kong presents its certificate for names one label under it only "
                              "(deeper ones get Kong's default certificate); the Gateway's TLS listener presents "
                              "it for them all", fld, Fidelity.APPROXIMATE, "converted: deeper names get the "
                              "wildcard certificate from the Gateway", (stream_scope("TLS", port, host),))
            else:
                self.note(obj, "STREAM-NO-CERTIFICATE", Level.ERROR, f"host {host} has no certificate in spec.tls: "
                          "Kong terminates its TLS with the proxy's default certificate", fld,
                          Fidelity.UNSUPPORTED, "not converted (list the host under spec.tls with its Secret, or "
                          "set konghq.com/protocols: tls_passthrough)", (stream_scope("TLS", port, host),))
                continue
            self.routes.append(Route("TLSRoute", obj.namespace, f"{obj.name}-{port}-{host_slug(host)}", None,
                                     (host,), frozenset(), (Rule(matches=(), backends=(backend,), provenance=(prov,)),),
                                     (prov,), parents=(ListenerParent(gw, name),)))


    def finish(self) -> None:
        """Drop the host-less TCP rules of ports that also have SNI rules (noted): Kong serves
        both on one port, a Gateway cannot put a TCP listener beside TLS listeners."""
        kept: list[Route] = []
        for route in self.routes:
            parent = route.parents[0]
            assert isinstance(parent, ListenerParent)
            listener = self.listeners[(parent.gateway.key, parent.listener)]
            if listener.protocol == "TCP" and (parent.gateway.key, listener.port) in self.sni_ports:
                src, port = route.sources[0], listener.port
                self.ctx.notes.add(Note(
                    "KONG-STREAM-TLS-PORT", Level.WARNING, f"TCP port {port} also has SNI rules: Kong sends the "
                    "connections no SNI rule takes (other SNIs; on a plain port also connections without TLS) to "
                    "this host-less rule", subject=f"{src.kind} {src.namespace}/{src.name}", field=src.field,
                    origin=src.origin, fidelity=Fidelity.UNSUPPORTED, instead="not converted (a TCP listener "
                    "cannot share its port with TLS listeners)", aspects=_STREAM_ASPECTS,
                    scope=(stream_scope("TCP", port), stream_scope("TLS", port))))
                del self.listeners[(parent.gateway.key, parent.listener)]
                continue
            kept.append(route)
        self.routes = kept


def convert_streams(ir: IR, claimed: Claimed, ctx: ProviderContext) -> IR:
    """``ir`` plus the listeners and routes of the claimed TCPIngresses and UDPIngresses."""
    streams = _Streams(ctx)
    for kind, udp in (("TCPIngress", False), ("UDPIngress", True)):
        for obj in sorted(claimed.of(kind, "configuration.konghq.com"), key=lambda o: (o.namespace, o.name)):
            streams.convert(obj, udp)
    streams.finish()
    if not streams.routes:
        return ir
    return replace(ir, routes=(*ir.routes, *streams.routes), listeners=(*ir.listeners, *streams.listeners.values()))

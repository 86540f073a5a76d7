"""ApisixRoute ``spec.stream`` rules (TCP/UDP) -> Gateway listeners and TCPRoute / TLSRoute / UDPRoute.

The controller turns each stream rule into an APISIX stream route on ``match.ingressPort`` (one
of the proxy's statically configured ``stream_proxy`` ports) with ``match.host`` as its SNI, and
the backend Service (``servicePort`` a number or a port name) as its upstream, tuned by the
Service's ApisixUpstream:

* ``protocol: TCP`` without ``host`` matches every connection to the port: a TCP listener on the
  port and a TCPRoute;
* ``protocol: TCP`` with ``host`` matches the TLS SNI: APISIX terminates TLS (the port is a TLS
  stream port) with the SSL object of an ApisixTls listing the host or a wildcard covering it,
  and proxies plain TCP: a TLS listener in Terminate mode for the host with that certificate
  and a TLSRoute. Without an ApisixTls for the host (or a wildcard one label above it) the
  handshake fails: not converted (an error note says so). A wildcard host takes names any depth
  under it, its certificate one label only: noted;
* ``protocol: UDP`` matches every datagram to the port: a UDP listener and a UDPRoute; a ``host``
  there never matches (a datagram carries no SNI): not converted.

Two host-less rules on one (protocol, port) are one route too many for a listener: the first
(by namespace, name, rule) is kept and the other noted; a host-less TCP rule on a port that
also has SNI rules is noted and left out (that port speaks TLS in APISIX, plain TCP on a TCP
listener). Plugins on a stream rule: ``ip-restriction`` and ``limit-conn`` become intents (a
protection whose loss fails the run), other stream plugins opaque intents; a plugin that is not
one of APISIX's stream plugins is noted and dropped. ``verify`` replays connections to them
through APISIX's stream model (:mod:`.streammodel`) and the reference stream router; the notes of
what is left out are scoped to the connections they explain (:mod:`ing2gw.streamverify`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ing2gw import intents as i
from ing2gw.ir import BackendRef, CertificateRef, GatewayRef, Listener, ListenerParent, Provenance, Route, Rule
from ing2gw.kinds import KubeObject
from ing2gw.names import host_slug
from ing2gw.notes import Fidelity, Level, Note, Scope, stream_scope
from ing2gw.provider import ProviderContext

from .crds import as_map, plugin_list, service_port
from .plugins import Site, convert

__all__ = ["StreamConverter"]

# The plugins APISIX runs on stream routes (its stream plugin list); any other is refused there.
STREAM_PLUGINS = frozenset({"ip-restriction", "limit-conn", "mqtt-proxy", "prometheus", "syslog",
                            "traffic-split"})

Upstream = Callable[[KubeObject, str, Scope], list[i.Intent]]
_STREAM_ASPECTS = frozenset({"status", "backend", "tls"})  # what a stream note explains (ing2gw.streamverify)


class _Bad(ValueError):
    pass


class StreamConverter:
    """The listeners and routes of the ``spec.stream`` rules of ApisixRoutes, converted one
    object at a time (in namespace, name order) onto one Gateway."""

    def __init__(self, ctx: ProviderContext, gw: GatewayRef, certificate: Callable[[str], CertificateRef | None],
                 upstream: Upstream) -> None:
        self.ctx, self.gw, self.certificate, self.upstream = ctx, gw, certificate, upstream
        self.listeners: dict[str, Listener] = {}
        self.routes: list[tuple[str, Route]] = []  # (listener name, route)
        self.plain: dict[tuple[str, int], str] = {}  # host-less (protocol, port) -> the rule that has it
        self.sni_ports: set[int] = set()

    def note(self, obj: KubeObject, code: str, level: Level, message: str, fld: str,
             fidelity: Fidelity | None = Fidelity.UNSUPPORTED, instead: str = "not converted",
             scope: Scope = ()) -> None:
        self.ctx.notes.add(Note(f"APISIX-{code}", level, message, subject=obj.subject, field=fld, fidelity=fidelity,
                                instead=instead, origin=obj.origin, aspects=_STREAM_ASPECTS if scope else frozenset(),
                                scope=scope))

    def convert(self, obj: KubeObject) -> None:
        rules = obj.spec.get("stream")
        for n, rule in enumerate(rules if isinstance(rules, list) else []):
            fld = f"spec.stream[{n}]"
            try:
                self._rule(obj, fld, rule)
            except _Bad as exc:
                self.note(obj, "STREAM-INVALID", Level.ERROR, f"{obj.origin}: {exc}", fld, None,
                          "rule not converted (the controller refuses it)")

    def finish(self) -> list[Route]:
        """The routes; a host-less TCP rule on a port with SNI rules is dropped (noted)."""
        out: list[Route] = []
        for name, route in self.routes:
            listener = self.listeners.get(name)
            if listener is not None and listener.protocol == "TCP" and listener.port in self.sni_ports:
                src = route.sources[0]
                self.ctx.notes.add(Note(
                    "APISIX-STREAM-TLS-PORT", Level.WARNING, f"TCP port {listener.port} also has SNI rules: APISIX "
                    "terminates TLS on it, so this host-less rule serves TLS connections of any other SNI",
                    subject=f"ApisixRoute {src.namespace}/{src.name}", field=src.field, origin=src.origin,
                    fidelity=Fidelity.UNSUPPORTED, instead="not converted (a TCP listener cannot share the port "
                    "with the TLS listeners)", aspects=_STREAM_ASPECTS, scope=(stream_scope("TLS", listener.port),)))
                del self.listeners[name]
                continue
            out.append(route)
        return out

    # --- one rule ---------------------------------------------------------------------

    def _rule(self, obj: KubeObject, fld: str, rule: Any) -> None:
        if not isinstance(rule, Mapping):
            raise _Bad(f"{fld} must be a mapping")
        protocol = rule.get("protocol")
        if protocol not in ("TCP", "UDP"):
            raise _Bad(f"{fld}.protocol must be TCP or UDP, not {protocol!r}")
        match = as_map(rule.get("match"))
        port = match.get("ingressPort")
        if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
            raise _Bad(f"{fld}.match.ingressPort must be a port number")
        backend = self._backend(obj, fld, as_map(rule.get("backend")))
        host = str(match.get("host") or "").lower()
        name = str(rule.get("name") or fld.rsplit("[", 1)[1].rstrip("]"))
        prov = Provenance("ApisixRoute", obj.namespace, obj.name, fld, obj.origin)
        scope: Scope = ((host or "*", ""),)
        intents = self._plugins(obj, fld, rule, scope, prov) + self.upstream(obj, backend.name, scope)
        if host and protocol == "UDP":
            self.note(obj, "STREAM-UDP-HOST", Level.WARNING, f"UDP rule with host {host}: APISIX matches it by "
                      "TLS SNI, which a datagram never carries, so it matches nothing", fld + ".match.host",
                      Fidelity.EXACT, "not converted (nothing reaches it in APISIX either)")
            return
        if host:
            self._sni(obj, fld, name, port, host, Rule((), (backend,), intents=tuple(intents), provenance=(prov,)),
                      prov)
            return
        owner = self.plain.setdefault((protocol, port), f"{obj.subject} {fld}")
        if owner != f"{obj.subject} {fld}":
            self.note(obj, "STREAM-PORT-TAKEN", Level.WARNING, f"{protocol} port {port} is already routed by {owner}; "
                      "APISIX's stream router serves a port without SNI with one route", fld, Fidelity.APPROXIMATE,
                      "not converted (the first rule keeps the port)")
            return
        listener = f"{protocol.lower()}-{port}"
        self.listeners.setdefault(listener, Listener(self.gw, listener, port, protocol, source=prov))
        rules = (Rule((), (backend,), intents=tuple(intents), provenance=(prov,)),)
        self.routes.append((listener, Route("UDPRoute" if protocol == "UDP" else "TCPRoute", obj.namespace,
                                            f"{obj.name}-{name}", None, (), frozenset(), rules, (prov,),
                                            parents=(ListenerParent(self.gw, listener),))))

    def _sni(self, obj: KubeObject, fld: str, name: str, port: int, host: str, rule: Rule, prov: Provenance) -> None:
        self.sni_ports.add(port)  # a TLS stream port in APISIX, with a certificate for this host or not
        cert = self.certificate(host)
        if cert is None:
            self.note(obj, "STREAM-NO-CERTIFICATE", Level.ERROR, f"host {host} has no certificate (no ApisixTls nor "
                      "Ingress TLS section lists it or a wildcard one label above it): APISIX finds no SSL object "
                      "for the SNI and the TLS handshake fails", fld + ".match.host", Fidelity.UNSUPPORTED,
                      "not converted (add an ApisixTls listing the host)")
            return
        if host.startswith("*."):
            self.note(obj, "STREAM-WILDCARD-DEPTH", Level.WARNING, f"SNI rule {host} takes every name under it, but "
                      "APISIX completes the handshake for names one label under it only (its certificate matcher "
                      "refuses deeper ones); the Gateway's TLS listener terminates them all", fld + ".match.host",
                      Fidelity.APPROXIMATE, "converted: names two or more labels under the wildcard are served "
                      "by the Gateway where APISIX fails the handshake", (stream_scope("TLS", port, host),))
        listener = f"tls-{port}-{host_slug(host)}"
        self.listeners.setdefault(listener, Listener(self.gw, listener, port, "TLS", host, "Terminate", (cert,), prov))
        self.routes.append((listener, Route("TLSRoute", obj.namespace, f"{obj.name}-{name}", None, (host,),
                                            frozenset(), (rule,), (prov,),
                                            parents=(ListenerParent(self.gw, listener),))))

    def _backend(self, obj: KubeObject, fld: str, backend: Mapping[str, Any]) -> BackendRef:
        svc = backend.get("serviceName")
        if not isinstance(svc, str) or not svc:
            raise _Bad(f"{fld}.backend.serviceName is required")
        port = service_port(self.ctx.resources, obj.namespace, svc, backend.get("servicePort"))
        if port is None:
            raise _Bad(f"port {backend.get('servicePort')!r} of Service {obj.namespace}/{svc} cannot be resolved "
                       "(add the Service to the input)")
        if backend.get("subset"):
            self.note(obj, "BACKEND-SUBSET", Level.WARNING, f"backend subset {backend['subset']} (an ApisixUpstream "
                      "subset: a label selection of the Service's pods)", fld + ".backend.subset",
                      instead="the whole Service is the backend")
        return BackendRef(svc, obj.namespace, port)

    def _plugins(self, obj: KubeObject, fld: str, rule: Mapping[str, Any], scope: Scope, prov: Provenance
                 ) -> list[i.Intent]:
        plugins, _ = plugin_list(rule.get("plugins"))
        for name in sorted(set(plugins) - STREAM_PLUGINS):
            self.note(obj, "STREAM-HTTP-PLUGIN", Level.WARNING, f"plugin {name} is not one of APISIX's stream "
                      "plugins (stream routes take those only)", fld + ".plugins", Fidelity.UNSUPPORTED, "dropped")
        conv = convert({k: v for k, v in plugins.items() if k in STREAM_PLUGINS},
                       Site(obj.subject, obj.origin, fld + ".plugins", scope, prov))
        for found in conv.notes:
            self.ctx.notes.add(found)
        return conv.intents

"""APISIX's stream router for ``verify``: what APISIX does with a TCP or TLS connection or a UDP
datagram, from the ApisixRoutes' ``spec.stream`` rules (:class:`ing2gw.dataplane.StreamModel`).

The controller makes each rule an APISIX stream route on ``match.ingressPort`` with
``match.host`` as its SNI. What the model assumes of the proxy, as the conversion does
(:mod:`.streams`): a port with a TCP rule that names a host is a TLS stream port, any other a
plain one. Then, as APISIX's stream router does:

* on a TLS port APISIX completes the handshake with the SSL object of the SNI -- the exact host,
  else a wildcard ``*.`` covering exactly one more label (APISIX's certificate matcher refuses
  deeper names) -- and fails it without one, or without a ClientHello. The SNI then picks a rule:
  the exact host first, then wildcards from the longest (those match names any depth under
  them); a rule of another port is passed over;
* a connection no SNI rule takes goes to the first host-less rule of its port (on a TLS port
  after the handshake, on a plain port as it comes); none: APISIX closes it;
* a datagram goes to the first host-less UDP rule of its port (a UDP rule with a host matches
  nothing: a datagram carries no SNI).

Rules are taken in namespace, name and rule order (the conversion keeps the first of two for
one port the same way); rules the controller refuses (no port, an unresolvable Service port)
route nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ing2gw.resources import ResourceSet
from ing2gw.router.hostnames import host_matches
from ing2gw.router.streams import Connection, StreamOutcome

from .config import sni_lookup, ssl_certificates
from .crds import KINDS, Crds, as_map, service_port

__all__ = ["ApisixStreams"]


@dataclass(frozen=True, slots=True)
class _Rule:
    subject: str  # "ApisixRoute ns/name"
    protocol: str  # "TCP" or "UDP"
    port: int
    host: str  # "" none
    backend: str  # "ns/name:port"


class ApisixStreams:
    """APISIX's stream routes for a set of ApisixRoutes."""

    def __init__(self, rules: Sequence[_Rule], certificates: Mapping[str, str]) -> None:
        self.rules = list(rules)
        self.tls_ports = {r.port for r in self.rules if r.protocol == "TCP" and r.host}
        self.certificates = {h.lower(): s for h, s in certificates.items()}

    @classmethod
    def from_resources(cls, resources: ResourceSet) -> ApisixStreams | None:
        """The model, or None when no ApisixRoute has a stream rule."""
        objects = resources.claimed(KINDS)
        rules: list[_Rule] = []
        for obj in Crds(objects).all("ApisixRoute"):
            stream = obj.spec.get("stream")
            for raw in stream if isinstance(stream, list) else []:
                if not isinstance(raw, Mapping) or raw.get("protocol") not in ("TCP", "UDP"):
                    continue
                match, backend = as_map(raw.get("match")), as_map(raw.get("backend"))
                port, svc = match.get("ingressPort"), backend.get("serviceName")
                if not isinstance(port, int) or isinstance(port, bool) or not isinstance(svc, str) or not svc:
                    continue
                number = service_port(resources, obj.namespace, svc, backend.get("servicePort"))
                if number is None:
                    continue
                rules.append(_Rule(obj.subject, str(raw["protocol"]), port, str(match.get("host") or "").lower(),
                                   f"{obj.namespace}/{svc}:{number}"))
        return cls(rules, ssl_certificates(resources.ingresses, objects)) if rules else None

    def endpoints(self) -> list[Connection]:
        """Each rule's port and SNI, and on each TLS port each host APISIX holds a certificate
        for (the SNIs whose handshake completes there)."""
        named = {Connection("TLS" if r.host else r.protocol, r.port, r.host or None)
                 for r in self.rules if not (r.protocol == "UDP" and r.host)}
        named |= {Connection("TLS", port, h) for port in self.tls_ports for h in self.certificates}
        return sorted(named)

    def certificate(self, sni: str) -> str | None:
        """The Secret of the SSL object APISIX completes a handshake for ``sni`` with."""
        return sni_lookup(self.certificates, sni)

    def route(self, conn: Connection, /) -> StreamOutcome:
        port = conn.port
        tls_port = port in self.tls_ports
        listener = f"APISIX stream_proxy {'tcp' if conn.protocol != 'UDP' else 'udp'} {port}" + \
                   (" tls" if tls_port and conn.protocol != "UDP" else "")
        if conn.protocol == "UDP":
            rule = next((r for r in self.rules if r.protocol == "UDP" and r.port == port and not r.host), None)
            return _to(rule, "", None, listener, f"no UDP stream rule for port {port}")
        sni = (conn.sni or "").lower()
        hostless = next((r for r in self.rules if r.protocol == "TCP" and r.port == port and not r.host), None)
        if not tls_port:
            return _to(hostless, "", None, listener, f"no stream rule of port {port} takes it: APISIX closes it")
        if conn.protocol != "TLS":
            return StreamOutcome(None, f"port {port} is a TLS stream port (it has SNI rules): a connection without "
                                       "a ClientHello fails the handshake", listener=listener)
        certificate = self.certificate(sni) if sni else None
        if certificate is None:
            return StreamOutcome(None, f"no SSL object for SNI {sni or '(none)'}: the handshake fails",
                                 listener=listener)
        candidates = [r for r in self.rules if r.protocol == "TCP" and r.port == port and r.host and sni
                      and (r.host == sni or (r.host.startswith("*.") and host_matches(r.host, sni)))]
        rule = max(candidates, key=lambda r: (r.host == sni, len(r.host)), default=None) or hostless
        return _to(rule, "terminate", certificate, listener, f"no stream rule of port {port} takes SNI {sni}: "
                                                              "APISIX closes the connection after the handshake")


def _to(rule: _Rule | None, tls: str, certificate: str | None, listener: str, refusal: str) -> StreamOutcome:
    if rule is None:
        return StreamOutcome(None, refusal, listener=listener)
    return StreamOutcome(rule.backend, "", tls, certificate, ((rule.backend, 100),), listener, rule.subject)

"""Kong's stream router for ``verify``: what Kong does with a TCP or TLS connection or a UDP
datagram, from the TCPIngresses and UDPIngresses themselves (:class:`ing2gw.dataplane.StreamModel`).

KIC makes each valid rule a Kong stream route on its port (``destinations``), with the rule's
``host`` as its SNI, protocols ``tcp`` and ``tls`` (``tls_passthrough`` under
``konghq.com/protocols: tls_passthrough``; ``udp`` for a UDPIngress). What the model assumes of
the proxy, as the conversion does (:mod:`.streams`): a port with a terminating SNI rule is a
``stream_listen ... ssl`` port, any other a plain one. Then:

* on an ssl port Kong completes every handshake -- with the certificate of a TCPIngress or
  Ingress TLS entry listing the SNI, or a wildcard one, else its own default certificate
  (:meth:`KongStreams.certificate` has the order) -- and a connection without a ClientHello
  fails; the decrypted stream goes to the rule whose host is the SNI (a wildcard host: any
  name under it, the longest first), else to the port's host-less rule (its protocols include
  ``tls``), else Kong closes it;
* on a plain port a ClientHello whose SNI a ``tls_passthrough`` rule names is passed through
  encrypted; any other connection goes to the port's host-less rule as it comes, or is closed;
* a datagram goes to the UDP rule of its port.

SNIs are lower-cased; of two rules for one port and SNI (or two host-less ones) the
first by namespace, name and rule index is kept, as the conversion keeps it. Rules KIC refuses
(no port, no backend) route nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ing2gw.resources import ResourceSet
from ing2gw.router.hostnames import host_matches
from ing2gw.router.streams import Connection, StreamOutcome

from .streams import TCP_INGRESS, UDP_INGRESS, _backend, _Bad, _port

__all__ = ["KongStreams"]

DEFAULT_CERTIFICATE = "default"  # Kong's own certificate, for SNIs no TLS entry lists


@dataclass(frozen=True, slots=True)
class _Rule:
    subject: str  # "TCPIngress ns/name"
    protocol: str  # "UDP", "TCP" (host-less), "TLS" (terminated SNI), "PASSTHROUGH"
    port: int
    host: str
    backend: str


class KongStreams:
    """Kong's stream routes for a set of TCPIngresses and UDPIngresses."""

    def __init__(self, rules: Sequence[_Rule], certificates: Mapping[str, str]) -> None:
        self.first: dict[tuple[str, int, str], _Rule] = {}
        for rule in rules:
            self.first.setdefault((rule.protocol, rule.port, rule.host), rule)
        self.ssl_ports = {r.port for r in rules if r.protocol == "TLS"}
        self.certificates = dict(certificates)

    @classmethod
    def from_resources(cls, resources: ResourceSet) -> KongStreams | None:
        """The model, or None when the resources hold no stream rule."""
        rules: list[_Rule] = []
        certificates: dict[str, str] = {}
        for obj in sorted(resources.claimed([TCP_INGRESS, UDP_INGRESS]), key=lambda o: (o.namespace, o.name,
                                                                                          o.kind.kind)):
            udp = obj.kind.kind == UDP_INGRESS.kind
            passthrough = "tls_passthrough" in str(obj.annotations.get("konghq.com/protocols", ""))
            for t in [] if udp else obj.spec.get("tls") or []:
                if isinstance(t, Mapping) and t.get("secretName"):
                    secret = str(t["secretName"])
                    for host in t.get("hosts") or []:
                        certificates.setdefault(str(host).lower(), secret if "/" in secret
                                                else f"{obj.namespace}/{secret}")
            for raw in obj.spec.get("rules") or []:
                try:
                    if not isinstance(raw, Mapping):
                        continue
                    port, backend = _port(raw, ""), _backend(obj, raw, "")
                except _Bad:
                    continue
                host = "" if udp else str(raw.get("host") or "").lower()
                protocol = "UDP" if udp else "TCP" if not host else "PASSTHROUGH" if passthrough else "TLS"
                rules.append(_Rule(obj.subject, protocol, port, host, f"{backend.namespace}/{backend.name}:"
                                                                       f"{backend.port}"))
        for ing in sorted(resources.ingresses, key=lambda i: (i.namespace, i.name)):
            for tls in ing.tls:
                for host in tls.hosts:
                    certificates.setdefault(host.lower(), f"{ing.namespace}/{tls.secret_name}")
        return cls(rules, certificates) if rules else None

    def endpoints(self) -> list[Connection]:
        return sorted({Connection("TLS" if p in ("TLS", "PASSTHROUGH") else p, port, host or None)
                       for p, port, host in self.first})

    def certificate(self, sni: str) -> str:
        """The Secret Kong completes a handshake for ``sni`` with. Kong's lookup: no SNI gets its
        default certificate; else the exact SNI, then ``*.`` in place of the first label (only
        for names of three labels or more: ``example.com`` has no ``*.com``), then ``.*`` in
        place of the last label, then the catch-all ``*``, else its default."""
        if not sni:
            return DEFAULT_CERTIFICATE
        labels = sni.split(".")
        prefix = "*." + ".".join(labels[1:]) if len(labels) > 2 else ""
        suffix = ".".join(labels[:-1]) + ".*" if len(labels) > 1 else ""
        for name in (sni, prefix, suffix, "*"):
            if name and name in self.certificates:
                return self.certificates[name]
        return DEFAULT_CERTIFICATE

    def _by_sni(self, protocol: str, port: int, sni: str) -> _Rule | None:
        """The rule of ``port`` whose host is ``sni``, else the longest wildcard covering it."""
        found = self.first.get((protocol, port, sni))
        if found is None and sni:
            wild = [k for k in self.first if k[0] == protocol and k[1] == port and k[2].startswith("*.")
                    and host_matches(k[2], sni)]
            found = self.first[max(wild, key=lambda k: len(k[2]))] if wild else None
        return found

    def route(self, conn: Connection, /) -> StreamOutcome:
        port = conn.port
        listener = f"Kong stream_listen {port}" + (" ssl" if port in self.ssl_ports else "")
        if conn.protocol == "UDP":
            return self._to(self.first.get(("UDP", port, "")), "", None, listener,
                            f"no UDPIngress rule for port {port}")
        sni = (conn.sni or "").lower()
        hostless = self.first.get(("TCP", port, ""))
        if port in self.ssl_ports:
            if conn.protocol != "TLS":
                return StreamOutcome(None, f"port {port} is an ssl stream port (it has SNI rules): a connection "
                                           "without a ClientHello fails the handshake", listener=listener)
            rule = self._by_sni("TLS", port, sni) or hostless
            return self._to(rule, "terminate", self.certificate(sni), listener,
                            f"no rule of port {port} takes SNI {sni or '(none)'}: Kong closes the connection after "
                            "the handshake")
        passthrough = self._by_sni("PASSTHROUGH", port, sni) if conn.protocol == "TLS" else None
        if passthrough is not None:
            return self._to(passthrough, "passthrough", None, listener, "")
        return self._to(hostless, "", None, listener, f"no rule of port {port} takes it: Kong closes the connection")

    @staticmethod
    def _to(rule: _Rule | None, tls: str, certificate: str | None, listener: str, refusal: str) -> StreamOutcome:
        if rule is None:
            return StreamOutcome(None, refusal, listener=listener)
        return StreamOutcome(rule.backend, "", tls, certificate, ((rule.backend, 100),), listener, rule.subject)

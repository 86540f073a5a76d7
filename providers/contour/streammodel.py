"""Contour's ``tcpproxy`` as a stream router for ``verify`` (:class:`ing2gw.dataplane.StreamModel`).

A root HTTPProxy with ``spec.tcpproxy`` (its services, or those of the HTTPProxy its
``include`` names, :mod:`.tree`) and ``virtualhost.tls`` makes Envoy's HTTPS listener (443)
match the ClientHello's SNI against the fqdn: with ``tls.passthrough`` the stream goes to the
services encrypted, with ``tls.secretName`` Envoy terminates it with that Secret (delegated by a
TLSCertificateDelegation when it is in another namespace; otherwise Contour refuses the root)
and forwards the decrypted stream. The services share the connections by ``weight`` as an
HTTPProxy route's do: with any weight set, an unweighted service gets none; with none set,
equal shares. An SNI no tcpproxy names goes to Envoy's HTTP(S) virtual hosts (HTTP routing,
which ``verify``'s HTTP replay covers: here it is not a stream route).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ing2gw.resources import ResourceSet
from ing2gw.router.hostnames import host_matches
from ing2gw.router.streams import Connection, StreamOutcome

__all__ = ["TcpProxyStreams"]

HTTPS_PORT = 443


@dataclass(frozen=True, slots=True)
class _Proxy:
    fqdn: str
    subject: str  # "HTTPProxy ns/name" of the tcpproxy's owner
    tls: str  # "passthrough" or "terminate"
    certificate: str | None
    weights: tuple[tuple[str, int], ...]  # ("ns/name:port", weight)


class TcpProxyStreams:
    """The tcpproxy virtual hosts of a set of HTTPProxies."""

    def __init__(self, proxies: Sequence[_Proxy]) -> None:
        self.proxies = {p.fqdn: p for p in proxies}

    @classmethod
    def from_resources(cls, resources: ResourceSet) -> TcpProxyStreams | None:
        """The model, or None when no HTTPProxy has a tcpproxy."""
        from .httpproxy import delegated
        from .policies import number
        from .tree import KINDS, build

        objects = resources.claimed(KINDS)
        proxies: list[_Proxy] = []
        for vh in build(objects).hosts:
            if vh.tcpproxy is None or vh.tcp_owner is None:
                continue
            certificate = None
            if not vh.passthrough:
                ns, _, secret = vh.secret.rpartition("/")
                if ns and ns != vh.root.namespace and not delegated(objects, ns, secret, vh.root.namespace):
                    continue
                certificate = f"{ns or vh.root.namespace}/{secret}"
            owner = vh.tcp_owner
            services = [s for s in vh.tcpproxy.get("services") or [] if isinstance(s, Mapping)
                        and s.get("name") and isinstance(s.get("port"), int)]
            weighted = any(number(s.get("weight"), 0) > 0 for s in services)
            weights = tuple((f"{owner.namespace}/{s['name']}:{s['port']}",
                             number(s.get("weight"), 0) if weighted else 1) for s in services)
            if weights:
                proxies.append(_Proxy(vh.fqdn.lower(), owner.subject, "passthrough" if vh.passthrough else "terminate",
                                      certificate, weights))
        return cls(proxies) if proxies else None

    def endpoints(self) -> list[Connection]:
        return [Connection("TLS", HTTPS_PORT, fqdn) for fqdn in sorted(self.proxies)]

    def route(self, conn: Connection, /) -> StreamOutcome:
        listener = f"Envoy HTTPS listener :{HTTPS_PORT}"
        if conn.port != HTTPS_PORT or conn.protocol != "TLS":
            return StreamOutcome(None, "not a ClientHello on 443: Contour's tcpproxy takes TLS by SNI only",
                                 listener=listener)
        sni = (conn.sni or "").lower()
        proxy = self.proxies.get(sni) or next((p for f, p in sorted(self.proxies.items(), key=lambda kv: -len(kv[0]))
                                               if f.startswith("*.") and sni and host_matches(f, sni)
                                               and sni.count(".") == f.count(".")), None)
        if proxy is None:
            return StreamOutcome(None, "no tcpproxy virtual host for the SNI: Envoy's HTTPS virtual hosts take it "
                                       "(HTTP routing)", listener=listener)
        total = sum(w for _, w in proxy.weights)
        if total == 0:
            return StreamOutcome(None, f"{proxy.subject}: no service has weight", listener=listener,
                                 route=proxy.subject)
        backend = max(proxy.weights, key=lambda bw: bw[1])[0]
        shares = tuple((b, round(100 * w / total)) for b, w in proxy.weights if w)
        return StreamOutcome(backend, "", proxy.tls, proxy.certificate, shares, listener, proxy.subject)

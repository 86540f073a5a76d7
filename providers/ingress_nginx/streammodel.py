"""ingress-nginx's SSL passthrough as a stream router for ``verify`` (:class:`ing2gw.dataplane.StreamModel`).

Started with ``--enable-ssl-passthrough`` (what the conversion assumes, and its
``SSL-PASSTHROUGH`` note says), the controller puts a TCP proxy in front of nginx on the HTTPS
port (443): it reads the ClientHello's SNI and, when it is exactly a host of a server marked
``ssl-passthrough`` (by any Ingress of the host), hands the connection unterminated to the
backend of that server's ``/`` location; every other connection goes on to nginx's HTTPS server
(HTTP routing, which ``verify``'s HTTP replay covers: here it is not a stream route). The ``/``
location is that of the first Ingress in the controller's order (:func:`.model.nginx_order`)
with a ``/`` path that is not Exact; canary Ingresses serve no passthrough. A host whose ``/``
backend names a port the Services do not resolve has no passthrough backend.
"""

from __future__ import annotations

from collections.abc import Mapping

from ing2gw.resources import Ingress, IngressPath, ResourceSet
from ing2gw.router.streams import Connection, StreamOutcome

__all__ = ["PassthroughStreams"]

HTTPS_PORT = 443
_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})  # what Go's strconv.ParseBool reads as true


class PassthroughStreams:
    """The SNI passthrough of one controller: host -> (backend ``ns/svc:port``, Ingress)."""

    def __init__(self, hosts: Mapping[str, tuple[str, str]]) -> None:
        self.hosts = dict(hosts)

    @classmethod
    def from_resources(cls, resources: ResourceSet, prefix: str = "nginx.ingress.kubernetes.io"
                       ) -> PassthroughStreams | None:
        """The model, or None when no Ingress asks for ssl-passthrough."""
        from .model import nginx_order

        primaries = [i for i in nginx_order(list(resources.ingresses))
                     if i.annotations.get(f"{prefix}/canary") not in _TRUE]
        marked = {r.host for i in primaries if i.annotations.get(f"{prefix}/ssl-passthrough") in _TRUE
                  for r in i.rules if r.host}
        hosts: dict[str, tuple[str, str]] = {}
        for host in sorted(marked):
            root = next(((i, p) for i in primaries for r in i.rules if r.host == host for p in r.paths
                         if (p.path or "/") == "/" and p.path_type != "Exact"), None)
            backend = _backend(resources, *root) if root else None
            if root and backend:
                hosts[host] = (backend, f"Ingress {root[0].ref}")
        return cls(hosts) if marked else None

    def endpoints(self) -> list[Connection]:
        return [Connection("TLS", HTTPS_PORT, h) for h in sorted(self.hosts)]

    def route(self, conn: Connection, /) -> StreamOutcome:
        listener = f"ingress-nginx TLS proxy :{HTTPS_PORT}"
        if conn.port != HTTPS_PORT or conn.protocol == "UDP":
            return StreamOutcome(None, f"no stream on port {conn.port}: ingress-nginx serves HTTP(S) only there "
                                       "(tcp-services/udp-services are not read)")
        found = self.hosts.get((conn.sni or "").lower()) if conn.protocol == "TLS" else None
        if found is None:
            return StreamOutcome(None, "not a passthrough SNI: nginx's HTTPS server takes it (HTTP routing)",
                                 listener=listener)
        return StreamOutcome(found[0], "", "passthrough", None, ((found[0], 100),), listener, found[1])


def _backend(resources: ResourceSet, ing: Ingress, path: IngressPath) -> str | None:
    """``ns/svc:port`` of a path's Service backend (a named port through the Service)."""
    backend = path.backend
    if not backend.service:
        return None
    port = backend.port_number
    if port is None:
        svc = resources.services.get((ing.namespace, backend.service))
        port = next((p.port for p in svc.ports if p.name == backend.port_name), None) if svc else None
    return f"{ing.namespace}/{backend.service}:{port}" if port is not None else None

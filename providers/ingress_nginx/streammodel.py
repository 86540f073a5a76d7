"""ingress-nginx's SSL passthrough as a stream router for ``verify`` (:class:`ing2gw.dataplane.StreamModel`,
through :class:`.._common.passthrough.SniPassthrough`).

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

from ing2gw.resources import Ingress, IngressPath, ResourceSet

from .._common.passthrough import SniPassthrough

__all__ = ["passthrough_streams"]

_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})  # what Go's strconv.ParseBool reads as true


def passthrough_streams(resources: ResourceSet, prefix: str = "nginx.ingress.kubernetes.io") -> SniPassthrough | None:
    """The model, or None when no Ingress asks for ssl-passthrough."""
    from .model import nginx_order

    passthrough, canary = f"{prefix}/ssl-passthrough", f"{prefix}/canary"
    marked = {r.host for i in resources.ingresses if i.annotations.get(passthrough) in _TRUE
              and i.annotations.get(canary) not in _TRUE for r in i.rules if r.host}
    if not marked:  # (most inputs: the Ingresses are not put in the controller's order for nothing)
        return None
    primaries = [i for i in nginx_order(list(resources.ingresses)) if i.annotations.get(canary) not in _TRUE]
    hosts: dict[str, tuple[str, str]] = {}
    for host in sorted(marked):
        root = next(((i, p) for i in primaries for r in i.rules if r.host == host for p in r.paths
                     if (p.path or "/") == "/" and p.path_type != "Exact"), None)
        backend = _backend(resources, *root) if root else None
        if root and backend:
            hosts[host] = (backend, f"Ingress {root[0].ref}")
    return SniPassthrough("ingress-nginx", hosts)


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

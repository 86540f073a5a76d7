"""An HAProxy controller's ``ssl-passthrough`` hosts as a stream model for ``verify`` and
``ing2gw route tls://...`` (:class:`ing2gw.dataplane.StreamModel`, through
:class:`.._common.passthrough.SniPassthrough`).

Both controllers (haproxy-ingress and the HAProxy Technologies one) put a TCP-mode frontend
on the HTTPS port (443) in front of their HTTPS frontend: it reads the ClientHello's SNI,
lower-cased, and looks it up in the passthrough hosts' map -- the exact name, then a ``*.``
host one label above it (the controllers store a wildcard host so, as for HTTP hosts:
``*.example.com`` covers ``a.example.com``, not ``a.b.example.com``); a hit goes, still
encrypted, to that host's backend, everything else (another SNI, no ClientHello) on to the
HTTPS frontend (HTTP routing, which the HTTP replay covers). The backend of a passthrough host
is the ``/`` path (the only path, when there is one) of the oldest Ingress (then namespace and
name: the controllers' precedence) that names the host with ``ssl-passthrough`` and has one
whose backend the controller finds (a named port resolved through the Service).
"""

from __future__ import annotations

from collections.abc import Callable

from ing2gw.resources import Ingress, ResourceSet

from .._common.passthrough import SniPassthrough
from .entries import backend_name, ordered
from .policy import HaproxyPolicy

__all__ = ["passthrough_streams"]


def passthrough_streams(controller: str, resources: ResourceSet,
                        policy: Callable[[Ingress], HaproxyPolicy]) -> SniPassthrough | None:
    """The model, or None when no Ingress asks for ssl-passthrough."""
    hosts: dict[str, tuple[str, str]] = {}
    marked = False
    for ing in ordered(resources.ingresses):
        if not policy(ing).passthrough:
            continue
        marked = True
        for rule in ing.rules:
            host = rule.host.lower()
            if not host or host in hosts:
                continue
            paths = list(rule.paths)
            root = next((p for p in paths if (p.path or "/") == "/"), paths[0] if len(paths) == 1 else None)
            backend = backend_name(ing, root.backend, resources) if root is not None else None
            if backend is not None:
                hosts[host] = (backend, f"Ingress {ing.ref}")
    return SniPassthrough(controller, hosts, one_label=True) if marked else None

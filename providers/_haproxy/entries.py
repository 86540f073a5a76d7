"""Ingresses to the model's :class:`~.model.Entry` list: one entry per (host, path) in the
controller's precedence order (oldest Ingress first), backends named ``ns/svc:port`` with
Service port names resolved, and a host-less catch-all for a ``spec.defaultBackend``.

The controller-specific parts come in as functions: the Ingress's policy, the match kind of a
path, and whether the controller offers HTTPS for a host.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ing2gw.resources import Ingress, IngressBackend, IngressPath, ResourceSet

from .model import Entry
from .policy import HaproxyPolicy, Redirect

__all__ = ["backend_name", "build_entries", "ordered"]


def ordered(ingresses: Sequence[Ingress]) -> list[Ingress]:
    """Oldest first, then namespace/name: the first to declare a host + path keeps it."""
    return sorted(ingresses, key=lambda i: (i.created or "~", i.namespace, i.name))


def backend_name(ing: Ingress, backend: IngressBackend, resources: ResourceSet) -> str | None:
    """``ns/svc:port`` (a named port through the Service); None when the controller has no
    such backend: a resource backend, or -- when the input holds Services -- a Service or
    port that does not exist (the controllers skip those paths with a warning)."""
    if backend.service is None:
        return None
    svc = resources.services.get((ing.namespace, backend.service))
    if svc is None and resources.has_services:
        return None
    port = backend.port_number
    if port is None:
        # a port name is the Service port's, else its targetPort's (both controllers accept either)
        ports = svc.ports if svc else ()
        port = next((p.port for p in ports if p.name == backend.port_name), None)
        port = port or next((p.port for p in ports if p.target_port == backend.port_name), None)
        if port is None:
            return None
    elif svc is not None and svc.ports and all(p.port != port for p in svc.ports):
        return None
    return f"{ing.namespace}/{backend.service}:{port}"


def build_entries(
    resources: ResourceSet,
    policy: Callable[[Ingress], HaproxyPolicy],
    match: Callable[[Ingress, IngressPath, HaproxyPolicy], str | None],
    tls: Callable[[Ingress, str], bool],
    default_kind: str = "default",
) -> list[Entry]:
    """Every path of every Ingress; ``match`` returns None for a path the controller skips.
    A ``spec.defaultBackend`` is a ``/`` path of kind ``default_kind`` on the Ingress's hosts
    (the host-less rules when it has none); the first to declare a host + path + kind keeps it."""
    out: list[Entry] = []
    taken: set[tuple[str, str, str]] = set()
    for ing in ordered(resources.ingresses):
        pol = policy(ing)
        for rule in ing.rules:
            host = rule.host.lower()
            for path in rule.paths:
                kind = match(ing, path, pol)
                name = backend_name(ing, path.backend, resources)
                if kind is None or name is None:
                    continue
                key = (host, path.path or "/", kind)
                if key in taken:
                    continue
                taken.add(key)
                for served in (host, *(a.lower() for a in pol.server_aliases)):
                    out.append(Entry(ing.ref, served, path.path or "/", kind, name, pol, tls(ing, host), len(out)))
        if pol.redirect_from is not None:  # every request for that host is redirected to the Ingress's host
            hosts = sorted({r.host.lower() for r in ing.rules if r.host and not r.host.startswith("*.")})
            first = next((e.backend for e in out if e.ingress == ing.ref), None)
            if len(hosts) == 1 and first is not None:
                source, code = pol.redirect_from
                red = HaproxyPolicy(ssl_redirect=False, redirect=Redirect(code=code, hostname=hosts[0]),
                                    redirects_first=True)
                out.append(Entry(ing.ref, source.lower(), "/", default_kind, first, red, False, len(out)))
        default = backend_name(ing, ing.default_backend, resources) if ing.default_backend is not None else None
        if default is not None:
            hosts = [r.host.lower() for r in ing.rules] or [""]
            for host in hosts:
                key = (host, "/", default_kind)
                if key not in taken:
                    taken.add(key)
                    out.append(Entry(ing.ref, host, "/", default_kind, default, pol, tls(ing, host), len(out)))
    return out

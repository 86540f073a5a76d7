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
from .policy import HaproxyPolicy

__all__ = ["backend_name", "build_entries", "ordered"]


def ordered(ingresses: Sequence[Ingress]) -> list[Ingress]:
    """Oldest first, then namespace/name: the first to declare a host + path keeps it."""
    return sorted(ingresses, key=lambda i: (i.created or "~", i.namespace, i.name))


def backend_name(ing: Ingress, backend: IngressBackend, resources: ResourceSet) -> str | None:
    """``ns/svc:port`` (a named port through the Service); None for a resource backend or an
    unresolvable port name."""
    if backend.service is None:
        return None
    port = backend.port_number
    if port is None:
        svc = resources.services.get((ing.namespace, backend.service))
        port = next((p.port for p in svc.ports if p.name == backend.port_name), None) if svc else None
        if port is None:
            return None
    return f"{ing.namespace}/{backend.service}:{port}"


def build_entries(
    resources: ResourceSet,
    policy: Callable[[Ingress], HaproxyPolicy],
    match: Callable[[Ingress, IngressPath, HaproxyPolicy], str | None],
    tls: Callable[[Ingress, str], bool],
) -> list[Entry]:
    """Every path of every Ingress; ``match`` returns None for a path the controller skips."""
    out: list[Entry] = []
    taken: set[tuple[str, str, str]] = set()
    for ing in ordered(resources.ingresses):
        pol = policy(ing)
        for rule in ing.rules:
            host = rule.host.lower()
            for path in rule.paths:
                kind = match(ing, path, pol)
                if kind is None:
                    continue
                key = (host, path.path or "/", kind)
                if key in taken:
                    continue
                taken.add(key)
                out.append(Entry(ing.ref, host, path.path or "/", kind, backend_name(ing, path.backend, resources),
                                 pol, tls(ing, host), len(out)))
        if ing.default_backend is not None:
            hosts = [r.host.lower() for r in ing.rules] or [""]
            for host in hosts:
                key = (host, "/", "default")
                if key not in taken:
                    taken.add(key)
                    out.append(Entry(ing.ref, host, "/", "default", backend_name(ing, ing.default_backend, resources),
                                     pol, tls(ing, host), len(out)))
    return out

"""ReferenceGrants for every cross-namespace reference the emitted objects make.

Gateways and ListenerSets referring to certificate Secrets in other namespaces, and routes
referring to backend Services (backendRefs and mirror targets) in other namespaces, each get
a grant in the target namespace, at most 16 targets per grant. Mesh parentRefs to a Service in
another namespace need none (GAMMA consumer routes).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..ir import IR, BackendRef, ExternalAuthFilter, Filter, RequestMirror, Route
from ..names import slug
from .limits import MAX_GRANT_ITEMS
from .listeners import Listeners
from .objects import GROUP, Manifest, meta, obj

__all__ = ["reference_grants"]


def _backend_refs(route: Route) -> list[BackendRef]:
    """Every Service the route points at: backendRefs, mirror targets (also per backend) and
    external auth services."""
    refs: list[BackendRef] = []

    def mirrors(filters: Sequence[Filter]) -> None:
        refs.extend(f.value.backend for f in filters if isinstance(f.value, RequestMirror | ExternalAuthFilter))

    for rule in route.rules:
        mirrors(rule.filters)
        for b in rule.backends:
            refs.append(b)
            mirrors(b.filters)
    return refs


def reference_grants(ir: IR, listeners: Listeners) -> list[Manifest]:
    # (target namespace, from kind, from namespace, to kind) -> target name -> sources
    wanted: dict[tuple[str, str, str, str], dict[str, set[str]]] = {}
    key: tuple[str, str, str, str]
    for holders in listeners.holders.values():
        for h in holders:
            for slot in h.slots:
                for c in () if slot.existing else slot.node.certificates:
                    if c.namespace == h.namespace:
                        continue
                    key = (c.namespace, h.kind, h.namespace, c.kind)
                    wanted.setdefault(key, {}).setdefault(c.name, set()).update(slot.sources)
    for route in ir.routes:
        sources = {s.subject for s in route.sources}
        for backend in _backend_refs(route):
            if backend.namespace == route.namespace or backend.kind != "Service" or backend.group:
                continue
            key = (backend.namespace, route.kind, route.namespace, "Service")
            wanted.setdefault(key, {}).setdefault(backend.name, set()).update(sources)
    out: list[Manifest] = []
    for (target_ns, from_kind, from_ns, to_kind), targets in sorted(wanted.items()):
        names = sorted(targets)
        chunks = [names[i:i + MAX_GRANT_ITEMS] for i in range(0, len(names), MAX_GRANT_ITEMS)]
        suffix = "tls" if to_kind == "Secret" else "backends"
        for i, chunk in enumerate(chunks):
            base = f"{slug(from_kind)}-{from_ns}-{suffix}"
            name = base if i == 0 else f"{base}-{i + 1}"
            chunk_sources = set().union(*(targets[n] for n in chunk))
            spec = {
                "from": [{"group": GROUP, "kind": from_kind, "namespace": from_ns}],
                "to": [{"group": "", "kind": to_kind, "name": n} for n in chunk],
            }
            out.append(obj("ReferenceGrant", meta(name, target_ns, chunk_sources), spec))
    return out

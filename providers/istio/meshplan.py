"""Which mesh VirtualService each client of a Service gets, and the GAMMA routes that give every
client the same.

Istio's sidecars do not merge VirtualServices: for a Service, a sidecar in namespace N tries
the VirtualServices naming it that N sees -- private to N, exported to N by name, then public,
oldest first in each group (:func:`.objects.export_rank`) -- and keeps the first that leaves
any route once the routes are filtered for N (``sourceNamespace`` other than N and
``sourceLabels`` never hold: the client pod's labels are unknown to any GAMMA route). So the
clients fall into classes: the namespaces some VirtualService names (its own when private,
its ``exportTo`` names, its ``sourceNamespace`` values), the Service's namespace, and every
other namespace.

GAMMA has one producer route per Service (in its namespace, for every client) and consumer
routes (in a client's namespace, replacing the producer routes for that namespace only).
:func:`plan` gives each VirtualService its :class:`Role` per Service: the producer route from
the first VirtualService every other namespace takes, and a consumer route in each named
namespace whose clients get something else (another VirtualService, or the same one with
their own ``sourceNamespace`` matches). The Service's own namespace cannot have a consumer
route: when its clients get something else than everyone, a note says so. A VirtualService
no class takes is never used by Istio (noted, not converted).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ing2gw.kinds import KubeObject

from .objects import Index, ServiceHost, as_map, export_rank, istio_order, service_host, spec_list, str_list

__all__ = ["MeshPlan", "Role", "plan", "route_applies"]


@dataclass(frozen=True, slots=True)
class Role:
    """One GAMMA route a VirtualService becomes for one Service."""

    service: ServiceHost
    client_ns: str | None  # the clients it is for: one namespace, or None for every other one
    route_ns: str  # where the route lives: the Service's namespace (producer) or the client's


@dataclass(slots=True)
class MeshPlan:
    roles: dict[tuple[str, str], list[Role]] = field(default_factory=dict)  # (ns, name) of the VirtualService
    # (VirtualService, Service, the VirtualService its clients take instead)
    shadowed: list[tuple[KubeObject, ServiceHost, KubeObject]] = field(default_factory=list)
    # (VirtualService, Service, namespace): the Service's namespace's clients get it but GAMMA gives them the
    # producer route; "" : only that namespace's clients get it but GAMMA gives it to every client
    inexact: list[tuple[KubeObject, ServiceHost, str]] = field(default_factory=list)


def is_mesh(vs: KubeObject) -> bool:
    gateways = str_list(vs.spec.get("gateways"))
    return not gateways or "mesh" in gateways


def route_applies(match: Mapping[str, Any], client_ns: str | None) -> bool:
    """Does one HTTPMatchRequest hold for a sidecar in ``client_ns`` (None: a namespace no
    ``sourceNamespace`` names)? ``port`` is left to the route's parents."""
    gateways = str_list(match.get("gateways"))
    if gateways and "mesh" not in gateways:
        return False
    if as_map(match.get("sourceLabels")):
        return False
    ns = match.get("sourceNamespace")
    return not ns or ns == client_ns


def _applying(vs: KubeObject, client_ns: str | None) -> tuple[tuple[int, int], ...]:
    """The (route, match) pairs of ``vs`` that hold for ``client_ns``; (route, -1) for a route
    without matches."""
    out: list[tuple[int, int]] = []
    for n, route in enumerate(spec_list(vs.spec.get("http"))):
        matches = spec_list(route.get("match"))
        if not matches:
            out.append((n, -1))
        out += [(n, k) for k, m in enumerate(matches) if route_applies(m, client_ns)]
    return tuple(out)


def _named(vs: KubeObject) -> set[str]:
    """The namespaces whose clients ``vs`` may treat apart from the rest."""
    out = {str(e) for e in str_list(vs.spec.get("exportTo")) if e not in ("*", "~", ".")}
    if export_rank(vs, vs.namespace) == 0:
        out.add(vs.namespace)
    for route in spec_list(vs.spec.get("http")):
        out |= {str(m["sourceNamespace"]) for m in spec_list(route.get("match")) if m.get("sourceNamespace")}
    return out


def _winner(vss: Sequence[KubeObject], client_ns: str | None) -> KubeObject | None:
    ranked = [(rank, istio_order(vs), vs) for vs in vss if (rank := export_rank(vs, client_ns)) is not None]
    for _, _, vs in sorted(ranked, key=lambda r: (r[0], r[1])):
        if _applying(vs, client_ns):
            return vs
    return None


class _Giver:
    """Hands a VirtualService a role and remembers it was used."""

    def __init__(self, out: MeshPlan, used: set[int]) -> None:
        self.out, self.used = out, used

    def __call__(self, vs: KubeObject, role: Role) -> None:
        self.out.roles.setdefault((vs.namespace, vs.name), []).append(role)
        self.used.add(id(vs))


def plan(index: Index) -> MeshPlan:
    out = MeshPlan()
    by_service: dict[ServiceHost, list[KubeObject]] = {}
    for vs in index.virtual_services:
        if not is_mesh(vs) or not spec_list(vs.spec.get("http")):
            continue
        for host in str_list(vs.spec.get("hosts")):
            svc = service_host(host, vs.namespace)
            if svc is not None and vs not in by_service.get(svc, []):
                by_service.setdefault(svc, []).append(vs)
    for svc, vss in sorted(by_service.items(), key=lambda kv: (kv[0].namespace, kv[0].name)):
        used: set[int] = set()
        give = _Giver(out, used)
        producer = _winner(vss, None)
        home = _winner(vss, svc.namespace)
        if producer is not None:
            give(producer, Role(svc, None, svc.namespace))
            if home is not None and (home is not producer or _applying(home, svc.namespace) != _applying(
                    producer, None)):
                out.inexact.append((home, svc, svc.namespace))
                used.add(id(home))
        elif home is not None:  # only the Service's own namespace sees one: GAMMA gives it to everyone
            give(home, Role(svc, svc.namespace, svc.namespace))
            out.inexact.append((home, svc, ""))
        for ns in sorted({n for vs in vss for n in _named(vs)} - {svc.namespace}):
            mine = _winner(vss, ns)
            if mine is None or (mine is producer and _applying(mine, ns) == _applying(mine, None)):
                continue
            give(mine, Role(svc, ns, ns))
        for vs in vss:
            if id(vs) not in used:
                winner = producer or home or vss[0]
                out.shadowed.append((vs, svc, winner))
    return out

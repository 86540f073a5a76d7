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

from collections.abc import Callable, Mapping, Sequence
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
    ports: tuple[int, ...] | None = None  # the Service ports it holds on; None: every port


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


def route_applies(match: Mapping[str, Any], client_ns: str | None, port: int | None = None) -> bool:
    """Does one HTTPMatchRequest hold for a sidecar in ``client_ns`` (None: a namespace no
    ``sourceNamespace`` names) dialling ``port`` (None: ``port`` is left to the route's parents)?"""
    if port is not None and _port_of(match) not in (None, port):
        return False
    gateways = str_list(match.get("gateways"))
    if gateways and "mesh" not in gateways:
        return False
    if as_map(match.get("sourceLabels")):
        return False
    ns = match.get("sourceNamespace")
    return not ns or ns == client_ns


def _port_of(match: Mapping[str, Any]) -> int | None:
    port = match.get("port")
    return port if isinstance(port, int) and port else None


def _applying(vs: KubeObject, client_ns: str | None, port: int | None = None) -> tuple[tuple[int, int], ...]:
    """The (route, match) pairs of ``vs`` that hold for ``client_ns`` on ``port``; (route, -1)
    for a route without matches."""
    out: list[tuple[int, int]] = []
    for n, route in enumerate(spec_list(vs.spec.get("http"))):
        matches = spec_list(route.get("match"))
        if not matches:
            out.append((n, -1))
        out += [(n, k) for k, m in enumerate(matches) if route_applies(m, client_ns, port)]
    return tuple(out)


def _named(vs: KubeObject) -> set[str]:
    """The namespaces whose clients ``vs`` may treat apart from the rest."""
    out = {str(e) for e in str_list(vs.spec.get("exportTo")) if e not in ("*", "~", ".")}
    if export_rank(vs, vs.namespace) == 0:
        out.add(vs.namespace)
    for route in spec_list(vs.spec.get("http")):
        out |= {str(m["sourceNamespace"]) for m in spec_list(route.get("match")) if m.get("sourceNamespace")}
    return out


def _winner(vss: Sequence[KubeObject], client_ns: str | None, port: int | None) -> KubeObject | None:
    ranked = [(rank, istio_order(vs), vs) for vs in vss if (rank := export_rank(vs, client_ns)) is not None]
    for _, _, vs in sorted(ranked, key=lambda r: (r[0], r[1])):
        if _applying(vs, client_ns, port):
            return vs
    return None


def _plan_port(svc: ServiceHost, vss: Sequence[KubeObject], port: int | None, out: MeshPlan,
               given: dict[tuple[int, str | None, str], KubeObject]) -> tuple[set[int], KubeObject | None]:
    """The roles on one port (None: ports left to the routes' parents) into ``given``, the
    inexact clients into ``out``; the ids of the VirtualServices some client takes, and the
    one every client (or the Service's own namespace) takes."""
    used: set[int] = set()

    def give(vs: KubeObject, client_ns: str | None, route_ns: str) -> None:
        given[(id(vs), client_ns, route_ns)] = vs
        used.add(id(vs))

    def inexact(vs: KubeObject, ns: str) -> None:
        if (vs, svc, ns) not in out.inexact:
            out.inexact.append((vs, svc, ns))
        used.add(id(vs))

    producer = _winner(vss, None, port)
    home = _winner(vss, svc.namespace, port)
    if producer is not None:
        give(producer, None, svc.namespace)
        if home is not None and (home is not producer or _applying(home, svc.namespace, port) != _applying(
                producer, None, port)):
            inexact(home, svc.namespace)
    elif home is not None:  # only the Service's own namespace sees one: GAMMA gives it to everyone
        give(home, svc.namespace, svc.namespace)
        inexact(home, "")
    for ns in sorted({n for vs in vss for n in _named(vs)} - {svc.namespace}):
        mine = _winner(vss, ns, port)
        if mine is None or (mine is producer and _applying(mine, ns, port) == _applying(mine, None, port)):
            continue
        give(mine, ns, ns)
    return used, producer or home


def plan(index: Index, service_ports: Callable[[ServiceHost], frozenset[int] | None]) -> MeshPlan:
    """The mesh plan; ``service_ports`` gives a Service's ports when it is in the input."""
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
        named = {p for vs in vss for r in spec_list(vs.spec.get("http")) for m in spec_list(r.get("match"))
                 if (p := _port_of(m)) is not None}
        known = service_ports(svc)
        ports: list[int | None] = [*sorted(named | known)] if named and known else [None]
        used: set[int] = set()
        winners: list[KubeObject] = []
        on: dict[tuple[int, str | None, str], list[int | None]] = {}
        roles: dict[tuple[int, str | None, str], KubeObject] = {}
        for port in ports:
            given: dict[tuple[int, str | None, str], KubeObject] = {}
            taken, winner = _plan_port(svc, vss, port, out, given)
            used |= taken
            winners += [winner] if winner is not None else []
            for key, vs in given.items():
                roles.setdefault(key, vs)
                on.setdefault(key, []).append(port)
        for key, vs in roles.items():
            held = on[key]
            only = None if len(held) == len(ports) else tuple(p for p in held if p is not None)
            out.roles.setdefault((vs.namespace, vs.name), []).append(Role(svc, key[1], key[2], only))
        for vs in vss:
            if id(vs) not in used:
                out.shadowed.append((vs, svc, winners[0] if winners else vss[0]))
    return out

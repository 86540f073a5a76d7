"""Where a VirtualService applies -- a :class:`Place`: the parents (Gateway listeners of one
port, or a Service for the mesh), the route's namespace and hostnames, what the proxy there
is (a MUTUAL server's client-cert intent, gRPC, the gateway pods' labels, the mesh client's
namespace) -- and which of its matches hold there (:func:`applies`): ``gateways``, ``port``,
``sourceNamespace`` (the mesh consumer route of that namespace) and ``sourceLabels`` (a
Gateway whose selector carries them; never the mesh)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ing2gw.ir import Parent

from .http import Match
from .objects import as_map

__all__ = ["Place", "applies", "applies_any", "is_catch_all", "labels_cover", "route_hosts", "selector"]


@dataclass(slots=True)
class Place:
    """Where a VirtualService applies: the parents, and the filter on match gateways/ports."""

    gateway: str  # "ns/name" of the Istio Gateway, or "mesh"
    port: int | None
    parents: set[Parent] = field(default_factory=set)
    namespace: str = ""  # the route's namespace
    hosts: tuple[str, ...] = ()  # route hostnames
    client_auth: Any = None  # the client-cert-auth intent of a MUTUAL server
    grpc: bool = False  # a GRPC server or gRPC Service port: the route is a GRPCRoute
    labels: tuple[tuple[str, str], ...] | None = None  # a gateway's pod labels (its selector); None: the mesh
    client_ns: str | None = None  # mesh: the clients' namespace (None: every namespace not named)


def is_catch_all(m: Match) -> bool:
    """A match every request of its place meets (Istio moves such routes last when merging)."""
    r = m.match
    return not r.headers and not r.query and not r.method and (
        r.path is None or (r.path.type == "PathPrefix" and r.path.value == "/"))


def selector(gateway: Any) -> tuple[tuple[str, str], ...]:
    """The labels an Istio Gateway's pods are known to carry: its selector."""
    return tuple(sorted((str(k), str(v)) for k, v in as_map(gateway.spec.get("selector")).items()))


def labels_cover(labels: tuple[tuple[str, str], ...], wanted: tuple[tuple[str, str], ...]) -> bool:
    return set(wanted) <= set(labels)


def applies_any(place: Place) -> bool:
    return bool(place.parents)


def applies(m: Match, place: Place) -> bool:
    if m.gateways and place.gateway not in m.gateways:
        return False
    if m.source_namespace is not None and (place.gateway != "mesh" or place.client_ns != m.source_namespace):
        return False
    if m.source_labels and (place.labels is None or not labels_cover(place.labels, m.source_labels)):
        return False
    return m.port is None or place.port is None or m.port == place.port


def route_hosts(hosts: list[str]) -> tuple[str, ...]:
    if "*" in hosts:
        return ()
    return tuple(sorted({h.lower() for h in hosts}))

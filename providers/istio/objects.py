"""Istio's CRDs as ing2gw reads them: the kinds the provider claims, an index of the claimed
objects, and how Istio names Services and gateways.

``networking.istio.io`` Gateway, VirtualService and DestinationRule are claimed in the
``v1``, ``v1beta1`` and ``v1alpha3`` versions (the same schema). Istio orders configuration
by creation time, then name, then namespace (:func:`istio_order`): that order decides which
VirtualService's routes come first when several serve one host, and which Ingress's path
wins a tie.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ing2gw.kinds import APIKind, KubeObject
from ing2gw.resources import ResourceSet

__all__ = ["GROUP", "KINDS", "Index", "ServiceHost", "as_map", "created", "export_rank", "istio_order", "service_host",
           "spec_list", "str_list"]

GROUP = "networking.istio.io"
_VERSIONS = ("v1", "v1beta1", "v1alpha3")
_KIND_NAMES = ("Gateway", "VirtualService", "DestinationRule")
KINDS: tuple[APIKind, ...] = tuple(
    APIKind(GROUP, version, kind, selectable=kind == "VirtualService")
    for version in _VERSIONS for kind in _KIND_NAMES
)
CLUSTER_DOMAIN = "cluster.local"


def created(obj: KubeObject) -> str:
    meta = obj.body.get("metadata")
    stamp = meta.get("creationTimestamp") if isinstance(meta, Mapping) else None
    return str(stamp) if stamp else ""


def istio_order(obj: KubeObject) -> tuple[str, str, str]:
    """Istio's configuration order: oldest first, then name, then namespace (objects without a
    timestamp last)."""
    return (created(obj) or "~", obj.name, obj.namespace)


def export_rank(obj: KubeObject, client_ns: str | None) -> int | None:
    """Where a mesh VirtualService stands in the list a sidecar in ``client_ns`` (None: a
    namespace no exportTo names) tries for a host, or None when it does not see it: 0 private
    to the client's namespace (exportTo ``.`` or its own namespace), 1 exported to it by name,
    2 public (``*`` or no exportTo, the mesh default); ``~`` exports to no one. Istio keeps the
    first VirtualService of a host in this order (oldest first within each rank)."""
    export = {str(e) for e in obj.spec.get("exportTo") or []} if isinstance(obj.spec.get("exportTo"), list) else set()
    if not export or "*" in export:
        return 2
    if "~" in export:
        return None
    if client_ns is not None and client_ns == obj.namespace and ({".", obj.namespace} & export):
        return 0
    return 1 if client_ns is not None and client_ns in export - {"."} else None


@dataclass(frozen=True, slots=True)
class ServiceHost:
    """A host that names a Kubernetes Service (``name``, ``name.ns``, ``name.ns.svc`` or the
    full ``name.ns.svc.cluster.local``)."""

    namespace: str
    name: str

    @property
    def fqdn(self) -> str:
        return f"{self.name}.{self.namespace}.svc.{CLUSTER_DOMAIN}"


def service_host(host: str, namespace: str) -> ServiceHost | None:
    """The Service a host names, read in ``namespace`` when short (None: not a Service name)."""
    parts = host.lower().split(".")
    if "*" in host or not all(parts):
        return None
    if len(parts) == 1:
        return ServiceHost(namespace, parts[0])
    if len(parts) == 2:
        return ServiceHost(parts[1], parts[0])
    if len(parts) == 3 and parts[2] == "svc":
        return ServiceHost(parts[1], parts[0])
    if len(parts) >= 4 and parts[2] == "svc" and ".".join(parts[3:]) == CLUSTER_DOMAIN:
        return ServiceHost(parts[1], parts[0])
    return None


def as_map(value: Any) -> Mapping[str, Any]:
    """``value`` when it is a mapping, else an empty one."""
    return value if isinstance(value, Mapping) else {}


def spec_list(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def str_list(value: Any) -> list[str]:
    return [str(v) for v in value if isinstance(v, (str, int))] if isinstance(value, list) else []


class Index:
    """The claimed Istio objects by kind, each list in Istio's order."""

    def __init__(self, objects: Iterable[KubeObject]) -> None:
        by_kind: dict[str, dict[tuple[str, str], KubeObject]] = {k: {} for k in _KIND_NAMES}
        for o in objects:
            if o.kind.group == GROUP and o.kind.kind in by_kind:
                by_kind[o.kind.kind].setdefault((o.namespace, o.name), o)
        self.by_kind = by_kind
        self.gateways = sorted(by_kind["Gateway"].values(), key=istio_order)
        self.virtual_services = sorted(by_kind["VirtualService"].values(), key=istio_order)
        self.destination_rules = sorted(by_kind["DestinationRule"].values(), key=istio_order)

    @classmethod
    def of(cls, resources: ResourceSet) -> Index:
        return cls(resources.claimed(KINDS))

    def gateway(self, ref: str, namespace: str) -> KubeObject | None:
        """The Gateway a VirtualService names (``ns/name`` or ``name`` in its own namespace)."""
        ns, _, name = ref.rpartition("/")
        return self.by_kind["Gateway"].get((ns or namespace, name))

    def virtual_service(self, namespace: str, name: str) -> KubeObject | None:
        return self.by_kind["VirtualService"].get((namespace, name))

    def destination_rule_for(self, svc: ServiceHost) -> KubeObject | None:
        """The DestinationRule of a Service: the oldest naming it, in its own namespace first."""
        found = [dr for dr in self.destination_rules
                 if service_host(str(dr.spec.get("host") or ""), dr.namespace) == svc]
        found.sort(key=lambda dr: (dr.namespace != svc.namespace, istio_order(dr)))
        return found[0] if found else None

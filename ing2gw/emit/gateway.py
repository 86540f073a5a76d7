"""IR -> Gateway API manifests, role by role, within the Gateway API's limits.

This module only orders the work; each part has its own module:

* :mod:`.listeners` -- listener nodes (explicit ones, and those derived from the Ingress
  shorthand), Gateways and ListenerSets, GatewayClasses (infrastructure, cluster operator);
* :mod:`.grants` -- ReferenceGrants for cross-namespace Secrets and Services;
* :mod:`.routes` and :mod:`.rules` -- HTTP/GRPC/TLS/TCP/UDP routes and their rules
  (application developers), Gateway listeners or Services (mesh) as parents;
* :mod:`.backendtls` -- BackendTLSPolicies;
* :mod:`.limits` -- the Gateway API's size limits and splitting; :mod:`.objects` -- metadata,
  the ``ing2gw.io/source`` annotation and the output order.

The same IR always gives the same manifests, in the same order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..gateways import Existing
from ..ir import IR
from ..notes import Notes
from .backendtls import backend_tls_policies
from .grants import reference_grants
from .listeners import Listeners
from .objects import KIND_ORDER, SOURCE_ANNOTATION, Manifest, ordered
from .routes import Placed, route_manifests

__all__ = ["KIND_ORDER", "SOURCE_ANNOTATION", "EmitOptions", "Placed", "emit"]


@dataclass(frozen=True, slots=True)
class EmitOptions:
    topology: Literal["shared", "per-namespace", "listenersets"] = "shared"
    gateway_namespace: str = "gateway-system"
    gateway_controller: str | None = None
    listener_sets: bool = False
    experimental: bool = False  # experimental-channel fields and filters allowed
    existing: Existing | None = None  # --gateway / --gateway-file: attach to these, emit no Gateway


def emit(ir: IR, options: EmitOptions, notes: Notes, placed: list[Placed] | None = None) -> list[Manifest]:
    """Gateway API manifests for ``ir``, in deterministic order; ``placed`` receives where each
    rule of the IR was emitted (see :func:`.routes.route_manifests`)."""
    listeners = Listeners(ir, options.topology, options.gateway_namespace, options.listener_sets, notes,
                          options.existing)
    manifests = (listeners.gateway_classes(options.gateway_controller) + listeners.manifests()
                 + reference_grants(ir, listeners) + route_manifests(ir, listeners, notes, placed)
                 + backend_tls_policies(ir.backend_tls))
    return ordered(manifests)

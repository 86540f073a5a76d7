"""Cilium's Ingress controller: ``ingress.cilium.io/*`` annotations (shared or dedicated load
balancers, force-https, TLS passthrough, request timeouts, the load balancer Service's
settings) and a model of the Envoy configuration Cilium writes, for ``verify``."""

from .provider import PROVIDER, CiliumProvider

__all__ = ["PROVIDER", "CiliumProvider"]

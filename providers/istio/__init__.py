"""Istio: Ingresses of class ``istio``, the ``networking.istio.io`` Gateway, VirtualService and
DestinationRule CRDs (gateway-bound and mesh), and a model of Istio's routing for ``verify``."""

from .provider import PROVIDER, IstioProvider

__all__ = ["IstioProvider", "PROVIDER"]

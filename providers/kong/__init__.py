"""Kong Ingress Controller (KIC): ``konghq.com/*`` annotations, KongPlugin/KongClusterPlugin,
KongIngress and KongUpstreamPolicy, and a model of Kong's router for ``verify``."""

from .provider import PROVIDER, KongProvider

__all__ = ["PROVIDER", "KongProvider"]

"""The ingress-nginx provider (kubernetes/ingress-nginx, controller ``k8s.io/ingress-nginx``)."""

from .provider import PROVIDER, IngressNginxProvider

__all__ = ["PROVIDER", "IngressNginxProvider"]

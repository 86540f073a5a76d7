"""HAProxy Technologies Kubernetes Ingress Controller provider (``haproxy.org/*``)."""

from .provider import PROVIDER

__all__ = ["PROVIDER"]

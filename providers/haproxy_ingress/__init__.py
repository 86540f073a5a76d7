"""HAProxy Ingress provider (jcmoraisjr/haproxy-ingress, ``haproxy-ingress.github.io/*``)."""

from .provider import PROVIDER

__all__ = ["PROVIDER"]

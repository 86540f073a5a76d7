"""F5 NGINX Ingress Controller (nginx/kubernetes-ingress): ``nginx.org/*`` annotations,
mergeable Ingresses, VirtualServer/VirtualServerRoute, and a model of its NGINX checked
against real nginx."""

from .provider import PROVIDER, F5NginxProvider

__all__ = ["PROVIDER", "F5NginxProvider"]

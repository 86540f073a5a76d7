"""AWS Load Balancer Controller (ALB Ingress): ``alb.ingress.kubernetes.io/*`` annotations,
IngressClassParams, IngressGroups, and a model of the ALB's rule order for ``verify``."""

from .provider import PROVIDER, AlbProvider

__all__ = ["AlbProvider", "PROVIDER"]

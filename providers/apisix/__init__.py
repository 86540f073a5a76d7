"""Apache APISIX Ingress controller: ``k8s.apisix.apache.org/*`` annotations, ApisixRoute v2 (with
ApisixUpstream, ApisixPluginConfig, ApisixTls) and a model of APISIX's radixtree router for
``verify`` and ``route --as apisix``."""

from .provider import PROVIDER, ApisixProvider

__all__ = ["PROVIDER", "ApisixProvider"]

"""Built-in providers, one subpackage per Ingress controller (installed as ``ing2gw.providers``).

``BUILTIN`` maps a provider name to ``"module:attribute"``; :mod:`ing2gw.plugins` imports
them lazily. Third-party providers use the ``ing2gw.providers`` entry-point group instead.
"""

BUILTIN: dict[str, str] = {
    "agic": "ing2gw.providers.agic.provider:PROVIDER",
    "apisix": "ing2gw.providers.apisix:PROVIDER",
    "aws-alb": "ing2gw.providers.aws_alb:PROVIDER",
    "cilium": "ing2gw.providers.cilium:PROVIDER",
    "contour": "ing2gw.providers.contour.provider:PROVIDER",
    "f5-nginx": "ing2gw.providers.f5_nginx:PROVIDER",
    "gke": "ing2gw.providers.gke.provider:PROVIDER",
    "haproxy-ingress": "ing2gw.providers.haproxy_ingress:PROVIDER",
    "haproxy-tech": "ing2gw.providers.haproxy_tech:PROVIDER",
    "ingress-nginx": "ing2gw.providers.ingress_nginx:PROVIDER",
    "istio": "ing2gw.providers.istio:PROVIDER",
    "kong": "ing2gw.providers.kong:PROVIDER",
    "traefik": "ing2gw.providers.traefik.provider:PROVIDER",
}

"""Traefik: the provider object ing2gw discovers (``PROVIDER``).

It names the controller (``traefik.io/ingress-controller``, class ``traefik``), the annotation
table, the CRDs it reads (IngressRoute, Middleware, TraefikService, ServersTransport, TLSOption;
v3 and v2 groups) and its data plane, and converts Ingresses with
:class:`~.translator.TraefikTranslator` and IngressRoutes with :mod:`.ingressroute`.
"""

from __future__ import annotations

from ing2gw.ir import IR
from ing2gw.provider import API_VERSION, Claimed, ProviderContext
from ing2gw.resources import APIKind

from .annotations import PREFIX, TABLE
from .crds import KINDS, Crds
from .dataplane import TraefikDataPlane
from .ingressroute import convert_ingress_routes
from .translator import TraefikTranslator

__all__ = ["PROVIDER", "TraefikProvider"]


class TraefikProvider:
    name = "traefik"
    api_version = API_VERSION
    controllers = ("traefik.io/ingress-controller",)
    class_names = ("traefik",)
    annotations = TABLE
    annotation_prefixes = (PREFIX,)
    kinds: tuple[APIKind, ...] = KINDS
    description = "Traefik v2/v3: annotations traefik.ingress.kubernetes.io/*, IngressRoute and Middleware CRDs"
    data_plane = TraefikDataPlane()

    def to_ir(self, claimed: Claimed, ctx: ProviderContext) -> IR:
        crds = Crds(claimed.objects)
        translator = TraefikTranslator(ctx, crds)
        translator.read(claimed.ingresses)
        from_ingresses = translator.translate(claimed.ingresses) if claimed.ingresses else IR()
        from_routes = convert_ingress_routes(crds, ctx)
        return IR(routes=from_ingresses.routes + from_routes.routes,
                  certificates=from_ingresses.certificates + from_routes.certificates,
                  backend_tls=tuple(dict.fromkeys(translator.backend_tls)))


PROVIDER = TraefikProvider()

"""APISIX: the provider object ing2gw discovers (``PROVIDER``).

It names the Apache APISIX Ingress controller (``apisix.apache.org/apisix-ingress-controller``,
and ``apisix.apache.org/ingress-controller`` of the 2.x IngressClass examples), the class
``apisix``, the ``k8s.apisix.apache.org/*`` annotation table, the CRDs it reads (ApisixRoute,
ApisixUpstream, ApisixPluginConfig, ApisixTls) and its data plane; Ingresses are converted by
:class:`~.translator.ApisixTranslator`, ApisixRoutes by :mod:`.apisixroute`.
"""

from __future__ import annotations

from ing2gw.ir import IR
from ing2gw.provider import API_VERSION, Claimed, ProviderContext
from ing2gw.resources import APIKind

from .annotations import PREFIX, TABLE
from .apisixroute import convert_apisix_routes
from .crds import KINDS, Crds
from .dataplane import ApisixDataPlane
from .translator import ApisixTranslator

__all__ = ["PROVIDER", "ApisixProvider"]


class ApisixProvider:
    name = "apisix"
    api_version = API_VERSION
    controllers = ("apisix.apache.org/apisix-ingress-controller", "apisix.apache.org/ingress-controller")
    class_names = ("apisix",)
    annotations = TABLE
    annotation_prefixes = (PREFIX,)
    kinds: tuple[APIKind, ...] = KINDS
    description = "Apache APISIX Ingress controller 2.x: annotations k8s.apisix.apache.org/*, ApisixRoute v2, " \
                  "ApisixUpstream, ApisixPluginConfig, ApisixTls"
    data_plane = ApisixDataPlane()

    def to_ir(self, claimed: Claimed, ctx: ProviderContext) -> IR:
        translator = ApisixTranslator(ctx, claimed.objects)
        translator.prepare(claimed.ingresses)
        from_ingresses = translator.translate(claimed.ingresses) if claimed.ingresses else IR()
        from_routes = convert_apisix_routes(Crds(claimed.objects), ctx, from_ingresses.certificates)
        return IR(routes=from_ingresses.routes + from_routes.routes,
                  certificates=from_ingresses.certificates + from_routes.certificates,
                  listeners=from_ingresses.listeners + from_routes.listeners)


PROVIDER = ApisixProvider()

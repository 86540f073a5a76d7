"""ingress-nginx: the provider object that ing2gw discovers (``PROVIDER``).

It names the controller, its IngressClass, annotation table, ConfigMap settings and data plane,
and converts the Ingresses claimed for it with :class:`~.translator.NginxTranslator`.
"""

from __future__ import annotations

from ing2gw.ir import IR
from ing2gw.provider import API_VERSION, Claimed, ProviderContext
from ing2gw.resources import APIKind

from .annotations import TABLE
from .configmap import SETTINGS
from .dataplane import NginxDataPlane
from .translator import NginxTranslator

__all__ = ["PROVIDER", "IngressNginxProvider"]


class IngressNginxProvider:
    name = "ingress-nginx"
    api_version = API_VERSION
    controllers = ("k8s.io/ingress-nginx",)
    class_names = ("nginx",)
    annotations = TABLE
    settings = SETTINGS  # the controller ConfigMap's keys (ing2gw providers ingress-nginx shows both)
    kinds: tuple[APIKind, ...] = ()  # Ingresses only (its controller ConfigMap is read as a core kind)
    description = "kubernetes/ingress-nginx (retired 2026): annotations nginx.ingress.kubernetes.io/*"
    data_plane = NginxDataPlane(TABLE)

    def to_ir(self, claimed: Claimed, ctx: ProviderContext) -> IR:
        translator = NginxTranslator(ctx, self.annotations)
        for ing in claimed.ingresses:
            translator.annotations(ing)
        return translator.translate(claimed.ingresses)


PROVIDER = IngressNginxProvider()

"""ingress-nginx: the provider object that ing2gw discovers (``PROVIDER``).

It names the controller, its IngressClass, annotation table, ConfigMap settings and data plane,
and converts the Ingresses claimed for it with :class:`~.translator.NginxTranslator` and its TCP/UDP
services ConfigMaps with :mod:`.streamservices`.
"""

from __future__ import annotations

from ing2gw.ir import IR
from ing2gw.provider import API_VERSION, Claimed, ProviderContext
from ing2gw.resources import APIKind, ResourceSet

from .annotations import TABLE
from .configmap import SETTINGS
from .dataplane import NginxDataPlane
from .streamservices import convert_stream_services, stream_configmaps
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

    def has_input(self, resources: ResourceSet) -> bool:
        """A TCP or UDP services ConfigMap in the input: converted even without Ingresses."""
        return bool(stream_configmaps(resources, "TCP") or stream_configmaps(resources, "UDP"))

    def to_ir(self, claimed: Claimed, ctx: ProviderContext) -> IR:
        translator = NginxTranslator(ctx, self.annotations)
        for ing in claimed.ingresses:
            translator.annotations(ing)
        ir = translator.translate(claimed.ingresses)
        return convert_stream_services(ir, ctx, [ctx.gateway_for(i) for i in claimed.ingresses])


PROVIDER = IngressNginxProvider()

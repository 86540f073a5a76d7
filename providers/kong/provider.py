"""Kong: the provider object that ing2gw discovers (``PROVIDER``).

It names KIC's controller and class, the ``konghq.com/*`` annotation table, the Kong kinds it
reads (plugins, KongIngress, KongUpstreamPolicy: objects the Ingresses and Services refer to;
TCPIngress and UDPIngress: stream routes of their own) and the data plane, and converts the
Ingresses claimed for it with :class:`~.translator.KongTranslator` and the stream objects with
:mod:`.streams`.
"""

from __future__ import annotations

from ing2gw.ir import IR
from ing2gw.provider import API_VERSION, Claimed, ProviderContext
from ing2gw.resources import APIKind

from .annotations import TABLE
from .dataplane import KongDataPlane
from .plugins import KONG_CLUSTER_PLUGIN, KONG_PLUGIN
from .settings import KONG_INGRESS, KONG_UPSTREAM_POLICY, SHARED_PREFIX
from .streams import TCP_INGRESS, UDP_INGRESS, convert_streams
from .translator import KongTranslator

__all__ = ["PROVIDER", "KongProvider"]


class KongProvider:
    name = "kong"
    api_version = API_VERSION
    controllers = ("ingress-controllers.konghq.com/kong",)
    class_names = ("kong",)
    annotations = TABLE
    # its own prefixes, and ingress.kubernetes.io (KIC reads force-ssl-redirect; settings.py notes the rest)
    annotation_prefixes = ("konghq.com", "configuration.konghq.com", "plugins.konghq.com", SHARED_PREFIX)
    kinds: tuple[APIKind, ...] = (KONG_CLUSTER_PLUGIN, KONG_INGRESS, KONG_PLUGIN, KONG_UPSTREAM_POLICY, TCP_INGRESS,
                                  UDP_INGRESS)
    description = "Kong Ingress Controller 3.x: annotations konghq.com/*, KongPlugin, KongClusterPlugin, " \
                  "KongIngress, KongUpstreamPolicy, TCPIngress and UDPIngress"
    data_plane = KongDataPlane()

    def to_ir(self, claimed: Claimed, ctx: ProviderContext) -> IR:
        translator = KongTranslator(ctx, claimed.objects)
        translator.prepare(claimed.ingresses)
        return convert_streams(translator.translate(claimed.ingresses), claimed, ctx)


PROVIDER = KongProvider()

"""Contour: the provider object ing2gw discovers (``PROVIDER``).

It names the controller (``projectcontour.io/ingress-controller``, class ``contour``), the
``projectcontour.io/*`` annotation table, the kinds it reads (HTTPProxy, and the
TLSCertificateDelegation and ExtensionService objects HTTPProxies refer to) and its data plane;
Ingresses are converted by :class:`~.ingress.ContourTranslator`, HTTPProxies by
:mod:`.httpproxy`.
"""

from __future__ import annotations

from ing2gw.ir import IR
from ing2gw.provider import API_VERSION, Claimed, ProviderContext
from ing2gw.resources import APIKind

from .annotations import PREFIX, TABLE
from .dataplane import ContourDataPlane
from .httpproxy import convert_proxies
from .ingress import ContourTranslator
from .tree import KINDS

__all__ = ["PROVIDER", "ContourProvider"]


class ContourProvider:
    name = "contour"
    api_version = API_VERSION
    controllers = ("projectcontour.io/ingress-controller",)
    class_names = ("contour",)
    annotations = TABLE
    # its own prefix, and ingress.kubernetes.io (Contour reads force-ssl-redirect there)
    annotation_prefixes = (PREFIX, "ingress.kubernetes.io")
    kinds: tuple[APIKind, ...] = KINDS
    description = "Contour: annotations projectcontour.io/*, HTTPProxy (includes, conditions, policies, tcpproxy)"
    data_plane = ContourDataPlane()

    def to_ir(self, claimed: Claimed, ctx: ProviderContext) -> IR:
        translator = ContourTranslator(ctx)
        translator.read(claimed.ingresses)
        ingresses = translator.translate(claimed.ingresses) if claimed.ingresses else IR()
        proxies = convert_proxies(claimed.objects, ctx)
        return IR(routes=ingresses.routes + proxies.routes, certificates=ingresses.certificates + proxies.certificates,
                  passthrough=proxies.passthrough, listeners=proxies.listeners)


PROVIDER = ContourProvider()

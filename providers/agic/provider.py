"""Azure Application Gateway Ingress Controller (AGIC): the provider object ing2gw discovers
(``PROVIDER``).

It names AGIC's controller and class (``azure/application-gateway``), the
``appgw.ingress.kubernetes.io/*`` annotation table and the data plane, and converts the
Ingresses claimed for it with :class:`~.translator.AgicTranslator`.
"""

from __future__ import annotations

from ing2gw.ir import IR
from ing2gw.provider import API_VERSION, Claimed, ProviderContext
from ing2gw.resources import APIKind

from .annotations import PREFIX, TABLE
from .dataplane import AgicDataPlane
from .translator import AgicTranslator

__all__ = ["PROVIDER", "AgicProvider"]


class AgicProvider:
    name = "agic"
    api_version = API_VERSION
    controllers = ("azure/application-gateway",)
    class_names = ("azure/application-gateway", "azure-application-gateway")
    annotations = TABLE
    annotation_prefixes = (PREFIX,)
    kinds: tuple[APIKind, ...] = ()
    description = ("Azure Application Gateway Ingress Controller: annotations appgw.ingress.kubernetes.io/*; one "
                   "shared gateway, first listed path wins")
    data_plane = AgicDataPlane()

    def to_ir(self, claimed: Claimed, ctx: ProviderContext) -> IR:
        return AgicTranslator(ctx).translate_all(claimed.ingresses)


PROVIDER = AgicProvider()

"""Cilium: the provider object that ing2gw discovers (``PROVIDER``): Cilium's controller and
class, the ``ingress.cilium.io/*`` table, the data plane, and the conversion by
:class:`~.translator.CiliumTranslator`."""

from __future__ import annotations

from ing2gw.ir import IR
from ing2gw.provider import API_VERSION, Claimed, ProviderContext
from ing2gw.resources import APIKind

from .annotations import TABLE
from .dataplane import CiliumDataPlane
from .translator import CiliumTranslator

__all__ = ["PROVIDER", "CiliumProvider"]


class CiliumProvider:
    name = "cilium"
    api_version = API_VERSION
    controllers = ("cilium.io/ingress-controller",)
    class_names = ("cilium",)
    annotations = TABLE
    annotation_prefixes = ("ingress.cilium.io",)
    kinds: tuple[APIKind, ...] = ()
    description = "Cilium Ingress controller (1.16+): annotations ingress.cilium.io/*, shared and dedicated " \
                  "load balancers"
    data_plane = CiliumDataPlane()

    def to_ir(self, claimed: Claimed, ctx: ProviderContext) -> IR:
        return CiliumTranslator(ctx, claimed.ingresses).translate(claimed.ingresses)


PROVIDER = CiliumProvider()

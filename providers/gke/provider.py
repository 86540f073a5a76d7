"""GKE Ingress (ingress-gce): the provider object ing2gw discovers (``PROVIDER``).

It names the classes ingress-gce takes (``gce``, ``gce-internal``, ``gce-regional-external``;
ingress-gce has no IngressClass controller value), the annotation table, the CRDs it reads
(BackendConfig, FrontendConfig) and the data plane, and converts the Ingresses claimed for it
with :class:`~.translator.GkeTranslator`.
"""

from __future__ import annotations

from ing2gw.ir import IR
from ing2gw.provider import API_VERSION, Claimed, ProviderContext
from ing2gw.resources import APIKind

from .annotations import TABLE
from .configs import KINDS
from .dataplane import GkeDataPlane
from .translator import GkeTranslator

__all__ = ["PROVIDER", "GkeProvider"]


class GkeProvider:
    name = "gke"
    api_version = API_VERSION
    controllers: tuple[str, ...] = ()
    class_names = ("gce", "gce-internal", "gce-regional-external")
    annotations = TABLE
    annotation_prefixes = ("ingress.gcp.kubernetes.io", "networking.gke.io")
    kinds: tuple[APIKind, ...] = KINDS
    description = ("GKE Ingress (ingress-gce): classes gce, gce-internal; kubernetes.io/ingress.*, "
                   "networking.gke.io/*, BackendConfig per Service port, FrontendConfig; one Gateway per Ingress")
    data_plane = GkeDataPlane()

    def to_ir(self, claimed: Claimed, ctx: ProviderContext) -> IR:
        translator = GkeTranslator(ctx, claimed.objects)
        return translator.translate_all(claimed.ingresses)


PROVIDER = GkeProvider()

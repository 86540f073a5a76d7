"""Istio: the provider object ing2gw discovers (``PROVIDER``).

It names the controller (``istio.io/ingress-controller``, class ``istio``), the field table
(:mod:`.fields`; Istio reads no annotations of its own), the CRDs it reads (Gateway,
VirtualService, DestinationRule of ``networking.istio.io``) and its data plane, and puts the
pieces together: Ingresses (:mod:`.ingress`), Gateways -> listeners and https redirects
(:mod:`.gateway`), VirtualServices -> routes (:mod:`.virtualservice`), DestinationRules ->
BackendTLSPolicies and intents on the rules that send to their Services
(:mod:`.destinationrule`).
"""

from __future__ import annotations

from ing2gw.ir import IR
from ing2gw.kinds import APIKind
from ing2gw.provider import API_VERSION, Claimed, ProviderContext

from .dataplane import IstioDataPlane
from .destinationrule import apply_policies, convert_destination_rules
from .fields import TABLE
from .gateway import convert_gateways, redirect_routes
from .ingress import IstioIngressTranslator
from .objects import KINDS, Index
from .virtualservice import convert_virtual_services

__all__ = ["PROVIDER", "IstioProvider"]


class IstioProvider:
    name = "istio"
    api_version = API_VERSION
    controllers = ("istio.io/ingress-controller",)
    class_names = ("istio",)
    annotations = TABLE
    kinds: tuple[APIKind, ...] = KINDS
    description = ("Istio: Ingresses of class istio, and networking.istio.io Gateway, VirtualService (gateway and "
                   "mesh) and DestinationRule")
    data_plane = IstioDataPlane()

    def to_ir(self, claimed: Claimed, ctx: ProviderContext) -> IR:
        index = Index(claimed.objects)
        from_ingresses = IstioIngressTranslator(ctx).translate(claimed.ingresses) if claimed.ingresses else IR()
        servers = convert_gateways(index, ctx)
        policies = convert_destination_rules(index, ctx.notes)
        routes = redirect_routes(servers) + convert_virtual_services(index, servers, ctx)
        routes = apply_policies(list(from_ingresses.routes) + routes, policies)
        return IR(routes=tuple(routes), certificates=from_ingresses.certificates,
                  backend_tls=tuple(dict.fromkeys(policies.backend_tls)), listeners=tuple(servers.listeners))


PROVIDER = IstioProvider()

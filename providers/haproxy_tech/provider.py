"""HAProxy Technologies Kubernetes Ingress Controller (``haproxy.org/*``): the provider object
ing2gw discovers (``PROVIDER``), its translator and its data plane.

Routing semantics (see :mod:`.lookup`): Exact is literal, Prefix is element-wise (as Gateway
``PathPrefix``), ImplementationSpecific is a character prefix (``/a`` also takes ``/ab``); a
wildcard host covers one label; a host named by a rule never falls back to the host-less
rules. ``spec.tls`` alone turns on a 302 redirect of plain HTTP to HTTPS (port 8443 unless
``ssl-redirect-port`` says otherwise) for every host of the Ingress.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

from ing2gw.ir import GatewayRef, PathMatch, Route, RouteMatch
from ing2gw.notes import Fidelity, Level, Notes
from ing2gw.provider import Annotations
from ing2gw.resources import Ingress, IngressPath, ResourceSet

from .._common.ingress import HostRoutes, PathContext
from .._haproxy.dataplane import Flavour, HaproxyDataPlane
from .._haproxy.model import Entry, Lookup
from .._haproxy.plugin import HaproxyProvider
from .._haproxy.policy import HaproxyPolicy, read_annotations
from .._haproxy.translate import HaproxyTranslator
from .annotations import PREFIXES, TABLE
from .haproxycfg import render
from .lookup import TechLookup
from .policy import policy_of

__all__ = ["PROVIDER", "HaproxyTechProvider"]

NAME = "haproxy-tech"


class TechTranslator(HaproxyTranslator):
    code = "HAPROXY-TECH"
    controller = "haproxy-tech"
    prefixes = PREFIXES
    auth_layout = "map"
    preflight_key = "cors-respond-to-options"

    def policy_of(self, ingress: Ingress, ann: Annotations) -> HaproxyPolicy:
        return policy_of(ingress, ann)

    def redirects_https(self, ingress: Ingress, host: str, has_tls: bool) -> bool:
        pol = self.policy(ingress)
        return pol.ssl_redirect if pol.ssl_redirect is not None else bool(ingress.tls)

    def path_matches(self, pc: PathContext) -> list[RouteMatch]:
        value = pc.path.path or "/"
        if pc.path.path_type == "Exact":
            return [RouteMatch(path=PathMatch("Exact", value))]
        if pc.path.path_type == "ImplementationSpecific" and not value.endswith("/"):
            self.note(pc, "PATH-CHARACTER-PREFIX", Level.INFO,
                      f"haproxy-tech matches ImplementationSpecific path {value} as a character prefix (it also "
                      f"takes {value}-suffixed paths such as {value}x); Gateway PathPrefix matches whole segments",
                      fidelity=Fidelity.APPROXIMATE, instead=f"PathPrefix {value}", fld=pc.path.field + ".pathType",
                      aspects=("status", "backend", "path", "redirect"),
                      scope=((pc.host, f"~^{re.escape(value)}[^/]"),))
        return [RouteMatch(path=PathMatch("PathPrefix", value))]

    def extra_routes(self, hosts: Sequence[HostRoutes], tls_hosts: set[tuple[GatewayRef, str]]) -> list[Route]:
        """A host named by a rule never falls back to the host-less rules: note it where both exist."""
        hostless = [hr for hr in hosts if not hr.host and hr.rules]
        if hostless:
            named = sorted({hr.host for hr in hosts if hr.host and hr.rules})
            for hr in hostless:
                if named:
                    self.note(hr.ingress, "HOST-NO-FALLBACK", Level.INFO,
                              "haproxy-tech answers 404 for a path no rule of a named host matches; the Gateway "
                              "serves it from the host-less rules of this Ingress",
                              fidelity=Fidelity.APPROXIMATE, instead="host-less route without hostnames",
                              aspects=("status", "backend", "path", "redirect"),
                              scope=tuple((h, "") for h in named))
        return []


def _policy(ing: Ingress, config: Mapping[str, str]) -> HaproxyPolicy:
    return policy_of(ing, read_annotations(TABLE, ing, Notes(), PREFIXES))


def _match(ing: Ingress, path: IngressPath, pol: HaproxyPolicy) -> str | None:
    return {"Exact": "exact", "Prefix": "prefix"}.get(path.path_type, "implementation-specific")


def _tls(resources: ResourceSet) -> Callable[[Ingress, str], bool]:
    def tls(ing: Ingress, host: str) -> bool:
        return bool(ing.tls)
    return tls


def _lookup(entries: Sequence[Entry], config: Mapping[str, str]) -> Lookup:
    return TechLookup(entries)


FLAVOUR = Flavour(NAME, "HAPROXY-TECH", _policy, _match, _tls, _lookup, render)


class HaproxyTechProvider(HaproxyProvider):
    name = NAME
    controllers = ("haproxy.org/ingress-controller",)
    annotation_prefixes = PREFIXES
    annotations = TABLE
    description = ("haproxytech/kubernetes-ingress (HAProxy Technologies): annotations haproxy.org/*, haproxy.com/* "
                   "or ingress.kubernetes.io/* (equivalent)")
    data_plane = HaproxyDataPlane(FLAVOUR)
    translator = TechTranslator


PROVIDER = HaproxyTechProvider()

"""Ingresses of class ``istio`` -> IR, on the shared Ingress translator (:mod:`.._common.ingress`).

istiod turns Ingresses into one VirtualService per host (all Ingresses of a host merged) and
a Gateway per Ingress on the ingress gateway pods; what that means, each with its note:

* paths: ``Exact`` -> Exact, ``Prefix`` -> a segment prefix (the Gateway's PathPrefix);
  ImplementationSpecific (or no pathType): ``""``, ``*``, ``/*``, ``.*`` -> every path, a
  suffix ``.*`` or ``/*`` -> a segment prefix of what precedes it (``/api.*`` -> ``/api``), and
  anything else -> an **exact** path (``/foo``, ``/foo*`` and ``/v[0-9]`` alike);
* order: the merged routes are sorted by the length of their path, longest first, exact
  before prefix at equal length, catch-alls last -- for exact and segment-prefix paths that
  is Gateway API precedence, so the per-Ingress routes answer alike, except where a prefix
  ends in ``/``: it matches its stem too and sorts before the exact path and the prefix of
  that stem, which Istio therefore never reaches (left out, noted); two Ingresses with one
  path: the older wins, then by name, then namespace (:meth:`ordered`);
* ``spec.defaultBackend`` is ignored by Istio (noted, not converted);
* TLS: one HTTPS server per ``spec.tls`` entry, whose Secret Istio reads in the namespace of
  the ingress gateway (``istio-system``), not in the Ingress's; an entry without hosts serves
  every host; there is no HTTP-to-HTTPS redirect;
* a wildcard host matches subdomains of any depth (Envoy's suffix domains).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from ing2gw.ir import IR, PathMatch, RouteMatch
from ing2gw.notes import Fidelity, Level
from ing2gw.provider import ProviderContext
from ing2gw.resources import Ingress

from .._common.ingress import IngressTranslator, PathContext

__all__ = ["GATEWAY_NAMESPACE", "IstioIngressTranslator", "istio_path"]

GATEWAY_NAMESPACE = "istio-system"  # where istiod puts Ingress gateways and reads their Secrets
_CATCH_ALL = ("", "*", "/*", ".*")


def istio_path(path: str, path_type: str) -> PathMatch:
    """The match istiod gives an Ingress path (PathPrefix "/" stands for "no match at all")."""
    if path_type == "Exact":
        return PathMatch("Exact", path)
    if path_type == "Prefix":
        return PathMatch("PathPrefix", path or "/")
    if path in _CATCH_ALL:
        return PathMatch("PathPrefix", "/")
    if path.endswith((".*", "/*")):
        return PathMatch("PathPrefix", path[:-2] or "/")
    return PathMatch("Exact", path)


class IstioIngressTranslator(IngressTranslator):
    """Converts the Ingresses istiod serves."""

    code = "ISTIO"
    wildcard_any_depth = True

    def __init__(self, ctx: ProviderContext) -> None:
        super().__init__(ctx)
        self.shadowing: dict[tuple[str, str], str] = {}

    def ordered(self, ingresses: Sequence[Ingress]) -> list[Ingress]:
        """istiod's order: oldest first, then name, then namespace."""
        return sorted(ingresses, key=lambda i: (i.created or "~", i.name, i.namespace))

    def path_matches(self, pc: PathContext) -> list[RouteMatch]:
        value = pc.path.path
        match = istio_path(value, pc.path.path_type)
        shadow = self.shadowing.get((pc.host, match.value.rstrip("/") or "/"))
        if shadow is not None and match.value != shadow and (match.type == "Exact" or not match.value.endswith("/")):
            self.note(pc, "PATH-SHADOWED", Level.INFO, f"istiod sorts routes by the length of their path: the prefix "
                      f"{shadow} (one character longer) comes first and takes every request {value} would",
                      fidelity=Fidelity.EXACT, instead="not converted (Istio never answers from it)",
                      fld=pc.path.field + ".path")
            return []
        if pc.path.path_type == "ImplementationSpecific":
            if match.type == "Exact":
                self.note(pc, "PATH-EXACT", Level.INFO, f"an ImplementationSpecific path is exact in Istio: {value} "
                          "matches only itself" + (" (its * is a literal character)" if "*" in value else ""),
                          fidelity=Fidelity.EXACT, instead="Exact path match", fld=pc.path.field + ".pathType")
            elif value not in ("/", ""):
                self.note(pc, "PATH-WILDCARD", Level.INFO, f"Istio reads {value} as "
                          + ("every path" if match.value == "/" else f"the segment prefix {match.value}"),
                          fidelity=Fidelity.EXACT, instead=f"PathPrefix {match.value}", fld=pc.path.field + ".path")
        return [RouteMatch(path=match)]

    def translate(self, ingresses: Sequence[Ingress]) -> IR:
        # (host, stem) -> a prefix ending in "/": istiod's length sort puts it before the exact
        # path and the prefix of its stem, and it matches every request they match
        self.shadowing = {(r.host, m.value.rstrip("/")): m.value for ing in ingresses for r in ing.rules
                          for p in r.paths if (m := istio_path(p.path, p.path_type)).type == "PathPrefix"
                          and len(m.value) > 1 and m.value.endswith("/")}
        kept = []
        for ing in ingresses:
            if ing.default_backend is not None:
                self.note(ing, "DEFAULT-BACKEND-IGNORED", Level.WARNING, "Istio ignores spec.defaultBackend: requests "
                          "no rule matches get 404", fidelity=Fidelity.EXACT, instead="not converted (as in Istio)",
                          fld="spec.defaultBackend")
                ing = replace(ing, default_backend=None)
            for n, tls in enumerate(ing.tls):
                if tls.secret_name:
                    self.note(ing, "TLS-SECRET-NAMESPACE", Level.INFO, f"Istio reads Secret {tls.secret_name} in "
                              f"{GATEWAY_NAMESPACE} (the ingress gateway's namespace), not in {ing.namespace}",
                              fidelity=Fidelity.EXACT, instead=f"certificateRef {GATEWAY_NAMESPACE}/{tls.secret_name}",
                              fld=f"spec.tls[{n}].secretName")
                if not tls.hosts:
                    self.note(ing, "TLS-ANY-HOST", Level.WARNING, "a tls entry without hosts serves every host over "
                              "HTTPS in Istio", fidelity=Fidelity.APPROXIMATE,
                              instead="HTTPS listeners for the Ingress's own hosts", fld=f"spec.tls[{n}]",
                              aspects=("tls", "status"))
            kept.append(ing)
        ir = super().translate(kept)
        certificates = tuple(replace(c, secret_namespace=GATEWAY_NAMESPACE) for c in ir.certificates)
        return replace(ir, certificates=certificates)

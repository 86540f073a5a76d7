"""Cilium Ingresses -> IR, with Cilium's semantics where they differ from the Ingress spec.

* Load balancers: ``loadbalancer-mode`` dedicated (the Helm default) gives the Ingress its own
  Gateway (``cilium-<namespace>-<name>``: its own address); shared Ingresses share the class's
  Gateway.
* Paths: ``Prefix`` is segment-wise (a trailing ``/`` dropped), ``Exact`` exact, and
  ``ImplementationSpecific`` a regular expression matching the whole path (Envoy ``safe_regex``,
  RE2). Cilium orders Exact, then regular expressions, then prefixes (longest first, ``/``
  last); Gateway API puts regular expressions after prefixes: noted where a host has both.
* Hosts: ``*.example.com`` matches one label (noted: a Gateway API wildcard matches deeper ones).
* TLS: a host with a certificate is served on 443 (by SNI) and, with ``force-https`` (default:
  the operator's enforce-ingress-https, true), plain HTTP gets a 301 to https for each path.
* ``tls-passthrough``: each host's ``/`` path becomes a TLS passthrough (TLSRoute); its other
  paths, its default backend and its plain-HTTP service are dropped, as Cilium does.
* ``request-timeout`` becomes the rules' ``timeouts.request``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from ing2gw.ir import (
    IR,
    BackendRef,
    Filter,
    GatewayRef,
    Passthrough,
    PathMatch,
    Provenance,
    RequestRedirect,
    Route,
    RouteMatch,
    Rule,
    Timeouts,
)
from ing2gw.names import host_slug
from ing2gw.notes import Fidelity, Level
from ing2gw.provider import Annotations, ProviderContext
from ing2gw.resources import Ingress

from .._common.ingress import HostRoutes, IngressTranslator, PathContext
from .annotations import LB_PREFIXES, PREFIX, TABLE

__all__ = ["DEFAULT_MODE", "CiliumTranslator", "gateway_key", "lb_mode"]

DEFAULT_MODE = "dedicated"  # Helm ingressController.loadbalancerMode
ENFORCE_HTTPS = True  # Helm ingressController.enforceHttps / operator enforce-ingress-https


def lb_mode(ann: Annotations) -> str:
    return str(ann.get("loadbalancer-mode") or DEFAULT_MODE)


def gateway_key(ing: Ingress) -> str:
    """The Gateway of a dedicated Ingress (Cilium names its Service cilium-ingress-<name>)."""
    return f"cilium-{ing.namespace}-{ing.name}"


class CiliumTranslator(IngressTranslator):
    code = "CILIUM"
    wildcard_any_depth = False

    def __init__(self, ctx: ProviderContext, ingresses: Sequence[Ingress]) -> None:
        self.ann: dict[str, Annotations] = {ing.ref: TABLE.read(ing, ctx.notes) for ing in ingresses}
        refs: dict[str, GatewayRef] = {}
        for ing in ingresses:
            if ing.ref in ctx.gateways and lb_mode(self.ann[ing.ref]) == "dedicated":
                refs[ing.ref] = GatewayRef(gateway_key(ing), ctx.gateways[ing.ref].gateway_class)
        super().__init__(ProviderContext(ctx.resources, ctx.notes, ctx.options, {**ctx.gateways, **refs}))

    # --- the whole conversion -------------------------------------------------------------

    def translate(self, ingresses: Sequence[Ingress]) -> IR:
        passthrough = [ing for ing in ingresses if self.ann[ing.ref].get("tls-passthrough")]
        plain = [ing for ing in ingresses if not self.ann[ing.ref].get("tls-passthrough")]
        for ing in ingresses:
            self._ingress_notes(ing)
        ir = super().translate(plain)
        records = [r for ing in self.ordered(passthrough) for r in self._passthrough(ing)]
        return replace(ir, passthrough=ir.passthrough + tuple(records))

    def _ingress_notes(self, ing: Ingress) -> None:
        ann = self.ann[ing.ref]
        mode = lb_mode(ann)
        gw = self.ctx.gateway_for(ing)
        self.note(ing, "LOADBALANCER-MODE", Level.INFO,
                  f"load balancer mode {mode}" + (" (the Helm default)" if "loadbalancer-mode" not in ann.raw else ""),
                  fidelity=Fidelity.EXACT,
                  instead=f"Gateway {gw.key}" + (" of its own (its own address)" if mode == "dedicated"
                                                 else ", shared with the other shared Ingresses"),
                  fld=f"{PREFIX}/loadbalancer-mode")
        copied = sorted(k for k in ing.annotations if k.split("/", 1)[0] in LB_PREFIXES)
        if copied:
            self.note(ing, "LB-ANNOTATIONS", Level.WARNING,
                      f"annotations Cilium copies to the load balancer Service: {', '.join(copied)}",
                      fidelity=Fidelity.UNSUPPORTED,
                      instead="not carried: set them as Gateway spec.infrastructure.annotations where the "
                              "implementation copies those to its Service", fld=copied[0])
        if ann.get("request-timeout") is not None and ann.get("tls-passthrough"):
            self.note(ing, "TIMEOUT-PASSTHROUGH", Level.INFO, "request-timeout has no effect on TLS passthrough",
                      fld=f"{PREFIX}/request-timeout")

    # --- paths ----------------------------------------------------------------------------

    def path_matches(self, pc: PathContext) -> list[RouteMatch]:
        value = pc.path.path or "/"
        ptype = pc.path.path_type
        if ptype == "Exact":
            return [RouteMatch(path=PathMatch("Exact", value))]
        if ptype == "Prefix":
            return [RouteMatch(path=PathMatch("PathPrefix", value.rstrip("/") or "/"))]
        self.note(pc, "PATH-REGEX", Level.INFO,
                  f"ImplementationSpecific path {value} is a regular expression matching the whole path in Cilium "
                  "(Envoy safe_regex, RE2), ordered after Exact paths and before every Prefix path",
                  fidelity=Fidelity.APPROXIMATE,
                  instead=f"RegularExpression {value} (Gateway API orders regular expressions after prefixes; "
                          "the dialect is the implementation's)",
                  fld=pc.path.field + ".pathType", aspects=("status", "backend"),
                  scope=((pc.host, "~" + value),))
        return [RouteMatch(path=PathMatch("RegularExpression", value))]

    def path_rules(self, pc: PathContext, matches: list[RouteMatch], backends: tuple[BackendRef, ...]) -> list[Rule]:
        timeout = self.ann[pc.ingress.ref].get("request-timeout")
        timeouts = Timeouts(request=timeout.gateway()) if timeout is not None and timeout.millis else None
        return [Rule(matches=tuple(matches), backends=backends, timeouts=timeouts, provenance=(pc.provenance,))]

    # --- routes ---------------------------------------------------------------------------

    def host_routes(self, hr: HostRoutes, has_tls: bool) -> list[Route]:
        self._order_note(hr)
        ann = self.ann[hr.ingress.ref]
        forced = ann.get("force-https")
        force = ENFORCE_HTTPS if forced is None else bool(forced)
        if not has_tls or not force:
            return [self.make_route(hr, frozenset({"http", "https"}) if has_tls else frozenset({"http"}))]
        prov = Provenance("Ingress", hr.ingress.namespace, hr.ingress.name, f"{PREFIX}/force-https",
                          hr.ingress.origin)
        self.note(hr.ingress, "FORCE-HTTPS", Level.INFO,
                  f"plain HTTP to {hr.host} is redirected to https (301) for each path"
                  + (" (the operator's enforce-ingress-https default)" if forced is None else ""),
                  fidelity=Fidelity.EXACT, instead="a RequestRedirect route (scheme https, 301) on the HTTP listener",
                  fld=f"{PREFIX}/force-https", scope=((hr.host, ""),))
        redirect = Filter("RequestRedirect", RequestRedirect(scheme="https", status_code=301), prov)
        rules = tuple(Rule(matches=r.matches, filters=(redirect,), provenance=r.provenance) for r in hr.rules)
        base = self.make_route(hr, frozenset({"http"}))
        return [
            self.make_route(hr, frozenset({"https"})),
            Route(kind="HTTPRoute", namespace=base.namespace, name=f"{hr.ingress.name}-{host_slug(hr.host)}-https",
                  gateway=base.gateway, hostnames=base.hostnames, sections=frozenset({"http"}), rules=rules,
                  sources=base.sources),
        ]

    def _order_note(self, hr: HostRoutes) -> None:
        kinds = {m.path.type for r in hr.rules for m in r.matches if m.path is not None}
        if "RegularExpression" in kinds and "PathPrefix" in kinds:
            regexes = sorted({m.path.value for r in hr.rules for m in r.matches
                              if m.path is not None and m.path.type == "RegularExpression"})
            self.note(hr.ingress, "REGEX-BEFORE-PREFIX", Level.WARNING,
                      f"host {hr.host or '*'} has regular-expression and prefix paths: Cilium tries every regular "
                      "expression before any prefix", fidelity=Fidelity.APPROXIMATE,
                      instead="Gateway API precedence (a matching prefix wins over a regular expression)",
                      aspects=("status", "backend"),
                      scope=((hr.host, ""), *((hr.host, f"~^(?:{rx})$") for rx in regexes)))

    def _passthrough(self, ing: Ingress) -> list[Passthrough]:
        out: list[Passthrough] = []
        gw = self.ctx.gateway_for(ing)
        if ing.default_backend is not None:
            self.note(ing, "PASSTHROUGH-DEFAULT-BACKEND", Level.WARNING,
                      "TLS passthrough Ingress: Cilium ignores the default backend", fidelity=Fidelity.EXACT,
                      instead="not converted", fld="spec.defaultBackend", aspects=("status", "backend"))
        for rule in ing.rules:
            if not rule.host:
                self.note(ing, "PASSTHROUGH-NO-HOST", Level.WARNING,
                          "TLS passthrough rule without a host: Cilium ignores it", fidelity=Fidelity.EXACT,
                          instead="not converted", fld=rule.field, aspects=("status", "backend"))
                continue
            root = None
            for p in rule.paths:
                if p.path == "/" and root is None:
                    root = p
                else:
                    self.note(ing, "PASSTHROUGH-PATH", Level.WARNING,
                              f"TLS passthrough: Cilium ignores path {p.path or '(none)'} of {rule.host} (only / "
                              "is passed through)", fidelity=Fidelity.EXACT, instead="not converted",
                              fld=p.field, aspects=("status", "backend"), scope=((rule.host, ""),))
            if root is None:
                continue
            backend = self.resolve_backend(ing, root.backend, root.field + ".backend")
            if backend is None:
                continue
            self.note(ing, "PASSTHROUGH", Level.INFO,
                      f"TLS for {rule.host} is passed to {backend.namespace}/{backend.name}:{backend.port} by SNI; "
                      "Cilium serves nothing for the host on plain HTTP", fidelity=Fidelity.APPROXIMATE,
                      instead="a TLS listener in Passthrough mode and a TLSRoute (the Gateway's HTTP listener "
                              "answers the host's plain HTTP with 404)", fld=f"{PREFIX}/tls-passthrough",
                      aspects=("status", "backend", "tls"), scope=((rule.host, ""),))
            prov = Provenance("Ingress", ing.namespace, ing.name, root.field, ing.origin)
            out.append(Passthrough(gw, rule.host, ing.namespace, f"{ing.name}-{host_slug(rule.host)}", backend, prov))
        return out

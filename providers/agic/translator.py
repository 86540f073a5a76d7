"""AGIC Ingresses -> IR, on the shared Ingress translator, with the Application Gateway that
:mod:`.appgw` builds as the reference for what each path really does.

All Ingresses share one Gateway (class ``azure-alb-external``, Application Gateway for
Containers, unless ``--gateway-class``). What differs from the Ingress specification, each with
its note:

* paths (:func:`~.appgw.pattern`): Exact stays, Prefix is a character prefix (``/p*`` also
  matches ``/pabc``; ``/p/*`` does not match ``/p``), ``/`` and ``/*`` are catch-alls for every
  pathType (PathPrefix ``/``); a path an earlier path of the same listener always wins over is
  dropped (the first listed path wins, Gateway API picks the most specific);
* a TLS host is served on HTTPS only -- plain HTTP gets no listener -- unless ``ssl-redirect``
  adds a 301 redirect route; a TLS Secret that does not exist leaves the host HTTP only;
* the Ingress's backend settings: ``backend-path-prefix`` and ``backend-hostname`` become a
  URLRewrite filter, ``request-timeout`` the rule's backendRequest timeout, affinity, draining,
  health probes and the WAF policy typed intents; ``appgw-ssl-profile`` a Gateway intent;
* a listener whose path map has no default answers unmatched paths from the gateway's empty
  default pool (502).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from ing2gw import intents as i
from ing2gw.ir import (
    IR,
    BackendRef,
    CertificateRef,
    Filter,
    GatewayIntent,
    GatewayRef,
    Listener,
    ListenerParent,
    PathMatch,
    PathModifier,
    Provenance,
    RequestRedirect,
    Route,
    RouteMatch,
    Rule,
    Section,
    Timeouts,
    URLRewrite,
)
from ing2gw.notes import Fidelity, Level
from ing2gw.provider import Annotations, ProviderContext
from ing2gw.resources import Ingress

from .._common.ingress import HostRoutes, IngressTranslator, PathContext
from .annotations import PREFIX
from .appgw import Gateway, build, catch_all, covers, pattern

__all__ = ["GATEWAY_CLASS", "AgicTranslator"]

GATEWAY_CLASS = "azure-alb-external"
_ROUTING = ("status", "backend", "path", "redirect")


def _key(key: str) -> str:
    return f"{PREFIX}/{key}"


class AgicTranslator(IngressTranslator):
    """Converts the Ingresses AGIC serves."""

    code = "AGIC"
    wildcard_any_depth = True

    def __init__(self, ctx: ProviderContext) -> None:
        refs = {ref: GatewayRef(g.key, ctx.options.gateway_class or GATEWAY_CLASS) for ref, g in ctx.gateways.items()}
        super().__init__(ProviderContext(ctx.resources, ctx.notes, ctx.options, refs))
        self.plan = Gateway([], {}, {})
        self.rewrite_noted: set[str] = set()
        self.moved: dict[str, tuple[int, tuple[tuple[tuple[str, ...], str], ...]]] = {}

    def ann(self, ing: Ingress) -> Annotations:
        return self.plan.annotations[ing.ref]

    def translate_all(self, ingresses: Sequence[Ingress]) -> IR:
        self.plan = build(ingresses, self.resources, self.notes)
        prepared: list[Ingress] = []
        intents: list[GatewayIntent] = []
        for ing in ingresses:
            missing = self.plan.tls_missing.get(ing.ref, [])
            port = self.ann(ing).get("override-frontend-port")
            if port is not None:
                secrets = tuple((t.hosts, t.secret_name) for t in ing.tls
                                if t.secret_name and t.secret_name not in missing)
                self.moved[ing.ref] = (int(port), secrets)
            for secret in missing:
                self.note(ing, "TLS-SECRET-MISSING", Level.WARNING,
                          f"TLS Secret {ing.namespace}/{secret} does not exist: AGIC configures the Ingress's hosts "
                          "for plain HTTP only (no certificate, no redirect)", fidelity=Fidelity.EXACT,
                          instead="no HTTPS listener for them (as AGIC)", fld="spec.tls")
            # an Ingress on another frontend port gets listeners of its own (no 443 certificate)
            tls = () if port is not None else tuple(t for t in ing.tls if t.secret_name not in missing)
            prepared.append(replace(ing, tls=tls))
            intents += self._ingress_notes(ing)
        ir = self.translate(prepared)
        self._default_pool_notes()
        routes, listeners = self._frontend_ports(ir.routes, {ing.ref: ing for ing in ingresses})
        return IR(routes=routes, certificates=ir.certificates, listeners=listeners, gateway_intents=tuple(intents))

    def _frontend_ports(self, routes: Sequence[Route], by_ref: dict[str, Ingress]) -> tuple[tuple[Route, ...],
                                                                                          tuple[Listener, ...]]:
        """Routes of Ingresses with ``override-frontend-port`` moved to listeners on that port:
        HTTPS (with the Ingress's certificate) for a TLS host, HTTP otherwise; the ssl-redirect
        route stays on port 80 as AGIC keeps it."""
        listeners: dict[str, Listener] = {}
        out: list[Route] = []
        for route in routes:
            ref = route.sources[0].ref if route.sources else ""
            moved = self.moved.get(ref)
            if moved is None or route.name.endswith("-redirect") and "http" in route.sections:
                out.append(route)
                continue
            port, secrets = moved
            ing = by_ref[ref]
            host = route.hostnames[0] if route.hostnames else ""
            secret = next((name for hosts, name in secrets if not hosts or host in hosts), None) if host else None
            src = Provenance("Ingress", ing.namespace, ing.name, _key("override-frontend-port"), ing.origin)
            if secret is not None:
                name = f"https-{port}-{host}"
                listeners.setdefault(name, Listener(route.gateway or self.ctx.gateway_for(ing), name, port, "HTTPS",
                                                    hostname=host, tls_mode="Terminate",
                                                    certificates=(CertificateRef(ing.namespace, secret),), source=src))
            else:
                name = f"http-{port}"
                listeners.setdefault(name, Listener(route.gateway or self.ctx.gateway_for(ing), name, port, "HTTP",
                                                    source=src))
            gw = route.gateway or self.ctx.gateway_for(ing)
            out.append(replace(route, sections=frozenset(), parents=(ListenerParent(gw, name),)))
        return tuple(out), tuple(listeners[k] for k in sorted(listeners))

    def _ingress_notes(self, ing: Ingress) -> list[GatewayIntent]:
        ann = self.ann(ing)
        out: list[GatewayIntent] = []
        if "rule-priority" in ann:
            self.note(ing, "RULE-PRIORITY", Level.WARNING,
                      f"rule-priority {ann.get('rule-priority')} orders this Ingress's listeners among the "
                      "gateway's request routing rules; Gateway API orders by hostname and path specificity",
                      fidelity=Fidelity.APPROXIMATE, instead="not converted", fld=_key("rule-priority"),
                      aspects=("status", "backend"))
        if ann.get("use-private-ip"):
            self.note(ing, "PRIVATE-IP", Level.WARNING, "the listeners are on the gateway's private frontend IP",
                      fidelity=Fidelity.APPROXIMATE, instead="use an internal GatewayClass or address for this "
                      "Ingress's routes", fld=_key("use-private-ip"))
        if ann.get("appgw-ssl-certificate") and not any(t.secret_name for t in ing.tls):
            self.note(ing, "APPGW-SSL-CERTIFICATE", Level.WARNING,
                      f"certificate {ann.get('appgw-ssl-certificate')} is installed on the Application Gateway, not "
                      "a Secret: AGIC serves the hosts on HTTPS only; the Gateway has no certificate for them",
                      fidelity=Fidelity.APPROXIMATE, instead="the routes stay on the HTTP listener; add the "
                      "certificate as a TLS Secret and a spec.tls entry", fld=_key("appgw-ssl-certificate"),
                      aspects=("status", "tls", "redirect"))
        if ann.get("backend-protocol") == "https":
            self.note(ing, "BACKEND-HTTPS", Level.WARNING, "the gateway reaches the Pods over HTTPS",
                      fidelity=Fidelity.APPROXIMATE, instead="add a BackendTLSPolicy with the backends' CA and "
                      "hostname", fld=_key("backend-protocol"), aspects=("status",))
        profile = ann.get("appgw-ssl-profile")
        if profile:
            prov = Provenance("Ingress", ing.namespace, ing.name, _key("appgw-ssl-profile"), ing.origin)
            out.append(GatewayIntent(self.ctx.gateway_for(ing), i.TlsPolicy(name=str(profile), vendor="azure",
                                                                             provenance=prov)))
        return out

    def _default_pool_notes(self) -> None:
        for ls in self.plan.listeners:
            if ls.redirect or ls.default is not None:
                continue
            ing = ls.entries[0].ingress if ls.entries else None
            if ing is None:
                continue
            hosts = ", ".join(ls.hosts) or "every host no other listener takes"
            self.note(ing, "DEFAULT-POOL", Level.WARNING,
                      f"requests to {hosts} on port {ls.port} that no path matches go to the Application Gateway's "
                      "empty default backend pool (502); the Gateway answers 404, or lets a route without "
                      "hostnames serve them", fidelity=Fidelity.APPROXIMATE,
                      instead="add a / path (or spec.defaultBackend) to keep one answer", aspects=("status", "backend"),
                      scope=tuple((h, "") for h in ls.hosts) or (("*", ""),))

    # --- hooks --------------------------------------------------------------------------------

    def _entry_index(self, pc: PathContext) -> tuple[list[str], str] | None:
        """The patterns listed before ``pc``'s path in its listener, and its own pattern."""
        for ls in self.plan.listeners:
            for n, e in enumerate(ls.entries):
                if e.path is pc.path and e.ingress.ref == pc.ingress.ref:
                    return [x.pattern for x in ls.entries[:n]], e.pattern
        return None

    def path_matches(self, pc: PathContext) -> list[RouteMatch]:
        path = pc.path.path
        if catch_all(path):
            return [RouteMatch(path=PathMatch("PathPrefix", "/"))]
        pat = pattern(path, pc.path.path_type)
        if "*" in pat[:-1]:
            self.note(pc, "PATH-INVALID", Level.ERROR, f"path {pat}: Application Gateway allows * only at the end",
                      instead="path skipped", fld=pc.path.field + ".path", aspects=_ROUTING)
            return []
        found = self._entry_index(pc)
        if found is not None:
            earlier, _ = found
            winner = next((e for e in earlier if covers(e, pat)), None)
            if winner is not None:
                self.note(pc, "PATH-SHADOWED", Level.WARNING,
                          f"path {pat} is listed after {winner} on the same listener, which matches every request "
                          "it does: the first listed path wins on Application Gateway, so it is never used",
                          fidelity=Fidelity.EXACT, instead="not converted", fld=pc.path.field)
                return []
        if not pat.endswith("*"):
            return [RouteMatch(path=PathMatch("Exact", pat))]
        base = pat[:-1] or "/"
        if base != "/":
            if base.endswith("/"):
                why = (f"Application Gateway's {pat} does not match {base[:-1]}, which the Gateway's PathPrefix "
                       f"{base} matches")
                differs = "~^" + re.escape(base[:-1]) + "$"
            else:
                why = (f"Application Gateway's {pat} is a character prefix: it also matches {base}-suffixed paths such "
                       f"as {base}x")
                differs = "~^" + re.escape(base) + "[^/]"
            self.note(pc, "PATH-CHARACTER-PREFIX", Level.INFO, why, fidelity=Fidelity.APPROXIMATE,
                      instead=f"PathPrefix {base} (matches {base.rstrip('/')} and {base.rstrip('/')}/... only)",
                      fld=pc.path.field + ".path", aspects=_ROUTING,
                      scope=((pc.host, differs),))
        return [RouteMatch(path=PathMatch("PathPrefix", base))]

    def path_rules(self, pc: PathContext, matches: list[RouteMatch], backends: tuple[BackendRef, ...]) -> list[Rule]:
        return [self._settings(pc.ingress, r) for r in super().path_rules(pc, matches, backends)]

    def _settings(self, ing: Ingress, rule: Rule) -> Rule:
        """The Ingress's backend HTTP settings on one of its rules."""
        ann = self.ann(ing)

        def prov(key: str) -> Provenance:
            return Provenance("Ingress", ing.namespace, ing.name, _key(key), ing.origin)

        filters = list(rule.filters)
        prefix, host = ann.get("backend-path-prefix"), ann.get("backend-hostname")
        if prefix is not None and ing.ref not in self.rewrite_noted:
            self.rewrite_noted.add(ing.ref)
            self.note(ing, "PATH-OVERRIDE", Level.INFO,
                      f"backend-path-prefix {prefix} replaces the matched path prefix as characters (the rest of the "
                      "path is appended to the override as written); the Gateway's ReplacePrefixMatch replaces whole "
                      "path segments, so a trailing / of either side may differ", fidelity=Fidelity.APPROXIMATE,
                      instead="URLRewrite ReplacePrefixMatch (ReplaceFullPath for exact paths)",
                      fld=_key("backend-path-prefix"), aspects=("path",))
        if prefix is not None or host is not None:
            exact = any(m.path is not None and m.path.type == "Exact" for m in rule.matches)
            path = PathModifier("ReplaceFullPath" if exact else "ReplacePrefixMatch", prefix) if prefix else None
            filters.append(Filter("URLRewrite", URLRewrite(hostname=host, path=path),
                                  prov("backend-path-prefix" if prefix else "backend-hostname")))
        intents = list(rule.intents)
        if ann.get("cookie-based-affinity"):
            intents.append(i.SessionAffinity(cookie="ApplicationGatewayAffinity",
                                             mode="distinct-name" if ann.get("cookie-based-affinity-distinct-name")
                                             else None, provenance=prov("cookie-based-affinity")))
        if ann.get("connection-draining"):
            intents.append(i.ConnectionDraining(timeout_s=int(ann.get("connection-draining-timeout") or 30),
                                                provenance=prov("connection-draining")))
        probe = {k: ann.get(f"health-probe-{k}") for k in ("hostname", "port", "path", "status-codes", "interval",
                                                            "timeout", "unhealthy-threshold")}
        if any(v is not None for v in probe.values()):
            first = next(k for k, v in probe.items() if v is not None)
            intents.append(i.HealthCheck(host=probe["hostname"], port=probe["port"], path=probe["path"],
                                         status_codes=tuple(probe["status-codes"] or ()),
                                         interval_s=probe["interval"], timeout_s=probe["timeout"],
                                         unhealthy=probe["unhealthy-threshold"],
                                         provenance=prov(f"health-probe-{first}")))
        waf = ann.get("waf-policy-for-path")
        if waf:
            intents.append(i.SecurityPolicyRef(vendor="azure-waf", name=str(waf),
                                               provenance=prov("waf-policy-for-path")))
        timeouts = rule.timeouts
        if "request-timeout" in ann:
            timeouts = Timeouts(backend_request=f"{ann.get('request-timeout')}s")
        return replace(rule, filters=tuple(filters), intents=tuple(intents), timeouts=timeouts)

    def _host_default_backends(self, ing: Ingress, gw: GatewayRef, hosts: dict[tuple[str, str], HostRoutes],
                               claimed: dict[tuple[GatewayRef, str, str, str], Ingress]) -> None:
        for rule in ing.rules:  # a catch-all path already answers every path of its host
            if any(catch_all(p.path) for p in rule.paths):
                claimed[(gw, rule.host, "Prefix", "/")] = ing
        super()._host_default_backends(ing, gw, hosts, claimed)
        for hr in hosts.values():
            if hr.ingress is ing:
                hr.rules[:] = [self._settings(ing, r) if any(p.field == "spec.defaultBackend" for p in r.provenance)
                               and not r.filters and not r.intents else r for r in hr.rules]

    def route_sections(self, ingress: Ingress, host: str, has_tls: bool) -> frozenset[Section]:
        return frozenset({"https"}) if has_tls else frozenset({"http"})

    def make_route(self, hr: HostRoutes, sections: frozenset[Section]) -> Route:
        route = super().make_route(hr, sections)
        extension = tuple(self.ann(hr.ingress).get("hostname-extension") or ())
        if not extension:
            return route
        return replace(route, hostnames=tuple(dict.fromkeys(route.hostnames + extension)))

    def host_routes(self, hr: HostRoutes, has_tls: bool) -> list[Route]:
        moved = self.moved.get(hr.ingress.ref)
        if moved is not None and hr.host:  # TLS of an Ingress on another port (its certificate left the IR)
            has_tls = any(not hosts or hr.host in hosts for hosts, _ in moved[1])
        routes = super().host_routes(hr, has_tls)
        if has_tls and self.ann(hr.ingress).get("ssl-redirect"):
            ing = hr.ingress
            prov = Provenance("Ingress", ing.namespace, ing.name, f"{PREFIX}/ssl-redirect", ing.origin)
            redirect = HostRoutes(ing, hr.host, hr.gateway, [Rule(
                matches=(RouteMatch(path=PathMatch("PathPrefix", "/")),),
                filters=(Filter("RequestRedirect", RequestRedirect(scheme="https", status_code=301), prov),),
                provenance=(prov,))])
            route = self.make_route(redirect, frozenset({"http"}))
            routes.append(replace(route, name=route.name + "-redirect"))
        elif has_tls:
            self.note(hr.ingress, "HTTPS-ONLY", Level.INFO,
                      f"host {hr.host or '*'} has a TLS Secret and no ssl-redirect: AGIC gives it an HTTPS listener "
                      "only, plain HTTP is not served", fidelity=Fidelity.EXACT,
                      instead="the route attaches to the HTTPS listener only", fld="spec.tls",
                      scope=((hr.host, ""),))
        return routes


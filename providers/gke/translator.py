"""GKE Ingresses -> IR, on the shared Ingress translator, one Ingress at a time.

ingress-gce gives every Ingress its own load balancer (its own address and URL map), so each
Ingress gets its own Gateway (named after ``<namespace>-<name>``, class
``gke-l7-global-external-managed`` for ``gce``, ``gke-l7-rilb`` for ``gce-internal``,
``gke-l7-regional-external-managed`` for ``gce-regional-external``, unless ``--gateway-class``).

What differs from the Ingress specification (:mod:`.urlmap`), each with its note:

* paths are GCLB paths: ``ImplementationSpecific`` ``/p`` is Exact, ``/p/*`` a PathPrefix that
  must not match ``/p`` (an Exact ``/p`` rule sends it where GKE does), Prefix is PathPrefix;
  a later rule for the same host replaces the earlier one, the last of equal paths wins;
* a path whose Service is missing is dropped (the host's unmatched paths go to the default
  backend), and so is an invalid path;
* ``spec.defaultBackend`` answers every unmatched path of the Ingress's hosts and every other host;
* ``allow-http: "false"`` removes the HTTP listener; FrontendConfig ``redirectToHttps`` turns the
  whole HTTP side into a redirect; ``sslPolicy`` and the static IP become Gateway intents;
* each rule's backend Service port brings its BackendConfig (:mod:`.configs`): header filters and
  typed intents.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from ing2gw import intents as i
from ing2gw.ir import (
    IR,
    BackendRef,
    Certificate,
    CertificateRef,
    Filter,
    GatewayIntent,
    GatewayRef,
    HeaderModifier,
    Listener,
    ListenerParent,
    PathMatch,
    Provenance,
    RequestRedirect,
    Route,
    RouteMatch,
    Rule,
    Section,
)
from ing2gw.kinds import KubeObject
from ing2gw.names import host_slug
from ing2gw.notes import Fidelity, Level, Note
from ing2gw.provider import Annotations, ProviderContext, ingress_scope
from ing2gw.resources import Ingress, IngressBackend, Service

from .._common.ingress import HostRoutes, IngressTranslator, PathContext
from .annotations import APP_PROTOCOLS, BACKEND_CONFIG, FRONTEND_CONFIG, app_protocols, read_ingress, read_service
from .configs import BackendSettings, FrontendSettings, backend_config, backend_settings, frontend_settings
from .urlmap import UrlMap, select, url_map

__all__ = ["GATEWAY_CLASSES", "GkeTranslator", "gateway_key", "ingress_class"]

GATEWAY_CLASSES = {"gce": "gke-l7-global-external-managed", "gce-internal": "gke-l7-rilb",
                   "gce-regional-external": "gke-l7-regional-external-managed"}
_ROUTING = ("status", "backend", "path", "redirect")


def ingress_class(ing: Ingress) -> str:
    """The class ingress-gce reads: the annotation (``spec.ingressClassName`` when it is absent)."""
    return ing.legacy_class or ing.class_name or "gce"


def gateway_key(ing: Ingress) -> str:
    """The Gateway of an Ingress's load balancer: one per Ingress."""
    return f"{ing.namespace}-{ing.name}"


class GkeTranslator(IngressTranslator):
    """Converts the Ingresses ingress-gce serves."""

    code = "GKE"
    wildcard_any_depth = True

    def __init__(self, ctx: ProviderContext, objects: Sequence[KubeObject]) -> None:
        refs = {ing.ref: GatewayRef(gateway_key(ing), ctx.options.gateway_class
                                    or GATEWAY_CLASSES.get(ingress_class(ing), GATEWAY_CLASSES["gce"]))
                for ing in ctx.resources.ingresses}
        super().__init__(ProviderContext(ctx.resources, ctx.notes, ctx.options, {**ctx.gateways, **refs}))
        self.objects = objects
        self.map: UrlMap | None = None
        self.ann: Annotations | None = None
        self.frontend: FrontendSettings | None = None
        self.backend_cache: dict[tuple[str, str, int | None], BackendSettings | None] = {}
        self.noted_configs: set[str] = set()
        self.read_services: set[tuple[str, str]] = set()
        self.noted_ports: set[tuple[str, str]] = set()

    # --- per Ingress ----------------------------------------------------------------------------

    def translate_all(self, ingresses: Sequence[Ingress]) -> IR:
        parts: list[IR] = []
        gateway_intents: list[GatewayIntent] = []
        for ing in sorted(ingresses, key=lambda x: (x.namespace, x.name)):
            self.map = url_map(ing, self.resources)
            self.ann = read_ingress(ing, self.notes, ingress_scope(ing))
            self._url_map_notes(ing, self.map)
            self.frontend = self._frontend(ing)
            gateway_intents += self._gateway_intents(ing)
            ir = self.translate([ing])
            routes = [self._with_backend_configs(r) for r in self._finish(ing, ir.routes)]
            if self._https_only(ing):
                moved, listeners = self._https_listeners(ing, routes, ir.certificates)
                parts.append(IR(routes=tuple(moved), listeners=tuple(listeners)))
            else:
                parts.append(IR(routes=tuple(routes), certificates=ir.certificates))
            self._per_port_notes(ing)
            self._certificate_notes(ing)
        return IR(routes=tuple(r for p in parts for r in p.routes),
                  certificates=tuple(c for p in parts for c in p.certificates),
                  listeners=tuple(x for p in parts for x in p.listeners),
                  gateway_intents=tuple(gateway_intents))

    def _url_map_notes(self, ing: Ingress, m: UrlMap) -> None:
        where = {p.field: (r.host, p.path or "/") for r in ing.rules for p in r.paths}
        for fld, problem in m.errors:
            self.note(ing, "TRANSLATION-ERROR", Level.ERROR, f"ingress-gce refuses {fld}: {problem}",
                      instead="not converted; GKE sends these requests to the default backend", fld=fld,
                      aspects=_ROUTING, scope=(where[fld],) if fld in where else None)
        for fld, why in m.dropped:
            self.note(ing, "RULE-REPLACED", Level.WARNING, why, fidelity=Fidelity.EXACT,
                      instead="not converted (GKE ignores it too)", fld=fld)
        stars = next((h for h in m.hosts if h.host == "*"), None)
        if stars is not None and ing.default_backend is None:
            for h in m.hosts:
                if h.host != "*" and stars.paths:
                    self.note(ing, "HOST-RULE-NO-FALLBACK", Level.WARNING,
                              f"GKE answers paths of host {h.host} that its own rule does not match with the default "
                              "backend (404), never with the host-less rule's paths; the Gateway lets the host-less "
                              "route serve them", fidelity=Fidelity.APPROXIMATE,
                              instead="the host-less route's paths also answer for this host", fld=h.field,
                              aspects=("status", "backend"), scope=tuple((h.host, p.path.rstrip("*") or "/")
                                                                           for p in stars.paths))

    def _frontend(self, ing: Ingress) -> FrontendSettings | None:
        assert self.ann is not None
        name = self.ann.get(FRONTEND_CONFIG)
        if not name:
            return None
        fc = frontend_settings(self.objects, ing.namespace, str(name))
        for problem in fc.problems:
            self.note(ing, "FRONTEND-CONFIG", Level.WARNING, problem, fidelity=Fidelity.UNSUPPORTED,
                      instead="ignored", fld=FRONTEND_CONFIG, aspects=("redirect", "status", "tls"))
        return fc

    def _gateway_intents(self, ing: Ingress) -> list[GatewayIntent]:
        assert self.ann is not None
        gw = self.ctx.gateway_for(ing)
        out: list[GatewayIntent] = []
        glob = self.ann.get("kubernetes.io/ingress.global-static-ip-name")
        regional = self.ann.get("kubernetes.io/ingress.regional-static-ip-name")
        if glob and regional:
            self.note(ing, "STATIC-IP-CONFLICT", Level.ERROR, "both a global and a regional static IP are named; "
                      "ingress-gce refuses the Ingress", instead="neither is converted",
                      fld="kubernetes.io/ingress.regional-static-ip-name")
        elif glob or regional:
            key = "kubernetes.io/ingress.global-static-ip-name" if glob else \
                "kubernetes.io/ingress.regional-static-ip-name"
            prov = Provenance("Ingress", ing.namespace, ing.name, key, ing.origin)
            out.append(GatewayIntent(gw, i.GatewayAddress(value=str(glob or regional),
                                                          scope="global" if glob else "regional", provenance=prov)))
        if self.frontend is not None and self.frontend.ssl_policy:
            prov = Provenance("Ingress", ing.namespace, ing.name, FRONTEND_CONFIG, ing.origin)
            out.append(GatewayIntent(gw, i.TlsPolicy(name=self.frontend.ssl_policy, vendor="gcp", provenance=prov)))
        return out

    def _certificate_notes(self, ing: Ingress) -> None:
        assert self.ann is not None
        shared = self.ann.get("ingress.gcp.kubernetes.io/pre-shared-cert")
        managed = self.ann.get("networking.gke.io/managed-certificates")
        secrets = any(t.secret_name for t in ing.tls)
        lost = "" if secrets else "; without a TLS Secret the Gateway gets no HTTPS listener"
        if shared:
            self.note(ing, "PRE-SHARED-CERT", Level.WARNING,
                      f"Google Cloud SSL certificates {', '.join(shared)} are not Secrets{lost}",
                      fidelity=Fidelity.APPROXIMATE,
                      instead="GKE Gateway: set the HTTPS listener's tls.options networking.gke.io/pre-shared-certs: "
                              f"{','.join(shared)}", fld="ingress.gcp.kubernetes.io/pre-shared-cert",
                      aspects=() if secrets else ("tls", "status"))
        if managed:
            self.note(ing, "MANAGED-CERTIFICATES", Level.WARNING,
                      f"ManagedCertificates {', '.join(managed)} are not Secrets{lost}", fidelity=Fidelity.APPROXIMATE,
                      instead="GKE Gateway: create a Certificate Manager certificate map with Google-managed "
                              "certificates and name it in the Gateway annotation networking.gke.io/certmap",
                      fld="networking.gke.io/managed-certificates", aspects=() if secrets else ("tls", "status"))

    # --- hooks ---------------------------------------------------------------------------------

    def _live(self, pc: PathContext) -> list[str]:
        """The GCLB paths of ``pc`` that are in the URL map."""
        assert self.map is not None
        host = next((h for h in self.map.hosts if h.host == (pc.host or "*")), None)
        if host is None:
            return []
        return [p.path for p in host.paths if p.field == pc.path.field]

    def path_matches(self, pc: PathContext) -> list[RouteMatch]:
        live = self._live(pc)
        out: list[RouteMatch] = []
        for g in live:
            if g == "/*":
                out.append(RouteMatch(path=PathMatch("PathPrefix", "/")))
            elif g.endswith("/*"):
                base = g[:-2]
                out.append(RouteMatch(path=PathMatch("PathPrefix", base if base in live else g[:-1])))
            elif g + "/*" not in live:
                out.append(RouteMatch(path=PathMatch("Exact", g)))
        if pc.path.path_type == "ImplementationSpecific" and out:
            self.note(pc, "PATH-GCLB", Level.INFO,
                      f"ImplementationSpecific path {pc.path.path or '(empty)'} is the GCLB path "
                      f"{' and '.join(live)}", fidelity=Fidelity.EXACT,
                      instead=", ".join(f"{m.path.type} {m.path.value}" for m in out if m.path),
                      fld=pc.path.field + ".path")
        return out

    def path_rules(self, pc: PathContext, matches: list[RouteMatch], backends: tuple[BackendRef, ...]) -> list[Rule]:
        rules = super().path_rules(pc, matches, backends)
        assert self.map is not None
        host = next((h for h in self.map.hosts if h.host == (pc.host or "*")), None)
        for m in matches:
            if m.path is None or m.path.type != "PathPrefix" or not m.path.value.endswith("/") or m.path.value == "/":
                continue
            base = m.path.value[:-1]
            # GCLB's /p/* does not match /p: send /p where GKE sends it
            chosen = select(host.paths, base) if host is not None else None
            target = chosen.backend if chosen is not None else self.map.ingress.default_backend
            fld = chosen.field if chosen is not None else "spec.defaultBackend"
            if chosen is not None and chosen.path == base:
                continue  # an exact rule of its own exists
            if target is None:
                self.note(pc, "PATH-WILDCARD-EXCLUDES-BASE", Level.WARNING,
                          f"GCLB path {base}/* does not match {base} (GKE answers it with the default backend, 404); "
                          f"the Gateway's PathPrefix {base}/ matches {base} too", fidelity=Fidelity.APPROXIMATE,
                          instead=f"{base} is served by this rule", fld=pc.path.field + ".path",
                          aspects=("status", "backend"),
                          scope=((pc.host, pc.path.path or "/"), (pc.host, "~^" + re.escape(base) + "$")))
                continue
            ref = self.resolve_backend(pc.ingress, target, fld)
            prov = Provenance("Ingress", pc.ingress.namespace, pc.ingress.name, fld, pc.ingress.origin)
            rules.append(Rule(matches=(RouteMatch(path=PathMatch("Exact", base)),),
                              backends=(ref,) if ref else (), provenance=(prov,)))
        return rules

    def route_sections(self, ingress: Ingress, host: str, has_tls: bool) -> frozenset[Section]:
        if self._https_only(ingress):  # every route goes to the HTTPS listeners (_https_listeners)
            return frozenset({"https"})
        return frozenset({"http", "https"}) if has_tls else frozenset({"http"})

    def _https_only(self, ing: Ingress) -> bool:
        assert self.ann is not None
        return self.ann.get("kubernetes.io/ingress.allow-http") is False

    def _https_listeners(self, ing: Ingress, routes: Sequence[Route], certificates: Sequence[Certificate]
                         ) -> tuple[list[Route], list[Listener]]:
        """``allow-http: "false"``: no HTTP forwarding rule. The HTTPS proxy serves every host
        with its certificates (the first one when SNI names no other), so each certificate gets
        an HTTPS listener and a catch-all HTTPS listener takes the first certificate."""
        gw = self.ctx.gateway_for(ing)
        if not certificates:
            self.note(ing, "NO-LISTENER", Level.WARNING, "allow-http is false and the Ingress has no TLS Secret: "
                      "GKE serves nothing the Gateway can express", fidelity=Fidelity.UNSUPPORTED,
                      instead="no route emitted", fld="kubernetes.io/ingress.allow-http",
                      aspects=("status", "tls"))
            return [], []
        by_host = {c.hostname: Listener(gw, f"https-{host_slug(c.hostname) or 'default'}", 443, "HTTPS",
                                        hostname=c.hostname, tls_mode="Terminate",
                                        certificates=(CertificateRef(c.secret_namespace, c.secret_name),),
                                        source=c.source) for c in certificates}
        first = certificates[0]
        catch_all = Listener(gw, "https-any-host", 443, "HTTPS", tls_mode="Terminate",
                             certificates=(CertificateRef(first.secret_namespace, first.secret_name),),
                             source=first.source)
        listeners = [*by_host.values(), catch_all]
        out: list[Route] = []
        for r in routes:
            own = [by_host[h] for h in r.hostnames if h in by_host]
            targets = own or ([catch_all] if r.hostnames else listeners)
            out.append(replace(r, sections=frozenset(), parents=tuple(ListenerParent(gw, x.name) for x in targets)))
        return out, listeners

    def host_routes(self, hr: HostRoutes, has_tls: bool) -> list[Route]:
        sections = self.route_sections(hr.ingress, hr.host, has_tls)
        code = self.frontend.redirect_code if self.frontend is not None else None
        if code is None or "http" not in sections:
            return [self.make_route(hr, sections)] if sections else []
        # the host-less redirect route (extra_routes) answers every plain-HTTP request
        return [self.make_route(hr, frozenset({"https"}))] if "https" in sections else []

    def _redirect_route(self, ing: Ingress, gw: GatewayRef, code: int) -> Route:
        prov = Provenance("Ingress", ing.namespace, ing.name, FRONTEND_CONFIG, ing.origin)
        hr = HostRoutes(ing, "", gw, [Rule(matches=(RouteMatch(path=PathMatch("PathPrefix", "/")),),
                                             filters=(Filter("RequestRedirect",
                                                             RequestRedirect(scheme="https", status_code=code), prov),),
                                             provenance=(prov,))])
        return replace(self.make_route(hr, frozenset({"http"})), name=f"{ing.name}-redirect")

    def _host_default_backends(self, ing: Ingress, gw: GatewayRef, hosts: dict[tuple[str, str], HostRoutes],
                               claimed: dict[tuple[GatewayRef, str, str, str], Ingress]) -> None:
        assert self.map is not None
        for h in self.map.hosts:  # a host whose URL map has /* already answers every path
            if any(p.path == "/*" for p in h.paths):
                claimed[(gw, "" if h.host == "*" else h.host, "Prefix", "/")] = ing
        super()._host_default_backends(ing, gw, hosts, claimed)

    def extra_routes(self, hosts: Sequence[HostRoutes], tls_hosts: set[tuple[GatewayRef, str]]) -> list[Route]:
        assert self.map is not None and self.ann is not None
        ing = self.map.ingress
        gw = self.ctx.gateway_for(ing)
        code = self.frontend.redirect_code if self.frontend is not None else None
        if code is not None:
            return [] if self._https_only(ing) else [self._redirect_route(ing, gw, code)]
        if ing.default_backend is None or not ing.rules or any(h.host == "*" for h in self.map.hosts):
            return []
        backend = self.resolve_backend(ing, ing.default_backend, "spec.defaultBackend")
        prov = Provenance("Ingress", ing.namespace, ing.name, "spec.defaultBackend", ing.origin)
        self.note(ing, "DEFAULT-BACKEND-OTHER-HOSTS", Level.INFO,
                  "the default backend also answers every host the Ingress's rules do not name (the URL map's "
                  "default service)", fidelity=Fidelity.EXACT, instead="a route without hostnames",
                  fld="spec.defaultBackend")
        return [Route(kind="HTTPRoute", namespace=ing.namespace, name=f"{ing.name}-default-backend", gateway=gw,
                      hostnames=(), sections=frozenset({"http"}),
                      rules=(Rule(matches=(RouteMatch(path=PathMatch("PathPrefix", "/")),),
                                  backends=(backend,) if backend else (), provenance=(prov,)),), sources=(prov,))]

    def _finish(self, ing: Ingress, routes: Sequence[Route]) -> list[Route]:
        """The shared translator's catch-all route (an Ingress with only a default backend)
        follows allow-http and the redirect like every other route."""
        out: list[Route] = []
        code = self.frontend.redirect_code if self.frontend is not None else None
        for r in routes:
            catch_all = not r.hostnames and r.name.endswith("-default-backend")
            # with a redirect, extra_routes' redirect route answers plain HTTP instead
            if not catch_all or code is None or self._https_only(ing):
                out.append(r)
        return out

    # --- BackendConfig ---------------------------------------------------------------------------

    def _settings(self, ing: Ingress, ref: BackendRef) -> BackendSettings | None:
        key = (ref.namespace, ref.name, ref.port)
        if key in self.backend_cache:
            return self.backend_cache[key]
        svc = self.resources.services.get((ref.namespace, ref.name))
        if svc is not None and (svc.namespace, svc.name) not in self.read_services:
            self.read_services.add((svc.namespace, svc.name))
            read_service(svc, self.notes, ingress_scope(ing))
            self._app_protocol_notes(ing, svc)
        obj, why = backend_config(self.resources, self.objects, ref.namespace,
                                  IngressBackend(service=ref.name, port_number=ref.port))
        if why:
            self.note(ing, "BACKEND-CONFIG-MISSING", Level.WARNING, why, fidelity=Fidelity.UNSUPPORTED,
                      instead="no BackendConfig applied", aspects=("status", "headers", "auth"))
        settings = None
        if obj is not None:
            regional = ingress_class(ing) in ("gce-internal", "gce-regional-external")
            settings = backend_settings(obj, regional)
            if settings.config not in self.noted_configs:
                self.noted_configs.add(settings.config)
                for problem, aspects in zip(settings.problems, settings.aspects, strict=True):
                    self.notes.add(Note(code="GKE-BACKEND-CONFIG", level=Level.WARNING, message=problem,
                                        subject=obj.subject, origin=obj.origin, fidelity=Fidelity.UNSUPPORTED,
                                        instead="not converted", aspects=frozenset(aspects),
                                        scope=ingress_scope(ing)))
        self.backend_cache[key] = settings
        return settings

    def _app_protocol_notes(self, ing: Ingress, svc: Service) -> None:
        try:
            protocols = app_protocols(svc.annotations)
        except ValueError:
            return  # noted by the annotation table
        for port, protocol in sorted(protocols.items()):
            if protocol == "HTTP":
                continue
            self.notes.add(Note(
                code="GKE-APP-PROTOCOL", level=Level.WARNING, subject=f"Service {svc.namespace}/{svc.name}",
                message=f"GKE reaches port {port} of the Pods over {protocol}", origin=svc.origin,
                fidelity=Fidelity.APPROXIMATE, field=APP_PROTOCOLS,
                instead="GKE Gateway: set the Service port's appProtocol to "
                        + ("HTTPS" if protocol == "HTTPS" else "kubernetes.io/h2c (or HTTP2)")
                        + "; other implementations need a BackendTLSPolicy for HTTPS",
                aspects=frozenset({"status"}), scope=ingress_scope(ing)))

    def _per_port_notes(self, ing: Ingress) -> None:
        """GKE Gateway policies target a whole Service: note Services whose ports differ."""
        by_service: dict[tuple[str, str], dict[int | None, str]] = {}
        for (ns, name, port), settings in sorted(self.backend_cache.items(), key=lambda kv: str(kv[0])):
            by_service.setdefault((ns, name), {})[port] = settings.config if settings is not None else "none"
        for (ns, name), ports in sorted(by_service.items()):
            if len(set(ports.values())) < 2 or (ns, name) in self.noted_ports:
                continue
            self.noted_ports.add((ns, name))
            which = ", ".join(f"port {p}: {c}" for p, c in sorted(ports.items(), key=lambda kv: str(kv[0])))
            self.notes.add(Note(
                code="GKE-BACKEND-CONFIG-PER-PORT", level=Level.WARNING, subject=f"Service {ns}/{name}",
                message=f"the ports of Service {ns}/{name} have different BackendConfigs ({which}); GKE Gateway "
                        "policies (GCPBackendPolicy, HealthCheckPolicy) attach to a whole Service",
                fidelity=Fidelity.APPROXIMATE, field=BACKEND_CONFIG,
                instead="the settings of every port apply to all of them (conflicting values are refused); give "
                        "each port its own Service to keep them apart",
                scope=ingress_scope(ing)))

    def _with_backend_configs(self, route: Route) -> Route:
        ing = self.map.ingress if self.map is not None else None
        if ing is None:
            return route
        rules: list[Rule] = []
        for rule in route.rules:
            settings = [s for b in rule.backends for s in (self._settings(ing, b),) if s is not None]
            if not settings:
                rules.append(rule)
                continue
            filters = list(rule.filters)
            intents = list(rule.intents)
            for s in settings:
                ns, _, name = s.config.partition("/")
                prov = Provenance("BackendConfig", ns, name, "spec")
                if s.request_headers:
                    filters.append(Filter("RequestHeaderModifier", HeaderModifier(add=s.request_headers), prov))
                if s.response_headers:
                    filters.append(Filter("ResponseHeaderModifier", HeaderModifier(add=s.response_headers), prov))
                intents += [x for x in s.intents if x not in intents]
            rules.append(replace(rule, filters=tuple(filters), intents=tuple(intents)))
        return replace(route, rules=tuple(rules))


"""Traefik Ingresses -> IR, on the shared Ingress translator (:mod:`.._common.ingress`).

What differs from the Ingress specification, each with its note:

* ``Prefix`` (and ``router.pathmatcher: PathPrefix``) is a character prefix in Traefik:
  ``PathPrefix("/my")`` matches ``/mypath``; the Gateway's PathPrefix does not.
* ImplementationSpecific paths follow ``router.pathmatcher`` (Path -> Exact, PathRegexp ->
  RegularExpression, an unknown value skips the path as Traefik does).
* Routers are ordered by priority, the rule's length unless ``router.priority``; a longer
  host-less rule beats a host rule where the Gateway prefers the host (noted per pair).
* Entry points become listeners (``web`` -> HTTP, ``websecure`` -> HTTPS; without the
  annotation every default entry point), and a ``router.tls`` router serves only TLS.
* ``router.middlewares`` and ``service.*`` annotations of the backend Service become filters and
  intents (:mod:`.middlewares`); a ``redirectScheme`` middleware splits the host's route into a
  redirect on the HTTP listener and the backend on HTTPS.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from ing2gw import intents as i
from ing2gw.ir import BackendTLS, Filter, PathMatch, Provenance, RequestRedirect, Route, RouteMatch, Rule, Section
from ing2gw.notes import Fidelity, Level, Note
from ing2gw.provider import Annotations, ProviderContext, ingress_scope
from ing2gw.resources import Ingress

from .._common.ingress import HostRoutes, IngressTranslator, PathContext
from .annotations import PREFIX, read_router, read_service
from .crds import Crds
from .dynamic import Router, build
from .middlewares import Site, convert
from .rules import to_gateway

__all__ = ["TraefikTranslator", "entry_point_sections", "prefix_note"]

_HTTP = ("web", "http")
_HTTPS = ("websecure", "https")


def entry_point_sections(entry_points: Sequence[str]) -> tuple[set[Section], list[str]]:
    """The listeners entry points stand for, and the names this mapping does not know."""
    sections: set[Section] = set()
    unknown = []
    for ep in entry_points:
        if ep in _HTTP:
            sections.add("http")
        elif ep in _HTTPS:
            sections.add("https")
        else:
            unknown.append(ep)
    return sections, unknown


def prefix_note(value: str) -> str | None:
    """Why a Traefik character prefix differs from the Gateway's PathPrefix (None: it does not)."""
    if value == "/":
        return None
    if value.endswith("/"):
        return (f"Traefik's PathPrefix({value}) does not match {value.rstrip('/')}; the Gateway's PathPrefix ignores "
                "the trailing slash and does")
    return (f"Traefik's PathPrefix({value}) is a character prefix: it also matches {value}-suffixed paths such as "
            f"{value}x; the Gateway's PathPrefix matches {value} and {value}/... only")


class TraefikTranslator(IngressTranslator):
    """Converts the Ingresses Traefik serves."""

    code = "TRAEFIK"

    def __init__(self, ctx: ProviderContext, crds: Crds) -> None:
        super().__init__(ctx)
        self.crds = crds
        self.ann: dict[str, Annotations] = {}
        self.redirects: dict[int, RequestRedirect] = {}  # id(rule) -> its plain-HTTP redirect
        self.backend_tls: list[BackendTLS] = []  # from ServersTransports

    def read(self, ingresses: Sequence[Ingress]) -> None:
        """Parse every Ingress's annotations and note what concerns the whole router."""
        for ing in ingresses:
            ann = self.ann[ing.ref] = read_router(ing, self.notes, ingress_scope(ing))
            if "router.priority" in ann:
                self.note(ing, "PRIORITY", Level.WARNING,
                          f"router.priority {ann.get('router.priority')} orders this Ingress's routers before or "
                          "after others; Gateway API precedence is fixed (host, then path specificity)",
                          fidelity=Fidelity.UNSUPPORTED, instead="not converted", fld=f"{PREFIX}/router.priority",
                          aspects=("status", "backend"))
            if ann.get("router.tls.options"):
                self.note(ing, "TLS-OPTIONS", Level.WARNING,
                          f"TLSOption {ann.get('router.tls.options')}: TLS versions and ciphers have no portable "
                          "Gateway API form" + (" (its client certificates become the client-cert-auth intent)"
                                                if self._client_auth(ing) else ""), fidelity=Fidelity.UNSUPPORTED,
                          instead="not converted; set the listener's TLS options on the Gateway implementation",
                          fld=f"{PREFIX}/router.tls.options", aspects=("tls",))
        self._priority_notes(ingresses)

    def _client_auth(self, ing: Ingress) -> i.ClientCertAuth | None:
        """The client-certificate check of the Ingress's TLSOption, if it asks for one."""
        ref = self.ann[ing.ref].get("router.tls.options")
        obj = self.crds.by_reference("TLSOption", str(ref), ing.namespace) if ref else None
        auth = obj.spec.get("clientAuth") if obj is not None else None
        if not isinstance(auth, Mapping) or not auth.get("secretNames"):
            return None
        kind = str(auth.get("clientAuthType") or "")
        mode = {"RequireAndVerifyClientCert": "on", "VerifyClientCertIfGiven": "optional"}.get(kind)
        if mode is None:
            return None
        assert obj is not None
        prov = Provenance("Ingress", ing.namespace, ing.name, f"{PREFIX}/router.tls.options", ing.origin)
        return i.ClientCertAuth(ca_secret=f"{obj.namespace}/{auth['secretNames'][0]}", mode=mode, provenance=prov)

    def _priority_notes(self, ingresses: Sequence[Ingress]) -> None:
        """Pairs of routers Traefik tries in another order than Gateway API precedence: a rule
        that is longer (or has a higher router.priority) and also matches requests of a rule the
        Gateway prefers (a hostname, an exact path, a longer prefix) takes them in Traefik."""
        rs = self.resources
        routers = [r for r in build(replace(rs, ingresses=list(ingresses))) if r.source_kind == "Ingress"]
        shapes = [(r, _shape(r)) for r in routers]
        by_ref = {ing.ref: ing for ing in ingresses}
        done: set[tuple[str, str]] = set()
        for a, sa in shapes:
            for b, sb in shapes:
                if a is b or sa is None or sb is None or a.effective_priority <= b.effective_priority:
                    continue
                if not _covers(sa, sb) or _gateway_rank(sa) >= _gateway_rank(sb) or (a.name, b.name) in done:
                    continue
                done.add((a.name, b.name))
                host = sb[0] or "*"
                self.note(by_ref[a.source], "PRIORITY-ORDER", Level.WARNING,
                          f"Traefik tries rule {a.rule} (priority {a.effective_priority}) before {b.rule} of Ingress "
                          f"{b.source} (priority {b.effective_priority}): requests for {host} that both match go "
                          "here; the Gateway prefers the other rule (hostname, then exact path, then longer prefix)",
                          fidelity=Fidelity.APPROXIMATE, instead="Gateway API precedence",
                          aspects=("status", "backend", "path", "redirect", "headers"),
                          scope=((sa[0], a.path),))

    # --- hooks ----------------------------------------------------------------------------

    def path_matches(self, pc: PathContext) -> list[RouteMatch]:
        ann = self.ann[pc.ingress.ref]
        value = pc.path.path or "/"
        ptype = pc.path.path_type
        matcher = "Path" if ptype == "Exact" else "PathPrefix" if ptype == "Prefix" else None
        if matcher is None:
            raw = next((v for k, v in pc.ingress.annotations.items() if k.lower() == f"{PREFIX}/router.pathmatcher"),
                       None)
            if raw is not None and raw not in ("Path", "PathPrefix", "PathRegexp"):
                self.note(pc, "PATHMATCHER-INVALID", Level.WARNING,
                          f"router.pathmatcher {raw!r} is not Path, PathPrefix or PathRegexp: Traefik skips the "
                          "ImplementationSpecific path", instead="path not converted", fld=pc.path.field,
                          aspects=("status", "backend"))
                return []
            matcher = str(ann.get("router.pathmatcher"))
        if not pc.path.path:
            return [RouteMatch(path=PathMatch("PathPrefix", "/"))]
        if matcher == "Path":
            return [RouteMatch(path=PathMatch("Exact", value))]
        if matcher == "PathRegexp":
            self.note(pc, "PATH-REGEXP", Level.INFO,
                      f"PathRegexp({value}) searches the path with Go's regular expressions (unanchored); the "
                      "Gateway's RegularExpression match is implementation-specific (often anchored RE2)",
                      fidelity=Fidelity.APPROXIMATE, instead="RegularExpression path match", fld=pc.path.field,
                      aspects=("status", "backend"))
            return [RouteMatch(path=PathMatch("RegularExpression", value))]
        why = prefix_note(value)
        if why:
            self.note(pc, "PREFIX-CHARACTERS", Level.INFO, why, fidelity=Fidelity.APPROXIMATE,
                      instead="Gateway PathPrefix (narrower)", fld=pc.path.field, aspects=("status", "backend"))
        return [RouteMatch(path=PathMatch("PathPrefix", value))]

    def path_rules(self, pc: PathContext, matches: list[RouteMatch], backends: tuple) -> list[Rule]:  # type: ignore[type-arg]
        ing = pc.ingress
        ann = self.ann[ing.ref]
        filters: list[Filter] = []
        intents: list[i.Intent] = []
        redirect = None
        refs = tuple(ann.get("router.middlewares") or ())
        if refs:
            prov = Provenance("Ingress", ing.namespace, ing.name, f"{PREFIX}/router.middlewares", ing.origin)
            site = Site(ing.subject, ing.origin, f"{PREFIX}/router.middlewares", ((pc.host, pc.path.path or "/"),),
                        prov)
            done = convert(refs, ing.namespace, self.crds, matches[0].path if matches else None, site, self.notes)
            filters += done.filters
            intents += done.intents
            redirect = done.scheme_redirect
        intents += self._service_intents(pc, filters, matches[0].path if matches else None)
        client_auth = self._client_auth(ing)
        if client_auth is not None:
            intents.append(client_auth)
        rule = Rule(matches=tuple(matches), backends=backends, filters=tuple(filters), intents=tuple(intents),
                    provenance=(pc.provenance,))
        if redirect is not None:
            self.redirects[id(rule)] = redirect
        return [rule]

    def _service_intents(self, pc: PathContext, filters: list[Filter], path: PathMatch | None) -> list[i.Intent]:
        """The ``service.*`` annotations of the path's Service; the filters of its
        ``service.middlewares`` (applied after the router's) are appended to ``filters``."""
        svc = self.resources.services.get((pc.ingress.namespace, pc.path.backend.service or ""))
        if svc is None or not any(k.startswith(PREFIX + "/") for k in svc.annotations):
            return []
        scope = ((pc.host, pc.path.path or "/"),)
        ann = read_service(svc, self.notes, scope)
        prov = Provenance("Service", svc.namespace, svc.name, "", svc.origin)
        out: list[i.Intent] = []
        if ann.get("service.sticky.cookie"):
            out.append(i.SessionAffinity(cookie=ann.get("service.sticky.cookie.name") or "", path=ann.get(
                "service.sticky.cookie.path"), domain=ann.get("service.sticky.cookie.domain"),
                max_age_s=ann.get("service.sticky.cookie.maxage") or None,
                secure=bool(ann.get("service.sticky.cookie.secure")),
                same_site=ann.get("service.sticky.cookie.samesite") or None, provenance=prov))
        refs = tuple(ann.get("service.middlewares") or ())
        if refs:
            fld = f"{PREFIX}/service.middlewares"
            site = Site(f"Service {svc.namespace}/{svc.name}", svc.origin, fld, scope, replace(prov, field=fld))
            done = convert(refs, svc.namespace, self.crds, path, site, self.notes)
            filters += done.filters
            out += done.intents
            if done.scheme_redirect is not None:
                self.notes.add(Note("TRAEFIK-SERVICE-REDIRECT", Level.WARNING, "a redirectScheme middleware named "
                                    "by the Service is not converted: only the router's middlewares split a host "
                                    "into redirect and HTTPS routes", subject=site.subject, field=fld,
                                    fidelity=Fidelity.UNSUPPORTED, instead="name it in router.middlewares",
                                    origin=svc.origin, aspects=frozenset({"status", "redirect"}), scope=scope))
        if ann.get("service.nativelb"):
            out.append(i.LoadBalancing(service_address=True, provenance=prov))
        subject = f"Service {svc.namespace}/{svc.name}"
        if ann.get("service.passhostheader") is False:
            self.notes.add(Note("TRAEFIK-PASS-HOST-HEADER", Level.WARNING, "passhostheader false: Traefik sends the "
                                "backend's address as Host; the Gateway forwards the client's Host", subject=subject,
                                field=f"{PREFIX}/service.passhostheader", fidelity=Fidelity.UNSUPPORTED,
                                instead="client Host forwarded", origin=svc.origin, aspects=frozenset({"host"}),
                                scope=scope))
        transport = ann.get("service.serverstransport")
        verified = len(self.backend_tls)
        if transport:
            out += self._servers_transport(str(transport), pc, svc.namespace, svc.name, svc.origin, scope, prov)
        verified = len(self.backend_tls) - verified
        scheme = ann.get("service.serversscheme")
        if scheme in ("https", "h2c") and not (scheme == "https" and verified):
            self.notes.add(Note("TRAEFIK-SERVERS-SCHEME", Level.WARNING, f"serversscheme {scheme}: Traefik speaks "
                                f"{scheme} to the backend" + (" without verifying its certificate unless a "
                                "ServersTransport says so" if scheme == "https" else ""), subject=subject,
                                field=f"{PREFIX}/service.serversscheme", fidelity=Fidelity.APPROXIMATE,
                                instead="set a BackendTLSPolicy (https) or the port's appProtocol kubernetes.io/h2c",
                                origin=svc.origin, aspects=frozenset({"status"}), scope=scope))
        return out

    def _servers_transport(self, ref: str, pc: PathContext, namespace: str, name: str, origin: str,
                           scope: tuple[tuple[str, str], ...], prov: Provenance) -> list[i.Intent]:
        """A ServersTransport: its server name and ConfigMap CAs become a BackendTLSPolicy; client
        certificates the backend-tls intent; what neither holds is noted."""
        subject, fld = f"Service {namespace}/{name}", f"{PREFIX}/service.serverstransport"
        obj = self.crds.by_reference("ServersTransport", ref, namespace)
        if obj is None:
            self.notes.add(Note("TRAEFIK-SERVERS-TRANSPORT-MISSING", Level.WARNING,
                                f"ServersTransport {ref} is not in the input (another Traefik provider's, or missing)",
                                subject=subject, field=fld, fidelity=Fidelity.UNSUPPORTED, instead="not converted",
                                origin=origin, aspects=frozenset({"status"}), scope=scope))
            return []
        spec = obj.spec
        cas = [c for c in spec.get("rootCAs") or [] if isinstance(c, Mapping)]
        config_maps = tuple(str(c["configMap"]) for c in cas if c.get("configMap"))
        secrets = [str(c["secret"]) for c in cas if c.get("secret")]
        secrets += [str(name) for name in spec.get("rootCAsSecrets") or []]
        server_name = spec.get("serverName")
        if isinstance(server_name, str) and server_name and config_maps and not spec.get("insecureSkipVerify"):
            self.backend_tls.append(BackendTLS(namespace, name, pc.path.backend.port_number, server_name,
                                               ca_certificate_refs=config_maps, source=prov))
        else:
            why = ("insecureSkipVerify: Traefik does not verify the backend's certificate" if
                   spec.get("insecureSkipVerify") else "a BackendTLSPolicy needs serverName and CA ConfigMaps"
                   + (f" (CAs in Secrets {', '.join(secrets)})" if secrets else ""))
            self.notes.add(Note("TRAEFIK-SERVERS-TRANSPORT", Level.WARNING, f"{obj.subject}: {why}", subject=subject,
                                field=fld, fidelity=Fidelity.UNSUPPORTED, instead="no BackendTLSPolicy",
                                origin=origin, aspects=frozenset({"status"}), scope=scope))
        client = [str(s) for s in spec.get("certificatesSecrets") or []]
        return [i.BackendTLSOptions(client_cert=f"{namespace}/{client[0]}", provenance=prov)] if client else []

    def route_sections(self, ingress: Ingress, host: str, has_tls: bool) -> frozenset[Section]:
        ann = self.ann[ingress.ref]
        eps = tuple(ann.get("router.entrypoints") or ())
        sections, unknown = entry_point_sections(eps) if eps else ({"http", "https"}, [])
        if unknown:
            self.note(ingress, "ENTRYPOINT-UNKNOWN", Level.WARNING,
                      f"entry points {', '.join(unknown)} are not web or websecure: their ports come from Traefik's "
                      "static configuration, which the input does not hold", fidelity=Fidelity.APPROXIMATE,
                      instead="attached to the HTTP listener", fld=f"{PREFIX}/router.entrypoints",
                      aspects=("status", "backend", "tls"))
            sections.add("http")
        if ann.get("router.tls"):
            sections = {"https"}
        if "https" in sections and not has_tls:
            sections.discard("https")
            if ann.get("router.tls") or eps:
                self.note(ingress, "TLS-NO-CERTIFICATE", Level.WARNING,
                          f"host {host or '*'} is served over TLS, with a certificate spec.tls does not name "
                          "(Traefik's default certificate or a resolver's)", fidelity=Fidelity.UNSUPPORTED,
                          instead="no HTTPS listener for this host: name its Secret in spec.tls",
                          aspects=("status", "tls", "backend"), scope=((host, ""),))
        return frozenset(sections)

    def host_routes(self, hr: HostRoutes, has_tls: bool) -> list[Route]:
        sections = self.route_sections(hr.ingress, hr.host, has_tls)
        redirecting = [r for r in hr.rules if id(r) in self.redirects]
        if not redirecting or "http" not in sections:
            return [self.make_route(hr, sections)] if sections else []
        plain = HostRoutes(hr.ingress, hr.host, hr.gateway, [
            Rule(matches=r.matches, filters=(Filter("RequestRedirect", self.redirects[id(r)], r.provenance[0]),),
                 provenance=r.provenance) if id(r) in self.redirects else r for r in hr.rules])
        routes = [self.make_route(plain, frozenset({"http"}))]
        if "https" in sections:
            secure = HostRoutes(hr.ingress, hr.host, hr.gateway, list(hr.rules))
            route = self.make_route(secure, frozenset({"https"}))
            routes.append(Route(route.kind, route.namespace, route.name + "-https", route.gateway, route.hostnames,
                                route.sections, route.rules, route.sources))
        return routes


Shape = tuple[str, str, str]  # (host or "", path type "Exact"/"PathPrefix"/"RegularExpression", value)


def _shape(r: Router) -> Shape | None:
    """The host and path match of a one-alternative Ingress router (None: anything else)."""
    alternatives = to_gateway(r.node)
    if len(alternatives) != 1 or alternatives[0].match is None:
        return None
    c = alternatives[0]
    path = c.match.path if c.match is not None else None
    return (c.hosts[0] if c.hosts else "", path.type if path else "PathPrefix", path.value if path else "/")


def _covers(a: Shape, b: Shape) -> bool:
    """Does rule ``a`` also match some requests rule ``b`` matches?"""
    host_ok = (not a[0] or a[0] == b[0] or (a[0].startswith("*.") and b[0].endswith(a[0][1:]))
               or (not b[0] and True))
    if not host_ok or "RegularExpression" in (a[1], b[1]):
        return False
    if a[1] == "Exact":
        return b[2] == a[2] or (b[1] == "PathPrefix" and a[2].startswith(b[2]))
    return b[2].startswith(a[2]) or (b[1] == "PathPrefix" and a[2].startswith(b[2]))


def _gateway_rank(s: Shape) -> tuple[int, int, int, int]:
    """Gateway API precedence, larger first: exact hostname, hostname length, exact path, path length."""
    host, kind, value = s
    return (2 if host and not host.startswith("*") else 1 if host else 0, len(host), int(kind == "Exact"),
            len(value))

"""ingress-nginx: the translator, gluing the feature modules to the shared Ingress translator.

Routing follows ``shared/docs/ingress-nginx-semantics.md``: ``ImplementationSpecific`` (and a
missing pathType) is Prefix, an empty path is ``/``; when two Ingresses claim the same host
+ path + type the oldest wins, and on equal timestamps the one whose namespace/name sorts
*higher* (the controller's comparator). Annotations are read through the single table in
:mod:`.annotations`; any annotation whose feature is not converted gets a note.

The translator only glues the feature modules to the hooks of
:class:`~ing2gw.providers._common.ingress.IngressTranslator`: :mod:`.hostroutes` (a host's
routes, HTTPS redirects, HSTS), :mod:`.redirects` (HTTPS, permanent/temporal, app-root, www),
:mod:`.rewrite` (rewrite-target, regex host mode), :mod:`.canary` (canary Ingresses merged into
their primary's rules) and :mod:`.policies` (upstream-vhost, server-alias, CORS, backend
protocol); :mod:`.intents` builds the policy intents from the annotations and :mod:`.configmap`
the controller ConfigMap's global ones. :mod:`.canary`, :mod:`.policies`, :mod:`.affinity`,
:mod:`.extras` and :mod:`.hostroutes` see the translator only through the narrow Protocols of :mod:`.context`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import replace
from typing import Literal

from ing2gw.intents import Intent, Opaque
from ing2gw.ir import (
    CORS,
    IR,
    BackendRef,
    BackendTLS,
    Filter,
    FilterType,
    GatewayIntent,
    GatewayRef,
    HeaderModifier,
    PathMatch,
    PathModifier,
    Provenance,
    RequestRedirect,
    Route,
    RouteMatch,
    Rule,
    SessionPersistence,
    Timeouts,
    URLRewrite,
)
from ing2gw.names import host_slug
from ing2gw.notes import Fidelity, Level, Scope
from ing2gw.provider import Annotations, AnnotationTable, ProviderContext
from ing2gw.resources import Ingress

from .._common.ingress import HostRoutes, IngressTranslator, PathContext
from . import affinity, canary, extras, hostroutes, policies, redirects
from .configmap import config_source, controller_config_of, read_settings
from .intents import VENDOR, rule_intents
from .model import nginx_order
from .model.settings import ControllerConfig
from .parsers import RedirectURL
from .rewrite import Rewrite, classify_rewrite, location_regex, regex_error

__all__ = ["NginxTranslator"]

_NO_REWRITE = classify_rewrite("", None)

# (redirect, upstream Host, session persistence, timeouts) of an Ingress's path rules
_IngressParts = tuple[RequestRedirect | None, str | None, SessionPersistence | None, Timeouts | None]
# What every path rule of an Ingress shares: (filter type, value) pairs and intents
_SharedRuleParts = tuple[tuple[tuple[FilterType, HeaderModifier | CORS], ...], tuple[Intent, ...]]


class NginxTranslator(IngressTranslator):
    code = "NGINX"

    def __init__(self, ctx: ProviderContext, table: AnnotationTable) -> None:
        super().__init__(ctx)
        self.table = table
        self._annotations: dict[Ingress, Annotations] = {}
        self._kinds: dict[Ingress, Literal["HTTPRoute", "GRPCRoute"]] = {}  # route_kind, per Ingress
        self._parts: dict[Ingress, _IngressParts] = {}  # _ingress_parts, per Ingress
        self._shared: dict[Ingress, _SharedRuleParts] = {}  # _shared_rule_parts, per Ingress
        self.config = ctx.options.controller_config or controller_config_of(ctx.resources, ctx.notes)
        self.globals = read_settings(self.config, config_source(ctx), ctx.notes)
        self.prefix = (ctx.options.annotation_prefix or table.prefix).rstrip("/")
        # (Ingress ref, path field) -> the path as nginx sees it, and its rewrite
        self._paths: dict[tuple[str, str], str] = {}
        self._rewrites: dict[tuple[str, str], Rewrite] = {}
        # hosts in regex mode -> how many locations they have
        self._regex_hosts: dict[tuple[GatewayRef, str], int] = {}
        self._real_hosts: set[tuple[GatewayRef, str]] = set()
        self._exact_paths: set[tuple[GatewayRef, str, str]] = set()  # (gateway, host, Exact path)
        self._passthrough_hosts: set[tuple[GatewayRef, str]] = set()
        # hosts without a / path -> the Ingress whose annotations their implicit / carries
        self._rootless: dict[tuple[GatewayRef, str], Ingress] = {}
        self._settings = settings = ControllerConfig.from_mapping(self.config)
        self._hsts: str | None = settings.hsts_value if settings.hsts else None
        self._canaries = canary.CanaryIndex()
        self._policies = policies.HostPolicies()
        self._backend_tls: dict[tuple[str, str, int | None], BackendTLS] = {}

    @property
    def real_hosts(self) -> AbstractSet[tuple[GatewayRef, str]]:
        """The hosts the Ingresses' rules name (not only aliases or www twins)."""
        return self._real_hosts

    @property
    def settings(self) -> ControllerConfig:
        """The controller ConfigMap's settings, read once."""
        return self._settings

    # what hostroutes.py reads (HostRoutesContext)
    @property
    def hsts(self) -> str | None:
        return self._hsts

    @property
    def passthrough_hosts(self) -> AbstractSet[tuple[GatewayRef, str]]:
        return self._passthrough_hosts

    @property
    def regex_hosts(self) -> Mapping[tuple[GatewayRef, str], int]:
        return self._regex_hosts

    @property
    def rootless(self) -> Mapping[tuple[GatewayRef, str], Ingress]:
        return self._rootless

    @property
    def nginx_paths(self) -> Mapping[tuple[str, str], str]:
        """(Ingress ref, path field) -> the path as nginx sees it."""
        return self._paths

    def hostnames(self, hr: HostRoutes) -> tuple[str, ...]:
        return self._policies.hostnames(self, hr)

    # --- annotations ----------------------------------------------------------------------

    def annotations(self, ingress: Ingress) -> Annotations:
        # by the Ingress object itself (identity: hashing it costs nothing; refs are unique)
        ann = self._annotations.get(ingress)
        if ann is None:
            ann = self.table.read(ingress, self.notes, self.ctx.options.annotation_prefix)
            self._annotations[ingress] = ann
        return ann

    def fld(self, key: str) -> str:
        """The full annotation key, as notes name it."""
        return f"{self.prefix}/{key}"

    def note_ann(self, ing: Ingress | PathContext, key: str, code: str, level: Level, message: str, *,
                 fidelity: Fidelity | None = None, instead: str = "", aspects: Iterable[str] = (),
                 scope: Scope | None = None) -> None:
        self.note(ing, code, level, message, fidelity=fidelity, instead=instead, fld=self.fld(key),
                  aspects=aspects, scope=scope)

    # --- the conversion -------------------------------------------------------------------

    def translate(self, ingresses: Sequence[Ingress]) -> IR:
        primaries: list[Ingress] = []
        canaries: list[Ingress] = []
        for ing in self.ordered(ingresses):
            if extras.refused_for_snippets(self, ing) or extras.refused_for_invalid(self, ing):
                continue
            extras.note_denied(self, ing)
            (canaries if self.annotations(ing).get("canary") else primaries).append(ing)
        self._prepare(primaries)
        for ing in canaries:
            self._canaries.add(self, ing)
        passing = extras.passthrough(self, primaries)
        self._passthrough_hosts = {(p.gateway, p.hostname) for p in passing}
        ir = super().translate(primaries)
        self._canaries.report_unused(self)
        order = sorted(self._backend_tls, key=lambda k: (k[0], k[1], k[2] or 0))
        backend_tls = tuple(self._backend_tls[k] for k in order)
        # A passthrough host's TLS ends at its backend: no certificate on the Gateway.
        certificates = tuple(c for c in ir.certificates if (c.gateway, c.hostname) not in self._passthrough_hosts)
        gateways = sorted({self.ctx.gateway_for(ing) for ing in primaries})
        globals_ = tuple(GatewayIntent(gw, intent) for gw in gateways for intent in self.globals.gateway)
        return replace(ir, certificates=certificates, backend_tls=ir.backend_tls + backend_tls,
                       passthrough=tuple(passing), gateway_intents=ir.gateway_intents + globals_)

    def _prepare(self, ordered: Sequence[Ingress]) -> None:
        """What must be known about every Ingress before any path is converted."""
        for ing in ordered:
            gw = self.ctx.gateway_for(ing)
            ann = self.annotations(ing)
            target = ann.get("rewrite-target")
            use_regex = bool(ann.get("use-regex"))
            for rule in ing.rules:
                self._real_hosts.add((gw, rule.host))
                for path in rule.paths:
                    value = path.path or "/"
                    if path.path_type == "Exact":
                        self._exact_paths.add((gw, rule.host, value))
                    key = (ing.ref, path.field)
                    self._paths[key] = value
                    rw = classify_rewrite(value, target)
                    self._rewrites[key] = rw
                    if use_regex or rw.active:
                        self._regex_hosts.setdefault((gw, rule.host), 0)
            self._policies.add(self, ing)
        for ing in ordered:
            gw = self.ctx.gateway_for(ing)
            for rule in ing.rules:
                if (gw, rule.host) in self._regex_hosts:
                    self._regex_hosts[(gw, rule.host)] += len(rule.paths)
        self._implicit_roots(ordered)

    def _implicit_roots(self, ordered: Sequence[Ingress]) -> None:
        """ingress-nginx gives every host an implicit ``/`` location that carries the location
        annotations of the host's oldest Ingress; unmatched paths meet them (403 from an
        allowlist, a redirect, auth...) where the Gateway answers 404 (or from a catch-all)."""
        oldest: dict[tuple[GatewayRef, str], Ingress] = {}
        has_root: set[tuple[GatewayRef, str]] = set()
        for ing in ordered:
            gw = self.ctx.gateway_for(ing)
            for rule in ing.rules:
                oldest.setdefault((gw, rule.host), ing)
                if any((p.path or "/") == "/" and p.path_type != "Exact" for p in rule.paths):
                    has_root.add((gw, rule.host))
        catch_all = next((i for i in ordered if i.default_backend is not None and not i.rules), None)
        for key, ing in sorted(oldest.items(), key=lambda kv: (kv[0][0], kv[0][1])):
            if key in has_root or ing.default_backend is not None:
                continue
            self._rootless[key] = ing
            ann = self.annotations(ing)
            inherited = sorted(k for k in ann.keys() if self.table.specs[k].changes_answer)
            gateway_answer = (f"the catch-all default backend of Ingress {catch_all.ref} serves them"
                              if catch_all is not None else "it answers them 404")
            if inherited:
                prefix = (self.ctx.options.annotation_prefix or self.table.prefix).rstrip("/")
                # Name the key as written (a deprecated alias stays the alias).
                written = [k for k in ing.annotations if k.startswith(prefix + "/")
                           and self.table.canonical(k[len(prefix) + 1:]) == inherited[0]]
                self.note(ing, "IMPLICIT-ROOT-ANNOTATIONS", Level.WARNING,
                          f"on host {key[1] or '*'} requests that match no path reach ingress-nginx's implicit "
                          f"'/' location, which carries this Ingress's {', '.join(inherited)}; the Gateway does not "
                          f"apply them there: {gateway_answer}", fidelity=Fidelity.APPROXIMATE,
                          instead="unmatched paths are not routed (add an explicit / path to keep the old answer)",
                          fld=sorted(written)[0] if written else f"{prefix}/{inherited[0]}",
                          aspects=self._inherited_aspects(inherited), scope=((key[1], "/"),))

    def _inherited_aspects(self, keys: Sequence[str]) -> frozenset[str]:
        """What the implicit root's inherited annotations change: the answer to unmatched paths."""
        out = {"status", "backend"}
        for key in keys:
            out |= self.table.aspects(self.table.specs[key])
        return frozenset(out)

    def ordered(self, ingresses: Sequence[Ingress]) -> list[Ingress]:
        return nginx_order(list(ingresses))

    def route_kind(self, ingress: Ingress) -> Literal["HTTPRoute", "GRPCRoute"]:
        kind = self._kinds.get(ingress)
        if kind is None:  # asked several times per path: worked out once per Ingress
            kind = self._kinds[ingress] = policies.route_kind(self.annotations(ingress))
        return kind

    def path_matches(self, pc: PathContext) -> list[RouteMatch]:
        ing = pc.ingress
        ann = self.annotations(ing)
        value = pc.path.path or "/"
        gw = self.ctx.gateway_for(ing)
        if self.route_kind(ing) == "GRPCRoute":
            return policies.grpc_matches(self, pc, value)
        if (gw, pc.host) not in self._regex_hosts:
            if pc.path.path_type == "Exact":
                return [RouteMatch(path=PathMatch("Exact", value))]
            # Prefix and ImplementationSpecific: ingress-nginx treats both as Prefix.
            return [RouteMatch(path=PathMatch("PathPrefix", value))]
        rw = self._rewrites.get((ing.ref, pc.path.field), _NO_REWRITE)
        if rw.kind == "prefix":
            self.note(pc, "REWRITE-AS-PREFIX", Level.INFO,
                      f"rewrite {value} -> {rw.target} strips the prefix {rw.prefix}; a PathPrefix match with "
                      "ReplacePrefixMatch does the same, but case-sensitively"
                      + ("" if rw.exact else f", and a request for exactly {rw.prefix} is sent upstream as "
                         f"{rw.replacement} instead of {rw.replacement}/"),
                      fidelity=Fidelity.APPROXIMATE,
                      instead=f"PathPrefix {rw.prefix} + URLRewrite ReplacePrefixMatch {rw.replacement}",
                      fld=self.fld("rewrite-target"), aspects=("status", "backend", "path", "redirect"))
            return [RouteMatch(path=PathMatch("PathPrefix", rw.prefix))]
        host = pc.host or "*"
        self.note(pc, "REGEX-HOST-MODE", Level.INFO,
                  f"host {host} is in regex mode (an Ingress on it sets use-regex or a rewrite-target): "
                  "ingress-nginx matches every path of the host, from every Ingress, as a case-insensitive "
                  "regular expression anchored only at the start, so Exact and Prefix paths also match "
                  "longer paths",
                  fidelity=Fidelity.APPROXIMATE,
                  instead="paths emitted as RegularExpression matches (?i)^<path>.* (RE2; support and "
                  "dialect are implementation-specific)",
                  fld=self._regex_cause(ann), aspects=("status", "backend", "path", "redirect"),
                  scope=((pc.host, ""),))
        pattern = location_regex(value)
        error = regex_error(pattern)
        if error is not None:
            self.note(pc, "REGEX-INVALID", Level.ERROR,
                      f"path {value!r} is not a regular expression RE2 accepts ({error})",
                      fidelity=Fidelity.UNSUPPORTED, instead="path skipped", fld=pc.path.field + ".path",
                      aspects=("status", "backend", "path", "redirect"))
            return []
        return [RouteMatch(path=PathMatch("RegularExpression", pattern))]

    def _regex_cause(self, ann: Annotations) -> str:
        """The annotation of this Ingress that puts its hosts in regex mode ("" when another's does)."""
        if ann.get("use-regex"):
            return self.fld("use-regex")
        return self.fld("rewrite-target") if ann.get("rewrite-target") is not None else ""

    def path_rules(self, pc: PathContext, matches: list[RouteMatch], backends: tuple[BackendRef, ...]) -> list[Rule]:
        ing = pc.ingress
        ann = self.annotations(ing)
        prov = pc.provenance
        parts = self._parts.get(ing)
        if parts is None:
            parts = self._parts[ing] = self._ingress_parts(ing)
        redirect, hostname, persistence, timeouts = parts
        if redirect is not None:
            return [Rule(matches=tuple(matches), filters=(Filter("RequestRedirect", redirect, prov),),
                         provenance=(prov,))]
        rw = self._rewrites.get((ing.ref, pc.path.field), _NO_REWRITE)
        path_mod: PathModifier | None = None
        intents: list[Intent] = []
        if rw.kind == "full":
            path_mod = PathModifier("ReplaceFullPath", rw.target)
        elif rw.kind == "prefix":
            path_mod = PathModifier("ReplacePrefixMatch", rw.replacement)
        elif rw.kind == "regex":
            value = pc.path.path or "/"
            self.note_ann(ing, "rewrite-target", "REWRITE-CAPTURE", Level.WARNING,
                          f"rewrite {value} -> {rw.target} uses capture groups in a way URLRewrite cannot "
                          "express; it needs the implementation's regex rewrite",
                          fidelity=Fidelity.EXTENSION,
                          instead="an opaque rewrite-target intent on the rule (nginx's rewrite directive); "
                          "without it the backend receives the original path", aspects=("path",))
            intents.append(Opaque(vendor=VENDOR, key="rewrite-target", raw=f"rewrite (?i){value} {rw.target} break",
                                  affects=("path",), provenance=replace(prov, field=self.fld("rewrite-target"))))
        filters: list[Filter] = []
        if path_mod is not None or hostname is not None:
            filters.append(Filter("URLRewrite", URLRewrite(hostname=hostname, path=path_mod), prov))
        xfp = ann.get("x-forwarded-prefix")
        if xfp is not None:
            if rw.active:
                filters.append(Filter("RequestHeaderModifier",
                                      HeaderModifier(set=(("X-Forwarded-Prefix", xfp),)), prov))
            else:
                self.note_ann(ing, "x-forwarded-prefix", "X-FORWARDED-PREFIX-UNUSED", Level.INFO,
                              "x-forwarded-prefix only takes effect together with a rewrite-target, and this "
                              "Ingress has none", instead="not emitted (the controller ignores it too)")
        shared = self._shared.get(ing)
        if shared is None:
            shared = self._shared[ing] = self._shared_rule_parts(ing, ann, persistence is not None)
        shared_filters, shared_intents = shared
        filters.extend(Filter(kind, value, prov) for kind, value in shared_filters)
        mirror = extras.mirror_filter(self, ing, prov)
        if mirror is not None:
            filters.append(mirror)
        intents.extend(shared_intents)
        intents.extend(self.globals.rule_intents(ann, pc.path.path or "/"))
        self._policies.backend_tls(self, ing, backends)
        if self.route_kind(ing) == "GRPCRoute" and any(f.type == "URLRewrite" for f in filters):
            self.note(pc, "GRPC-REWRITE", Level.WARNING, "a GRPCRoute cannot rewrite the path or Host",
                      fidelity=Fidelity.UNSUPPORTED, instead="rewrite dropped", aspects=("path", "host"))
            filters = [f for f in filters if f.type != "URLRewrite"]
        rule = Rule(matches=tuple(matches), backends=backends, filters=tuple(filters),
                    intents=tuple(intents), provenance=(prov,),
                    session_persistence=persistence if self.route_kind(ing) == "HTTPRoute" else None,
                    timeouts=timeouts)
        return self._canaries.merge(self, pc, rule) + self._slash_redirect(pc, matches)

    def _shared_rule_parts(self, ing: Ingress, ann: Annotations, persisted: bool) -> _SharedRuleParts:
        """The filters (CORS, custom headers) and intents of the Ingress's annotations, which
        are the same on every path rule: worked out (and noted) at its first path. An intent's
        provenance names the Ingress and the annotation, not the path."""
        prov = Provenance("Ingress", ing.namespace, ing.name, "", ing.origin)
        return (tuple(policies.rule_filters(self, ing)),
                tuple(rule_intents(ann, ing.namespace, prov, self.fld, self.config, persisted=persisted)))

    def _ingress_parts(self, ing: Ingress) -> _IngressParts:
        """What every path rule of ``ing`` shares, worked out (and noted) once per Ingress:
        its redirect (nothing else then), upstream Host, session persistence and timeouts."""
        redirect = self._location_redirect(ing)
        if redirect is not None:
            return redirect, None, None, None
        return (None, self._policies.upstream_vhost(self, ing), affinity.session_persistence(self, ing),
                self._timeouts(ing))

    def _timeouts(self, ing: Ingress) -> Timeouts | None:
        """``proxy-read-timeout`` (when set) -> ``timeouts.backendRequest``, approximately:
        nginx's limit is the longest pause between two reads from the upstream, Gateway API's
        the whole upstream exchange, so long streaming responses end sooner."""
        ann = self.annotations(ing)
        if "proxy-read-timeout" not in ann or self.route_kind(ing) != "HTTPRoute":
            return None
        value = ann.get("proxy-read-timeout")
        try:
            text = value.gateway()
        except ValueError:
            return None
        if text == "0s":
            return None
        self.note_ann(ing, "proxy-read-timeout", "READ-TIMEOUT", Level.INFO,
                      f"nginx waits at most {text} between two reads from the upstream; Gateway API's "
                      f"backendRequest limits the whole upstream exchange, so a response streaming longer "
                      f"than {text} is cut", fidelity=Fidelity.APPROXIMATE,
                      instead=f"timeouts.backendRequest {text}")
        return Timeouts(backend_request=text)

    def _slash_redirect(self, pc: PathContext, matches: list[RouteMatch]) -> list[Rule]:
        """nginx answers a request for a prefix location minus its trailing slash (``/foo`` for
        Prefix ``/foo/``) with a 301 to the slashed path -- unless an Exact path claims it.
        The same as a rule: Exact ``/foo`` -> RequestRedirect ``/foo/`` (301)."""
        value = pc.path.path or "/"
        if (pc.path.path_type == "Exact" or not value.endswith("/") or value == "/"
                or len(matches) != 1 or matches[0].path is None or matches[0].path.type != "PathPrefix"
                or self.route_kind(pc.ingress) != "HTTPRoute"):
            return []
        bare = value.rstrip("/")
        gw = self.ctx.gateway_for(pc.ingress)
        if (gw, pc.host, bare) in self._exact_paths or not bare:
            return []
        redirect = RequestRedirect(path=PathModifier("ReplaceFullPath", value), status_code=301)
        self.note(pc, "TRAILING-SLASH-REDIRECT", Level.INFO,
                  f"ingress-nginx answers {bare} with a 301 to {value} (a Prefix path written with a trailing "
                  "slash); a Gateway PathPrefix would serve it directly",
                  instead=f"an Exact {bare} rule redirecting to {value} (301)", fld=pc.path.field + ".path",
                  aspects=("status", "backend", "path", "redirect", "host"))
        return [Rule(matches=(RouteMatch(path=PathMatch("Exact", bare)),),
                     filters=(Filter("RequestRedirect", redirect, pc.provenance),), provenance=(pc.provenance,))]

    def _location_redirect(self, ing: Ingress) -> RequestRedirect | None:
        ann = self.annotations(ing)
        key = "temporal-redirect"
        url: RedirectURL | None = ann.get(key)
        if url is not None and "permanent-redirect" in ann:
            self.note_ann(ing, "permanent-redirect", "REDIRECT-SHADOWED", Level.INFO,
                          "temporal-redirect is also set and takes precedence", instead="ignored")
        if url is None:
            key = "permanent-redirect"
            url = ann.get(key)
        if url is None:
            return None
        code: int = ann.get(key + "-code")
        status = redirects.gateway_status(code)
        if not status.exact:
            self.note_ann(ing, key + "-code", "REDIRECT-CODE", Level.WARNING,
                          f"redirect status {code} cannot be expressed by RequestRedirect "
                          "(301, 302, 303, 307 or 308)",
                          fidelity=Fidelity.APPROXIMATE, instead=f"status {status.emitted} used",
                          aspects=("status", "redirect"))
        if url.query:
            self.note_ann(ing, key, "REDIRECT-QUERY", Level.WARNING,
                          f"the query ?{url.query} of the redirect URL cannot be expressed; the Gateway "
                          "keeps the request's own query instead",
                          fidelity=Fidelity.APPROXIMATE, instead="redirect without the URL's query",
                          aspects=("redirect",))
        return redirects.url_redirect(url, code)

    # --- routes per host ------------------------------------------------------------------

    def host_routes(self, hr: HostRoutes, has_tls: bool) -> list[Route]:
        return hostroutes.host_routes(self, hr, has_tls)

    def extra_routes(self, hosts: Sequence[HostRoutes], tls_hosts: set[tuple[GatewayRef, str]]) -> list[Route]:
        routes: list[Route] = []
        done: set[tuple[GatewayRef, str]] = set()
        code = redirects.https_redirect_code(self.config)
        for hr in hosts:
            ing = hr.ingress
            if not hr.rules or not self.annotations(ing).get("from-to-www-redirect"):
                continue
            twin = redirects.twin_host(hr.host)
            if twin is None or (hr.gateway, twin) in done:
                continue
            if (hr.gateway, twin) in self._real_hosts:
                self.note_ann(ing, "from-to-www-redirect", "WWW-REDIRECT-SKIPPED", Level.INFO,
                              f"{twin} is a host of its own, so ingress-nginx does not redirect it to {hr.host}",
                              instead="no redirect route for it")
                continue
            done.add((hr.gateway, twin))
            covered = (hr.gateway, twin) in tls_hosts or self._covered(hr.gateway, twin, tls_hosts)
            prov = Provenance("Ingress", ing.namespace, ing.name, self.fld("from-to-www-redirect"), ing.origin)
            redirect = RequestRedirect(hostname=hr.host, status_code=redirects.gateway_status(code).emitted)
            routes.append(Route(
                kind="HTTPRoute", namespace=ing.namespace, name=f"{ing.name}-{host_slug(twin)}",
                gateway=hr.gateway, hostnames=(twin,),
                sections=frozenset({"http", "https"}) if covered else frozenset({"http"}),
                rules=(Rule(matches=(), filters=(Filter("RequestRedirect", redirect, prov),), provenance=(prov,)),),
                sources=(Provenance("Ingress", ing.namespace, ing.name, "", ing.origin),),
            ))
        return routes

    def add_backend_tls(self, item: BackendTLS) -> None:
        self._backend_tls.setdefault((item.namespace, item.service, item.port), item)

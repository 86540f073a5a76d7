"""Kong Ingresses -> IR, with KIC's and Kong's semantics where they differ from the Ingress spec.

Paths: ``Prefix`` is segment-correct in KIC (``/foo/`` plus ``~/foo$``), so it stays a
PathPrefix; an ``ImplementationSpecific`` plain path is a character prefix (a PathPrefix,
noted as narrower) and one starting with the regex marker a RegularExpression (Kong anchors
at the start only, so ``.*`` is appended). ``methods`` and ``headers.*`` multiply the matches.
``strip-path``, the Service ``path``, ``rewrite``, ``preserve-host``/``host-header`` become one
URLRewrite. ``protocols: https`` puts the route on the HTTPS listener only, plus an HTTP
redirect route when ``https-redirect-status-code`` is a redirect (Kong's default 426 has no
Gateway form). Plugins become filters and intents (:mod:`.plugins`); Service timeouts,
retries and upstream policies become intents. Kong's wildcard hosts match any depth, as
Gateway API hostnames do, whatever the router flavor; host aliases join the route's hostnames.

The router flavor (``router_flavor`` in ``--controller-config``, :mod:`.flavor`) changes two
things: under ``expressions`` header values compare case-sensitively (as Gateway header
matches do) and a route's paths share the priority of its longest path, so where a shorter path
of one route takes requests that a longer path of another route takes under Gateway API
precedence, an ``EXPRESSIONS-PRIORITY`` note names both.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from ing2gw import intents as i
from ing2gw.ir import (
    IR,
    BackendRef,
    Filter,
    HeaderMatch,
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
from ing2gw.kinds import KubeObject
from ing2gw.names import host_slug
from ing2gw.notes import Fidelity, Level, Note, Scope
from ing2gw.provider import ProviderContext, ingress_scope
from ing2gw.resources import Ingress

from .._common.ingress import HostRoutes, IngressTranslator, PathContext
from .._common.values import Duration
from . import plugins as kp
from .annotations import PREFIX
from .flavor import EXPRESSIONS, router_flavor
from .paths import flatten_slashes, kong_paths
from .settings import RouteSettings, ServiceSettings, route_settings, service_settings

__all__ = ["KongTranslator", "gateway_regex", "upstream_name"]

_MAX_MATCHES = 64
_REGEX_META = re.compile(r"[\\^$.|?*+()\[\]{}]")


def gateway_regex(kong_path: str) -> str:
    """A Kong regex path (``~...``, anchored at the start only) as a full-match regular
    expression: the leading ``^`` dropped, ``.*`` appended unless it ends with ``$``."""
    body = kong_path[1:]
    if body.startswith("^"):
        body = body[1:]
    if body.endswith("$") and not body.endswith("\\$"):
        return body[:-1] if "|" not in body else f"(?:{body[:-1]})"
    return f"(?:{body}).*" if "|" in body else body + ".*"


def upstream_name(namespace: str, service: str, port: int | None) -> str:
    """The Kong upstream (and Host sent when preserve_host is off): ``svc.ns.port.svc``."""
    return f"{service}.{namespace}.{port}.svc"


class KongTranslator(IngressTranslator):
    """KIC's reading of Ingresses."""

    code = "KONG"
    wildcard_any_depth = True

    def __init__(self, ctx: ProviderContext, objects: Sequence[KubeObject]) -> None:
        super().__init__(ctx)
        self.objects = objects
        self.flavor = router_flavor(ctx.options.controller_config)
        self.routes: dict[str, RouteSettings] = {}
        self.services: dict[tuple[str, str], ServiceSettings] = {}

    def prepare(self, ingresses: Sequence[Ingress]) -> None:
        """Read every Ingress's and every used Service's settings once (notes included)."""
        scopes: dict[tuple[str, str], set[tuple[str, str]]] = {}
        for ing in ingresses:
            self.routes[ing.ref] = route_settings(ing.annotations, ing.subject, ing.origin, ingress_scope(ing),
                                                  self.notes)
            for rule in ing.rules:
                for p in rule.paths:
                    if p.backend.service:
                        scopes.setdefault((ing.namespace, p.backend.service), set()).add((rule.host, p.path or "/"))
            if ing.default_backend is not None and ing.default_backend.service:
                scopes.setdefault((ing.namespace, ing.default_backend.service), set()).add(("", ""))
        for key in sorted(scopes):
            svc = self.resources.services.get(key)
            if svc is None:
                continue
            scope: Scope = tuple(sorted(scopes[key]))
            self.services[key] = service_settings(svc.annotations, svc.namespace, f"Service {key[0]}/{key[1]}",
                                                  svc.origin, scope, self.objects, self.notes)

    def translate(self, ingresses: Sequence[Ingress]) -> IR:
        ir = super().translate(ingresses)
        if self.flavor == EXPRESSIONS:
            self._expression_notes(ingresses)
        return ir

    def _expression_notes(self, ingresses: Sequence[Ingress]) -> None:
        """What KIC's expression routes decide otherwise than Gateway API precedence: a short
        path of a route whose longest path ranks it above another route's longer path, and
        ``regex-priority``, which expression routes do not use."""
        from .model import expression_overtakes

        by_ref = {ing.ref: ing for ing in ingresses}
        for ing in ingresses:
            if self.routes[ing.ref].regex_priority:
                self.note(ing, "EXPRESSIONS-REGEX-PRIORITY", Level.INFO,
                          "KIC's expression routes do not use regex-priority (the route's priority comes from its "
                          "paths)", fidelity=Fidelity.EXACT, instead="ignored, as Kong does",
                          fld=f"{PREFIX}/regex-priority")
        for o in expression_overtakes(replace(self.resources, ingresses=list(ingresses)), self.objects):
            winner = by_ref[o.by_ingress]
            self.note(winner, "EXPRESSIONS-PRIORITY", Level.WARNING,
                      f"Kong's expressions router ranks route {o.by_route} by the longest of its paths, so its path "
                      f"{o.by_path} takes {o.host}{o.path}, which the longer path {o.ingress_path} of Ingress "
                      f"{o.ingress} takes under Gateway API precedence (and Kong's traditional_compatible router)",
                      fidelity=Fidelity.APPROXIMATE, instead=f"{o.ingress_path} of {o.ingress} serves it",
                      fld="spec.rules", aspects=("status", "backend", "path"),
                      scope=((o.rule_host, o.ingress_path), (o.by_host, o.by_path)))

    # --- matches -------------------------------------------------------------------------

    def path_matches(self, pc: PathContext) -> list[RouteMatch]:
        s = self.routes[pc.ingress.ref]
        path = flatten_slashes(pc.path.path)
        kind = pc.path.path_type
        kong = kong_paths(pc.path.path, kind, s.regex_marker)
        if kind == "Exact":
            pm = PathMatch("Exact", path or "/")
        elif kind == "Prefix":
            pm = PathMatch("PathPrefix", path.rstrip("/") or "/")
        elif kong[0].startswith("~"):
            pm = PathMatch("RegularExpression", gateway_regex(kong[0]))
            self.note(pc, "PATH-REGEX", Level.INFO,
                      f"Kong regex path {kong[0]} (PCRE, anchored at the start only)", fidelity=Fidelity.APPROXIMATE,
                      instead=f"RegularExpression {pm.value} (full match; the dialect is the implementation's)",
                      fld=pc.path.field + ".path", aspects=("status", "backend"))
        else:
            pm = PathMatch("PathPrefix", path.rstrip("/") or "/")
            if path not in ("", "/"):
                self.note(pc, "PATH-CHARACTER-PREFIX", Level.INFO,
                          f"Kong matches ImplementationSpecific path {path} as a character prefix ({path} also "
                          f"matches {path.rstrip('/')}x)", fidelity=Fidelity.APPROXIMATE,
                          instead=f"PathPrefix {pm.value}, which matches whole segments only",
                          fld=pc.path.field + ".pathType", aspects=("status", "backend", "path"),
                          scope=((pc.host, "~^" + re.escape(path)),))
        return self._expand(pc, s, pm)

    def _expand(self, pc: PathContext, s: RouteSettings, pm: PathMatch) -> list[RouteMatch]:
        """One match per method and per combination of header values."""
        choices: list[list[HeaderMatch]] = []
        exact_case = self.flavor == EXPRESSIONS
        for name, values in s.headers:
            options = []
            for v in values:
                if v.startswith("~*"):
                    options.append(HeaderMatch(name, ("" if exact_case else "(?i)") + v[2:], "RegularExpression"))
                else:
                    options.append(HeaderMatch(name, v))
            choices.append(options)
        if s.headers and not exact_case:
            self.note(pc, "HEADER-CASE", Level.INFO,
                      "Kong compares header values ignoring case", fidelity=Fidelity.APPROXIMATE,
                      instead="Exact header matches compare case-sensitively",
                      fld=f"{PREFIX}/headers.*", aspects=("status", "backend"))
        combos = [tuple(c) for c in itertools.product(*choices)] if choices else [()]
        methods: list[str | None] = list(s.methods) or [None]
        out = [RouteMatch(path=pm, headers=combo, method=m) for m in methods for combo in combos]
        if len(out) > _MAX_MATCHES:
            self.note(pc, "TOO-MANY-MATCHES", Level.ERROR,
                      f"methods x header values make {len(out)} matches; a Gateway API rule holds {_MAX_MATCHES}",
                      fidelity=Fidelity.UNSUPPORTED, instead=f"only the first {_MAX_MATCHES} kept",
                      fld=f"{PREFIX}/methods", aspects=("status", "backend"))
            out = out[:_MAX_MATCHES]
        return out

    # --- rules ---------------------------------------------------------------------------

    def path_rules(self, pc: PathContext, matches: list[RouteMatch], backends: tuple[BackendRef, ...]) -> list[Rule]:
        s = self.routes[pc.ingress.ref]
        svc = self.services.get((pc.ingress.namespace, pc.path.backend.service or ""), ServiceSettings())
        pm = matches[0].path
        assert pm is not None
        filters: list[Filter] = []
        intents: list[i.Intent] = []
        rewrite_path = self._rewrite_path(pc, s, svc, pm)
        host = self._upstream_host(pc, s, svc, backends)
        converted = kp.convert(self._plugins(pc.ingress, s, svc))
        for note in converted.notes:
            self.notes.add(_scoped(note, ((pc.host, pc.path.path or "/"),)))
        if converted.rewrite is not None and converted.rewrite.path is not None:
            rewrite_path = converted.rewrite.path
        if rewrite_path is not None or host is not None:
            filters.append(Filter("URLRewrite", URLRewrite(hostname=host, path=rewrite_path), pc.provenance))
        filters += converted.filters(pc.provenance)
        intents += converted.intents
        intents += self._service_intents(pc, svc)
        if s.request_buffering is False or s.response_buffering is False:
            intents.append(i.Buffering(request_body=s.request_buffering, response_body=s.response_buffering,
                                       provenance=Provenance("Ingress", pc.ingress.namespace, pc.ingress.name,
                                                             f"{PREFIX}/request-buffering", pc.ingress.origin)))
        timeouts = None
        if svc.read_timeout:
            timeouts = Timeouts(backend_request=Duration(svc.read_timeout).gateway())
        return [Rule(matches=tuple(matches), backends=backends, filters=tuple(filters), timeouts=timeouts,
                     intents=tuple(intents), provenance=(pc.provenance,))]

    def _plugins(self, ing: Ingress, s: RouteSettings, svc: ServiceSettings) -> list[kp.Plugin]:
        found: list[Note] = []
        route = kp.resolve(self.objects, ing.namespace, s.plugins, ing.subject, ing.origin, f"{PREFIX}/plugins",
                           found)
        service = kp.resolve(self.objects, ing.namespace, svc.plugins, ing.subject, ing.origin,
                             f"{PREFIX}/plugins", found)
        for note in found:
            self.notes.add(_scoped(note, ingress_scope(ing)))
        names = {p.name for p in route}
        return route + [p for p in service if p.name not in names]

    def _rewrite_path(self, pc: PathContext, s: RouteSettings, svc: ServiceSettings, pm: PathMatch
                      ) -> PathModifier | None:
        if s.rewrite is not None:
            if "$(uri_captures" in s.rewrite:
                self.note(pc, "REWRITE-CAPTURES", Level.WARNING,
                          f"konghq.com/rewrite {s.rewrite} uses regex captures", fidelity=Fidelity.UNSUPPORTED,
                          instead="not converted: the path reaches the backend unchanged",
                          fld=f"{PREFIX}/rewrite", aspects=("path",))
                return None
            return PathModifier("ReplaceFullPath", s.rewrite)
        base = svc.path if svc.path.startswith("/") else "/" + svc.path
        if pm.type == "RegularExpression":
            if s.strip_path or base != "/":
                self.note(pc, "STRIP-REGEX", Level.WARNING,
                          "strip-path or a Service path on a regex path: Kong removes the part the regex matched",
                          fidelity=Fidelity.UNSUPPORTED, instead="the path reaches the backend unchanged",
                          fld=f"{PREFIX}/strip-path", aspects=("path",))
            return None
        if s.strip_path:
            if s.path_handling == "v1" and base != "/":
                self.note(pc, "PATH-HANDLING-V1", Level.INFO,
                          "path-handling v1 joins the Service path and the rest of the path without a /",
                          fidelity=Fidelity.APPROXIMATE, instead="joined with a / (v0)",
                          fld=f"{PREFIX}/path-handling", aspects=("path",))
            if pm.type == "Exact":
                return PathModifier("ReplaceFullPath", base)
            return PathModifier("ReplacePrefixMatch", base)
        if base == "/":
            return None
        prefix = base.rstrip("/") + (pm.value if pm.value != "/" else "")
        if pm.type == "Exact":
            return PathModifier("ReplaceFullPath", prefix or "/")
        return PathModifier("ReplacePrefixMatch", prefix or "/")

    def _upstream_host(self, pc: PathContext, s: RouteSettings, svc: ServiceSettings,
                       backends: tuple[BackendRef, ...]) -> str | None:
        if s.preserve_host:
            if svc.host_header:
                self.note(pc, "HOST-HEADER-PRESERVED", Level.INFO,
                          "konghq.com/host-header has no effect while preserve-host is true (KIC's default)",
                          instead="the client's Host is kept", fld=f"{PREFIX}/host-header")
            return None
        if svc.host_header:
            return svc.host_header
        if not backends:
            return None
        b = backends[0]
        self.note(pc, "PRESERVE-HOST-OFF", Level.INFO,
                  "preserve-host false: Kong sends its upstream name as Host", fidelity=Fidelity.APPROXIMATE,
                  instead=f"URLRewrite hostname {upstream_name(b.namespace, b.name, b.port)}",
                  fld=f"{PREFIX}/preserve-host")
        return upstream_name(b.namespace, b.name, b.port)

    def _service_intents(self, pc: PathContext, svc: ServiceSettings) -> list[i.Intent]:
        out: list[i.Intent] = []
        ns, name = pc.ingress.namespace, pc.path.backend.service or ""

        def prov(key: str) -> Provenance:
            return Provenance("Service", ns, name, f"{PREFIX}/{key}", "")

        if svc.connect_timeout is not None or svc.write_timeout is not None:
            key = "connect-timeout" if svc.connect_timeout is not None else "write-timeout"
            out.append(i.Timeouts(connect_ms=svc.connect_timeout, send_ms=svc.write_timeout,
                                  read_ms=svc.read_timeout, provenance=prov(key)))
        if svc.retries is not None:
            out.append(i.Retries(on=("error", "timeout"), attempts=svc.retries + 1, provenance=prov("retries")))
        up = svc.upstream
        if up is not None and svc.upstream_source is not None:
            src = svc.upstream_source
            p = Provenance(src.kind.kind, src.namespace, src.name, "spec", src.origin)
            raw_hash = up.get("hashOn")
            hash_on: dict[str, Any] = dict(raw_hash) if isinstance(raw_hash, dict) else {}
            hash_key = next((f"{k}:{v}" for k, v in sorted(hash_on.items()) if k != "cookiePath"), None)
            out.append(i.LoadBalancing(algorithm=str(up.get("algorithm") or "round-robin"), hash_key=hash_key,
                                       provenance=p))
            if up.get("healthchecks"):
                out.append(i.Opaque(vendor="kong", key="healthchecks", raw=str(dict(up["healthchecks"])),
                                    affects=("status",), provenance=p))
        if svc.protocol in ("grpc", "grpcs"):
            self.note(pc, "UPSTREAM-GRPC", Level.INFO,
                      f"the Service speaks {svc.protocol} (HTTP/2) to its endpoints", fidelity=Fidelity.APPROXIMATE,
                      instead="an HTTPRoute rule: set appProtocol kubernetes.io/h2c on the Service port",
                      fld=f"{PREFIX}/protocol", aspects=("status",))
        if svc.protocol in ("https", "grpcs", "tls"):
            self.note(pc, "UPSTREAM-TLS", Level.WARNING,
                      f"the Service speaks {svc.protocol} to its endpoints; Kong does not verify their certificates "
                      "unless tls-verify is set", fidelity=Fidelity.UNSUPPORTED,
                      instead="no BackendTLSPolicy (it needs a CA and a hostname): the backend is reached over "
                              "plain HTTP", fld=f"{PREFIX}/protocol", aspects=("status",))
        return out

    # --- routes --------------------------------------------------------------------------

    def make_route(self, hr: HostRoutes, sections: frozenset[Section]) -> Route:
        route = super().make_route(hr, sections)
        s = self.routes[hr.ingress.ref]
        names = list(route.hostnames)
        for alias in s.host_aliases:
            if alias.endswith(".*"):
                self.note(hr.ingress, "HOST-ALIAS-SUFFIX-WILDCARD", Level.WARNING,
                          f"host alias {alias} has a wildcard as its last label", fidelity=Fidelity.UNSUPPORTED,
                          instead="alias dropped (Gateway API wildcards are leftmost only)",
                          fld=f"{PREFIX}/host-aliases", aspects=("status", "backend"), scope=((alias, ""),))
            elif alias not in names and hr.host:
                names.append(alias)
        if len(names) == len(route.hostnames):
            return route
        return Route(kind=route.kind, namespace=route.namespace, name=route.name, gateway=route.gateway,
                     hostnames=tuple(names), sections=route.sections, rules=route.rules, sources=route.sources)

    def host_routes(self, hr: HostRoutes, has_tls: bool) -> list[Route]:
        s = self.routes[hr.ingress.ref]
        scope: Scope = ((hr.host, ""),)
        if any(p in s.protocols for p in ("grpc", "grpcs")):
            self.note(hr.ingress, "PROTOCOLS-GRPC", Level.WARNING,
                      f"protocols {','.join(s.protocols)}: Kong routes gRPC by path", fidelity=Fidelity.APPROXIMATE,
                      instead="HTTPRoute (a GRPCRoute matches by service and method)",
                      fld=f"{PREFIX}/protocols", aspects=("status",), scope=scope)
        if not s.https_only:
            return [self.make_route(hr, frozenset({"http", "https"}) if has_tls else frozenset({"http"}))]
        routes = [self.make_route(hr, frozenset({"https"}))] if has_tls else []
        if not has_tls:
            self.note(hr.ingress, "HTTPS-ONLY-NO-CERTIFICATE", Level.WARNING,
                      f"protocols https: Kong serves {hr.host or 'every host'} over HTTPS with its default "
                      "certificate", fidelity=Fidelity.UNSUPPORTED,
                      instead="no HTTPS listener for the host (no tls section): the rules are not converted",
                      fld=f"{PREFIX}/protocols", aspects=("status", "backend", "tls"), scope=scope)
        code = s.https_redirect_code
        if code == 426:
            self.note(hr.ingress, "HTTPS-ONLY-426", Level.INFO,
                      "protocols https: Kong answers plain HTTP with 426 Upgrade Required",
                      fidelity=Fidelity.APPROXIMATE, instead="no route on the HTTP listener: plain HTTP gets 404",
                      fld=f"{PREFIX}/protocols", aspects=("status", "backend"), scope=scope)
            return routes
        redirect = Filter("RequestRedirect", RequestRedirect(scheme="https", status_code=code),
                          Provenance("Ingress", hr.ingress.namespace, hr.ingress.name,
                                     f"{PREFIX}/https-redirect-status-code", hr.ingress.origin))
        rules = tuple(Rule(matches=r.matches, filters=(redirect,), provenance=r.provenance) for r in hr.rules)
        base = self.make_route(hr, frozenset({"http"}))
        name = f"{hr.ingress.name}-{host_slug(hr.host)}-https-redirect" if hr.host else f"{hr.ingress.name}-redirect"
        routes.append(Route(kind="HTTPRoute", namespace=base.namespace, name=name, gateway=base.gateway,
                            hostnames=base.hostnames, sections=frozenset({"http"}), rules=rules,
                            sources=base.sources))
        return routes


def _scoped(note: Note, scope: Scope) -> Note:
    return replace(note, scope=scope) if not note.scope else note


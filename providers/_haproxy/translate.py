"""The Gateway API side of an HAProxy controller's Ingresses: one :class:`HaproxyPolicy` per
Ingress becomes filters and policy intents on each of its rules, and the controller's HTTPS
redirect becomes an HTTPS-only route plus a redirect route on the HTTP listener.

:class:`HaproxyTranslator` is the provider-neutral :class:`IngressTranslator` with those
steps; a provider subclass gives its note code, annotation prefixes, ``policy_of`` (its
annotations read into the neutral record), ``path_matches`` (its path semantics) and
``redirects_https`` (when its implicit redirect applies).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Literal

from ing2gw import intents as it
from ing2gw.ir import (
    CORS,
    IR,
    BackendRef,
    Filter,
    HeaderModifier,
    PathMatch,
    PathModifier,
    Provenance,
    RequestRedirect,
    Route,
    RouteMatch,
    Rule,
    URLRewrite,
)
from ing2gw.notes import Fidelity, Level
from ing2gw.provider import Annotations, AnnotationTable, ProviderContext
from ing2gw.resources import Ingress

from .._common.ingress import HostRoutes, IngressTranslator, PathContext
from ..ingress_nginx.hostroutes import with_hsts
from .policy import HaproxyPolicy, RateLimitRule, Redirect, read_annotations

__all__ = ["HaproxyTranslator", "literal_origin"]

_CORE_CODES = (301, 302)
_EXTENDED_CODES = (303, 307, 308)
_PREFIX_STRIP = re.compile(r"\^?(/[A-Za-z0-9._~/-]*?)/?\(\.\*\)\$? +/?\\1")


class HaproxyTranslator(IngressTranslator):
    """Ingresses of an HAProxy-based controller to the IR."""

    code = "HAPROXY"
    controller = "haproxy"  # for note texts
    prefixes: tuple[str, ...] = ()

    def __init__(self, ctx: ProviderContext, table: AnnotationTable) -> None:
        super().__init__(ctx)
        self.table = table
        self._policies: dict[str, HaproxyPolicy] = {}

    # --- provider hooks -----------------------------------------------------------------

    def policy_of(self, ingress: Ingress, ann: Annotations) -> HaproxyPolicy:
        raise NotImplementedError

    def redirects_https(self, ingress: Ingress, host: str, has_tls: bool) -> bool:
        """Does the controller redirect plain-HTTP requests of this host to HTTPS?"""
        raise NotImplementedError

    # --- helpers ------------------------------------------------------------------------

    def policy(self, ingress: Ingress) -> HaproxyPolicy:
        pol = self._policies.get(ingress.ref)
        if pol is None:
            ann = read_annotations(self.table, ingress, self.notes, self.ctx.options.annotation_prefix and
                                   (self.ctx.options.annotation_prefix,) or self.prefixes)
            pol = self._policies[ingress.ref] = self.policy_of(ingress, ann)
        return pol

    def prov(self, ingress: Ingress, key: str) -> Provenance:
        return Provenance("Ingress", ingress.namespace, ingress.name, f"{self.prefixes[0]}/{key}", ingress.origin)

    def translate(self, ingresses: Sequence[Ingress]) -> IR:
        """The Ingresses' HTTP routes, then what they ask beyond them (:mod:`.extras`)."""
        from .extras import finish

        return finish(self, super().translate(ingresses), ingresses)

    def fld(self, key: str) -> str:
        """The annotation ``key`` as written under the controller's first prefix."""
        return f"{self.prefixes[0]}/{key}"

    # --- rules --------------------------------------------------------------------------

    def path_rules(self, pc: PathContext, matches: list[RouteMatch], backends: tuple[BackendRef, ...]
                   ) -> list[Rule]:
        ing = pc.ingress
        pol = self.policy(ing)
        filters: list[Filter] = []
        if pol.redirect is not None:
            redirect = self._redirect(pc, pol.redirect)
            if redirect is not None:
                return [Rule(matches=tuple(matches), filters=(redirect,), provenance=(pc.provenance,))]
        req = HeaderModifier(set=pol.request_set, add=pol.request_add, remove=pol.request_remove)
        if req != HeaderModifier():
            filters.append(Filter("RequestHeaderModifier", req, pc.provenance))
        rewrite = self._rewrite(pc, matches, pol)
        if rewrite is not None or pol.set_host is not None:
            filters.append(Filter("URLRewrite", URLRewrite(hostname=pol.set_host, path=rewrite), pc.provenance))
        resp = HeaderModifier(set=pol.response_set, add=pol.response_add, remove=pol.response_remove)
        if resp != HeaderModifier():
            filters.append(Filter("ResponseHeaderModifier", resp, pc.provenance))
        cors = self._cors(pc, pol) if pol.cors is not None else None
        if cors is not None:
            filters.append(Filter("CORS", cors, pc.provenance))
        return [Rule(matches=tuple(matches), backends=backends, filters=tuple(filters),
                     intents=self._intents(ing, pol), provenance=(pc.provenance,))]

    def _redirect(self, pc: PathContext, red: Redirect) -> Filter | None:
        code = red.code
        if code not in _CORE_CODES + _EXTENDED_CODES:
            self.note(pc, "REDIRECT-CODE", Level.WARNING,
                      f"{self.controller} answers the redirect with {code}, which Gateway API cannot express",
                      fidelity=Fidelity.APPROXIMATE, instead="302", aspects=("status", "redirect"))
            code = 302
        if red.location is not None:
            m = re.fullmatch(r"(https?)://([^/:?#]+)(?::([0-9]+))?(/[^?#]*)?(\?.*)?", red.location)
            if m is None:
                self.note(pc, "REDIRECT-LOCATION", Level.WARNING,
                          f"redirect location {red.location!r} is not an absolute http(s) URL",
                          fidelity=Fidelity.UNSUPPORTED, instead="path served without the redirect",
                          aspects=("status", "redirect", "backend"))
                return None
            if m.group(5):
                self.note(pc, "REDIRECT-QUERY", Level.INFO,
                          f"the query of redirect location {red.location} has no Gateway API form",
                          fidelity=Fidelity.APPROXIMATE, instead="redirect without that query", aspects=("redirect",))
            self.note(pc, "REDIRECT-FIXED-URL", Level.INFO,
                      f"{self.controller} redirects to the fixed URL {red.location} and drops the request's "
                      "query; a Gateway RequestRedirect keeps the query",
                      fidelity=Fidelity.APPROXIMATE, instead="RequestRedirect with ReplaceFullPath",
                      aspects=("redirect",))
            port = int(m.group(3)) if m.group(3) else None
            value = RequestRedirect(scheme=m.group(1), hostname=m.group(2), port=port,
                                    path=PathModifier("ReplaceFullPath", m.group(4) or "/"), status_code=code)
        else:
            value = RequestRedirect(scheme=red.scheme, hostname=red.hostname, port=red.port, status_code=code)
        return Filter("RequestRedirect", value, pc.provenance)

    def _rewrite(self, pc: PathContext, matches: Sequence[RouteMatch], pol: HaproxyPolicy) -> PathModifier | None:
        if pol.rewrite_target is not None:
            m = matches[0].path if matches else None
            if m is not None and m.type == "RegularExpression":
                self.note(pc, "REWRITE-REGEX", Level.WARNING,
                          "rewrite-target on a regex path replaces what the regular expression matched; "
                          "Gateway API can only replace a path prefix",
                          fidelity=Fidelity.UNSUPPORTED, instead="no rewrite", aspects=("path",))
                return None
            return PathModifier("ReplacePrefixMatch", pol.rewrite_target)
        if pol.rewrite is None:
            return None
        rules = pol.rewrite.rules
        if len(rules) == 1:
            pattern, fmt = rules[0]
            if pattern in ("(.*)", "^(.*)$", ".*", "^.*$", "^.*") and "\\" not in fmt:
                return PathModifier("ReplaceFullPath", fmt)
            shape = _PREFIX_STRIP.fullmatch(f"{pattern} {fmt}")
            prefix = shape.group(1).rstrip("/") if shape else None
            path = matches[0].path if matches else None
            if (prefix is not None and path is not None and path.type == "PathPrefix"
                    and path.value.rstrip("/") == prefix and fmt.startswith("/")):
                self.note(pc, "PATH-REWRITE-PREFIX", Level.INFO,
                          f"path-rewrite {pattern} {fmt} needs the / after {prefix}: haproxy sends a request for "
                          f"exactly {prefix} upstream unchanged, the Gateway's prefix replacement makes it /",
                          fidelity=Fidelity.APPROXIMATE, instead="URLRewrite ReplacePrefixMatch /", aspects=("path",),
                          scope=((pc.host, f"~^{re.escape(prefix)}$"),))
                return PathModifier("ReplacePrefixMatch", "/")
        self.note(pc, "PATH-REWRITE-REGEX", Level.WARNING,
                  f"path-rewrite {'; '.join(f'{p} -> {f}' for p, f in rules)} rewrites with regular expressions, "
                  "which Gateway API cannot express (only a whole-path or a matched-prefix replacement)",
                  fidelity=Fidelity.UNSUPPORTED, instead="path sent upstream unchanged", aspects=("path",))
        return None

    def _cors(self, pc: PathContext, pol: HaproxyPolicy) -> CORS | None:
        """The CORS filter; a regular-expression origin is kept only when it names one literal
        origin (``^https://a\\.example\\.com$``). haproxy's own answer to OPTIONS is noted."""
        cors = pol.cors
        assert cors is not None
        origins: tuple[str, ...] = ("*",) if cors.any_origin else cors.listed
        if cors.patterns:
            literal = [literal_origin(o) for o in cors.patterns]
            kept = tuple(o for o in literal if o is not None)
            dropped = [o for o, lit in zip(cors.patterns, literal, strict=True) if lit is None]
            if dropped:
                self.note(pc, "CORS-ORIGIN-REGEX", Level.WARNING,
                          f"CORS origin pattern(s) {', '.join(dropped)} are regular expressions; the CORS filter "
                          "lists exact origins", fidelity=Fidelity.APPROXIMATE if kept or origins else
                          Fidelity.UNSUPPORTED, instead="patterns left out" + ("" if kept or origins else
                                                                              "; no CORS filter"),
                          aspects=("cors",))
            origins = tuple(dict.fromkeys((*origins, *kept)))
            if not origins:
                return None
        if cors.preflight:
            self.note(pc, "CORS-PREFLIGHT", Level.INFO,
                      f"{self.controller} answers every OPTIONS request of the path itself with 204 (Origin or not; "
                      "CORS headers only for an allowed Origin), so the backend never sees OPTIONS; the Gateway CORS "
                      "filter answers only preflights (OPTIONS with Origin and Access-Control-Request-Method), with "
                      "200, and passes other OPTIONS requests to the backend",
                      fidelity=Fidelity.APPROXIMATE, instead="HTTPRoute CORS filter", aspects=("cors", "status"),
                      fld=self.fld(self.preflight_key))
        if cors.vary_origin and cors.listed:
            self.note(pc, "CORS-VARY", Level.INFO,
                      f"{self.controller} adds Vary: Origin to its answers for a listed Origin; the Gateway CORS "
                      "filter adds no Vary header", fidelity=Fidelity.APPROXIMATE, instead="no Vary header",
                      aspects=("headers",), fld=self.fld("cors-allow-origin"))
        return CORS(allow_origins=origins, allow_methods=cors.methods, allow_headers=cors.headers,
                    expose_headers=cors.expose, allow_credentials=cors.credentials or None, max_age=cors.max_age)

    def _intents(self, ing: Ingress, pol: HaproxyPolicy) -> tuple[it.Intent, ...]:
        out: list[it.Intent] = []
        address: Literal["peer", "forwarded"] = "forwarded" if pol.client_header else "peer"
        if pol.allow or pol.deny:
            out.append(it.IPAccess(allow=tuple(str(n) for n in pol.allow), deny=tuple(str(n) for n in pol.deny),
                                   client_address=address,
                                   provenance=self.prov(ing, self.allow_key if pol.allow else self.deny_key)))
        if pol.client_header:
            out.append(it.ForwardedHeaders(trust=True, header=pol.client_header,
                                           provenance=self.prov(ing, self.client_header_key)))
        if pol.basic_auth is not None:
            out.append(it.BasicAuth(scheme="basic", secret=pol.basic_auth[0], secret_layout=self.auth_layout,
                                    realm=pol.basic_auth[1], provenance=self.prov(ing, self.auth_key)))
        if pol.rate_limit is not None:
            out.append(self._rate_limit(ing, pol.rate_limit))
        if pol.body_limit is not None:
            out.append(it.BodyLimit(max_bytes=pol.body_limit, provenance=self.prov(ing, "proxy-body-size")))
        out.extend(pol.intents)
        return tuple(out)

    # the annotation keys the intents name as their source
    auth_layout: Literal["htpasswd", "map"] = "htpasswd"
    auth_key = "auth-type"
    allow_key = "allow-list"
    deny_key = "deny-list"
    rate_limit_key = "rate-limit-requests"
    client_header_key = "src-ip-header"
    preflight_key = "cors-enable"  # the annotation that makes haproxy answer OPTIONS itself

    def _rate_limit(self, ing: Ingress, rl: RateLimitRule) -> it.RateLimit:
        unit: Literal["second", "minute"]
        if rl.period_ms == 60_000:
            rate, unit = rl.requests, "minute"
        elif rl.period_ms == 1000:
            rate, unit = rl.requests, "second"
        else:
            per_minute = rl.requests * 60_000 / rl.period_ms
            if per_minute.is_integer() and 60_000 % rl.period_ms != 0:
                rate, unit = int(per_minute), "minute"
            elif (rl.requests * 1000) % rl.period_ms == 0:
                rate, unit = rl.requests * 1000 // rl.period_ms, "second"
            else:
                rate, unit = max(1, round(per_minute)), "minute"
            self.note(ing, "RATE-LIMIT-PERIOD", Level.INFO,
                      f"{self.controller} counts {rl.requests} requests per {rl.period_ms / 1000:g}s window; the "
                      f"intent states it as {rate} per {unit}",
                      fidelity=Fidelity.APPROXIMATE, instead=f"rate limit {rate}/{unit}", aspects=("status",))
        return it.RateLimit(rate=rate, unit=unit, burst=0, status=rl.status, exempt=tuple(str(n) for n in rl.exempt),
                            provenance=self.prov(ing, self.rate_limit_key))

    # --- routes -------------------------------------------------------------------------

    def host_routes(self, hr: HostRoutes, has_tls: bool) -> list[Route]:
        ing = hr.ingress
        pol = self.policy(ing)
        rules = list(hr.rules)
        if pol.app_root is not None:
            prov = self.prov(ing, "app-root")
            redirect = RequestRedirect(path=PathModifier("ReplaceFullPath", pol.app_root), status_code=302)
            rules.insert(0, Rule(matches=(RouteMatch(path=PathMatch("Exact", "/")),),
                                 filters=(Filter("RequestRedirect", redirect, prov),), provenance=(prov,)))
        main = replace(self.make_route(hr, frozenset({"http"})), rules=tuple(rules))
        https = with_hsts(pol.hsts, replace(main, sections=frozenset({"https"})))
        https_rules = https.rules
        if not self.redirects_https(ing, hr.host, has_tls):
            if not has_tls:
                return [main]
            if https_rules == main.rules:
                return [replace(main, sections=frozenset({"http", "https"}))]
            return [https, replace(main, name=f"{main.name}-http")]
        code = pol.ssl_redirect_code if pol.ssl_redirect_code in _CORE_CODES + _EXTENDED_CODES else 302
        port = pol.ssl_redirect_port if pol.ssl_redirect_port not in (None, 443) else None
        if pol.ssl_redirect_port_implicit and port is not None:
            self.note(ing, "SSL-REDIRECT-PORT", Level.INFO,
                      f"{self.controller} redirects plain HTTP to https://host:{port} (its default "
                      "ssl-redirect-port, the controller's own HTTPS port); the Gateway redirects to its HTTPS "
                      "listener's port 443",
                      fidelity=Fidelity.APPROXIMATE, instead="redirect to https on port 443", aspects=("redirect",),
                      scope=((hr.host, ""),))
            port = None
        to_https = RequestRedirect(scheme="https", port=port, status_code=code)
        http_rules: list[Rule] = []
        seen: set[RouteMatch] = set()
        for r in rules:
            for m in r.matches:
                pm = RouteMatch(path=m.path)
                if pm in seen:
                    continue
                seen.add(pm)
                origin = r.provenance[0] if r.provenance else None
                http_rules.append(Rule(matches=(pm,), filters=(Filter("RequestRedirect", to_https, origin),),
                                       provenance=r.provenance))
        http_rules.extend(self._exempt_rules(pol, rules))
        redirect_route = replace(main, name=f"{main.name}-redirect", rules=tuple(http_rules))
        if not has_tls:
            self.note(ing, "SSL-REDIRECT-NO-TLS", Level.WARNING,
                      f"{self.controller} redirects plain HTTP for {hr.host or 'every host'} to HTTPS and answers "
                      "HTTPS with its default certificate; the Gateway has no HTTPS listener for a host without "
                      "a certificate",
                      fidelity=Fidelity.APPROXIMATE,
                      instead="redirect route on the HTTP listener only; add a tls section to serve HTTPS",
                      aspects=("tls", "status", "backend"), scope=((hr.host, ""),))
            return [redirect_route]
        return [https, redirect_route]

    def _exempt_rules(self, pol: HaproxyPolicy, rules: Sequence[Rule]) -> list[Rule]:
        """Paths the HTTPS redirect skips (ACME challenges): served on HTTP by the rule whose
        prefix covers them."""
        out: list[Rule] = []
        for exempt in pol.ssl_redirect_exempt:
            best: Rule | None = None
            best_len = -1
            for r in rules:
                for m in r.matches:
                    if m.path is None or m.path.type != "PathPrefix" or not r.backends:
                        continue
                    value = m.path.value.rstrip("/")
                    if (exempt == value or exempt.startswith(value + "/")) and len(value) > best_len:
                        best, best_len = r, len(value)
            if best is not None:
                out.append(replace(best, matches=(RouteMatch(path=PathMatch("PathPrefix", exempt)),),
                                   filters=tuple(_moved(f, best_len, exempt) for f in best.filters)))
        return out


def _moved(f: Filter, prefix_len: int, exempt: str) -> Filter:
    """A rule's filter on a longer prefix (``exempt``) of its own: a prefix rewrite keeps
    rewriting what the original prefix matched."""
    v = f.value
    if isinstance(v, URLRewrite) and v.path is not None and v.path.type == "ReplacePrefixMatch":
        value = v.path.value.rstrip("/") + exempt[prefix_len:]
        return replace(f, value=replace(v, path=PathModifier("ReplacePrefixMatch", value or "/")))
    return f


def literal_origin(pattern: str) -> str | None:
    """The one origin a regular expression names, if it names exactly one."""
    text = pattern.removeprefix("^").removesuffix("$").replace("\\.", ".")
    return text if re.fullmatch(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?", text) else None

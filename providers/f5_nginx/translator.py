"""F5 NGINX Ingresses -> IR, with the controller's semantics where they differ from the spec.

Hosts and mergeable groups first (:mod:`.settings`): an Ingress keeps only the hosts it owns,
a master contributes its host's TLS and server settings, minions the paths. Paths follow the
NGINX location the controller writes (:mod:`.locations`): ``Exact`` stays Exact, ``Prefix`` and
``ImplementationSpecific`` are character prefixes (PathPrefix, noted as narrower),
``path-regex`` regexes become RegularExpression (NGINX checks them before prefixes: noted).
A TLS host redirects plain HTTP (301, ``http-redirect-code``) unless ``ssl-redirect: false``;
``redirect-to-https`` adds header-matched redirect rules, ``hsts`` a response header on the
HTTPS routes, ``app-root`` an Exact ``/`` redirect. ``rewrites``/``rewrite-target`` become
URLRewrite; the other annotations become policy intents.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from ing2gw import intents as i
from ing2gw.ir import (
    BackendRef,
    Filter,
    GatewayRef,
    HeaderMatch,
    HeaderModifier,
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
from ing2gw.names import host_slug
from ing2gw.notes import Fidelity, Level, Note, Security
from ing2gw.provider import Annotations, ProviderContext
from ing2gw.resources import Ingress

from .._common.ingress import HostRoutes, IngressTranslator, PathContext
from .._common.values import Duration
from .configmap import find_config
from .locations import location_of
from .ports import ServerPorts, ports_of
from .settings import Plan, Served, plan

__all__ = ["F5Translator", "hsts_value"]

ORG = "nginx.org/"


def hsts_value(server: Annotations) -> str:
    """The Strict-Transport-Security value the controller's template writes."""
    sub = "includeSubDomains; " if server.get(ORG + "hsts-include-subdomains") else ""
    return f"max-age={server.get(ORG + 'hsts-max-age')}; {sub}preload"


class F5Translator(IngressTranslator):
    """The F5 NGINX Ingress Controller's reading of Ingresses."""

    code = "F5"
    wildcard_any_depth = True  # server_name *.example.com matches every depth

    def __init__(self, ctx: ProviderContext) -> None:
        super().__init__(ctx)
        self.plan = Plan()
        self.originals: dict[str, Ingress] = {}
        self.config = find_config(ctx.resources, ctx.options.controller_config)
        if self.config.name:
            self.notes.add(Note(code="F5-CONTROLLER-CONFIG", level=Level.INFO,
                                subject=self.config.provenance("").subject,
                                message="controller settings read from this ConfigMap (client-max-body-size)",
                                instead="pass --controller-config to use another"))
        for key, why in self.config.invalid:
            self.notes.add(Note(code="F5-SETTING-INVALID", level=Level.WARNING, subject=self.config.provenance(
                key).subject, field=key, message=f"{key} {why}", fidelity=Fidelity.UNSUPPORTED,
                instead="the controller's default applies"))

    def served_ingresses(self, ingresses: Sequence[Ingress]) -> list[Ingress]:
        """Plan the set, and give back each served Ingress reduced to what the controller
        keeps: its own hosts' rules (none for a master) and TLS (none for a minion)."""
        self.plan = plan(ingresses, self.notes)
        out: list[Ingress] = []
        for ing in ingresses:
            served = self.plan.of(ing)
            if served is None:
                continue
            self.originals[ing.ref] = ing
            rules = tuple(r for r in ing.rules if r.host in served.hosts)
            if served.role == "master":
                rules = tuple(replace(r, paths=()) for r in rules)
            tls = () if served.role == "minion" else tuple(
                replace(t, hosts=tuple(h for h in t.hosts if h in served.hosts)) for t in ing.tls)
            default = ing.default_backend if served.role == "" and "" in served.hosts else None
            out.append(replace(ing, rules=rules, tls=tls, default_backend=default))
        return out

    def server_ports(self, ref: str) -> ServerPorts:
        """The ports of the server that serves the Ingress ``ref`` (its master's for a minion)."""
        served = self.plan.served.get(ref)
        return ports_of(served.server) if served is not None else ServerPorts()

    def served(self, ing: Ingress) -> Served:
        served = self.plan.of(ing)
        assert served is not None
        return served

    # --- matches -------------------------------------------------------------------------

    def path_matches(self, pc: PathContext) -> list[RouteMatch]:
        served = self.served(pc.ingress)
        loc = location_of(pc.path.path, pc.path.path_type, served.annotations.get(ORG + "path-regex"))
        fld = pc.path.field + ".path"
        if loc.modifier == "=":
            return [RouteMatch(path=PathMatch("Exact", loc.path))]
        if loc.modifier in ("~", "~*"):
            body = loc.path[1:]
            value = ("(?i)" if loc.modifier == "~*" else "") + body + ".*"
            self.note(pc, "PATH-REGEX", Level.INFO,
                      f"location {loc.directive}: a PCRE regex anchored at the start only, checked before the "
                      "longest prefix location and in the configuration's order",
                      fidelity=Fidelity.APPROXIMATE,
                      instead=f"RegularExpression {value}: Gateway API prefers every PathPrefix and Exact rule of "
                              "the host over it", fld=fld, aspects=("status", "backend", "path"),
                      scope=((pc.host, "~" + ("(?i)" if loc.modifier == "~*" else "") + loc.path),))
            return [RouteMatch(path=PathMatch("RegularExpression", value))]
        value = loc.path.rstrip("/") or "/"
        if loc.path != "/":
            self.note(pc, "PATH-CHARACTER-PREFIX", Level.INFO,
                      f"location {loc.path} is a character prefix ({loc.path.rstrip('/')}x matches it too)"
                      + (f", and NGINX redirects {value} to {loc.path} (301)" if loc.path.endswith("/") else ""),
                      fidelity=Fidelity.APPROXIMATE, instead=f"PathPrefix {value}, which matches whole segments",
                      fld=pc.path.field + ".pathType",
                      aspects=("status", "backend", "path", *(("redirect",) if loc.path.endswith("/") else ())),
                      # where a character prefix and a segment prefix differ: /p followed by more than a
                      # segment (and /p itself, which the location p/ redirects)
                      scope=((pc.host, "~^" + re.escape(value) + ("([^/]|$)" if loc.path.endswith("/") else "[^/]")),))
        return [RouteMatch(path=PathMatch("PathPrefix", value))]

    # --- rules ---------------------------------------------------------------------------

    def path_rules(self, pc: PathContext, matches: list[RouteMatch], backends: tuple[BackendRef, ...]) -> list[Rule]:
        served = self.served(pc.ingress)
        ann, server = served.annotations, served.server
        pm = matches[0].path
        assert pm is not None
        filters: list[Filter] = []
        rewrite = self._rewrite(pc, ann, pm)
        if rewrite is not None:
            filters.append(Filter("URLRewrite", URLRewrite(path=rewrite), pc.provenance))
        request = self._set_headers(pc, ann)
        if request is not None:
            filters.append(Filter("RequestHeaderModifier", request, pc.provenance))
        hide = server.get(ORG + "proxy-hide-headers")
        if hide:
            filters.append(Filter("ResponseHeaderModifier", HeaderModifier(remove=tuple(hide)), pc.provenance))
        service = pc.path.backend.service or ""
        if service in (ann.get(ORG + "ssl-services") or ()):
            self.note(pc, "SSL-SERVICE", Level.WARNING,
                      f"Service {service} is reached over HTTPS without verifying its certificate",
                      fidelity=Fidelity.UNSUPPORTED,
                      instead="no BackendTLSPolicy (it needs a CA and a hostname): plain HTTP to the backend",
                      fld=ORG + "ssl-services", aspects=("status",))
        if service in (ann.get(ORG + "grpc-services") or ()):
            self.note(pc, "GRPC-SERVICE", Level.INFO, f"Service {service} is spoken to with gRPC (grpc_pass)",
                      fidelity=Fidelity.APPROXIMATE,
                      instead="an HTTPRoute rule: set appProtocol kubernetes.io/h2c on the Service port",
                      fld=ORG + "grpc-services", aspects=("status",))
        read = ann.get(ORG + "proxy-read-timeout")
        timeouts = Timeouts(backend_request=Duration(read).gateway()) if read else None
        return [Rule(matches=tuple(matches), backends=backends, filters=tuple(filters), timeouts=timeouts,
                     intents=tuple(self._intents(pc, ann)), provenance=(pc.provenance,))]

    def _rewrite(self, pc: PathContext, ann: Annotations, pm: PathMatch) -> PathModifier | None:
        rewrites = ann.get(ORG + "rewrites") or {}
        target = rewrites.get(pc.path.backend.service or "")
        if target is not None:
            if pm.type == "RegularExpression":
                self.note(pc, "REWRITES-REGEX", Level.WARNING,
                          "nginx.org/rewrites on a regex location (NGINX refuses a proxy_pass URI there)",
                          fidelity=Fidelity.UNSUPPORTED, instead="not converted", fld=ORG + "rewrites",
                          aspects=("path", "status"))
                return None
            if pm.type == "Exact":
                return PathModifier("ReplaceFullPath", target)
            if target.endswith("/") and target != "/":
                self.note(pc, "REWRITES-SLASH", Level.INFO,
                          f"NGINX replaces the location {pm.value} by {target} literally ({pm.value}/x becomes "
                          f"{target}/x)", fidelity=Fidelity.APPROXIMATE,
                          instead=f"ReplacePrefixMatch {target} joins segments with one /", fld=ORG + "rewrites",
                          aspects=("path",))
            return PathModifier("ReplacePrefixMatch", target)
        value = ann.get(ORG + "rewrite-target")
        if not value or ORG + "rewrites" in ann:
            if value:
                self.note(pc, "REWRITE-TARGET-IGNORED", Level.WARNING,
                          "nginx.org/rewrites and nginx.org/rewrite-target are mutually exclusive; rewrites wins",
                          instead="rewrite-target ignored", fld=ORG + "rewrite-target")
            return None
        if "$" in value or "?" in value:
            self.note(pc, "REWRITE-TARGET-CAPTURES", Level.WARNING,
                      f"rewrite-target {value} uses regex captures or arguments", fidelity=Fidelity.UNSUPPORTED,
                      instead="not converted: the path reaches the backend unchanged", fld=ORG + "rewrite-target",
                      aspects=("path",))
            return None
        return PathModifier("ReplaceFullPath", value)

    def _set_headers(self, pc: PathContext, ann: Annotations) -> HeaderModifier | None:
        given = ann.get(ORG + "proxy-set-headers") or ()
        pairs = [(name, value) for name, value in given if value is not None and "$" not in value]
        lost = [name for name, value in given if value is not None and "$" in value]
        if lost:
            self.note(pc, "PROXY-SET-HEADERS-VARIABLES", Level.WARNING,
                      f"proxy-set-headers {', '.join(lost)} use NGINX variables", fidelity=Fidelity.UNSUPPORTED,
                      instead="not converted", fld=ORG + "proxy-set-headers")
        return HeaderModifier(set=tuple(pairs)) if pairs else None

    def _intents(self, pc: PathContext, ann: Annotations) -> list[i.Intent]:
        ing = pc.ingress

        def prov(key: str) -> Provenance:
            return Provenance("Ingress", ing.namespace, ing.name, key, ing.origin)

        out: list[i.Intent] = []
        connect, send = ann.get(ORG + "proxy-connect-timeout"), ann.get(ORG + "proxy-send-timeout")
        if connect is not None or send is not None:
            out.append(i.Timeouts(connect_ms=connect, send_ms=send, read_ms=ann.get(ORG + "proxy-read-timeout"),
                                  provenance=prov(ORG + "proxy-connect-timeout")))
        body = ann.get(ORG + "client-max-body-size")
        if body is None and self.config.client_max_body_size_set:
            if self.config.client_max_body_size:  # the ConfigMap's, on every location
                out.append(i.BodyLimit(max_bytes=self.config.client_max_body_size,
                                       provenance=self.config.provenance("client-max-body-size")))
        elif body is None:
            out.append(i.BodyLimit(max_bytes=self.config.client_max_body_size, implicit=True,
                                   provenance=prov(ORG + "client-max-body-size")))
        elif body:
            out.append(i.BodyLimit(max_bytes=body, provenance=prov(ORG + "client-max-body-size")))
        if ORG + "proxy-next-upstream" in ann or ORG + "proxy-next-upstream-tries" in ann:
            out.append(i.Retries(on=tuple(str(ann.get(ORG + "proxy-next-upstream") or "error timeout").split()),
                                 attempts=int(ann.get(ORG + "proxy-next-upstream-tries") or 0),
                                 budget_ms=ann.get(ORG + "proxy-next-upstream-timeout"),
                                 provenance=prov(ORG + "proxy-next-upstream")))
        if ORG + "lb-method" in ann or ann.get(ORG + "use-cluster-ip"):
            out.append(i.LoadBalancing(algorithm=ann.get(ORG + "lb-method"), service_address=bool(
                ann.get(ORG + "use-cluster-ip")), provenance=prov(ORG + "lb-method")))
        secret = ann.get(ORG + "basic-auth-secret")
        if secret:
            ref = secret if "/" in secret else f"{ing.namespace}/{secret}"
            out.append(i.BasicAuth(scheme="basic", secret=ref, secret_layout="htpasswd",
                                   realm=ann.get(ORG + "basic-auth-realm"), provenance=prov(ORG + "basic-auth-secret")))
        rate = ann.get(ORG + "limit-req-rate")
        if rate and not ann.get(ORG + "limit-req-dry-run"):
            out.append(i.RateLimit(rate=rate[0], unit=rate[1], burst=int(ann.get(ORG + "limit-req-burst") or 0),
                                   key=str(ann.get(ORG + "limit-req-key") or "${binary_remote_addr}"),
                                   status=int(ann.get(ORG + "limit-req-reject-code") or 429),
                                   provenance=prov(ORG + "limit-req-rate")))
        for key in ("server-snippets", "location-snippets", "keepalive", "max-fails", "fail-timeout", "max-conns"):
            if ORG + key in ann:
                raw = " ".join(line.strip() for line in self._raw(ing, ORG + key).splitlines() if line.strip())
                out.append(i.Opaque(vendor="f5-nginx", key=ORG + key, raw=raw,
                                    affects=("status", "headers"), provenance=prov(ORG + key)))
        if ann.get("nginx.com/jwt-key"):
            out.append(i.Opaque(vendor="f5-nginx", key="nginx.com/jwt-key", raw=str(ann.get("nginx.com/jwt-key")),
                                protection=Security.AUTHENTICATION, affects=("status", "auth"),
                                provenance=prov("nginx.com/jwt-key")))
        if ann.get("appprotect.f5.com/app-protect-enable"):
            out.append(i.Waf(engine="nginx-app-protect", rules=ann.get("appprotect.f5.com/app-protect-policy"),
                             provenance=prov("appprotect.f5.com/app-protect-enable")))
        return out

    def _raw(self, ing: Ingress, key: str) -> str:
        original = self.originals.get(ing.ref, ing)
        return original.annotations.get(key, "")

    # --- routes --------------------------------------------------------------------------

    def host_routes(self, hr: HostRoutes, has_tls: bool) -> list[Route]:
        server = self.served(hr.ingress).server
        redirect = has_tls and bool(server.get(ORG + "ssl-redirect"))
        if server.get(ORG + "redirect-to-https"):
            hr.rules[:0] = self._forwarded_proto_redirects(hr, server)
        hsts = has_tls and bool(server.get(ORG + "hsts"))
        if not has_tls:
            return [self.make_route(hr, frozenset({"http"}))]
        if not hsts:
            return [self.make_route(hr, frozenset({"https"}) if redirect else frozenset({"http", "https"}))]
        if server.get(ORG + "hsts-behind-proxy"):
            self.note(hr.ingress, "HSTS-BEHIND-PROXY", Level.INFO,
                      "hsts-behind-proxy: NGINX sends HSTS when X-Forwarded-Proto is https",
                      fidelity=Fidelity.APPROXIMATE, instead="HSTS on the HTTPS listener's answers",
                      fld=ORG + "hsts-behind-proxy", aspects=("headers",), scope=((hr.host, ""),))
        header = Filter("ResponseHeaderModifier", HeaderModifier(set=(("Strict-Transport-Security",
                                                                       hsts_value(server)),)))
        secure = HostRoutes(hr.ingress, hr.host, hr.gateway,
                            [replace(r, filters=(*r.filters, header)) if r.backends else r for r in hr.rules])
        routes = [self.make_route(secure, frozenset({"https"}))]
        if not redirect:
            plain = self.make_route(hr, frozenset({"http"}))
            routes.append(replace(plain, name=plain.name + "-http"))
        return routes

    def _forwarded_proto_redirects(self, hr: HostRoutes, server: Annotations) -> list[Rule]:
        """``redirect-to-https``: every request of the host whose X-Forwarded-Proto is http is
        redirected -- one rule per path (so that it outranks the path's own rule) and one for /."""
        code = int(server.get(ORG + "http-redirect-code"))
        flt = Filter("RequestRedirect", RequestRedirect(scheme="https", status_code=code))
        header = HeaderMatch("X-Forwarded-Proto", "http")
        paths = {m.path for r in hr.rules for m in r.matches if m.path is not None}
        paths.add(PathMatch("PathPrefix", "/"))
        ing = hr.ingress
        prov = Provenance("Ingress", ing.namespace, ing.name, ORG + "redirect-to-https", ing.origin)
        return [Rule(matches=(RouteMatch(path=p, headers=(header,)),), filters=(flt,), provenance=(prov,))
                for p in sorted(paths, key=lambda p: (p.type, p.value))]

    def _unmatched_body_note(self, host: str, owner: Ingress) -> None:
        """Where no location of the host answers, NGINX still holds a body to its own 1m (413
        before the 404): a note scoped to exactly those paths, for hosts with a regex or exact
        location (where a request for a rule's own path can miss every location; none when
        ``/`` is a location)."""
        excluded = []
        strict = False
        for served in self.plan.served.values():
            if host not in served.hosts:
                continue
            regex = served.annotations.get(ORG + "path-regex")
            for rule in served.ingress.rules:
                for p in rule.paths if rule.host == host else ():
                    loc = location_of(p.path, p.path_type, regex)
                    if loc.modifier == "" and loc.path == "/":
                        return
                    body = re.escape(loc.path) + "$" if loc.modifier == "=" else (
                        loc.path[1:] if loc.modifier in ("~", "~*") else re.escape(loc.path))
                    excluded.append(f"(?i:{body})" if loc.modifier == "~*" else body)
                    strict = strict or loc.modifier != ""
        if not strict:
            return
        lookahead = f"(?!{'|'.join(sorted(set(excluded)))})" if excluded else ""
        self.note(owner, "BODY-LIMIT-UNMATCHED", Level.INFO,
                  f"a request for {host} that no location takes is still held to NGINX's own client_max_body_size "
                  "1m: a larger body gets 413, not 404", fidelity=Fidelity.APPROXIMATE,
                  instead="the Gateway answers 404 whatever the body", fld="spec.rules", aspects=("status",),
                  scope=((host, "~^" + lookahead),))

    def extra_routes(self, hosts: Sequence[HostRoutes], tls_hosts: set[tuple[GatewayRef, str]]) -> list[Route]:
        """Per host, once: the HTTPS redirect of plain HTTP (server-wide) and ``app-root``."""
        out: list[Route] = []
        done: set[str] = set()
        for hr in sorted(hosts, key=lambda h: (h.host, h.ingress.ref)):
            served = self.served(hr.ingress)
            owner = served.master or hr.ingress
            if hr.host in done or (not hr.rules and served.role != "master"):
                continue
            done.add(hr.host)
            self._unmatched_body_note(hr.host, owner)
            server = served.server
            has_tls = (hr.gateway, hr.host) in tls_hosts or self._covered(hr.gateway, hr.host, tls_hosts)
            redirect = has_tls and bool(server.get(ORG + "ssl-redirect"))
            source = Provenance("Ingress", owner.namespace, owner.name, "", owner.origin)
            base = f"{owner.name}-{host_slug(hr.host)}" if hr.host else owner.name
            hostnames = (hr.host,) if hr.host else ()
            if redirect:
                code = int(server.get(ORG + "http-redirect-code"))
                rule = Rule(matches=(RouteMatch(path=PathMatch("PathPrefix", "/")),),
                            filters=(Filter("RequestRedirect", RequestRedirect(scheme="https", status_code=code)),),
                            provenance=(replace(source, field="spec.tls"),))
                out.append(Route("HTTPRoute", owner.namespace, base + "-https-redirect", hr.gateway, hostnames,
                                 frozenset({"http"}), (rule,), (source,)))
                ssl_port = (ports_of(server).https or (443,))[0]
                self.note(owner, "SSL-REDIRECT-PORT", Level.INFO,
                          f"the controller redirects plain HTTP of {hr.host} to https://$host:{ssl_port}$request_uri "
                          f"({code}), with the port written out and the request target as sent",
                          fidelity=Fidelity.APPROXIMATE,
                          instead="RequestRedirect to https without the default port, with the normalised path",
                          fld="spec.tls", aspects=("redirect",), scope=((hr.host, ""),))
            app_root = server.get(ORG + "app-root")
            if app_root:
                rules = [Rule(matches=(RouteMatch(path=PathMatch("Exact", "/")),),
                              filters=(Filter("RequestRedirect", RequestRedirect(
                                  path=PathModifier("ReplaceFullPath", app_root), status_code=302)),),
                              provenance=(replace(source, field=ORG + "app-root"),))]
                if server.get(ORG + "redirect-to-https"):  # the server's X-Forwarded-Proto check comes first
                    flt = Filter("RequestRedirect", RequestRedirect(
                        scheme="https", status_code=int(server.get(ORG + "http-redirect-code"))))
                    rules.insert(0, Rule(matches=(RouteMatch(path=PathMatch("Exact", "/"), headers=(
                        HeaderMatch("X-Forwarded-Proto", "http"),)),), filters=(flt,),
                        provenance=(replace(source, field=ORG + "redirect-to-https"),)))
                sections: frozenset[Section] = frozenset({"https"}) if redirect else (
                    frozenset({"http", "https"}) if has_tls else frozenset({"http"}))
                out.append(Route("HTTPRoute", owner.namespace, base + "-app-root", hr.gateway, hostnames, sections,
                                 tuple(rules), (source,)))
                self.note(owner, "APP-ROOT-HOST", Level.INFO,
                          f"app-root redirects / to $scheme://$http_host{app_root}: the Host header as the client "
                          "wrote it (case, port)", fidelity=Fidelity.APPROXIMATE,
                          instead="RequestRedirect with the request's hostname, lower-cased", fld=ORG + "app-root",
                          aspects=("redirect",), scope=((hr.host, ""),))
        return out

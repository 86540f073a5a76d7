"""A data-plane model of the F5 NGINX Ingress Controller: what its NGINX does with a request.

One ``server`` per host (the owner's, :mod:`.settings`), one ``location`` per path
(:mod:`.locations`). A request: ``$uri`` normalised as NGINX does (decoded, ``//`` merged, dot
segments resolved; 400 above the root); the server by Host (exact, then the longest leading
wildcard, then a trailing one) among the servers listening on the request's port -- 80 and 443,
or ``listen-ports``/``listen-ports-ssl`` (:mod:`.ports`); none: the default server's 404 on 80
and 443, and on another port the first server listening there, in configuration order; the
server-level ``if``s in the template's order -- the HTTPS redirect of a TLS host
(``https://$host:443$request_uri``, the first SSL port),
``redirect-to-https`` on ``X-Forwarded-Proto: http``, ``app-root`` for ``/``; then NGINX's
location choice -- an exact location, else the longest prefix, unless a regex location
(checked in configuration order) matches; a prefix location ending in ``/`` answers its path
without the slash with a 301 --; in the location basic auth (401 without credentials),
``rewrite-target``'s ``rewrite ... break``, and ``proxy_pass`` (with a URI for ``rewrites``: the
location's prefix replaced). Before the location acts, its protections in NGINX's phase order
(:mod:`.access`): ``client_max_body_size`` (413; ``client-max-body-size``, else the ConfigMap's,
else 1m -- 1m too where no location answers), ``limit-req-rate`` (counted only by the model
:meth:`F5Model.enforcing` gives) and basic auth (401; credentials checked against ``--htpasswd``
files). HSTS is added on HTTPS answers. The result is the reference router's
:class:`~ing2gw.router.Outcome`.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ing2gw.enforce.buckets import NginxLimitReq
from ing2gw.enforce.credentials import Credentials
from ing2gw.http import Headers, Request
from ing2gw.notes import Notes
from ing2gw.resources import Ingress, IngressBackend, ResourceSet
from ing2gw.router.outcome import Matched, Outcome, RedirectTo, RuleInfo, Upstream

from ..ingress_nginx.model.uri import BadURI, escape_uri, normalise
from .access import Enforcement, Guards, Refusal, Zone, auth_refusal, body_refusal, limit_refusal
from .configmap import DEFAULT_BODY, F5Config, find_config
from .locations import Location, location_of, rewrite_pattern
from .ports import ports_of
from .settings import Served, plan
from .translator import hsts_value
from .vsmodel import VSLocation, VSServer, answer, choose, unmatched, vs_servers

__all__ = ["F5Model", "NginxLocation", "Server"]

ORG = "nginx.org/"


@dataclass(frozen=True, slots=True)
class F5Match(Matched):
    """The location that answered (JSON ``{"ingress", "path", "location"}``)."""

    location: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"ingress": self.route or None, "path": self.rule_name, "location": self.location}


@dataclass(frozen=True, slots=True)
class NginxLocation:
    location: Location
    ingress: str
    ingress_path: str
    backend: str | None  # ns/svc:port
    rewrite: str | None = None  # the proxy_pass URI (nginx.org/rewrites)
    rewrite_target: tuple[str, str] | None = None  # (pattern, replacement)
    guards: Guards = Guards(DEFAULT_BODY)  # body limit, limit_req, basic auth
    regex: re.Pattern[str] | None = None


@dataclass(slots=True)
class Server:
    name: str
    ssl: bool = False
    ssl_redirect: bool = True
    code: int = 301
    redirect_to_https: bool = False
    hsts: str | None = None
    hsts_behind_proxy: bool = False
    app_root: str | None = None
    locations: list[NginxLocation] = field(default_factory=list)
    ports: tuple[int, ...] = (80,)  # listen-ports
    ssl_ports: tuple[int, ...] = (443,)  # listen-ports-ssl (a TLS host's)
    conf: str = ""  # its configuration file's name (ns-name of the owner): NGINX's order of servers


def _backend(namespace: str, backend: IngressBackend, resources: ResourceSet) -> str | None:
    if backend.service is None:
        return None
    port: int | str | None = backend.port_number
    if port is None:
        svc = resources.services.get((namespace, backend.service))
        port = next((p.port for p in svc.ports if p.name == backend.port_name), backend.port_name) if svc else (
            backend.port_name)
    return f"{namespace}/{backend.service}:{port}"


def _guards(served: Served, config: F5Config) -> Guards:
    """The protections every location of one served Ingress has."""
    ing, ann = served.ingress, served.annotations
    body = ann.get(ORG + "client-max-body-size")
    zones: tuple[Zone, ...] = ()
    rate = ann.get(ORG + "limit-req-rate")
    if rate and not ann.get(ORG + "limit-req-dry-run"):
        zones = (Zone(ing.ref, rate[0], rate[1], int(ann.get(ORG + "limit-req-burst") or 0),
                      str(ann.get(ORG + "limit-req-key") or "${binary_remote_addr}")),)
    secret = ann.get(ORG + "basic-auth-secret")
    return Guards(body_max=config.client_max_body_size if body is None else (body or None), zones=zones,
                  reject=int(ann.get(ORG + "limit-req-reject-code") or 429),
                  auth_secret=(secret if "/" in secret else f"{ing.namespace}/{secret}") if secret else None,
                  auth_realm=str(ann.get(ORG + "basic-auth-realm") or ""))


def _locations(served: Served, resources: ResourceSet, config: F5Config) -> list[NginxLocation]:
    ing: Ingress = served.ingress
    ann = served.annotations
    regex = ann.get(ORG + "path-regex")
    rewrites = ann.get(ORG + "rewrites") or {}
    target = None if ORG + "rewrites" in ann else ann.get(ORG + "rewrite-target")
    guards = _guards(served, config)
    out = []
    for rule in ing.rules:
        if rule.host not in served.hosts:
            continue
        for p in rule.paths:
            loc = location_of(p.path, p.path_type, regex)
            compiled = None
            if loc.modifier in ("~", "~*"):
                try:
                    compiled = re.compile(loc.path, re.IGNORECASE if loc.modifier == "~*" else 0)
                except re.error:
                    continue  # nginx -t would fail: the controller rejects the configuration
            out.append(NginxLocation(
                loc, ing.ref, p.path or "/", _backend(ing.namespace, p.backend, resources),
                rewrites.get(p.backend.service or ""),
                (rewrite_pattern(p.path, regex), target) if target else None, guards, compiled))
    return out


class F5Model:
    """The controller's servers and locations for a set of Ingresses, and NGINX's handling."""

    def __init__(self, servers: Sequence[Server], notes: Notes, resources: ResourceSet | None = None,
                 virtual: Sequence[VSServer] = (), config: F5Config | None = None) -> None:
        self.servers = {s.name: s for s in servers}
        self.virtual = {s.name: s for s in virtual}
        self.notes = notes
        self.resources = resources  # the input, for the nginx oracle's independent configuration
        self.config = config or F5Config()
        self.enforcement = Enforcement()

    def enforcing(self, credentials: Credentials, clock: Callable[[], float] | None = None,
                  count: bool = True) -> F5Model:
        """The same model checking basic-auth credentials against ``credentials`` and, with
        ``count``, counting the ``limit_req`` zones on ``clock``."""
        model = copy.copy(self)
        model.enforcement = Enforcement(credentials, NginxLimitReq() if count else None, clock or (lambda: 0.0))
        return model

    @classmethod
    def from_resources(cls, resources: ResourceSet, controller_config: Mapping[str, str] | None = None) -> F5Model:
        config = find_config(resources, controller_config)
        notes = Notes()
        p = plan(resources.ingresses, notes)
        servers: dict[str, Server] = {}
        for host, owner_ref in p.owners.items():
            owner = p.served.get(owner_ref)
            if owner is None:
                continue
            s = owner.server
            tls_hosts = {h for t in owner.ingress.tls for h in t.hosts}
            listen = ports_of(s)
            servers[host] = Server(
                ports=listen.http or (80,), ssl_ports=listen.https or (443,),
                conf=f"{owner.ingress.namespace}-{owner.ingress.name}",
                name=host, ssl=host in tls_hosts, ssl_redirect=bool(s.get(ORG + "ssl-redirect")),
                code=int(s.get(ORG + "http-redirect-code")), redirect_to_https=bool(s.get(ORG + "redirect-to-https")),
                hsts=hsts_value(s) if s.get(ORG + "hsts") else None,
                hsts_behind_proxy=bool(s.get(ORG + "hsts-behind-proxy")), app_root=s.get(ORG + "app-root"))
        ordered = sorted(p.served.values(), key=lambda sv: (sv.role != "master", sv.ingress.created or "~",
                                                            sv.ingress.namespace, sv.ingress.name))
        for served in ordered:
            for host in served.hosts:
                if host in servers:
                    servers[host].locations += _locations(served, resources, config)
        objects = [o for kind, objs in resources.objects.items() if kind.group == "k8s.nginx.org" for o in objs]
        return cls(list(servers.values()), notes, resources, vs_servers(objects, set(servers), config), config)

    def _server(self, hostname: str, scheme: str = "http", port: int | None = None) -> Server | VSServer | None:
        """The server NGINX picks: by name among those listening on the port (``None``: the
        scheme's default); on a port the default server does not listen on (one of
        ``listen-ports``), the first of them in configuration order when none has the name."""
        default = 443 if scheme == "https" else 80
        port = default if port is None else port
        on_port = [n for n, sv in self.servers.items() if port in (sv.ssl_ports if scheme == "https" else sv.ports)]
        on_port += [n for n in self.virtual if port == default]
        found = self._by_name(hostname, on_port)
        if found is None and port not in (80, 443):
            first = min((self.servers[n] for n in on_port if n in self.servers), key=lambda sv: sv.conf, default=None)
            return first
        if found is None:
            return None
        return self.servers[found] if found in self.servers else self.virtual[found]

    @staticmethod
    def _by_name(hostname: str, names: list[str]) -> str | None:
        found: str | None = hostname if hostname in names else None
        if found is None:
            wild = [n for n in names if n.startswith("*.") and hostname.endswith(n[1:])]
            tail = [n for n in names if n.endswith(".*") and hostname.startswith(n[:-1])]
            found = max(wild, key=len) if wild else (max(tail, key=len) if tail else None)
        return found

    def _virtual(self, server: VSServer, request: Request, uri: str) -> Outcome:
        redirect = server.redirect
        if server.ssl and redirect.get("enable"):
            by_header = redirect.get("basedOn") == "x-forwarded-proto"
            plain = request.headers.get("x-forwarded-proto") == "http" if by_header else request.scheme == "http"
            if plain:
                code = int(redirect.get("code", 301))
                location = f"https://{request.hostname}{request.target}"
                return Outcome(code, "SSLRedirect", redirect=RedirectTo(location, code))
        if server.broken:  # the server-level return of an unusable spec.policies reference
            return Outcome(500, "PolicyInvalid", notes=("a Policy spec.policies references is missing or invalid",))
        loc = choose(server, uri)
        if loc is None:
            refusal = unmatched(server, request, self.enforcement)
            if refusal is not None:
                return Outcome(refusal.status, refusal.reason, response_headers=refusal.headers,
                               notes=(refusal.why,))
            return Outcome(404, "NoMatchingLocation", notes=(f"server {server.name} has no location for {uri}",))

        def info_for(entry: VSLocation, backend: str | None, shares: dict[str, float]) -> RuleInfo:
            return RuleInfo(matched=F5Match(gateway="f5-nginx", listener=request.scheme, kind=entry.kind,
                                            route=entry.source, rule_name=entry.path,
                                            location=entry.location.directive),
                            backend=backend, weights=shares)

        return answer(server, loc, request, uri, info_for, self.enforcement)

    def route(self, request: Request, client_ip: str | None = None) -> Outcome:
        try:
            uri = normalise(request.path)
        except BadURI as exc:
            return Outcome(400, "BadRequest", notes=(str(exc),))
        server = self._server(request.hostname, request.scheme, request.port)
        if server is None:
            named = self._server(request.hostname, "http", 80) or self._server(request.hostname, "https", 443)
            if named is not None and request.scheme == "https" and not named.ssl:
                return Outcome(404, "NoMatchingServer", notes=(
                    f"{named.name} has no certificate: its server listens on port 80 only and the HTTPS default "
                    "server answers 404",))
            return Outcome(404, "NoMatchingServer", notes=("the default server answers 404",))
        if request.scheme == "https" and not server.ssl:
            return Outcome(404, "NoMatchingServer", notes=(f"{server.name} has no certificate: its server listens on "
                                                           "port 80 only and the HTTPS default server answers 404",))
        if isinstance(server, VSServer):
            return self._virtual(server, request, uri)
        matched = F5Match(gateway="f5-nginx", listener=request.scheme)
        base = RuleInfo(matched=matched, backend=None, weights={})
        raw_target = request.target
        # the server's add_header ... always: on every answer, when its value is not empty
        secure = request.scheme == "https" if not server.hsts_behind_proxy else (
            request.headers.get("x-forwarded-proto") == "https")
        response = Headers()
        if server.hsts and secure:
            response = response.set("Strict-Transport-Security", server.hsts)
        if server.ssl and server.ssl_redirect and request.scheme == "http":
            location = f"https://{request.hostname}:{server.ssl_ports[0]}{raw_target}"
            return Outcome(server.code, "SSLRedirect", base, redirect=RedirectTo(location, server.code))
        if server.redirect_to_https and request.headers.get("x-forwarded-proto") == "http":
            location = f"https://{request.hostname}{raw_target}"
            return Outcome(server.code, "SSLRedirect", base, redirect=RedirectTo(location, server.code),
                           response_headers=response)
        if server.app_root and uri == "/":
            location = f"{request.scheme}://{request.host}{server.app_root}"
            return Outcome(302, "AppRoot", base, redirect=RedirectTo(location, 302), response_headers=response)
        loc, slash = self._choose(server, uri)
        # find-config phase: the body limit of the location found (NGINX's 1m where none is)
        refusal = body_refusal(loc.guards.body_max if loc is not None else DEFAULT_BODY, request)
        if refusal is not None:
            return self._refused(refusal, base, response)
        if slash:
            location = f"{request.scheme}://{request.hostname}{uri}/" + (f"?{request.query}" if request.query else "")
            return Outcome(301, "TrailingSlash", base, redirect=RedirectTo(location, 301), response_headers=response)
        if loc is None:
            return Outcome(404, "NoMatchingLocation", base, response_headers=response,
                           notes=(f"server {server.name} has no location for {uri}",))
        info = RuleInfo(matched=F5Match(gateway="f5-nginx", listener=request.scheme, kind="Ingress", route=loc.ingress,
                                        rule_name=loc.ingress_path, location=loc.location.directive),
                        backend=loc.backend, weights={loc.backend: 100} if loc.backend else {})
        # pre-access (limit_req), then access (basic auth)
        refusal = limit_refusal(self.enforcement, loc.guards, request) or auth_refusal(
            self.enforcement, loc.guards, request)
        if refusal is not None:
            return self._refused(refusal, info, response)
        if loc.backend is None:
            return Outcome(503, "NoBackend", info)
        upstream = Upstream(request.method, request.hostname, self._upstream_target(loc, uri, request),
                            request.headers)
        return Outcome(200, "Routed", info, served=True, upstream=upstream, response_headers=response)

    @staticmethod
    def _refused(refusal: Refusal, info: RuleInfo, response: Headers) -> Outcome:
        for name in refusal.headers:
            response = response.set(name, refusal.headers.get(name) or "")
        return Outcome(refusal.status, refusal.reason, info, response_headers=response, notes=(refusal.why,))

    @staticmethod
    def _choose(server: Server, uri: str) -> tuple[NginxLocation | None, bool]:
        """NGINX's location choice; (the location ``uri/``, True) when its 301 to ``uri/`` answers."""
        for loc in server.locations:
            if loc.location.modifier == "=" and loc.location.path == uri:
                return loc, False
        prefixes = [loc for loc in server.locations
                    if loc.location.modifier == "" and uri.startswith(loc.location.path)]
        best = max(prefixes, key=lambda loc: len(loc.location.path), default=None)
        if best is None or best.location.path != uri:
            slashed = next((loc for loc in server.locations
                            if loc.location.modifier == "" and loc.location.path == uri + "/"), None)
            if slashed is not None and (best is None or len(best.location.path) <= len(uri)):
                return slashed, True
        for loc in server.locations:
            if loc.regex is not None and loc.regex.search(uri):
                return loc, False
        return best, False

    @staticmethod
    def _upstream_target(loc: NginxLocation, uri: str, request: Request) -> str:
        args = f"?{request.query}" if request.query else ""
        if loc.rewrite_target is not None:
            pattern, replacement = loc.rewrite_target
            try:
                found = re.search(pattern.replace("(?i)", ""), uri, re.IGNORECASE if "(?i)" in pattern else 0)
            except re.error:
                found = None
            if found is not None:
                groups = found.groups("")
                new = re.sub(r"\$(\d)", lambda m: groups[int(m.group(1)) - 1] if 0 < int(m.group(1)) <= len(groups)
                             else "", replacement)
                if "?" in new:
                    path, _, query = new.partition("?")
                    return escape_uri(path) + "?" + query + (f"&{request.query}" if request.query else "")
                return escape_uri(new) + args
        if loc.rewrite is not None:
            rest = uri[len(loc.location.path):] if loc.location.modifier == "" else ""
            return escape_uri(loc.rewrite + rest) + args
        return request.target

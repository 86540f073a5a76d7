"""A data-plane model of Contour (its Envoy): what the HTTP (80) and HTTPS (443) listeners do
with one request, for ``verify`` and ``route --as contour``.

Built from the Ingresses and HTTPProxies of a resource set, it follows what Contour programs:

* the path normalised first (``normalize_path``: escaped unreserved characters decoded, dot
  segments resolved; ``merge_slashes``: ``//`` merged; ``%2F`` kept), for matching and for
  the backend;
* virtual hosts by the Host header (port dropped, lower-cased): the exact name, else the
  wildcard ``*.domain`` (one label only: Contour adds an authority regex), else the host-less
  ``*`` virtual host of Ingress rules without a host; no virtual host: 404;
* HTTPS: the SNI must name a virtual host with a certificate (an Ingress TLS host, an
  HTTPProxy with ``tls.secretName``), else the handshake fails (no answer); a Host other
  than the SNI gets 421;
* routes ordered as :func:`~.conditions.contour_order` says, the first that matches answers,
  else 404; duplicates keep the last HTTPProxy route and the first Ingress path;
* a route of a TLS virtual host answers plain HTTP with a 301 to https unless
  ``permitInsecure`` (Ingress: ``force-ssl-redirect``); ``kubernetes.io/ingress.allow-http:
  "false"`` keeps Ingress routes off port 80;
* answers Contour gives itself: 502 for a broken include, a ``directResponsePolicy`` status,
  redirects (``requestRedirectPolicy``, 302 unless told, the query kept), 403 for an address
  an IP allow/deny policy refuses, the local rate limit's status (429) once its token bucket
  (requests + burst, refilled at the rate) is empty -- counted only in :meth:`enforcing` copies;
* the request as the backend gets it: the largest-weight service (weights as HTTPProxy
  defines them), prefix rewrite (the matched prefix replaced), Host rewrite, request header
  set/remove; response header set/remove; CORS answers of the virtual host's policy.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ing2gw.enforce.buckets import TokenBuckets
from ing2gw.enforce.credentials import Credentials
from ing2gw.http import Headers, Request
from ing2gw.ir import HeaderModifier
from ing2gw.resources import Ingress, ResourceSet, Service
from ing2gw.router.outcome import Matched, Outcome, RedirectTo, RuleInfo, Upstream
from ing2gw.router.paths import BadPath, PathPolicy

from .._common.models import client_in_ranges
from .annotations import ALLOW_HTTP, FORCE_SSL_REDIRECT, parse_go_duration
from .conditions import HeaderCondition, PathCondition, QueryCondition, contour_order
from .httpproxy import delegated
from .ingress import ingress_path, with_default_rule
from .policies import header_modifier, number
from .tree import KINDS, ContourRoute, VirtualHost, build

__all__ = ["ENVOY_PATHS", "ContourModel", "ModelRoute"]

# Envoy as Contour configures it: normalize_path and merge_slashes on, escaped slashes kept.
ENVOY_PATHS = PathPolicy(name="contour", escaped_slashes="keep")
_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


def _quiet(*_: Any) -> None:
    """A noter for re-reading policies: the converter already noted them."""


@dataclass(frozen=True, slots=True)
class ModelRoute:
    """One Envoy route of a virtual host."""

    path: PathCondition
    headers: tuple[HeaderCondition, ...]
    query: tuple[QueryCondition, ...]
    kind: str  # "Ingress" | "HTTPProxy"
    source: str  # ns/name of the object defining it
    name: str  # the path as written (Ingress) or merged (HTTPProxy)
    backends: tuple[tuple[str, int], ...] = ()
    https_upgrade: bool = False
    status: int | None = None  # an answer Contour gives itself
    redirect: Mapping[str, Any] | None = None
    request_headers: HeaderModifier | None = None
    response_headers: HeaderModifier | None = None
    host_rewrite: str | None = None
    prefix_rewrite: str | None = None
    ip_allow: bool = False
    ip_cidrs: tuple[str, ...] = ()
    cors: Mapping[str, Any] | None = None
    rate_limit: tuple[str, int, str, int, int] | None = None  # bucket key, requests, unit, burst, status


@dataclass(slots=True)
class _Host:
    routes: list[ModelRoute] = field(default_factory=list)
    secure: bool = False


class ContourModel:
    """Contour's virtual hosts for a resource set, and its request handling."""

    def __init__(self, services: Mapping[tuple[str, str], Service]) -> None:
        self.services = services
        self.plain: dict[str, _Host] = {}
        self.secure: dict[str, _Host] = {}
        self.limiter: TokenBuckets | None = None
        self.clock: Callable[[], float] = lambda: 0.0

    def enforcing(self, credentials: Credentials, clock: Callable[[], float] | None = None,
                  count: bool = True) -> ContourModel:
        """The same model counting local rate limits (Envoy's token buckets) on ``clock``
        when ``count``; Contour has no credential checks of its own to make."""
        other = copy.copy(self)
        other.limiter = TokenBuckets() if count else None
        other.clock = clock or (lambda: 0.0)
        return other

    @classmethod
    def from_resources(cls, resources: ResourceSet) -> ContourModel:
        model = cls(resources.services)
        for ing in sorted(resources.ingresses, key=lambda i: (i.created or "~", i.namespace, i.name)):
            model._ingress(ing)
        objects = resources.claimed(KINDS)
        for vh in build(objects).hosts:
            ns, _, secret = vh.secret.rpartition("/")
            if ns and ns != vh.root.namespace and not delegated(objects, ns, secret, vh.root.namespace):
                continue  # Contour refuses a root whose Secret is not delegated to it
            model._proxy(vh)
        for table in (model.plain, model.secure):
            for host in table.values():
                host.routes = contour_order(host.routes)
        return model

    # --- building ------------------------------------------------------------------------

    def _ingress(self, ing: Ingress) -> None:
        ing = with_default_rule(ing)
        tls_hosts = {h for t in ing.tls if t.secret_name for h in t.hosts}
        upgrade = ing.annotations.get(FORCE_SSL_REDIRECT) == "true"
        http_allowed = upgrade or ing.annotations.get(ALLOW_HTTP) != "false"
        for rule in ing.rules:
            host = rule.host or "*"
            for p in rule.paths:
                kind, value = ingress_path(p.path, p.path_type)
                backend = p.backend
                if not backend.service:
                    continue
                port = backend.port_number
                if port is None:
                    port = self._named_port(ing, backend.service, backend.port_name)
                    if port is None:
                        continue
                headers = (_wildcard(host),) if host.startswith("*.") else ()
                route = ModelRoute(PathCondition(kind, value), headers, (), "Ingress", ing.ref, p.path or "/",
                                   ((f"{ing.namespace}/{backend.service}:{port}", 1),), https_upgrade=upgrade)
                if http_allowed:
                    self._add(self.plain, host, route, first_wins=True)
                if host in tls_hosts and host != "*":
                    self._add(self.secure, host, route, first_wins=True, secure=True)

    def _named_port(self, ing: Ingress, service: str, name: str | None) -> int | None:
        svc = self.services.get((ing.namespace, service))
        if svc is None:
            return None
        return next((sp.port for sp in svc.ports if sp.name == name), None)

    @staticmethod
    def _add(table: dict[str, _Host], host: str, route: ModelRoute, first_wins: bool, secure: bool = False) -> None:
        h = table.setdefault(host, _Host())
        h.secure = h.secure or secure
        key = (route.path, tuple(sorted(x.text() for x in route.headers)), tuple(sorted(q.text() for q in route.query)))
        for n, old in enumerate(h.routes):
            if (old.path, tuple(sorted(x.text() for x in old.headers)),
                    tuple(sorted(q.text() for q in old.query))) == key:
                if not first_wins:
                    h.routes[n] = route
                return
        h.routes.append(route)

    def _proxy(self, vh: VirtualHost) -> None:
        if vh.tcpproxy is not None or (vh.tls is not None and not vh.secret and not vh.passthrough):
            secure_routes = False
        else:
            secure_routes = bool(vh.secret)
        tls = vh.tls is not None
        cors = vh.virtualhost.get("corsPolicy")
        host = vh.fqdn
        headers: tuple[HeaderCondition, ...] = (_wildcard(host),) if host.startswith("*.") else ()
        for r in vh.ordered_routes():
            route = self._proxy_route(r, vh, headers, cors if isinstance(cors, Mapping) else None)
            plain = route
            if tls and r.status is None and not r.spec.get("permitInsecure"):
                plain = _replace(route, https_upgrade=True)
            self._add(self.plain, host, plain, first_wins=False)
            if secure_routes:
                self._add(self.secure, host, route, first_wins=False, secure=True)
        if vh.passthrough or (vh.tcpproxy is not None and vh.secret):
            self.secure.setdefault(host, _Host()).secure = True  # TLS is answered, by the TCP proxy

    def _proxy_route(self, r: ContourRoute, vh: VirtualHost, extra: tuple[HeaderCondition, ...],
                     cors: Mapping[str, Any] | None) -> ModelRoute:
        spec, obj = r.spec, r.owner
        base = ModelRoute(r.path, r.headers + extra, r.query, "HTTPProxy", obj.ref, r.path.value, cors=cors)
        if r.status is not None:
            return _replace(base, status=r.status)
        variables = {"CONTOUR_NAMESPACE": obj.namespace}
        req, host = header_modifier(spec.get("requestHeadersPolicy"), obj, "", _quiet, variables, True)
        resp, _ = header_modifier(spec.get("responseHeadersPolicy"), obj, "", _quiet, variables, False)
        rewrite = None
        rewrite_policy = spec.get("pathRewritePolicy")
        rewrites = rewrite_policy.get("replacePrefix") if isinstance(rewrite_policy, Mapping) else None
        entries = [e for e in rewrites if isinstance(e, Mapping)] if isinstance(rewrites, list) else []
        if entries and r.path.kind == "prefix":
            chosen = next((e for e in entries if e.get("prefix") and e["prefix"] == r.path.value), None)
            chosen = chosen or next((e for e in entries if not e.get("prefix")), None)
            rewrite = str(chosen.get("replacement") or "/") if chosen else None
        allow_holder = spec if (spec.get("ipAllowPolicy") or spec.get("ipDenyPolicy")) else vh.virtualhost
        allow = [e for e in _items(allow_holder.get("ipAllowPolicy")) if isinstance(e, Mapping)]
        deny = [e for e in _items(allow_holder.get("ipDenyPolicy")) if isinstance(e, Mapping)]
        cidrs = tuple(str(e.get("cidr")) for e in (allow or deny) if isinstance(e, Mapping) and e.get("cidr"))
        backends: list[tuple[str, int]] = []
        services = [s for s in _items(spec.get("services")) if isinstance(s, Mapping) and not s.get("mirror")]
        any_weight = any(number(s.get("weight"), 0) > 0 for s in services)
        for s in services:
            if s.get("name") and isinstance(s.get("port"), int):
                backends.append((f"{obj.namespace}/{s['name']}:{s['port']}", number(s.get("weight"), 0) if any_weight
                                 else 1))
        local = _local_limit(spec) or _local_limit(vh.virtualhost)
        limit = None
        if local is not None:
            key = f"{obj.ref} {r.field}" if _local_limit(spec) else f"virtualhost {vh.fqdn}"
            limit = (key, *local)
        direct = spec.get("directResponsePolicy")
        return _replace(base, backends=tuple(backends), request_headers=req, response_headers=resp, host_rewrite=host,
                        prefix_rewrite=rewrite, ip_allow=bool(allow), ip_cidrs=cidrs, rate_limit=limit,
                        redirect=spec.get("requestRedirectPolicy") if isinstance(spec.get("requestRedirectPolicy"),
                                                                                   Mapping) else None,
                        status=number(direct.get("statusCode"), 200) if isinstance(direct, Mapping) else None)

    # --- serving -------------------------------------------------------------------------

    def route(self, request: Request, client_ip: str | None = None) -> Outcome:
        if client_ip is not None and request.client is None:
            request = replace(request, client=client_ip)
        secure = request.scheme == "https"
        table = self.secure if secure else self.plain
        host = request.hostname
        if secure:
            sni = (request.sni or host).lower()
            if _lookup(self.secure, sni) is None:
                return Outcome(None, "NoMatchingListener", notes=(f"no certificate for SNI {sni}",))
            if sni != host:
                return Outcome(421, "MisdirectedRequest", notes=(f"SNI {sni} does not name host {host}",))
        vhost = _lookup(table, host)
        if vhost is None:
            return Outcome(404, "NoMatchingRoute", notes=(f"no virtual host for {host}",))
        try:
            path = ENVOY_PATHS.normalise(request.path).path
        except BadPath as exc:
            return Outcome(400, "BadRequest", notes=(str(exc),))
        if path != request.path:
            request = replace(request, path=path)
        headers = _header_values(request)
        params = _first_params(request.query)
        for r in vhost.routes:
            if not r.path.matches(path):
                continue
            if not all(h.matches(headers.get(h.name.lower())) for h in r.headers):
                continue
            if not all(q.matches(params.get(q.name)) for q in r.query):
                continue
            return self._serve(r, request, secure)
        return Outcome(404, "NoMatchingRoute", notes=(f"no route of virtual host {host} matches",))

    def _serve(self, r: ModelRoute, request: Request, secure: bool) -> Outcome:
        total = sum(w for _, w in r.backends)
        weights = {b: 100.0 * w / total for b, w in r.backends} if total else {}
        backend = max(r.backends, key=lambda bw: bw[1])[0] if total else None
        matched = Matched("", "https" if secure else "http", kind=r.kind, route=r.source, rule_name=r.name)
        info = RuleInfo(matched=matched, backend=backend, weights=weights)
        query = f"?{request.query}" if request.query else ""
        if r.https_upgrade and not secure:
            location = f"https://{request.hostname}{request.path}{query}"
            return Outcome(301, "Redirect", info, redirect=RedirectTo(location, 301))
        if r.ip_cidrs and request.client:
            inside = client_in_ranges(request.client, r.ip_cidrs)
            if inside != r.ip_allow:
                return Outcome(403, "Forbidden", info)
        if r.rate_limit is not None and self.limiter is not None:
            key, requests, unit, burst, status = r.rate_limit
            if not self.limiter.take(key, requests, unit, burst, self.clock()):
                return Outcome(status, "RateLimited", info)
        response = Headers()
        cors = _cors(r.cors, request)
        if cors is not None:
            response, preflight = cors
            if preflight:
                return Outcome(200, "CORSPreflight", info, response_headers=response)
        if r.redirect is not None:
            return self._redirect(r, request, info)
        if r.status is not None:
            return Outcome(r.status, "DirectResponse", info)
        if backend is None:
            return Outcome(503, "BackendNotFound", info)
        path = request.path
        if r.prefix_rewrite is not None and r.path.kind == "prefix":
            rest = path[len(r.path.value):]
            path = r.prefix_rewrite + rest if not (r.prefix_rewrite.endswith("/") and rest.startswith("/")) \
                else r.prefix_rewrite + rest[1:]
        up_headers = request.headers
        if r.request_headers is not None:
            up_headers = up_headers.set_many(r.request_headers.set)
            for name in r.request_headers.remove:
                up_headers = up_headers.remove(name)
        if r.response_headers is not None:
            response = response.set_many(r.response_headers.set)
        host = r.host_rewrite or request.host
        upstream = Upstream(request.method, host, path + query, up_headers)
        return Outcome(200, "Routed", info, served=True, upstream=upstream, response_headers=response)

    @staticmethod
    def _redirect(r: ModelRoute, request: Request, info: RuleInfo) -> Outcome:
        assert r.redirect is not None
        p = r.redirect
        scheme = str(p.get("scheme") or request.scheme)
        host = str(p.get("hostname") or request.hostname)
        port = p.get("port")
        shown = f":{port}" if isinstance(port, int) and port not in (80, 443) else ""
        path = request.path
        if p.get("path"):
            path = str(p["path"])
        elif p.get("prefix") and r.path.kind == "prefix":
            path = str(p["prefix"]) + path[len(r.path.value):]
        status = number(p.get("statusCode"), 302)
        query = f"?{request.query}" if request.query else ""
        location = f"{scheme}://{host}{shown}{path}{query}"
        return Outcome(status, "Redirect", info, redirect=RedirectTo(location, status))


def _replace(route: ModelRoute, **changes: Any) -> ModelRoute:
    return replace(route, **changes)


def _local_limit(holder: Mapping[str, Any]) -> tuple[int, str, int, int] | None:
    """A local rate limit (requests, unit, burst, status) of a route or virtual host."""
    policy = holder.get("rateLimitPolicy")
    local = policy.get("local") if isinstance(policy, Mapping) else None
    if not isinstance(local, Mapping) or number(local.get("requests")) <= 0:
        return None
    return (number(local.get("requests")), str(local.get("unit") or "second"), number(local.get("burst")),
            number(local.get("responseStatusCode"), 429))


def _items(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else []


def _wildcard(host: str) -> HeaderCondition:
    """Contour's authority check on a wildcard virtual host: exactly one more label."""
    return HeaderCondition(":authority", "regex", _LABEL.pattern + re.escape(host[1:]) + r"(:[0-9]+)?")


def _lookup(table: Mapping[str, _Host], host: str) -> _Host | None:
    if host in table:
        return table[host]
    labels = host.split(".")
    for n in range(1, len(labels)):
        wildcard = "*." + ".".join(labels[n:])
        if wildcard in table:
            return table[wildcard]
    return table.get("*")


def _header_values(request: Request) -> dict[str, Sequence[str]]:
    out: dict[str, Sequence[str]] = {name.lower(): request.headers.get_all(name) for name in request.headers}
    out[":authority"] = [request.host.lower()]
    out[":method"] = [request.method]
    out[":path"] = [request.path + (f"?{request.query}" if request.query else "")]
    return out


def _first_params(query: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in query.split("&") if query else []:
        name, _, value = part.partition("=")
        out.setdefault(name, value)
    return out


def _seconds(text: Any) -> int | None:
    try:
        d = parse_go_duration(str(text)) if text else None
    except ValueError:
        return None
    return d.millis // 1000 if d is not None else None


def _cors(policy: Mapping[str, Any] | None, request: Request) -> tuple[Headers, bool] | None:
    """Envoy's CORS filter: the headers it adds, and whether it answered a preflight itself."""
    origin = request.headers.get("origin")
    if not policy or not origin:
        return None
    origins = [str(o) for o in _items(policy.get("allowOrigin"))]
    if "*" not in origins and origin not in origins:
        return None
    out = Headers().set("Access-Control-Allow-Origin", origin if "*" not in origins or policy.get("allowCredentials")
                        else "*")
    if policy.get("allowCredentials"):
        out = out.set("Access-Control-Allow-Credentials", "true")
    preflight = request.method == "OPTIONS" and bool(request.headers.get("access-control-request-method"))
    if preflight:
        methods = ",".join(str(m) for m in _items(policy.get("allowMethods")))
        if methods:
            out = out.set("Access-Control-Allow-Methods", methods)
        hdrs = ",".join(str(h) for h in _items(policy.get("allowHeaders")))
        if hdrs:
            out = out.set("Access-Control-Allow-Headers", hdrs)
        age = _seconds(policy.get("maxAge"))
        if age is not None:
            out = out.set("Access-Control-Max-Age", str(age))
    elif _items(policy.get("exposeHeaders")):
        out = out.set("Access-Control-Expose-Headers", ",".join(str(h) for h in _items(policy["exposeHeaders"])))
    return out, preflight

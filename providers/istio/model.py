"""A data-plane model of Istio: what its gateway proxies and sidecars do with one request.

Gateway (north-south) requests: the servers on the request's port (HTTPS ones for https,
whose hosts must cover the SNI; otherwise no answer), the virtual host whose domain fits the
Host (exact, then the longest ``*.`` suffix, then ``*``; none: 404), ``require_tls`` (an
``httpsRedirect`` server: 301 to https), then the routes in order -- the first whose match
holds answers (:mod:`.tables` builds them). Mesh (east-west) requests (``request.mesh``):
the Service the client dialled; sidecars do not merge VirtualServices: of those naming the
Service that the client's namespace sees -- private to it first, then exported to it by name,
then public, oldest first in each group -- the first that keeps any route once the routes are
filtered for the client's sidecar (the port dialled, ``sourceNamespace``; ``sourceLabels``
never hold, the client pod's labels being unknown) decides with its routes in order; none:
the Service itself.

The path is normalised first as Istio's default (``BASE``) has Envoy do it: escaped unreserved
characters decoded, dot segments resolved, ``//`` and ``%2F`` kept. Matching follows Envoy as
Istio configures it: a uri prefix is a character prefix in a
hand-written VirtualService and a segment prefix in an Ingress-made one; a regex matches the
whole path (RE2, here Python's ``re``); ``ignoreUriCase`` folds case; header and query
``exact``/``prefix``/``regex`` (``regex: "*"`` is presence); ``withoutHeaders`` must not hold;
``method``, ``authority``, ``scheme``, ``port``. Actions: ``redirect`` (301 unless
``redirectCode``; ``uri`` replaces the path, ``authority`` the host, ``scheme``, ``port``; the
query is kept), ``directResponse``, ``rewrite`` (``uri`` in place of the matched prefix or of
the whole path of an exact or regex match; ``uriRegexRewrite``: every match of the pattern
replaced, ``\\1`` naming a group; ``authority``), request and response ``headers``
(per destination too), ``corsPolicy`` (Envoy's answer to a preflight from an allowed origin,
the allow headers on other requests; others go to the backend), mirrors, weights (the
largest share answers).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ing2gw.http import Headers, Request
from ing2gw.resources import ResourceSet
from ing2gw.router.outcome import Matched, MirrorTarget, Outcome, RedirectTo, RuleInfo, Upstream
from ing2gw.router.paths import BadPath, PathPolicy

from .http import duration_ms, regex_rewrite_path
from .objects import KINDS, Index, ServiceHost, as_map, export_rank, istio_order, service_host, spec_list, str_list
from .tables import Cond, IRoute, Tables, VHost, build_tables, domain_matches, filtered

__all__ = ["IstioModel"]

_REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
# Istio's default path normalisation (meshConfig pathNormalization BASE): Envoy's normalize_path
# (escaped unreserved characters decoded, dot segments resolved), no slash merging, %2F kept
ENVOY_BASE = PathPolicy(name="istio", merge_slashes=False, escaped_slashes="keep")


def _string(sm: Any, value: str | None, fold: bool = False) -> bool:
    """An Istio StringMatch against ``value`` (None: absent)."""
    if value is None:
        return False
    if not isinstance(sm, Mapping) or not sm:
        return True
    if fold:
        value = value.lower()
    if "exact" in sm:
        return value == (str(sm["exact"]).lower() if fold else str(sm["exact"]))
    if "prefix" in sm:
        return value.startswith(str(sm["prefix"]).lower() if fold else str(sm["prefix"]))
    if "regex" in sm:
        rx = str(sm["regex"])
        if rx == "*":
            return True
        try:
            return re.fullmatch(rx, value, re.IGNORECASE if fold else 0) is not None
        except re.error:
            return False
    return False


def _uri(c: Cond, path: str) -> tuple[bool, str | None]:
    """Does the path hold; the prefix it matched (for a prefix rewrite)."""
    uri = as_map(c.raw.get("uri"))
    if not uri:
        return True, "/"
    fold = bool(c.raw.get("ignoreUriCase"))
    if "prefix" in uri:
        prefix = str(uri["prefix"])
        if c.segment and prefix != "/":
            stem = prefix.rstrip("/")
            p = path.lower() if fold else path
            s = stem.lower() if fold else stem
            return p == s or p.startswith(s + "/"), stem
        return _string(uri, path, fold), prefix
    return _string(uri, path, fold), None


class IstioModel:
    """Istio's gateways and sidecars for a set of Ingresses and Istio objects."""

    def __init__(self, resources: ResourceSet) -> None:
        self.index = Index(resources.claimed(KINDS))
        self.tables: Tables = build_tables(resources, resources.ingresses, self.index)
        self.resources = resources
        self._mesh_cache: dict[tuple[ServiceHost, str, int], list[IRoute] | None] = {}

    @classmethod
    def from_resources(cls, resources: ResourceSet) -> IstioModel:
        return cls(resources)

    # --- entry --------------------------------------------------------------------------------

    def route(self, request: Request, client_ip: str | None = None) -> Outcome:
        if client_ip is not None and request.client is None:
            request = replace(request, client=client_ip)
        try:
            normalised = ENVOY_BASE.normalise(request.path)
        except BadPath as exc:
            return Outcome(400, "BadRequest", notes=(str(exc),))
        if normalised.path != request.path:
            request = replace(request, path=normalised.path)
        mesh = getattr(request, "mesh", None)
        if mesh is not None:
            return self._mesh(request, mesh)
        tls = request.scheme == "https"
        servers = [s for s in self.tables.servers.get(request.port, []) if s.tls == tls]
        if not servers:
            return Outcome(None, "NoMatchingListener", notes=(f"no {'HTTPS' if tls else 'HTTP'} server on port "
                                                              f"{request.port}",))
        if tls:
            sni = (request.sni or request.hostname).lower()
            if not any(domain_matches(h.lower(), sni) for s in servers for _, h in s.hosts):
                return Outcome(None, "NoMatchingListener", notes=(f"no HTTPS server for {sni}",))
        vhost = self._vhost(self.tables.vhosts.get((request.port, tls), {}), request.hostname)
        if vhost is None:
            return Outcome(404, "NoMatchingRoute", notes=("no virtual host for the host",))
        listener = f"{'https' if tls else 'http'}.{request.port}"
        if vhost.require_tls and not tls:
            target = f"https://{request.hostname}{request.path}" + (f"?{request.query}" if request.query else "")
            info = RuleInfo(Matched("", listener, kind="Gateway", route="", rule_name=None), None, {})
            return Outcome(301, "Redirect", info, redirect=RedirectTo(target, 301))
        return self._first(vhost.routes, request, listener, "")

    @staticmethod
    def _vhost(vhosts: Mapping[str, VHost], hostname: str) -> VHost | None:
        if hostname in vhosts:
            return vhosts[hostname]
        wild = [d for d in vhosts if d.startswith("*.") and domain_matches(d, hostname)]
        if wild:
            return vhosts[max(wild, key=len)]
        return vhosts.get("*")

    def _mesh(self, request: Request, mesh: Any) -> Outcome:
        dialled = str(getattr(mesh, "service", "") or request.hostname).split(":")[0]
        client_ns = str(getattr(mesh, "namespace", ""))
        svc = service_host(dialled, client_ns)
        if svc is None:
            return Outcome(None, "NoMatchingParent", notes=(f"{dialled} names no Service",))
        routes = self._mesh_routes(svc, client_ns, request.port)
        listener = f"{svc.name}.{svc.namespace}:{request.port}"
        if routes is None:
            backend = f"{svc.namespace}/{svc.name}:{request.port}"
            info = RuleInfo(Matched("", listener, kind="Service", route=f"{svc.namespace}/{svc.name}"), backend,
                            {backend: 100.0})
            up = Upstream(request.method, request.host, request.path + (f"?{request.query}" if request.query else ""),
                          request.headers)
            return Outcome(200, "Routed", info, served=True, upstream=up)
        return self._first(routes, request, listener, "mesh")

    def _mesh_routes(self, svc: ServiceHost, client_ns: str, port: int) -> list[IRoute] | None:
        """The routes a sidecar in ``client_ns`` has for ``svc`` on ``port``: those of the first
        VirtualService in its order (private to its namespace, exported to it, public; oldest
        first) that leaves any route for it; None: the Service itself."""
        key = (svc, client_ns, port)
        if key not in self._mesh_cache:
            ranked = [(rank, istio_order(e.vs), e) for e in self.tables.mesh.get(svc, [])
                      if (rank := export_rank(e.vs, client_ns)) is not None]
            found = None
            for _, _, entry in sorted(ranked, key=lambda r: (r[0], r[1])):
                routes = filtered(list(entry.routes), "mesh", port, None, client_ns)
                if routes:
                    found = routes
                    break
            self._mesh_cache[key] = found
        return self._mesh_cache[key]

    # --- matching -----------------------------------------------------------------------------

    def _first(self, routes: list[IRoute], request: Request, listener: str, gateway: str) -> Outcome:
        for route in routes:
            if not route.conds:
                return self._act(route, None, "/", request, listener)
            for cond in route.conds:
                ok, prefix = self._holds(cond, request)
                if ok:
                    return self._act(route, cond, prefix, request, listener)
        return Outcome(404, "NoMatchingRoute", notes=("no route of the virtual host matches",))

    @staticmethod
    def _holds(c: Cond, request: Request) -> tuple[bool, str | None]:
        raw = c.raw
        ok, prefix = _uri(c, request.path)
        if not ok:
            return False, None
        headers = request.headers
        for name, sm in as_map(raw.get("headers")).items():
            if not _string(sm, headers.get(str(name).lower())):
                return False, None
        for name, sm in as_map(raw.get("withoutHeaders")).items():
            if _string(sm, headers.get(str(name).lower())):
                return False, None
        for name, sm in as_map(raw.get("queryParams")).items():
            if not _string(sm, request.query_params.get(str(name))):
                return False, None
        if raw.get("method") and not _string(raw["method"], request.method):
            return False, None
        if raw.get("authority") and not _string(raw["authority"], request.host):
            return False, None
        if raw.get("scheme") and not _string(raw["scheme"], request.scheme):
            return False, None
        if isinstance(raw.get("port"), int) and raw["port"] and raw["port"] != request.port:
            return False, None
        return True, prefix

    # --- actions ------------------------------------------------------------------------------

    def _backend(self, dest: Any, namespace: str) -> str | None:
        dest = as_map(dest)
        host = str(dest.get("host") or "")
        svc = service_host(host, namespace)
        port = as_map(dest.get("port")).get("number")
        if svc is None:  # a ServiceEntry or external name: the host itself
            return f"{host}:{port}" if host else None
        if not isinstance(port, int):
            found = self.resources.services.get((svc.namespace, svc.name))
            port = found.ports[0].port if found is not None and len(found.ports) == 1 else None
        return f"{svc.namespace}/{svc.name}:{port}"

    def _act(self, route: IRoute, cond: Cond | None, prefix: str | None, request: Request, listener: str) -> Outcome:
        spec = route.spec
        matched = Matched("", listener, kind=route.kind, route=route.ref,
                          rule_name=cond.rule_name if cond is not None else "/")
        query = f"?{request.query}" if request.query else ""
        redirect = as_map(spec.get("redirect"))
        code = redirect.get("redirectCode") or 301
        if redirect and code in _REDIRECT_CODES:
            scheme = str(redirect.get("scheme") or request.scheme)
            host = str(redirect.get("authority") or request.host)
            if isinstance(redirect.get("port"), int):
                host = f"{host.split(':')[0]}:{redirect['port']}"
            elif redirect.get("scheme") and redirect["scheme"] != request.scheme:
                host = host.split(":")[0]
            if redirect.get("uri"):
                path = str(redirect["uri"])
            elif isinstance(redirect.get("prefixRewrite"), str) and prefix is not None:
                path = self._rewrite({"rewrite": {"uri": redirect["prefixRewrite"]}}, cond, prefix, request.path)
            else:
                path = request.path
            location = f"{scheme}://{host}{path}{query}"
            info = RuleInfo(matched, None, {})
            response = _modify(Headers(), as_map(as_map(spec.get("headers")).get("response")))
            return Outcome(int(code), "Redirect", info, redirect=RedirectTo(location, int(code)),
                           response_headers=response)
        direct = as_map(spec.get("directResponse"))
        if direct:
            return Outcome(int(direct.get("status") or 200), "DirectResponse", RuleInfo(matched, None, {}))
        dests = spec_list(spec.get("route"))
        weighted: list[tuple[str, int, Mapping[str, Any]]] = []
        for d in dests:
            b = self._backend(d.get("destination"), route.namespace)
            if b is None:
                continue
            w = d.get("weight")
            weighted.append((b, w if isinstance(w, int) else (100 if len(dests) == 1 else 0), d))
        if not weighted:
            return Outcome(503, "BackendNotFound", RuleInfo(matched, None, {}), notes=("no usable destination",))
        total = sum(w for _, w, _ in weighted) or 1
        weights: dict[str, float] = {}
        for b, w, _ in weighted:
            weights[b] = weights.get(b, 0.0) + 100.0 * w / total
        backend, _, chosen = max(weighted, key=lambda bw: bw[1])
        info = RuleInfo(matched, backend, weights)
        response = Headers()
        cors = as_map(spec.get("corsPolicy"))
        if cors:
            answered, response = self._cors(cors, request)
            if answered:
                return Outcome(200, "CORSPreflight", info, response_headers=response)
        path = self._rewrite(spec, cond, prefix, request.path)
        rewrite = as_map(spec.get("rewrite"))
        host = str(rewrite["authority"]) if rewrite.get("authority") else request.host
        headers = request.headers
        for source in (as_map(spec.get("headers")), as_map(chosen.get("headers"))):
            req, resp = as_map(source.get("request")), as_map(source.get("response"))
            headers = _modify(headers, req)
            response = _modify(response, resp)
        mirrors = self._mirrors(spec, route.namespace)
        upstream = Upstream(request.method, host, path + query, headers)
        return Outcome(200, "Routed", info, served=True, upstream=upstream, response_headers=response,
                       mirrors=mirrors)

    @staticmethod
    def _rewrite(spec: Mapping[str, Any], cond: Cond | None, prefix: str | None, path: str) -> str:
        regex = as_map(as_map(spec.get("rewrite")).get("uriRegexRewrite"))
        if isinstance(regex.get("match"), str) and isinstance(regex.get("rewrite"), str):
            out = regex_rewrite_path(regex["match"], regex["rewrite"], path)  # Envoy's regex_rewrite
            return out if out is not None else path
        uri = as_map(spec.get("rewrite")).get("uri")
        if not isinstance(uri, str) or not uri:
            return path
        if prefix is None:  # an exact or regex match: the whole path is replaced
            return uri
        if cond is not None and cond.segment and prefix != "/":
            rest = path[len(prefix):]
            if uri == "/":  # istiod: regex_rewrite ^/prefix(/?)(.*) -> /\2
                return "/" + rest.lstrip("/") if rest.startswith("/") else "/" + rest
            return uri + rest
        return uri + path[len(prefix):]

    def _mirrors(self, spec: Mapping[str, Any], namespace: str) -> tuple[MirrorTarget, ...]:
        out = []
        if spec.get("mirror"):
            b = self._backend(spec["mirror"], namespace)
            pct = as_map(spec.get("mirrorPercentage")).get("value", spec.get("mirrorPercent", 100))
            if b:
                out.append(MirrorTarget(b, float(pct if isinstance(pct, (int, float)) else 100)))
        for m in spec_list(spec.get("mirrors")):
            b = self._backend(m.get("destination"), namespace)
            pct = as_map(m.get("percentage")).get("value", 100)
            if b:
                out.append(MirrorTarget(b, float(pct if isinstance(pct, (int, float)) else 100)))
        return tuple(out)

    @staticmethod
    def _cors(cors: Mapping[str, Any], request: Request) -> tuple[bool, Headers]:
        """Envoy's CORS filter: (answered the preflight itself, the headers it adds)."""
        origin = request.headers.get("origin")
        if origin is None:
            return False, Headers()
        allowed = any(_string(sm, origin) for sm in spec_list(cors.get("allowOrigins"))) or origin in str_list(
            cors.get("allowOrigin")) or "*" in str_list(cors.get("allowOrigin"))
        if not allowed:
            return False, Headers()
        out: list[tuple[str, str]] = [("access-control-allow-origin", origin)]
        credentials = cors.get("allowCredentials") is True
        preflight = request.method == "OPTIONS" and "access-control-request-method" in request.headers
        if preflight:
            if str_list(cors.get("allowMethods")):
                out.append(("access-control-allow-methods", ",".join(str_list(cors.get("allowMethods")))))
            if str_list(cors.get("allowHeaders")):
                out.append(("access-control-allow-headers", ",".join(str_list(cors.get("allowHeaders")))))
            max_age = cors.get("maxAge")
            if max_age:
                ms = duration_ms(max_age)
                if ms is not None:
                    out.append(("access-control-max-age", str(ms // 1000)))
        elif str_list(cors.get("exposeHeaders")):
            out.append(("access-control-expose-headers", ",".join(str_list(cors.get("exposeHeaders")))))
        if credentials:
            out.append(("access-control-allow-credentials", "true"))
        return preflight, Headers(out)


def _modify(headers: Headers, spec: Mapping[str, Any]) -> Headers:
    for name, value in sorted(as_map(spec.get("set")).items()):
        headers = headers.set(str(name), str(value))
    for name, value in sorted(as_map(spec.get("add")).items()):
        headers = headers.add(str(name), str(value))
    for name in str_list(spec.get("remove")):
        headers = headers.remove(str(name))
    return headers


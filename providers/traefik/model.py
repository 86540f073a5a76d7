"""A data-plane model of Traefik: what its HTTP entry points do with a request.

Built from the routers :mod:`.dynamic` derives (Ingresses and IngressRoutes), it follows Traefik:

* the path as the entry point's ``sanitizePath`` leaves it (``//`` merged, dot segments
  resolved), matched with unreserved escapes decoded;
* entry points of the usual installation: ``web`` (plain HTTP, port 80) and ``websecure``
  (TLS, port 443); a router without entry points is on both, and a router on a TLS entry point
  or with ``tls`` serves only TLS connections, the others only plain ones;
* routers sorted by priority (the rule's length unless set), ties by provider
  (kubernetescrd before kubernetes) then name; the first whose rule matches answers
  (:mod:`.rules`), else 404;
* a router whose middleware does not resolve is not built (Traefik logs an error);
* middlewares in order: scheme and regex redirects (301/302 for GET, 308/307 otherwise), path
  replacement, prefix strip/add, response headers and CORS of ``headers``, IP allow lists (403),
  and basic/digest auth, forwardAuth and rateLimit as :mod:`.access` checks them (``enforcing``
  gives the model credentials and a rate-limit counter); retry and the others do not change
  the outcome of a request an answering backend serves;
* the service's weighted backends (the largest share answers, as the reference router reports).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs

from ing2gw.enforce.buckets import TokenBuckets
from ing2gw.enforce.credentials import Credentials
from ing2gw.http import Headers, Request
from ing2gw.resources import ResourceSet
from ing2gw.router.outcome import Matched, Outcome, RedirectTo, RuleInfo, Upstream

from .._common.models import client_in_ranges
from .access import Enforcement, check
from .crds import KINDS, Crds, Middleware
from .dynamic import Router, build
from .rules import RuleRequest, canonical_header, matches

__all__ = ["TraefikModel", "sanitize"]

_PROVIDER_ORDER = {"kubernetesgateway": 0, "kubernetescrd": 1, "kubernetes": 2}


def _sort_key(r: Router) -> tuple[int, int, str]:
    return (-r.effective_priority, _PROVIDER_ORDER.get(r.provider, 9), r.name)


class TraefikModel:
    """Traefik's routers for a set of Ingresses and IngressRoutes, and its request handling."""

    def __init__(self, routers: Iterable[Router], crds: Crds) -> None:
        self.crds = crds
        self.routers = sorted((r for r in routers if self._buildable(r)), key=_sort_key)
        self.enforcement = Enforcement()

    def enforcing(self, credentials: Credentials, clock: Callable[[], float] | None = None,
                  count: bool = True) -> TraefikModel:
        """The same model checking basicAuth credentials against ``credentials`` and, with
        ``count``, counting rateLimit buckets on ``clock``."""
        model = copy.copy(self)
        model.enforcement = Enforcement(credentials, TokenBuckets() if count else None, clock or (lambda: 0.0))
        return model

    @classmethod
    def from_resources(cls, resources: ResourceSet) -> TraefikModel:
        objects = resources.claimed(KINDS)
        return cls(build(resources, objects), Crds(objects))

    def _chain(self, refs: Iterable[str], namespace: str, depth: int = 0) -> list[Middleware] | None:
        """The middlewares ``refs`` resolve to (chains expanded); None when one does not exist."""
        out: list[Middleware] = []
        for ref in refs:
            obj = self.crds.by_reference("Middleware", ref, namespace)
            mw = self.crds.middleware(obj) if obj is not None else None
            if mw is None or isinstance(mw, str) or depth > 8:
                return None
            if mw.type == "chain":
                inner = self._chain([r for r in mw.config.get("middlewares") or [] if isinstance(r, str)],
                                    mw.obj.namespace, depth + 1)
                if inner is None:
                    return None
                out += inner
            else:
                out.append(mw)
        return out

    def _buildable(self, r: Router) -> bool:
        refs = list(r.middlewares) + list(r.service.middlewares if r.service else ())
        return r.service is not None and self._chain(refs, r.namespace) is not None

    def route(self, request: Request, client_ip: str | None = None) -> Outcome:
        if client_ip is not None and request.client is None:
            request = replace(request, client=client_ip)
        secure = request.scheme == "https"
        entry = "websecure" if secure else "web"
        req = RuleRequest(
            method=request.method, host=request.host, path=sanitize(request.path),
            headers=_header_map(request.headers), query=parse_qs(request.query, keep_blank_values=True),
            client=request.client)
        for r in self.routers:
            on = not r.entry_points or entry in r.entry_points
            if not on or (r.tls and not secure) or not matches(r.node, req):
                continue  # websecure is a TLS entry point: every router on it serves TLS
            return self._serve(r, request)
        return Outcome(404, "NoMatchingRoute", notes=(f"no router of entry point {entry} matches",))

    def _serve(self, r: Router, request: Request) -> Outcome:
        assert r.service is not None
        matched = Matched("", "websecure" if request.scheme == "https" else "web", kind=r.source_kind,
                          route=r.source, rule_name=r.path)
        total = sum(w for _, w in r.service.backends) or 1
        weights = {b: 100.0 * w / total for b, w in r.service.backends}
        backend = max(r.service.backends, key=lambda bw: bw[1])[0]
        info = RuleInfo(matched=matched, backend=backend, weights=weights)
        path, response = sanitize(request.path), Headers()
        query = f"?{request.query}" if request.query else ""
        chain = self._chain(list(r.middlewares) + list(r.service.middlewares), r.namespace) or []
        sent = request.headers  # the request headers the backend gets
        for mw in chain:
            cfg = mw.config
            if mw.type == "redirectScheme":
                scheme = str(cfg.get("scheme") or "https")
                port = str(cfg.get("port") or "")
                if scheme != request.scheme or (port and str(request.port) != port):
                    shown = f":{port}" if port and port not in ("80", "443") else ""
                    return self._redirect(info, request, f"{scheme}://{request.hostname}{shown}{path}{query}", cfg)
            elif mw.type == "redirectRegex" and isinstance(cfg.get("regex"), str):
                url = f"{request.scheme}://{request.host}{path}{query}"
                if re.search(cfg["regex"], url):
                    target = re.sub(cfg["regex"], _go_replacement(str(cfg.get("replacement") or "")), url, count=1)
                    return self._redirect(info, request, target, cfg)
            elif mw.type == "replacePath" and isinstance(cfg.get("path"), str):
                path = cfg["path"]
            elif mw.type == "replacePathRegex" and isinstance(cfg.get("regex"), str):
                if re.search(cfg["regex"], path):
                    path = re.sub(cfg["regex"], _go_replacement(str(cfg.get("replacement") or "")), path)
            elif mw.type == "stripPrefix":
                for prefix in cfg.get("prefixes") or []:
                    if isinstance(prefix, str) and path.startswith(prefix):
                        path = "/" + path[len(prefix):].lstrip("/") if path[len(prefix):] else "/"
                        break
            elif mw.type == "stripPrefixRegex":
                for rx in cfg.get("regex") or []:
                    m = re.match(str(rx), path)
                    if m:
                        path = "/" + path[m.end():].lstrip("/")
                        break
            elif mw.type == "addPrefix" and isinstance(cfg.get("prefix"), str):
                path = cfg["prefix"] + path
            elif mw.type == "headers":
                response, answered = _headers(cfg, request, response)
                if answered is not None:
                    return Outcome(answered, "CORSPreflight", info, response_headers=response)
            elif mw.type in ("ipAllowList", "ipWhiteList") and request.client:
                ranges = [str(s) for s in cfg.get("sourceRange") or []]
                if not client_in_ranges(request.client, ranges):
                    return Outcome(int(cfg.get("rejectStatusCode") or 403), "Forbidden", info)
            elif mw.type in ("basicAuth", "digestAuth", "forwardAuth", "rateLimit"):
                refusal, sent = check(self.enforcement, mw, request, sent)
                if refusal is not None:
                    return Outcome(refusal.status, refusal.reason, info, response_headers=refusal.headers)
        host = request.host if r.service.pass_host_header else backend.rpartition(":")[0]
        upstream = Upstream(request.method, host, path + query, sent)
        return Outcome(200, "Routed", info, served=True, upstream=upstream, response_headers=response)

    @staticmethod
    def _redirect(info: RuleInfo, request: Request, location: str, cfg: Mapping[str, Any]) -> Outcome:
        get = request.method in ("GET", "HEAD")
        status = (301 if get else 308) if cfg.get("permanent") else (302 if get else 307)
        return Outcome(status, "Redirect", info, redirect=RedirectTo(location, status))


def sanitize(path: str) -> str:
    """The path after the entry point's ``sanitizePath`` (on by default): ``//`` merged, dot
    segments resolved, a trailing slash kept."""
    parts: list[str] = []
    for seg in path.split("/")[1:]:
        if seg == "..":
            if parts:
                parts.pop()
        elif seg not in (".", ""):
            parts.append(seg)
    out = "/" + "/".join(parts)
    return out + "/" if path.endswith(("/", "/.", "/..")) and out != "/" else out


def _header_map(headers: Headers) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name in headers:
        out.setdefault(canonical_header(name), []).extend(headers.get_all(name))
    return out


def _go_replacement(text: str) -> str:
    """Go's ``$1`` / ``${1}`` replacement syntax in Python's."""
    return re.sub(r"\$\{?(\w+)\}?", r"\\g<\1>", text.replace("\\", "\\\\"))


def _headers(cfg: Mapping[str, Any], request: Request, response: Headers) -> tuple[Headers, int | None]:
    """Response headers of a ``headers`` middleware, and the status of a preflight it answers."""
    custom = cfg.get("customResponseHeaders")
    if isinstance(custom, Mapping):
        response = response.set_many((str(k), str(v)) for k, v in custom.items() if str(v))
    fixed = {"frameDeny": ("X-Frame-Options", "DENY"), "contentTypeNosniff": ("X-Content-Type-Options", "nosniff"),
             "browserXssFilter": ("X-XSS-Protection", "1; mode=block")}
    for option, (name, value) in fixed.items():
        if cfg.get(option) is True:
            response = response.set(name, value)
    for option, name in (("customFrameOptionsValue", "X-Frame-Options"), ("referrerPolicy", "Referrer-Policy"),
                         ("contentSecurityPolicy", "Content-Security-Policy"),
                         ("permissionsPolicy", "Permissions-Policy")):
        if isinstance(cfg.get(option), str) and cfg[option]:
            response = response.set(name, cfg[option])
    if cfg.get("stsSeconds") and request.scheme == "https":
        response = response.set("Strict-Transport-Security", f"max-age={int(cfg['stsSeconds'])}")
    origins = [str(o) for o in cfg.get("accessControlAllowOriginList") or []]
    origin = request.headers.get("origin")
    if not origins or not origin:
        return response, None
    allowed = "*" if "*" in origins else origin if origin in origins else None
    if allowed is None:
        return response, None
    response = response.set("Access-Control-Allow-Origin", allowed)
    if cfg.get("accessControlAllowCredentials"):
        response = response.set("Access-Control-Allow-Credentials", "true")
    if request.method == "OPTIONS" and request.headers.get("access-control-request-method"):
        methods = ",".join(str(m) for m in cfg.get("accessControlAllowMethods") or [])
        if methods:
            response = response.set("Access-Control-Allow-Methods", methods)
        allowed_headers = ",".join(str(h) for h in cfg.get("accessControlAllowHeaders") or [])
        if allowed_headers:
            response = response.set("Access-Control-Allow-Headers", allowed_headers)
        if cfg.get("accessControlMaxAge"):
            response = response.set("Access-Control-Max-Age", str(cfg["accessControlMaxAge"]))
        return response, 200
    exposed = ",".join(str(h) for h in cfg.get("accessControlExposeHeaders") or [])
    if exposed:
        response = response.set("Access-Control-Expose-Headers", exposed)
    return response, None

"""A data-plane model of APISIX (``radixtree_host_uri`` router, APISIX's default) serving the
routes the Ingress controller writes (:mod:`.config`): what a request gets.

Routing:

* HTTPS needs an SSL object for the SNI (an Ingress ``tls`` section with a secret, or an
  ApisixTls; ``*.example.com`` covers one label below it: APISIX's certificate matcher refuses
  a deeper name): without one the handshake fails;
* the request's host (lower case, no port) picks a host group: routes naming exactly that
  host first, then routes with a wildcard host (``*.example.com`` matches any depth below it,
  not ``example.com``), longest suffix first, and last the routes without hosts; a group in
  which no route matches falls through to the next;
* within a group, on the normalised path (nginx's ``$uri``: escapes decoded, dot segments
  resolved, ``//`` merged): routes with an exact URI equal to the path first, then prefix
  URIs from the longest prefix down (:mod:`.paths`); routes at one URI are ordered by
  ``priority`` (higher first), then by the longer URI as written, then as configured;
* a candidate must also match its methods, ``remoteAddrs``, ``exprs`` (:mod:`.exprs`) and its
  full URI pattern; the first that does answers, else 404.

Then the plugins in APISIX's order (rewrite phase by priority, then access phase):
``fault-injection`` (the method lists: 405), ``cors`` (every OPTIONS answered 200 with the CORS
headers), ``basic-auth``/``jwt-auth``/``key-auth`` (401 without credentials), ``proxy-rewrite``
(path, host, headers), ``redirect`` (``http_to_https``: 301 for GET/HEAD, 308 otherwise, unless
``X-Forwarded-Proto: https``; ``uri`` with ``ret_code``), ``ip-restriction`` (403), ``csrf`` (401 for
unsafe methods without the token); ``response-rewrite`` headers and status on the answer. The
backend with the largest weight answers (the reference router reports weights the same way).
The outcome names the rule that answered as ``verify`` needs it: an Ingress path as written, an
ApisixRoute rule by the Gateway path its matched URI converts to (the notes' scope).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs

from ing2gw.http import Headers, Request
from ing2gw.resources import ResourceSet
from ing2gw.router.outcome import Matched, Outcome, RedirectTo, RuleInfo, Upstream
from ing2gw.router.paths import BadPath, PathPolicy

from .._common.models import client_in_ranges
from .config import ApisixEntry, build, sni_lookup, ssl_certificates
from .crds import KINDS
from .exprs import evaluate
from .paths import GatewayPath, Uri, gateway_paths, parse_uri

__all__ = ["APISIX_PATH_POLICY", "ApisixModel"]

APISIX_PATH_POLICY = PathPolicy(name="apisix", backslash_is_slash=False, escaped_slashes="decode")
_CORS_METHODS = "GET,POST,PUT,DELETE,PATCH,HEAD,OPTIONS,CONNECT,TRACE"
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class _Candidate:
    entry: ApisixEntry
    uri: Uri


class _Group:
    """The routes of one host (or of no host), indexed as the radix tree does."""

    def __init__(self) -> None:
        self.exact: dict[str, list[_Candidate]] = {}
        self.prefix: dict[str, list[_Candidate]] = {}

    def add(self, entry: ApisixEntry) -> None:
        for text in entry.uris:
            uri = parse_uri(text)
            (self.prefix if uri.prefix else self.exact).setdefault(uri.literal, []).append(_Candidate(entry, uri))

    def freeze(self) -> None:
        for table in (self.exact, self.prefix):
            for items in table.values():
                items.sort(key=lambda c: (-c.entry.priority, -len(c.uri.text), c.entry.order))
        self.prefixes = sorted(self.prefix, key=len, reverse=True)

    def match(self, request: Request, path: str) -> _Candidate | None:
        for c in self.exact.get(path, ()):
            if _conditions(c.entry, request, path):
                return c
        for literal in self.prefixes:
            if not path.startswith(literal):
                continue
            for c in self.prefix[literal]:
                if _conditions(c.entry, request, path) and c.uri.matches(path):
                    return c
        return None


def _conditions(e: ApisixEntry, request: Request, path: str) -> bool:
    if e.methods and request.method not in e.methods:
        return False
    if e.remote_addrs and request.client and not client_in_ranges(request.client, e.remote_addrs):
        return False
    return evaluate(e.exprs, request, path)


class ApisixModel:
    """APISIX's router and plugins for the routes of a set of Ingresses and ApisixRoutes."""

    def __init__(self, entries: Sequence[ApisixEntry], certificates: Mapping[str, str] | None = None) -> None:
        self.entries = list(entries)
        self.certificates = {h.lower(): secret for h, secret in (certificates or {}).items()}
        self.exact_hosts: dict[str, _Group] = {}
        self.wild_hosts: dict[str, _Group] = {}  # suffix ".example.com" -> group
        self.no_host = _Group()
        for e in self.entries:
            if not e.hosts:
                self.no_host.add(e)
            for h in dict.fromkeys(e.hosts):
                if h.startswith("*"):
                    self.wild_hosts.setdefault(h[1:], _Group()).add(e)
                else:
                    self.exact_hosts.setdefault(h, _Group()).add(e)
        for g in [*self.exact_hosts.values(), *self.wild_hosts.values(), self.no_host]:
            g.freeze()
        self.suffixes = sorted(self.wild_hosts, key=len, reverse=True)

    @classmethod
    def from_resources(cls, resources: ResourceSet) -> ApisixModel:
        objects = resources.claimed(KINDS)
        return cls(build(resources, resources.ingresses, objects), ssl_certificates(resources.ingresses, objects))

    def presented_certificate(self, sni: str) -> str | None:
        """The Secret (``ns/name``) of the SSL object APISIX finds for ``sni``: the exact SNI,
        else the wildcard ``*.`` one label above it; None: no SSL object."""
        return sni_lookup(self.certificates, sni)

    def groups(self, hostname: str) -> list[_Group]:
        out = [self.exact_hosts[hostname]] if hostname in self.exact_hosts else []
        out += [self.wild_hosts[s] for s in self.suffixes if hostname.endswith(s)]
        return [*out, self.no_host]

    def find(self, request: Request, path: str) -> _Candidate | None:
        """The route (and which of its URIs) that serves ``request`` at ``path``."""
        for group in self.groups(request.hostname.lower()):
            found = group.match(request, path)
            if found is not None:
                return found
        return None

    def route(self, request: Request, client_ip: str | None = None) -> Outcome:
        if client_ip is not None and request.client is None:
            request = replace(request, client=client_ip)
        try:
            path = APISIX_PATH_POLICY.normalise(request.path).path
        except BadPath as exc:
            return Outcome(400, "BadRequest", notes=(str(exc),))
        if request.scheme == "https" and self.presented_certificate(request.sni or request.hostname) is None:
            return Outcome(None, "NoCertificate", notes=("APISIX has no SSL object for this SNI: the TLS handshake "
                                                         "fails",))
        found = self.find(request, path)
        if found is None:
            return Outcome(404, "NoMatchingRoute", notes=("404 Route Not Found",))
        return self._serve(found, request, path)

    def _serve(self, found: _Candidate, request: Request, path: str) -> Outcome:
        e = found.entry
        matched = Matched("", "https" if request.scheme == "https" else "http", kind=e.kind, route=e.source,
                          rule_name=_rule_name(e, found.uri.text))
        total = sum(b.weight for b in e.backends) or 1
        weights = {b.ref: 100.0 * b.weight / total for b in e.backends if b.weight}
        best = max(e.backends, key=lambda b: b.weight) if e.backends else None
        info = RuleInfo(matched=matched, backend=best.ref if best else None, weights=weights)
        p = e.plugins
        response = Headers()
        cors = p.get("cors")
        fi = p.get("fault-injection")
        if fi is not None and _aborts(fi, request):
            return Outcome(int(fi["abort"].get("http_status") or 403), "Aborted", info)
        if cors is not None and request.method == "OPTIONS":
            return Outcome(200, "CORSPreflight", info, response_headers=_cors_headers(cors, request))
        for name in ("basic-auth", "jwt-auth", "key-auth"):
            if name in p and not _has_credentials(name, p[name], request):
                return Outcome(401, "Unauthorized", info, response_headers=Headers(
                    {"www-authenticate": 'Basic realm="basic"'}) if name == "basic-auth" else Headers())
        upstream_path, host, headers = path, request.host, request.headers
        rw = p.get("proxy-rewrite")
        if rw is not None:
            upstream_path, host, headers = _proxy_rewrite(rw, path, host, headers)
        redirect = p.get("redirect")
        if redirect is not None:
            out = _redirect(redirect, request, path, info)
            if out is not None:
                return out
        ipr = p.get("ip-restriction")
        if ipr is not None and request.client:
            deny = [str(x) for x in ipr.get("blacklist") or []]
            allow = [str(x) for x in ipr.get("whitelist") or []]
            client = request.client
            if (deny and client_in_ranges(client, deny)) or (allow and not client_in_ranges(client, allow)):
                return Outcome(int(ipr.get("response_code") or 403), "Forbidden", info)
        if "csrf" in p and request.method not in _SAFE:
            return Outcome(401, "Unauthorized", info)
        if cors is not None:
            response = _cors_headers(cors, request, preflight=False)
        rr = p.get("response-rewrite")
        status = 200
        if rr is not None:
            response = _response_headers(rr, response)
            if isinstance(rr.get("status_code"), int):
                status = rr["status_code"]
        if best is None:
            return Outcome(503, "NoHealthyUpstream", info)
        query = f"?{request.query}" if request.query else ""
        upstream = Upstream(request.method, host, upstream_path + query, headers)
        return Outcome(status, "Routed", info, served=True, upstream=upstream, response_headers=response)


def _rule_name(e: ApisixEntry, uri: str) -> str:
    """How ``verify`` names the rule that served a request: an Ingress path as written; for an
    ApisixRoute rule, the Gateway path its matched URI becomes (the path of the converted rule,
    which the notes about it are scoped by)."""
    if e.kind != "ApisixRoute":
        return e.rule
    return next((gp.match.value for gp in _gateway_paths(e.uris) if uri in gp.uris), e.rule)


@lru_cache(maxsize=1024)
def _gateway_paths(uris: tuple[str, ...]) -> list[GatewayPath]:
    return gateway_paths(uris)


def _aborts(cfg: Mapping[str, Any], request: Request) -> bool:
    abort = cfg.get("abort")
    if not isinstance(abort, Mapping):
        return False
    rules = cfg.get("vars")
    if not isinstance(rules, list) or not rules:
        return True
    for conj in rules:  # any conjunction holding aborts
        ok = True
        for expr in conj if isinstance(conj, list) else []:
            if expr[:3] == ["request_method", "!", "in"]:
                ok = ok and request.method not in expr[3]
            elif expr[:2] == ["request_method", "in"]:
                ok = ok and request.method in expr[2]
            else:
                ok = False
        if ok:
            return True
    return False


def _has_credentials(name: str, cfg: Mapping[str, Any], request: Request) -> bool:
    if name == "basic-auth":
        return (request.headers.get("authorization") or "").lower().startswith("basic ")
    if name == "key-auth":
        header = str(cfg.get("header") or "apikey")
        query = str(cfg.get("query") or "apikey")
        return header in request.headers or query in parse_qs(request.query, keep_blank_values=True)
    return "authorization" in request.headers or "jwt=" in request.query


def _cors_headers(cfg: Mapping[str, Any], request: Request, preflight: bool = True) -> Headers:
    origin = request.headers.get("origin")
    allow = str(cfg.get("allow_origins") or "*")
    if allow == "**":
        allow = origin or "*"
    elif allow != "*":
        allowed = [o.strip() for o in allow.split(",")]
        if origin not in allowed:
            return Headers()
        allow = origin
    methods = str(cfg.get("allow_methods") or "*")
    headers = str(cfg.get("allow_headers") or "*")
    out = Headers({"access-control-allow-origin": allow,
                   "access-control-allow-methods": _CORS_METHODS if methods == "**" else methods,
                   "access-control-max-age": str(cfg.get("max_age", 5))})
    if headers == "**":
        headers = request.headers.get("access-control-request-headers") or ""
    if headers:
        out = out.set("access-control-allow-headers", headers)
    if cfg.get("expose_headers"):
        out = out.set("access-control-expose-headers", str(cfg["expose_headers"]))
    if cfg.get("allow_credential"):
        out = out.set("access-control-allow-credentials", "true")
    return out


def _proxy_rewrite(cfg: Mapping[str, Any], path: str, host: str, headers: Headers) -> tuple[str, str, Headers]:
    uri = cfg.get("uri")
    regex = cfg.get("regex_uri")
    if isinstance(uri, str) and uri:
        path = uri
    elif isinstance(regex, list) and len(regex) >= 2:
        try:
            if re.search(str(regex[0]), path):
                path = re.sub(str(regex[0]), _lua_template(str(regex[1])), path, count=1)
        except re.error:
            pass
    if isinstance(cfg.get("host"), str) and cfg["host"]:
        host = cfg["host"]
    hdrs = cfg.get("headers")
    if isinstance(hdrs, Mapping):
        if any(k in hdrs for k in ("set", "add", "remove")):
            for k, v in (hdrs.get("set") or {}).items():
                headers = headers.set(str(k), str(v))
            for k, v in (hdrs.get("add") or {}).items():
                headers = headers.add(str(k), str(v))
            for k in hdrs.get("remove") or []:
                headers = headers.remove(str(k))
        else:
            for k, v in hdrs.items():
                headers = headers.remove(str(k)) if v in ("", None) else headers.set(str(k), str(v))
    return path, host, headers


def _lua_template(text: str) -> str:
    """ngx.re.sub's ``$1`` / ``${1}`` / ``$0`` in Python's replacement syntax."""
    return re.sub(r"\$\{?(\d+)\}?", r"\\g<\1>", text.replace("\\", "\\\\"))


def _redirect(cfg: Mapping[str, Any], request: Request, path: str, info: RuleInfo) -> Outcome | None:
    if cfg.get("http_to_https"):
        proto = request.headers.get("x-forwarded-proto") or request.scheme
        if proto == "https":
            return None
        code = 301 if request.method in ("GET", "HEAD") else 308
        location = f"https://{request.hostname}{request.target}"
        return Outcome(code, "Redirect", info, redirect=RedirectTo(location, code))
    uri = cfg.get("uri")
    if not isinstance(uri, str) or not uri:
        return None
    raw_code = cfg.get("ret_code")
    code = raw_code if isinstance(raw_code, int) else 302
    location = uri.replace("$request_uri", request.target).replace("$uri", path).replace(
        "$http_host", request.host).replace("$host", request.hostname)
    if cfg.get("append_query_string") and request.query:
        location += ("&" if "?" in location else "?") + request.query
    return Outcome(code, "Redirect", info, redirect=RedirectTo(location, code))


def _response_headers(cfg: Mapping[str, Any], response: Headers) -> Headers:
    hdrs = cfg.get("headers")
    if not isinstance(hdrs, Mapping):
        return response
    if any(k in hdrs for k in ("set", "add", "remove")):
        for k, v in (hdrs.get("set") or {}).items():
            response = response.set(str(k), str(v))
        for item in hdrs.get("add") or []:
            name, _, value = str(item).partition(":")
            response = response.add(name.strip(), value.strip())
        for k in hdrs.get("remove") or []:
            response = response.remove(str(k))
        return response
    for k, v in hdrs.items():
        response = response.remove(str(k)) if v in ("", None) else response.set(str(k), str(v))
    return response

"""One request through the ingress-nginx phases, in the controller's order (semantics doc 0).

server (Host) -> www twin redirect -> app-root (server rewrite phase) -> location choice and
nginx's trailing-slash 301 -> in the location: denied (503), CORS (204 for a preflight),
permanent/temporal redirect, rewrite-target, HTTPS redirect (Lua) -> deny/allow (403) ->
basic/digest auth (401) -> canary (Lua balancer) -> backend, whose answer slower than the
location's ``proxy_read_timeout`` (``Request.backend_delay``) is a 504. Response headers (HSTS, custom
headers, CORS, affinity cookie) are added to every answer given from a location; the
request sent upstream carries the template's forwarded headers (:mod:`.upstream`).

The result is the typed :class:`~ing2gw.router.Outcome` the reference router produces
(JSON form in ``docs/case-format.md``), with a :class:`LocationMatch` as ``matched``.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ing2gw.http import DeferredHeaders, Headers, Request
from ing2gw.router.outcome import Matched, Outcome, RedirectTo, RuleInfo, Upstream

from .access import Enforcement, Refusal, access, body_too_large, rate_limited
from .locations import Location, choose
from .servers import Alternative, Server, Topology, has_certificate, select_server
from .settings import ControllerConfig, Cors, Policy
from .upstream import Forwarded, cookie, expand, forwarded, location_variables, upstream_headers
from .uri import BadURI, escape_uri, normalise

__all__ = [
    "Context", "LocationMatch", "choose_canary", "cors_of", "denial", "hsts_headers", "ip_address", "location_match",
    "location_set_variables", "route", "rule_info", "share_number",
]


@dataclass(frozen=True, slots=True)
class Context:
    """Everything a request is routed against."""

    topology: Topology
    config: ControllerConfig
    config_maps: Mapping[tuple[str, str], Mapping[str, str]] = field(default_factory=dict)
    refs_known: bool = False  # a ConfigMap absent from config_maps does not exist
    secrets: frozenset[tuple[str, str]] = frozenset()  # Secrets the input names (identity only)
    secrets_known: bool = False  # a Secret absent from secrets does not exist
    enforcement: Enforcement = field(default_factory=Enforcement)  # credentials, rate-limit counters


_NO_HEADERS = Headers()


@dataclass(slots=True)
class _State:
    request: Request
    fwd: Forwarded  # scheme/host/port/client after the Lua rewrite handler
    notes: list[str] = field(default_factory=list)
    response: Headers = _NO_HEADERS  # immutable: one empty value serves every request
    matched: LocationMatch | None = None


_HSTS: dict[str, Headers] = {}  # Strict-Transport-Security value -> the response headers holding only it


def hsts_headers(value: str) -> Headers:
    found = _HSTS.get(value)
    if found is None:
        found = _HSTS[value] = Headers([("Strict-Transport-Security", value)])
        if len(_HSTS) > 64:
            _HSTS.clear()
    return found


@dataclass(frozen=True, slots=True)
class LocationMatch(Matched):
    """The location that answered: the Ingress and path it comes from, and its directive
    (JSON form ``{"ingress", "path", "location"}``). As every source model's match, it names
    the Ingress in ``route`` (``kind="Ingress"``) and the Ingress path in ``rule_name``."""

    ingress: str | None = None
    path: str = ""
    location: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"ingress": self.ingress, "path": self.path, "location": self.location}


def _outcome(
    st: _State,
    status: int,
    reason: str,
    *,
    backend: str | None = None,
    weights: Mapping[str, float] | None = None,
    upstream: Upstream | None = None,
    redirect: tuple[str, int] | None = None,
) -> Outcome:
    rule = None
    if st.matched is not None or backend is not None:
        shares = weights if weights is not None else ({backend: 100} if backend else {})
        rule = rule_info(st.matched, backend, shares)
    return Outcome(
        status, reason, rule, served=backend is not None, upstream=upstream,
        redirect=RedirectTo(redirect[0], redirect[1]) if redirect else None,
        response_headers=st.response, notes=tuple(st.notes),
    )


# Per-location values every request answered there shares (frozen, so one object serves
# them all), keyed by the location's identity: id -> (the object, the value). Bounded.
_PER_LOCATION = 100_000
_RULES: dict[tuple[int, str | None, tuple[tuple[str, float], ...]], tuple[LocationMatch | None, RuleInfo]] = {}
_MATCHES: dict[int, tuple[Location, LocationMatch]] = {}
_VARIABLES: dict[int, tuple[Location, dict[str, str]]] = {}


def rule_info(matched: LocationMatch | None, backend: str | None, shares: Mapping[str, float]) -> RuleInfo:
    key = (id(matched), backend, tuple(shares.items()))
    hit = _RULES.get(key)
    if hit is not None and hit[0] is matched:
        return hit[1]
    info = RuleInfo(matched=matched or LocationMatch("", ""), backend=backend, weights=dict(shares))
    if len(_RULES) >= _PER_LOCATION:
        _RULES.clear()
    _RULES[key] = (matched, info)
    return info


def _refused(st: _State, refusal: Refusal) -> Outcome:
    st.notes.append(refusal.why)
    for name, value in refusal.headers:
        st.response = st.response.set(name, value)
    redirect = (refusal.redirect, refusal.status) if refusal.redirect is not None else None
    return _outcome(st, refusal.status, refusal.reason, redirect=redirect)


def share_number(value: float) -> float:
    return int(value) if float(value).is_integer() else round(value, 4)


_CORS: dict[int, tuple[Cors, re.Pattern[str] | None, tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]] = {}


def cors_of(cors: Cors) -> tuple[Cors, re.Pattern[str] | None, tuple[tuple[str, str], ...],
                                  tuple[tuple[str, str], ...]]:
    """``cors``, its origin pattern and the headers after Allow-Origin of an answer and of a
    preflight's (worked out once per policy)."""
    hit = _CORS.get(id(cors))
    if hit is not None and hit[0] is cors:
        return hit
    found = (cors, _origin_pattern(cors), tuple(_cors_headers(cors, "", False)[1:]),
             tuple(_cors_headers(cors, "", True)[1:]))
    if len(_CORS) >= _PER_LOCATION:
        _CORS.clear()
    _CORS[id(cors)] = found
    return found


def _origin_pattern(cors: Cors) -> re.Pattern[str] | None:
    """The template's ``if ($http_origin ~* ((o1)|(o2))$)``: case-insensitive and anchored only
    at the end; a ``*`` in an origin stands for one DNS label. None: every origin is allowed."""
    if cors.any_origin:
        return None
    parts = [re.escape(o).replace(r"\*", r"[A-Za-z0-9\-]+", 1) for o in cors.origins]
    return re.compile("(" + "|".join(f"({part})" for part in parts) + ")$", re.IGNORECASE)


def _cors_origin(cors: Cors, origin: str | None) -> str | None:
    """The Access-Control-Allow-Origin value for this request, or None (the ``$cors`` flag stays unset)."""
    pattern = cors_of(cors)[1]
    if pattern is None:
        return "*"
    if not cors.origins or not origin:
        return None
    return origin if pattern.search(origin) else None


def _cors_headers(cors: Cors, origin_value: str, preflight: bool) -> list[tuple[str, str]]:
    """Both branches of the template's CORS block set Max-Age and Expose-Headers."""
    out = [("Access-Control-Allow-Origin", origin_value)]
    if cors.credentials:
        out.append(("Access-Control-Allow-Credentials", "true"))
    out.append(("Access-Control-Allow-Methods", ", ".join(cors.methods)))
    out.append(("Access-Control-Allow-Headers", ",".join(cors.headers)))
    if cors.expose:
        out.append(("Access-Control-Expose-Headers", ",".join(cors.expose)))
    out.append(("Access-Control-Max-Age", str(cors.max_age)))
    if preflight:
        out.append(("Content-Type", "text/plain charset=UTF-8"))
        out.append(("Content-Length", "0"))
    return out


def _client(st: _State) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = st.fwd.client
    if text is None:
        return None
    found = ip_address(text)
    if found is None:
        st.notes.append(f"client address {text!r} is not an IP address")
    return found


@functools.lru_cache(maxsize=4096)
def ip_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """``text`` parsed (requests repeat a few client addresses), None when it is no address."""
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def choose_canary(alt: Alternative, primary: str, request: Request, notes: list[str]) -> tuple[str, dict[str, float]]:
    """The balancer's choice between the primary and its canary (semantics doc 4)."""
    pol = alt.policy
    canary = alt.backend
    only_primary = (primary, {primary: 100.0, canary: 0.0})
    only_canary = (canary, {primary: 0.0, canary: 100.0})
    if pol.header:
        value = request.headers.get(pol.header)
        if value is not None:
            if pol.header_value:
                if value == pol.header_value:
                    return only_canary
            elif pol.header_pattern:
                try:
                    if re.search(pol.header_pattern, value):
                        return only_canary
                except re.error:
                    notes.append(f"canary-by-header-pattern {pol.header_pattern!r} does not compile; "
                                    "the balancer keeps the primary")
                    return only_primary
            elif value == "always":
                return only_canary
            elif value == "never":
                return only_primary
    if pol.cookie:
        value = cookie(request, pol.cookie)
        if value == "always":
            return only_canary
        if value == "never":
            return only_primary
    if pol.weight <= 0:
        return only_primary
    if pol.weight >= pol.weight_total:
        return only_canary
    share = 100.0 * pol.weight / pol.weight_total
    notes.append(f"weighted canary: {share:g}% of requests go to {canary}")
    chosen = canary if share > 50 else primary
    return chosen, {primary: 100.0 - share, canary: share}


def _rewrite(st: _State, pol: Policy, loc: Location, uri: str, local: Mapping[str, str]) -> str | None:
    """The URI after ``rewrite "(?i)<location path>" <target> break;`` (variables and ``$n``
    expanded), or None when the pattern does not match."""
    assert pol.rewrite_target is not None
    if loc.pattern is None:
        return None
    m = loc.pattern.search(uri)  # the same match as the unanchored rewrite: the location matched at 0
    if m is None:
        return None
    captures = tuple(g or "" for g in m.groups())
    return expand(pol.rewrite_target, st.request, st.fwd, uri, local, captures, st.notes)


def location_match(loc: Location) -> LocationMatch:
    hit = _MATCHES.get(id(loc))
    if hit is not None and hit[0] is loc:
        return hit[1]
    match = LocationMatch("", "", kind="Ingress", route=loc.entry.ingress or "", rule_name=loc.entry.path,
                          ingress=loc.entry.ingress, path=loc.entry.path, location=loc.directive)
    if len(_MATCHES) >= _PER_LOCATION:
        _MATCHES.clear()
    _MATCHES[id(loc)] = (loc, match)
    return match


def route(ctx: Context, request: Request, client_ip: str | None = None) -> Outcome:
    """What ingress-nginx answers to ``request`` (``client_ip``: the peer address, if known;
    default: the request's ``client``)."""
    if client_ip is None:
        client_ip = request.client
    config = ctx.config
    st = _State(request, forwarded(request, config.use_forwarded_headers, client_ip))
    server = select_server(ctx.topology, request.hostname)

    if server.redirect_to is not None:
        # ngx_srv_redirect.lua: scheme and port from X-Forwarded-* with use-forwarded-headers
        target = request.target[:-1] if request.target.endswith("/") else request.target
        scheme, port = request.scheme, str(request.port)
        if config.use_forwarded_headers:
            scheme = request.headers.get("x-forwarded-proto") or scheme
            port = request.headers.get("x-forwarded-port") or port
        location = f"{scheme}://{server.redirect_to}:{port}{target}"
        st.notes.append(f"{server.name} is the from-to-www-redirect twin of {server.redirect_to}")
        return _outcome(st, config.http_redirect_code, "WWWRedirect", redirect=(location, config.http_redirect_code))
    try:
        uri = normalise(request.path)
    except BadURI as exc:
        st.notes.append(str(exc))
        return _outcome(st, 400, "BadRequest")
    if server.app_root and uri == "/":
        return _outcome(st, 302, "Redirect", redirect=(f"{request.scheme}://{request.host}{server.app_root}", 302))

    choice = choose(server.locations, uri)
    for skipped in choice.unmodelled:
        st.notes.append(f"location {skipped.directive} cannot be evaluated by the model ({skipped.regex_error}); "
                        "this answer assumes it does not match")
    loc = choice.location
    if loc is None:
        st.notes.append(f"no location of server {server.name} matches {uri}")
        return _outcome(st, 404, "NoMatchingRoute")
    st.matched = location_match(loc)
    if request.scheme == "https" and config.hsts and loc.builtin is None:  # the location's Lua header filter
        st.response = hsts_headers(config.hsts_value) if not st.response else st.response.set(
            "Strict-Transport-Security", config.hsts_value)
    too_large = body_too_large(loc.entry.policy, config, request) if loc.builtin is None else None
    if too_large is not None:  # the find-config phase: before the location's redirects
        return _refused(st, too_large)
    if choice.auto_redirect:
        target = uri + "/" if not request.query else f"{escape_uri(uri)}/?{request.query}"
        st.notes.append(f"nginx adds the trailing slash of location {loc.directive}")
        pol = loc.entry.policy
        relative = pol.relative_redirects if pol is not None else config.relative_redirects
        location = target if relative else f"{request.scheme}://{request.hostname}{target}"
        return _outcome(st, 301, "Redirect", redirect=(location, 301))
    if loc.builtin == "healthz":
        return _outcome(st, 200, "Builtin")
    if loc.builtin == "nginx_status":
        client = _client(st)
        local = client is not None and client.is_loopback
        return _outcome(st, 200 if local else 403, "Builtin")
    return _in_location(ctx, st, server, loc, uri)


def denial(ctx: Context, pol: Policy, notes: list[str]) -> tuple[str | None, list[tuple[str, str]] | None]:
    """Why the controller wrote ``return 503`` for the location (an annotation it could not
    resolve), or None; and the custom headers it could resolve, to add to the response."""
    if pol.denied:
        return pol.denied, None
    if pol.basic_auth and pol.auth_secret is not None and pol.auth_secret not in ctx.secrets:
        ns, name = pol.auth_secret
        if ctx.secrets_known:  # the controller cannot read the htpasswd file: location denied
            return f"auth-secret {ns}/{name} does not exist", None
        notes.append(f"auth-secret {ns}/{name} not in the input; assumed to exist")
    if pol.custom_headers is None:
        return None, None
    ref = pol.custom_headers.resolve(pol.namespace)
    data = ctx.config_maps.get(ref)
    if data is None:
        if ctx.refs_known:
            return f"custom-headers ConfigMap {ref[0]}/{ref[1]} does not exist", None
        notes.append(f"custom-headers ConfigMap {ref[0]}/{ref[1]} not in the input; assumed to exist")
        return None, None
    allowed = set(ctx.config.global_allowed_response_headers)
    refused = sorted(h for h in data if h.lower() not in allowed)
    if refused:
        return f"custom-headers {', '.join(refused)} not in global-allowed-response-headers", None
    return None, sorted(data.items())


def location_set_variables(loc: Location) -> Mapping[str, str]:
    """The location's ``set`` variables (read-only: shared by every request answered there)."""
    hit = _VARIABLES.get(id(loc))
    if hit is not None and hit[0] is loc:
        return hit[1]
    found = _location_variables(loc)
    if len(_VARIABLES) >= _PER_LOCATION:
        _VARIABLES.clear()
    _VARIABLES[id(loc)] = (loc, found)
    return found


def _location_variables(loc: Location) -> dict[str, str]:
    entry = loc.entry
    ns, _, name = (entry.ingress or "/").partition("/")
    service, port = "", ""
    if entry.backend is not None:
        svc_ref, _, port = entry.backend.rpartition(":")
        service = svc_ref.partition("/")[2]
    upstream = f"{ns}-{service}-{port}" if entry.backend else "upstream-default-backend"
    return location_variables(namespace=ns, ingress=name, service=service, port=port, path=entry.path,
                              upstream=upstream)


def _in_location(ctx: Context, st: _State, server: Server, loc: Location, uri: str) -> Outcome:
    config = ctx.config
    request = st.request
    pol = loc.entry.policy
    if pol is not None:
        if pol.snippets:
            st.notes.append(f"{', '.join(pol.snippets)} of {pol.ingress} not executed by the model")
        # (denial says nothing, and notes nothing, about a location without these)
        if pol.denied or pol.basic_auth or pol.custom_headers is not None:
            why, custom = denial(ctx, pol, st.notes)
            if why is not None:
                st.notes.append(f"location denied: {why}")
                return _outcome(st, 503, "ServiceUnavailable")
            if custom is not None:
                st.response = st.response.set_many(custom)
    # rewrite phase, template order: CORS, return, rewrite, then the Lua HTTPS redirect
    cors_value = _cors_origin(pol.cors, request.headers.get("origin")) if pol and pol.cors else None
    if pol and pol.cors and cors_value is not None:
        preflight = request.method == "OPTIONS"
        _, _, answer, preflight_answer = cors_of(pol.cors)
        rest = preflight_answer if preflight else answer
        st.response = st.response.set_many((("Access-Control-Allow-Origin", cors_value), *rest))
        if preflight:
            return _outcome(st, 204, "CORSPreflight")
    if pol and pol.redirect is not None:
        url = pol.redirect.url
        if url.startswith("/") and not pol.relative_redirects:
            url = f"{request.scheme}://{request.hostname}{url}"
        return _outcome(st, pol.redirect.code, "Redirect", redirect=(url, pol.redirect.code))
    rewritten: str | None = None
    if pol and loc.rewrites:
        rewritten = _rewrite(st, pol, loc, uri, location_set_variables(loc))
        if rewritten is not None and rewritten.startswith(("http://", "https://")):
            target = rewritten + (f"?{request.query}" if request.query else "")
            return _outcome(st, 302, "Redirect", redirect=(target, 302))
    # the default server's own root has no Ingress annotations: no HTTPS redirect there
    ssl_flag = pol.ssl_redirect if pol else False
    force = pol.force_ssl_redirect if pol else False
    exempt = loc.path.startswith(config.no_tls_redirect_locations)
    scheme = st.fwd.scheme  # compared with "http" as is (lua_ingress.redirect_to_https)
    if not exempt and scheme == "http" and (force or (ssl_flag and has_certificate(ctx.topology, request.hostname))):
        preserve = pol.preserve_trailing_slash if pol else False
        target = request.target
        if target.endswith("/") and not preserve:
            target = target[:-1]
        port = ":443" if (pol.use_port_in_redirects if pol else False) else ""
        location = f"https://{st.fwd.host.split(':')[0]}{port}{target}"
        return _outcome(st, config.http_redirect_code, "SSLRedirect", redirect=(location, config.http_redirect_code))

    # the Lua balancer: an upstream deleted by a canary merge has no balancer
    if loc.entry.backend is not None and loc.entry.backend in ctx.topology.deleted:
        st.notes.append(f"the upstream {loc.entry.backend} was deleted by a canary merge; the balancer has none")
        return _outcome(st, 503, "ServiceUnavailable")

    if pol:
        client = _client(st)
        refusal = rate_limited(ctx.enforcement, pol, config, client)  # pre-access phase
        if refusal is None:
            refusal = access(ctx.enforcement, pol, request, client, st.notes)  # access phase
        if refusal is not None:
            return _refused(st, refusal)

    backend = loc.entry.backend
    if backend is None:
        st.notes.append(f"location {loc.directive} of server {server.name} uses the default backend (404)")
        return _outcome(st, 404, "NoMatchingRoute")

    shares: dict[str, float] = {backend: 100}  # share_number(100.0)
    alt = ctx.topology.alternatives.get(backend)
    chosen = backend
    if alt is not None:
        chosen, weights = choose_canary(alt, backend, request, st.notes)
        shares = {k: share_number(v) for k, v in weights.items()}
    path = request.target
    prefix: str | None = None
    if rewritten is not None:
        path = escape_uri(rewritten) if "%" in request.path else rewritten
        path += f"?{request.query}" if request.query else ""
        if pol and pol.x_forwarded_prefix:
            prefix = pol.x_forwarded_prefix
    # worked out when read (a replay comparing outcomes never reads them)
    headers = DeferredHeaders(upstream_headers, request, st.fwd, bool(pol and pol.basic_auth), prefix)
    host = st.fwd.host
    if pol and pol.upstream_vhost:
        host = expand(pol.upstream_vhost, request, st.fwd, uri, location_set_variables(loc), (), st.notes)
    if pol and pol.affinity_cookie and cookie(request, pol.affinity_cookie) is None:
        value = hashlib.sha1(chosen.encode()).hexdigest()[:16]
        cookie_path = pol.affinity_path or loc.path
        st.response = st.response.add("Set-Cookie", f"{pol.affinity_cookie}={value}; Path={cookie_path}; HttpOnly")
    upstream = Upstream(request.method, host, path, headers)
    read_timeout = pol.read_timeout if pol else config.proxy_read_timeout
    if request.backend_delay is not None and request.backend_delay > read_timeout:
        # with proxy_next_upstream's default "error timeout" the balancer may try again; a backend
        # as slow on every try still ends in nginx's 504
        return _refused(st, Refusal(504, "BackendTimeout", f"proxy_read_timeout {read_timeout:g}s: the upstream "
                                                           f"took {request.backend_delay:g}s to answer"))
    return _outcome(st, 200, "Routed", backend=chosen, weights=shares, upstream=upstream)

"""The ingress-nginx model's request handling with a compiled plan per server name and location.

:func:`.pipeline.route` is the reference: it walks the controller's phases step by step for
every request. :func:`route` gives the same answer, but works out once per model what does
not depend on the request:

* per hostname: the server nginx selects and whether the host has a certificate (the HTTPS
  redirect's condition);
* per request path: the normalised URI (or the 400);
* per URI and shape of a server's location list (each location's path, modifier and
  built-in name, in order: what nginx's choice reads of them): the location chosen, by its
  position (servers of one shape -- most of a large input's share a few -- share them);
* per location (:class:`_Plan`): its match and rule, the response headers before CORS
  (HSTS, custom headers), the 503 decided from the input's Secrets and ConfigMaps and the
  notes that go with it, the CORS values, the fixed redirect, the rewrite and upstream-vhost
  templates with the location's variables filled in, whether the HTTPS redirect, the rate
  limits and the access checks can apply at all, the canary, the affinity cookie, the read
  timeout.

A request then runs only the steps that depend on it. Tests hold :func:`route` to
:func:`.pipeline.route` on generated and random requests: a change of behaviour goes into
both.
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any, NamedTuple, TypeVar, overload

from ing2gw.http import Headers, Request
from ing2gw.making import maker
from ing2gw.router.outcome import OUTCOMES, Answers, Outcome, RedirectTo, RuleInfo

from .access import Refusal, access, body_too_large, rate_limited
from .locations import Location, choose_in, lookup
from .pipeline import (
    Context,
    LocationMatch,
    choose_canary,
    cors_of,
    denial,
    hsts_headers,
    ip_address,
    location_set_variables,
    rule_info,
    share_number,
)
from .servers import Alternative, Server, has_certificate, select_server
from .settings import Policy
from .upstream import Forwarded, Template, cookie, forwarded, render, template, upstream_headers
from .uri import BadURI, escape_uri, normalise

__all__ = ["route"]

_NO_HEADERS = Headers()
_LOCATION_MATCH = maker(LocationMatch)  # (without the __init__: one per location)
_RULE_INFO = maker(RuleInfo)
_REDIRECT = maker(RedirectTo)  # (one per redirecting answer: a frozen dataclass's __init__ costs thrice as much)
_FORWARDED = tuple.__new__  # Forwarded(...) without its keyword handling: what forwarded() gives without headers
_LIMIT = 100_000  # hostnames and paths remembered per model (then forgotten at once: bounded memory)


# nginx's choice of location for a URI, by position in a server's location list (see
# _Plans.choice): the location's (None: none matches), whether it is the trailing-slash
# redirect to it, and the regex locations tried first that the model cannot evaluate.
_Chosen = tuple["int | None", bool, tuple[int, ...]]


class _Host(NamedTuple):
    server: Server
    choices: dict[str, _Chosen]  # by URI, shared by the servers whose location lists have one shape
    certificate: bool  # the host (or its *.parent) has a TLS server


class _Policy:
    """What the locations of one policy (an Ingress's annotations) share: the response headers
    before CORS, the 503, the CORS values, the fixed redirect, the HTTPS redirect's settings,
    whether rate limits and access checks apply, the read timeout."""

    __slots__ = ("basic_auth", "body", "checked", "cors", "cors_fixed", "custom", "denied", "early", "force", "hsts",
                 "limited", "policy", "port", "prefix", "prelude", "preserve", "read_timeout", "redirect", "relative",
                 "ssl")

    def __init__(self, ctx: Context, pol: Policy | None, builtin: bool, fixed: dict[Any, Any]) -> None:
        """``fixed``: the CORS answers' headers of the policies planned so far (a dict kept by
        their _Plans), shared by the policies that would make equal ones (one per Ingress)."""
        config = ctx.config
        self.policy = pol
        self.hsts = hsts_headers(config.hsts_value) if config.hsts and not builtin else _NO_HEADERS
        # (body_too_large reads the limit again: it is None for both or for neither)
        self.body = not builtin and (pol.body_max if pol is not None else config.proxy_body_size) is not None
        self.relative = pol.relative_redirects if pol is not None else config.relative_redirects
        # in the location: the 503, then the response headers every answer from here starts with
        prelude: list[str] = []
        self.denied: str | None = None
        custom: list[tuple[str, str]] | None = None
        if pol is not None:
            if pol.snippets:
                prelude.append(f"{', '.join(pol.snippets)} of {pol.ingress} not executed by the model")
            if pol.denied or pol.basic_auth or pol.custom_headers is not None:
                self.denied, custom = denial(ctx, pol, prelude)
        self.prelude = tuple(prelude)
        base = (_NO_HEADERS, self.hsts)  # by "the request is https"
        self.custom = base if custom is None else (base[0].set_many(custom), base[1].set_many(custom))
        self.cors = cors_of(pol.cors) if pol is not None and pol.cors else None
        self.cors_fixed: tuple[tuple[Headers, Headers], tuple[Headers, Headers]] | None = None
        if self.cors is not None and self.cors[1] is None:  # every origin: "*", the same headers every time
            answer, preflight = (tuple((("Access-Control-Allow-Origin", "*"), *rest)) for rest in self.cors[2:])
            key = None if custom is not None else (id(self.hsts), answer, preflight)
            hit = fixed.get(key) if key is not None else None
            if hit is not None and hit[0] is self.hsts:  # (the value keeps the HSTS headers: their id stays theirs)
                self.cors_fixed = hit[1]
            else:
                self.cors_fixed = ((self.custom[0].set_many(answer), self.custom[1].set_many(answer)),
                                   (self.custom[0].set_many(preflight), self.custom[1].set_many(preflight)))
                if key is not None:
                    fixed[key] = (self.hsts, self.cors_fixed)
        self.redirect: tuple[str, int, bool] | None = None  # url, code, "prefix scheme://host"
        if pol is not None and pol.redirect is not None:
            url = pol.redirect.url
            self.redirect = (url, pol.redirect.code, url.startswith("/") and not pol.relative_redirects)
        # notes, a 503, headers, CORS or a redirect before the rewrite (otherwise the response stays as it is)
        self.early = bool(self.prelude or self.denied is not None or custom is not None or self.cors or self.redirect)
        self.force = pol.force_ssl_redirect if pol else False
        self.ssl = self.force or (pol.ssl_redirect if pol else False)  # (unless the location is exempt)
        self.preserve = pol.preserve_trailing_slash if pol else False
        self.port = ":443" if (pol.use_port_in_redirects if pol else False) else ""
        # (rate_limited and access refuse nothing, and note nothing, without these; rate_limited
        # counts nothing either without the routing Context's limiter: plans are shared by a
        # model's enforcing variants)
        self.limited = pol is not None and bool(pol.limit_rps or pol.limit_rpm)
        self.checked = pol is not None and bool(pol.allow or pol.deny or pol.auth_type or pol.auth_url)
        self.basic_auth = bool(pol and pol.basic_auth)
        self.prefix = pol.x_forwarded_prefix if pol and pol.x_forwarded_prefix else None
        self.read_timeout = pol.read_timeout if pol else config.proxy_read_timeout


class _Plan:
    """What every request answered by one location shares (see the module docstring)."""

    __slots__ = ("affinity", "alt", "backend", "builtin", "cookies", "deleted", "matched", "rewrite", "served",
                 "shared", "ssl", "unserved", "vhost")

    def __init__(self, ctx: Context, loc: Location, shared: _Policy) -> None:
        entry = loc.entry  # (read once: a model plans tens of thousands of locations)
        pol, ingress, backend = entry.policy, entry.ingress, entry.backend
        self.shared = shared
        self.matched: LocationMatch = _LOCATION_MATCH("", "", "Ingress", ingress or "", 0, entry.path,
                                                      None, None, ingress, entry.path, loc.directive)
        self.unserved: RuleInfo = _RULE_INFO(self.matched, None, {}, None, None, None, ())
        self.builtin = loc.builtin
        self.rewrite: tuple[Location, Template] | None = None
        if pol is not None and loc.pattern is not None and pol.rewrites(loc.path):  # (Location.rewrites)
            assert pol.rewrite_target is not None
            self.rewrite = (loc, template(pol.rewrite_target, location_set_variables(loc)))
        self.ssl = shared.ssl and not loc.path.startswith(ctx.config.no_tls_redirect_locations)
        if backend is not None:
            topology = ctx.topology
            self.deleted = (f"the upstream {backend} was deleted by a canary merge; the balancer has none"
                            if backend in topology.deleted else None)
            self.alt: Alternative | None = topology.alternatives.get(backend)
        else:
            self.deleted = self.alt = None
        self.backend = backend
        self.served = _RULE_INFO(self.matched, backend, {backend: 100}, None, None, None, ()) if backend else None
        self.vhost = template(pol.upstream_vhost, location_set_variables(loc)) if pol and pol.upstream_vhost else None
        self.affinity = (pol.affinity_cookie, pol.affinity_path or loc.path) if pol and pol.affinity_cookie else None
        self.cookies: dict[str, str] | None = None  # chosen backend -> the Set-Cookie value

    def set_cookie(self, chosen: str) -> str:
        if self.cookies is None:
            self.cookies = {}
        value = self.cookies.get(chosen)
        if value is None:
            assert self.affinity is not None
            name, path = self.affinity
            value = f"{name}={hashlib.sha1(chosen.encode()).hexdigest()[:16]}; Path={path}; HttpOnly"
            self.cookies[chosen] = value
        return value


class _Plans:
    """One model's plans: those of a Context's topology, settings and input, shared by the
    Contexts that differ in their enforcement only (a model and its :meth:`enforcing` copies,
    such as the fresh counting copy ``verify`` makes per rate-limit burst: none of them plans
    a host or location again). ``ctx`` is the first of them."""

    __slots__ = ("cors_fixed", "ctx", "forwarded_headers", "hosts", "locations", "policies", "shapes", "uris")

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.forwarded_headers = ctx.config.use_forwarded_headers
        self.hosts: dict[str, _Host] = {}
        self.uris: dict[str, str | BadURI] = {}
        # by id: the Context keeps every Location (and its Policy) alive
        self.locations: dict[int, _Plan] = {}
        self.policies: dict[tuple[int, bool], _Policy] = {}
        self.cors_fixed: dict[Any, Any] = {}  # (see _Policy)
        # a location list's shape -> the choices by URI of the servers with that shape (_Host.choices)
        self.shapes: dict[tuple[tuple[str, str, str | None], ...], dict[str, _Chosen]] = {}

    def host(self, hostname: str) -> _Host:
        topology = self.ctx.topology
        server = select_server(topology, hostname)
        # what choose_in reads of the locations (their auto-redirect and regex follow from these)
        shape = tuple([(loc.path, loc.modifier, loc.builtin) for loc in server.locations])
        choices = self.shapes.get(shape)
        if choices is None:
            if len(self.shapes) >= _LIMIT:
                self.shapes.clear()
            choices = self.shapes[shape] = {}
        found = _Host(server, choices, has_certificate(topology, hostname))
        if len(self.hosts) >= _LIMIT:
            self.hosts.clear()
        self.hosts[hostname] = found
        return found

    def choice(self, host: _Host, uri: str) -> _Chosen:
        """nginx's choice of location for ``uri`` in ``host``'s server (:func:`.locations.choose_in`),
        by position: the same for every server of its shape."""
        locations = host.server.locations
        choice = choose_in(lookup(locations), uri)
        where = {id(loc): at for at, loc in enumerate(locations)}  # (by identity: equal locations may clash)
        found: _Chosen = (None if choice.location is None else where[id(choice.location)], choice.auto_redirect,
                          tuple(where[id(loc)] for loc in choice.unmodelled))
        if len(host.choices) >= _LIMIT:
            host.choices.clear()
        host.choices[uri] = found
        return found

    def uri(self, path: str) -> str | BadURI:
        try:
            found: str | BadURI = normalise(path)
        except BadURI as exc:
            found = exc
        if len(self.uris) >= _LIMIT:
            self.uris.clear()
        self.uris[path] = found
        return found

    def location(self, loc: Location) -> _Plan:
        pol = loc.entry.policy
        key = (id(pol), loc.builtin is not None)  # (the id of None for the locations without annotations)
        shared = self.policies.get(key)
        if shared is None:
            shared = self.policies[key] = _Policy(self.ctx, pol, loc.builtin is not None, self.cors_fixed)
        found = self.locations[id(loc)] = _Plan(self.ctx, loc, shared)
        return found


# A Context's plans by its id (the Context is kept, so its id stays its own), and by what
# they depend on (:func:`_family`): every Context field but the enforcement.
_PLANS: dict[int, tuple[Context, _Plans]] = {}
_FAMILIES: dict[tuple[int, ...], _Plans] = {}
_last: tuple[Context, _Plans] | None = None  # the last Context asked (one model answers many requests in a row)


assert tuple(f.name for f in dataclasses.fields(Context)) == (
    "topology", "config", "config_maps", "refs_known", "secrets", "secrets_known", "enforcement"), \
    "_family must name every Context field the plans depend on"


def _family(ctx: Context) -> tuple[int, ...]:
    """What a Context's plans depend on, by identity (the first Context of a family is kept
    in its _Plans, and with it these objects: their ids stay theirs)."""
    return (id(ctx.topology), id(ctx.config), id(ctx.config_maps), ctx.refs_known, id(ctx.secrets), ctx.secrets_known)


def _plans(ctx: Context) -> _Plans:
    global _last
    hit = _PLANS.get(id(ctx))
    if hit is None or hit[0] is not ctx:
        if len(_PLANS) >= 64:
            _PLANS.clear()
        key = _family(ctx)
        found = _FAMILIES.get(key)
        if found is None:
            if len(_FAMILIES) >= 64:
                _FAMILIES.clear()
            found = _FAMILIES[key] = _Plans(ctx)
        hit = _PLANS[id(ctx)] = (ctx, found)
    _last = hit
    return hit[1]


_T = TypeVar("_T")


def _refused(plan: _Plan, response: Headers, notes: list[str], refusal: Refusal, answers: Answers[_T]) -> _T:
    notes.append(refusal.why)
    for name, value in refusal.headers:
        response = response.set(name, value)
    redirect = _REDIRECT(refusal.redirect, refusal.status) if refusal.redirect is not None else None
    return answers.answer(refusal.status, refusal.reason, plan.unserved, response, notes, redirect)


@overload
def route(ctx: Context, request: Request, client_ip: str | None = None) -> Outcome: ...


@overload
def route(ctx: Context, request: Request, client_ip: str | None, answers: Answers[_T]) -> _T: ...


def route(ctx: Context, request: Request, client_ip: str | None = None, answers: Answers[Any] = OUTCOMES) -> Any:
    """What ingress-nginx answers to ``request``: :func:`.pipeline.route`'s answer, as
    ``answers`` makes it (by default the Outcome)."""
    reply = answers.answer
    last = _last
    plans = last[1] if last is not None and last[0] is ctx else _plans(ctx)
    if client_ip is None:
        client_ip = request.client
    host = plans.hosts.get(request.hostname) or plans.host(request.hostname)
    server = host.server
    notes: list[str] = []
    if server.redirect_to is not None:
        config = ctx.config
        target = request.target[:-1] if request.target.endswith("/") else request.target
        scheme, port = request.scheme, str(request.port)
        if config.use_forwarded_headers:
            scheme = request.headers.get("x-forwarded-proto") or scheme
            port = request.headers.get("x-forwarded-port") or port
        notes.append(f"{server.name} is the from-to-www-redirect twin of {server.redirect_to}")
        code = config.http_redirect_code
        return reply(code, "WWWRedirect", None, _NO_HEADERS, notes,
                     _REDIRECT(f"{scheme}://{server.redirect_to}:{port}{target}", code))
    uri = plans.uris.get(request.path) or plans.uri(request.path)
    if isinstance(uri, BadURI):
        notes.append(str(uri))
        return reply(400, "BadRequest", None, _NO_HEADERS, notes)
    if server.app_root and uri == "/":
        return reply(302, "Redirect", None, _NO_HEADERS, notes,
                     _REDIRECT(f"{request.scheme}://{request.host}{server.app_root}", 302))
    at, auto_redirect, unmodelled = host.choices.get(uri) or plans.choice(host, uri)
    locations = server.locations
    for skip in unmodelled:
        skipped = locations[skip]
        notes.append(f"location {skipped.directive} cannot be evaluated by the model ({skipped.regex_error}); "
                     "this answer assumes it does not match")
    if at is None:
        notes.append(f"no location of server {server.name} matches {uri}")
        return reply(404, "NoMatchingRoute", None, _NO_HEADERS, notes)
    loc = locations[at]
    plan = plans.locations.get(id(loc)) or plans.location(loc)
    shared = plan.shared
    https = request.scheme == "https"
    response = shared.hsts if https else _NO_HEADERS
    if shared.body and request.headers.get_lower("content-length") is not None:  # find-config phase: before
        # the location's redirects
        too_large = body_too_large(shared.policy, ctx.config, request)
        if too_large is not None:
            return _refused(plan, response, notes, too_large, answers)
    if auto_redirect:
        target = uri + "/" if not request.query else f"{escape_uri(uri)}/?{request.query}"
        notes.append(f"nginx adds the trailing slash of location {loc.directive}")
        location = target if shared.relative else f"{request.scheme}://{request.hostname}{target}"
        return reply(301, "Redirect", plan.unserved, response, notes, _REDIRECT(location, 301))
    if plan.builtin == "healthz":
        return reply(200, "Builtin", plan.unserved, response, notes)
    if plan.builtin == "nginx_status":
        text = forwarded(request, ctx.config.use_forwarded_headers, client_ip).client
        address = None if text is None else ip_address(text)
        if text is not None and address is None:
            notes.append(f"client address {text!r} is not an IP address")
        return reply(200 if address is not None and address.is_loopback else 403, "Builtin", plan.unserved,
                     response, notes)
    # in the location
    if shared.early:  # (a location without these skips the lot)
        if shared.prelude:
            notes.extend(shared.prelude)
        if shared.denied is not None:
            notes.append(f"location denied: {shared.denied}")
            return reply(503, "ServiceUnavailable", plan.unserved, response, notes)
        response = shared.custom[https]
        # rewrite phase, template order: CORS, return, rewrite, then the Lua HTTPS redirect
        if shared.cors is not None:
            preflight = request.method == "OPTIONS"
            if shared.cors_fixed is not None:
                response = shared.cors_fixed[preflight][https]
                if preflight:
                    return reply(204, "CORSPreflight", plan.unserved, response, notes)
            else:
                cors, pattern, answer, preflight_answer = shared.cors
                origin = request.headers.get("origin")
                if cors.origins and origin and pattern is not None and pattern.search(origin):
                    response = response.set_many((("Access-Control-Allow-Origin", origin),
                                                  *(preflight_answer if preflight else answer)))
                    if preflight:
                        return reply(204, "CORSPreflight", plan.unserved, response, notes)
        if shared.redirect is not None:
            url, code, absolute = shared.redirect
            if absolute:
                url = f"{request.scheme}://{request.hostname}{url}"
            return reply(code, "Redirect", plan.unserved, response, notes, _REDIRECT(url, code))
    fwd = (forwarded(request, True, client_ip) if plans.forwarded_headers
           else _FORWARDED(Forwarded, (request.scheme, request.host, str(request.port), client_ip)))
    rewritten: str | None = None
    if plan.rewrite is not None:
        loc, parts = plan.rewrite
        assert loc.pattern is not None
        m = loc.pattern.search(uri)  # the same match as the unanchored rewrite: the location matched at 0
        if m is not None:
            rewritten = render(parts, request, fwd, uri, tuple(g or "" for g in m.groups()), notes)
            if rewritten.startswith(("http://", "https://")):
                target = rewritten + (f"?{request.query}" if request.query else "")
                return reply(302, "Redirect", plan.unserved, response, notes, _REDIRECT(target, 302))
    if plan.ssl and fwd.scheme == "http" and (shared.force or host.certificate):
        target = request.target
        if target.endswith("/") and not shared.preserve:
            target = target[:-1]
        code = ctx.config.http_redirect_code
        return reply(code, "SSLRedirect", plan.unserved, response, notes,
                     _REDIRECT(f"https://{fwd.host.split(':')[0]}{shared.port}{target}", code))
    if plan.deleted is not None:
        notes.append(plan.deleted)
        return reply(503, "ServiceUnavailable", plan.unserved, response, notes)
    pol = shared.policy
    if pol is not None:
        text = fwd.client
        client = None if text is None else ip_address(text)
        if text is not None and client is None:
            notes.append(f"client address {text!r} is not an IP address")
        refusal = rate_limited(ctx.enforcement, pol, ctx.config, client) if shared.limited else None  # pre-access
        if refusal is None and shared.checked:
            refusal = access(ctx.enforcement, pol, request, client, notes)  # access phase
        if refusal is not None:
            return _refused(plan, response, notes, refusal, answers)
    backend = plan.backend
    if backend is None:
        notes.append(f"location {plan.matched.location} of server {host.server.name} uses the default backend (404)")
        return reply(404, "NoMatchingRoute", plan.unserved, response, notes)
    chosen = backend
    rule = plan.served
    if plan.alt is not None:
        chosen, weights = choose_canary(plan.alt, backend, request, notes)
        rule = rule_info(plan.matched, chosen, {k: share_number(v) for k, v in weights.items()})
    assert rule is not None  # (plan.served: a location with a backend has one)
    path = request.target
    prefix: str | None = None
    if rewritten is not None:
        path = escape_uri(rewritten) if "%" in request.path else rewritten
        if request.query:
            path += f"?{request.query}"
        prefix = shared.prefix
    upstream_host = fwd.host if plan.vhost is None else render(plan.vhost, request, fwd, uri, (), notes)
    if plan.affinity is not None and cookie(request, plan.affinity[0]) is None:
        response = response.add("Set-Cookie", plan.set_cookie(chosen))
    delay = request.backend_delay
    if delay is not None and delay > shared.read_timeout:
        # with proxy_next_upstream's default "error timeout" the balancer may try again; a backend
        # as slow on every try still ends in nginx's 504
        why = f"proxy_read_timeout {shared.read_timeout:g}s: the upstream took {delay:g}s to answer"
        return _refused(plan, response, notes, Refusal(504, "BackendTimeout", why), answers)
    # (the upstream headers worked out when read: a replay comparing outcomes never reads them)
    return answers.served(rule, request.method, upstream_host, path, (upstream_headers, request, fwd, shared.basic_auth,
                                                                      prefix), response, notes)

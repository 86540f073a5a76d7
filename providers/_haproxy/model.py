"""A data-plane model of an HAProxy-based Ingress controller: what its haproxy does with one
request, as the reference router's typed :class:`~ing2gw.router.Outcome`.

The controllers differ in how a request finds its Ingress path (host and path map lookups,
match types, case, fallbacks): each provider gives a :class:`Lookup` over its :class:`Entry`
list. Everything after the lookup follows the ``http-request`` rule order both controllers
render: client address from a header -> deny/allow lists (403) -> basic auth (401; not for
OPTIONS when haproxy answers CORS preflights) -> rate limit -> the HTTPS redirect and other
redirects (haproxy-ingress: the redirects first, ``HaproxyPolicy.redirects_first``) ->
haproxy's own answer to OPTIONS (CORS, 204) -> the body limit (a ``Content-Length`` over it:
413) -> request headers, Host and path rewrites -> the backend; response headers (set, HSTS on
HTTPS, CORS as the controller writes them) on the way back. A request no entry takes gets the
default backend's 404.

Rate limits count requests only when the caller passes a :class:`Counters` (one window, every
request inside it): ``route`` alone never limits, so replays stay independent.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ing2gw.http import Headers, Request
from ing2gw.router.outcome import Matched, Outcome, RedirectTo, RuleInfo, Upstream

from .policy import Cors, HaproxyPolicy

__all__ = ["Counters", "Entry", "HaproxyModel", "Lookup", "MapMatch"]


@dataclass(frozen=True, slots=True)
class Entry:
    """One Ingress path as the controller stores it: ``match`` is the controller's match kind
    (its own vocabulary: ``exact``, ``prefix``, ``begin``, ``regex`` ...)."""

    ingress: str  # ns/name
    host: str  # as written: "" none, "*.example.com" a wildcard
    path: str
    match: str
    backend: str | None  # ns/svc:port; None: the controller has no endpoint for it (503)
    policy: HaproxyPolicy
    tls: bool  # the controller offers HTTPS for it (its HTTPS redirect applies)
    order: int = 0  # declaration order (first declared wins ties)

    def takes(self, headers: Headers) -> bool:
        """Do the request's headers meet the path's header conditions?"""
        for name, value, regex in self.policy.match_headers:
            got = headers.get(name)
            if got is None or not (re.search(value, got) if regex else got == value):
                return False
        return True


@dataclass(frozen=True, slots=True)
class MapMatch(Matched):
    """The map entry that answered (JSON ``{"ingress", "path", "match"}``); as every source
    model's match it names the Ingress in ``route`` and its path in ``rule_name``."""

    ingress: str = ""
    path: str = ""
    match: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"ingress": self.ingress, "path": self.path, "match": self.match}


class Lookup(Protocol):
    """How a controller finds the entry for a request's host (lower-cased, no port) and path."""

    def find(self, host: str, path: str, headers: Headers) -> Entry | None: ...


@dataclass(slots=True)
class Counters:
    """Requests seen per (Ingress, client address) inside one rate-limit window."""

    seen: dict[tuple[str, str], int] = field(default_factory=dict)

    def hit(self, ingress: str, client: str) -> int:
        count = self.seen.get((ingress, client), 0) + 1
        self.seen[(ingress, client)] = count
        return count


def _client(request: Request, policy: HaproxyPolicy) -> str | None:
    """The address lists and limits see: ``set-src`` from the header when the request has it,
    else the connection's own address."""
    value = request.headers.get(policy.client_header) if policy.client_header else None
    return value.split(",")[0].strip() if value else request.client


def _in(address: str | None, networks: Sequence[Any]) -> bool:
    if address is None:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip.version == n.version and ip in n for n in networks)


class HaproxyModel:
    """The controller's haproxy for one set of entries."""

    def __init__(self, lookup: Lookup, name: str, entries: Sequence[Entry] = ()) -> None:
        self.lookup = lookup
        self.name = name  # the controller, for outcome notes
        self.entries = tuple(entries)  # what the lookup was built from (the oracle renders them again)

    def route(self, request: Request, counters: Counters | None = None) -> Outcome:
        entry = self.lookup.find(request.hostname, request.path, request.headers)
        if entry is None:
            return Outcome(404, "NoMatchingRule",
                           notes=(f"{self.name}: no map entry; the default backend answers 404",))
        return _answer(entry, request, counters)

    def route_many(self, requests: Sequence[Request]) -> list[Outcome]:
        """Requests sent one after the other inside one rate-limit window."""
        counters = Counters()
        return [self.route(r, counters) for r in requests]


def _outcome(entry: Entry, status: int, reason: str, *, served: bool = False, upstream: Upstream | None = None,
             redirect: RedirectTo | None = None, headers: Headers | None = None,
             notes: tuple[str, ...] = ()) -> Outcome:
    matched = MapMatch("", "", kind="Ingress", route=entry.ingress, rule_name=entry.path,
                       ingress=entry.ingress, path=entry.path, match=entry.match)
    backend = entry.backend if served else None
    rule = RuleInfo(matched=matched, backend=backend, weights={backend: 100} if backend else {})
    return Outcome(status, reason, rule, served=served, upstream=upstream, redirect=redirect,
                   response_headers=headers or Headers(), notes=notes)


def _https_redirect(entry: Entry, request: Request) -> bool:
    pol = entry.policy
    wanted = pol.ssl_redirect if pol.ssl_redirect is not None else entry.tls
    if not wanted or request.scheme != "http":
        return False
    return not any(request.path.startswith(p) for p in pol.ssl_redirect_exempt)


def _location(request: Request, scheme: str, host: str | None, port: int | None) -> str:
    name = host if host is not None else request.hostname
    default = 443 if scheme == "https" else 80
    authority = name if port in (None, default) else f"{name}:{port}"
    return f"{scheme}://{authority}{request.target}"


def _modified(headers: Headers, remove: Sequence[str], set_: Sequence[tuple[str, str]],
              add: Sequence[tuple[str, str]]) -> Headers:
    """haproxy's del-header, set-header and add-header rules, in that order."""
    for name in remove:
        headers = headers.remove(name)
    for name, value in set_:
        headers = headers.set(name, value)
    for name, value in add:
        headers = headers.add(name, value)
    return headers


def _cors_headers(cors: Cors, request: Request, preflight: bool) -> Headers:
    """The CORS headers of an answer (``preflight``: haproxy's own answer to OPTIONS)."""
    headers = Headers()
    origin = request.headers.get("origin")
    if cors.allows(origin):
        assert origin is not None
        headers = headers.set("Access-Control-Allow-Origin",
                              origin if cors.echo_origin or not cors.any_origin else "*")
        for name, text, asked in (("Methods", cors.methods_text, "access-control-request-method"),
                                  ("Headers", cors.headers_text, "access-control-request-headers")):
            value = request.headers.get(asked) if cors.echo_requested and text == "*" else text
            if value:
                headers = headers.set(f"Access-Control-Allow-{name}", value)
        if cors.credentials:
            headers = headers.set("Access-Control-Allow-Credentials", "true")
        if cors.expose_text:
            headers = headers.set("Access-Control-Expose-Headers", cors.expose_text)
        if not cors.max_age_preflight_only:
            headers = headers.set("Access-Control-Max-Age", str(cors.max_age))
        if cors.vary_origin and cors.listed:
            headers = headers.set("Vary", "Origin")
    if preflight and cors.max_age_preflight_only:
        headers = headers.set("Access-Control-Max-Age", str(cors.max_age))
    return headers


def _response_headers(entry: Entry, request: Request) -> Headers:
    pol = entry.policy
    headers = _modified(Headers(), pol.response_remove, pol.response_set, pol.response_add)
    if pol.hsts and request.scheme == "https":
        headers = headers.set("Strict-Transport-Security", pol.hsts)
    if pol.cors is not None:
        for name, value in _cors_headers(pol.cors, request, False).as_dict().items():
            headers = headers.set(name, value)
    return headers


def _body_size(request: Request) -> int | None:
    """The body size the request announces (``Content-Length``), if any."""
    value = (request.headers.get("content-length") or "").strip()
    return int(value) if value.isdigit() else None


def _cors_on(entry: Entry, request: Request, out: Outcome) -> Outcome:
    """``out`` -- an answer haproxy itself gives for the entry (a refusal, a redirect, a 413)
    -- with the CORS headers the controller's ``http-after-response`` rules add to it."""
    cors = entry.policy.cors
    if cors is None:
        return out
    headers = out.response_headers
    for name, value in _cors_headers(cors, request, False).as_dict().items():
        headers = headers.set(name, value)
    return out._replace(response_headers=headers)


def _redirected(entry: Entry, request: Request, notes: tuple[str, ...]) -> Outcome | None:
    """The redirect the entry answers, in the controller's order: the HTTPS redirect, then
    app-root and the other redirects -- or, ``redirects_first`` (haproxy-ingress, whose
    frontend redirects before its backend redirects to HTTPS), app-root (after the HTTPS
    redirect of ``/`` itself), the other redirects, then the HTTPS redirect. CORS headers go on
    each, except on haproxy-ingress's frontend redirects -- app-root, the HTTPS redirect of
    ``/`` before it, redirect-to -- since its CORS rules are the backend's."""
    pol = entry.policy
    https = _https_redirect(entry, request)
    root = pol.app_root is not None and request.path == "/"
    order = ("app-root", "redirect", "https") if pol.redirects_first and not (root and https) else (
        "https", "app-root", "redirect")
    for step in order:
        if step == "https" and https:
            location = _location(request, "https", None, pol.ssl_redirect_port)
            code = pol.ssl_redirect_code
            moved = _outcome(entry, code, "Redirect", redirect=RedirectTo(location, code), notes=notes)
            return moved if pol.redirects_first and root else _cors_on(entry, request, moved)
        out: Outcome | None = None
        if step == "app-root" and root:
            assert pol.app_root is not None
            out = _outcome(entry, 302, "Redirect", redirect=RedirectTo(pol.app_root, 302), notes=notes)
        red = pol.redirect
        if step == "redirect" and red is not None:
            location = red.location or _location(request, red.scheme or request.scheme, red.hostname, red.port)
            out = _outcome(entry, red.code, "Redirect", redirect=RedirectTo(location, red.code), notes=notes)
        if out is not None:
            return out if pol.redirects_first else _cors_on(entry, request, out)
    return None


def _answer(entry: Entry, request: Request, counters: Counters | None) -> Outcome:
    pol = entry.policy
    if pol.redirects_first:
        early = _redirected(entry, request, ())
        if early is not None:
            return early
    notes: list[str] = []
    client = _client(request, pol)
    if (pol.allow or pol.deny) and client is None:
        notes.append("client address unknown: allow/deny lists not evaluated")
    elif pol.deny and _in(client, pol.deny):
        return _cors_on(entry, request, _outcome(entry, 403, "Forbidden",
                                                 notes=(f"client {client} is in the deny list",)))
    elif pol.allow and not _in(client, pol.allow):
        return _cors_on(entry, request, _outcome(entry, 403, "Forbidden",
                                                 notes=(f"client {client} is not in the allow list",)))
    cors = pol.cors
    if pol.basic_auth is not None and not (cors is not None and cors.options_skip_auth and request.method == "OPTIONS"):
        given = (request.headers.get("authorization") or "").split(" ")[0].lower()
        if given != "basic":
            secret, realm = pol.basic_auth
            headers = Headers().set("WWW-Authenticate", f'Basic realm="{realm}"')
            return _cors_on(entry, request, _outcome(entry, 401, "Unauthorized", headers=headers))
        notes.append("credentials present; the model does not check them against the auth secret")
    limit = pol.rate_limit
    if limit is not None and counters is not None and client is not None and not _in(client, limit.exempt):
        if counters.hit(entry.ingress, client) > limit.requests:
            return _cors_on(entry, request, _outcome(entry, limit.status, "RateLimited", notes=tuple(notes)))
    if not pol.redirects_first:
        late = _redirected(entry, request, tuple(notes))
        if late is not None:
            return late
    if cors is not None and cors.preflight and request.method == "OPTIONS":
        return _outcome(entry, 204, "CORSPreflight", headers=_cors_headers(cors, request, True), notes=tuple(notes))
    size = _body_size(request)
    if pol.body_limit is not None and size is not None and size > pol.body_limit:
        return _cors_on(entry, request, _outcome(
            entry, 413, "PayloadTooLarge",
            notes=(*notes, f"request body of {size} bytes is over the limit of {pol.body_limit}")))
    if entry.backend is None:
        return _outcome(entry, 503, "BackendNotFound", notes=(*notes, "no endpoint for the Service"))
    headers = _modified(request.headers, pol.request_remove, pol.request_set, pol.request_add)
    host = request.host
    if pol.set_host is not None:
        host = pol.set_host
        headers = headers.set("Host", host)
    path = request.path
    if pol.rewrite is not None:
        path = pol.rewrite.apply(path)
    if pol.rewrite_target is not None:
        path = _replace_prefix(path, entry.path, pol.rewrite_target)
    target = path + (f"?{request.query}" if request.query else "")
    upstream = Upstream(request.method, host, target, headers)
    return _outcome(entry, 200, "Routed", served=True, upstream=upstream,
                    headers=_response_headers(entry, request), notes=tuple(notes))


def _replace_prefix(path: str, prefix: str, target: str) -> str:
    """haproxy-ingress's rewrite-target: the matched path prefix becomes ``target`` (a
    trailing slash of either side is not doubled)."""
    rest = path[len(prefix):] if path.lower().startswith(prefix.lower()) else path
    if target.endswith("/") and rest.startswith("/"):
        rest = rest[1:]
    return (target + rest) or "/"


def one_label(wildcard: str, host: str) -> bool:
    """Does ``*.suffix`` cover ``host`` (exactly one more label)?"""
    suffix = wildcard[1:]
    return host.endswith(suffix) and "." not in host[: -len(suffix)] and len(host) > len(suffix)


def by_host(entries: Sequence[Entry]) -> Mapping[str, list[Entry]]:
    """Entries grouped by lower-cased host, in declaration order."""
    out: dict[str, list[Entry]] = {}
    for e in sorted(entries, key=lambda e: e.order):
        out.setdefault(e.host.lower(), []).append(e)
    return out

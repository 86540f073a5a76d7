"""The neutral per-Ingress record both HAProxy providers read their annotations into, and the
annotation reader that accepts several equivalent prefixes.

:class:`HaproxyPolicy` says what one Ingress asks of the haproxy data plane in controller-free
terms (addresses, status codes, header pairs); the translator (:mod:`.translate`) turns it into
Gateway API filters and intents, the model (:mod:`.model`) executes it, and the oracle
renderers write it as ``http-request`` rules. Fields a controller has no annotation for keep
their neutral default.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from ing2gw.intents import Intent
from ing2gw.notes import Notes
from ing2gw.provider import Annotations, AnnotationTable, ingress_scope
from ing2gw.resources import Ingress

from .._common.values import IPNetwork

__all__ = ["BackendTLSWish", "Cors", "HaproxyPolicy", "RateLimitRule", "Redirect", "Rewrite", "read_annotations"]


@dataclass(frozen=True, slots=True)
class Redirect:
    """A redirect answered instead of proxying. ``location`` is a fixed URL, or ``None`` to
    build it from the request: ``scheme``/``hostname``/``port`` replace the request's, the
    path and query are kept."""

    code: int = 302
    location: str | None = None
    scheme: str | None = None
    hostname: str | None = None
    port: int | None = None


@dataclass(frozen=True, slots=True)
class Rewrite:
    """HAProxy ``http-request replace-path REGEX FORMAT`` rules, applied in order to the path
    (the query is kept): when the (unanchored) regex finds a match, the whole path becomes the
    format, ``\\1`` standing for a capture of the regex."""

    rules: tuple[tuple[str, str], ...]

    def apply(self, path: str) -> str:
        for pattern, fmt in self.rules:
            m = re.search(pattern, path)
            if m is not None:
                path = _expand(fmt, m)
        return path


def _expand(fmt: str, m: re.Match[str]) -> str:
    def group(g: re.Match[str]) -> str:
        index = int(g.group(1))
        return (m.group(index) or "") if index <= (m.re.groups or 0) else ""
    return re.sub(r"\\([0-9])", group, fmt)


@dataclass(frozen=True, slots=True)
class RateLimitRule:
    """At most ``requests`` per ``period_ms`` per client address; the next one gets ``status``.
    Addresses in ``exempt`` are never counted."""

    requests: int
    period_ms: int
    status: int
    exempt: tuple[IPNetwork, ...] = ()


@dataclass(frozen=True, slots=True)
class Cors:
    """CORS as the controller's haproxy answers it.

    A request's Origin is allowed when it has one and either nothing but ``*`` is listed (any
    origin), or it is one of ``origins``, or one of ``patterns`` (regular expressions,
    unanchored as haproxy's ``-m reg``) finds a match in it. ``methods``, ``headers`` and ``expose`` are the
    lists (for the Gateway CORS filter); the answer's headers are the ``*_text`` values as the
    controller writes them. Switches for where the two controllers differ:

    * ``echo_origin``: Access-Control-Allow-Origin copies the Origin even when any origin is
      allowed (else ``*`` then);
    * ``echo_requested``: a ``*`` Allow-Methods / Allow-Headers copies the request's
      Access-Control-Request-Method / -Headers (and is left out when the request has none);
    * ``max_age_preflight_only``: Access-Control-Max-Age only on the preflight answer, there
      whatever the Origin (else on every answer to an allowed Origin);
    * ``vary_origin``: ``Vary: Origin`` with a listed origin;
    * ``preflight``: haproxy answers every OPTIONS request itself with 204;
    * ``options_skip_auth``: basic auth does not apply to OPTIONS requests.
    """

    origins: tuple[str, ...] = ("*",)
    methods: tuple[str, ...] = ("*",)
    headers: tuple[str, ...] = ("*",)
    credentials: bool = False
    max_age: int = 5
    expose: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    methods_text: str = "*"
    headers_text: str = "*"
    expose_text: str = ""
    echo_origin: bool = False
    echo_requested: bool = False
    max_age_preflight_only: bool = False
    vary_origin: bool = False
    preflight: bool = False
    options_skip_auth: bool = False

    def allows(self, origin: str | None) -> bool:
        if not origin:
            return False
        if self.any_origin:
            return True
        return origin in self.origins or any(re.search(p, origin) for p in self.patterns)

    @property
    def any_origin(self) -> bool:
        return not self.patterns and all(o == "*" for o in self.origins)

    @property
    def listed(self) -> tuple[str, ...]:
        """The literal origins (``*`` left out)."""
        return tuple(o for o in self.origins if o != "*")


@dataclass(frozen=True, slots=True)
class BackendTLSWish:
    """TLS from haproxy to the pods: ``ca`` (Secret ``ns/name``) verifies them, ``None`` means
    unverified; ``hostname`` is the name sent and verified, ``None`` when the controller checks
    none; ``key`` is the annotation that asked for it."""

    key: str
    ca: str | None = None
    hostname: str | None = None


@dataclass(frozen=True, slots=True)
class HaproxyPolicy:
    """What one Ingress asks of haproxy, in the order haproxy applies it: client address ->
    deny/allow lists (403) -> basic auth (401) -> rate limit -> redirects -> CORS preflight
    (204) -> body limit (413) -> request header and Host changes -> path rewrite -> backend;
    response headers on the way back."""

    ssl_redirect: bool | None = None  # None: on when the Ingress has a tls section
    ssl_redirect_code: int = 302
    ssl_redirect_port: int | None = None  # None: the HTTPS default port
    ssl_redirect_port_implicit: bool = False  # the port is the controller's default, not the user's choice
    ssl_redirect_exempt: tuple[str, ...] = ()  # path prefixes never redirected to HTTPS
    redirect: Redirect | None = None  # request-redirect / redirect-to
    # the redirects come before the IP lists, auth and limits (haproxy-ingress: app-root and
    # redirect-to in the frontend, then the HTTPS redirect first thing in the backend)
    redirects_first: bool = False
    app_root: str | None = None  # a request for / is redirected (302) here
    client_header: str | None = None  # the client address is read from this header
    allow: tuple[IPNetwork, ...] = ()
    deny: tuple[IPNetwork, ...] = ()
    basic_auth: tuple[str, str] | None = None  # (secret ns/name, realm)
    rate_limit: RateLimitRule | None = None
    request_set: tuple[tuple[str, str], ...] = ()
    request_add: tuple[tuple[str, str], ...] = ()
    request_remove: tuple[str, ...] = ()
    set_host: str | None = None
    rewrite: Rewrite | None = None  # haproxy-tech path-rewrite
    rewrite_target: str | None = None  # haproxy-ingress rewrite-target (replaces the matched prefix)
    response_set: tuple[tuple[str, str], ...] = ()
    response_add: tuple[tuple[str, str], ...] = ()
    response_remove: tuple[str, ...] = ()
    hsts: str | None = None  # Strict-Transport-Security value on HTTPS answers
    cors: Cors | None = None
    body_limit: int | None = None  # bytes; larger bodies get 413
    intents: tuple[Intent, ...] = field(default=())  # other intents (timeouts, balancing ...)
    # request headers a path also requires: (name, value, value is a regex)
    match_headers: tuple[tuple[str, str, bool], ...] = ()
    passthrough: bool = False  # ssl-passthrough: TLS handed to the pods by SNI
    backend_tls: BackendTLSWish | None = None  # TLS to the pods
    server_aliases: tuple[str, ...] = ()  # other host names served like the Ingress's hosts
    redirect_from: tuple[str, int] | None = None  # (host, status): that host redirects to the Ingress's

    @property
    def restricts(self) -> bool:
        """Does the policy refuse some requests (IP lists, auth, rate limit)?"""
        return bool(self.allow or self.deny or self.basic_auth or self.rate_limit)


def read_annotations(table: AnnotationTable, ingress: Ingress, notes: Notes, prefixes: Sequence[str]) -> Annotations:
    """The Ingress's annotations under any of the equivalent ``prefixes`` (the first listed
    wins when two spell the same key), parsed and noted by ``table``."""
    seen: dict[str, tuple[str, str, str]] = {}
    for pfx in prefixes:
        lead = pfx.rstrip("/") + "/"
        for full in sorted(ingress.annotations):
            if full.startswith(lead):
                key = full[len(lead):]
                seen.setdefault(key, (full, key, ingress.annotations[full]))
    items = [seen[k] for k in sorted(seen)]
    return table.parse(items, notes, ingress.subject, ingress.origin, ingress_scope(ingress))

"""The protections of an F5 NGINX location, in the order NGINX's phases apply them -- the same
for the locations of Ingress paths and of VirtualServer routes (the model's :mod:`.model` and
:mod:`.vsmodel` ask here).

* find-config phase: the location's ``client_max_body_size`` against the request's
  ``Content-Length`` -> 413, before anything the location does itself (returns, redirects,
  policies); ``0`` checks nothing;
* pre-access phase: the location's ``limit_req`` zones -- an Ingress's ``limit-req-rate`` (one
  zone per Ingress, ``limit_req_status`` ``limit-req-reject-code``, default 429), the
  ``rateLimit`` Policies in force on a VirtualServer route (one zone per Policy and the resource
  referencing it, every one applies; the status is the first Policy's ``rejectCode``, default
  503). NGINX counts a request in every zone (:class:`~ing2gw.enforce.buckets.NginxLimitReq`):
  at one instant ``burst + 1`` requests of one key pass (with or without ``nodelay``: a delayed
  request is not refused), the next is refused. A key that is empty is not counted. Requests
  are counted only when the caller counts (``verify``'s bursts, ``route --cases``);
* access phase: allow/deny lists (403) before basic auth (401 with ``WWW-Authenticate: Basic
  realm="..."``), whose credentials are checked against the ``--htpasswd`` file of the Secret
  (without one, only their presence).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ing2gw.enforce.buckets import NginxLimitReq
from ing2gw.enforce.state import Enforcement as ModelEnforcement
from ing2gw.http import Headers, Request

__all__ = ["Enforcement", "Guards", "Refusal", "Zone", "body_refusal", "limit_refusal", "auth_refusal"]

_VARIABLE = re.compile(r"\$\{?([A-Za-z0-9_]+)\}?")


@dataclass(frozen=True, slots=True)
class Zone:
    """One ``limit_req`` zone as a location uses it."""

    name: str  # the zone's identity: requests of every location using it share its counters
    rate: int
    unit: str  # "second" or "minute"
    burst: int
    key: str  # the NGINX variables it counts by, e.g. ${binary_remote_addr}


@dataclass(frozen=True, slots=True)
class Guards:
    """What a location checks before it proxies or answers."""

    body_max: int | None  # client_max_body_size in bytes; None: not checked (0)
    zones: tuple[Zone, ...] = ()
    reject: int = 503  # limit_req_status
    auth_secret: str | None = None  # basic auth: the htpasswd Secret (ns/name); None: no basic auth
    auth_realm: str = ""


Enforcement = ModelEnforcement[NginxLimitReq]  # what the model checks protections with


@dataclass(frozen=True, slots=True)
class Refusal:
    """NGINX's answer instead of the location's: status, reason, response headers, and why."""

    status: int
    reason: str
    why: str
    headers: Headers = field(default_factory=Headers)


def body_refusal(limit: int | None, request: Request) -> Refusal | None:
    """The 413 of ``client_max_body_size`` ``limit`` for a request announcing a larger body."""
    length = (request.headers.get("content-length") or "").strip()
    if limit is None or not length.isdigit() or int(length) <= limit:
        return None
    return Refusal(413, "PayloadTooLarge", f"request body of {int(length)} bytes is over client_max_body_size "
                                           f"{limit}")


def _key_value(key: str, request: Request) -> str:
    """The value of a ``limit_req_zone`` key for ``request`` (client address, headers, arguments)."""

    def variable(m: re.Match[str]) -> str:
        name = m.group(1).lower()
        if name in ("binary_remote_addr", "remote_addr"):
            return request.client or ""
        if name.startswith("http_"):
            return request.headers.get(name[5:].replace("_", "-")) or ""
        if name.startswith("arg_"):
            return request.query_params.get(name[4:]) or ""
        if name in ("host", "server_name"):
            return request.hostname
        if name == "uri":
            return request.path
        return ""

    return _VARIABLE.sub(variable, key)


def limit_refusal(enf: Enforcement, guards: Guards, request: Request) -> Refusal | None:
    """The ``limit_req`` refusal of the location's zones, counted in ``enf.limiter``."""
    if enf.limiter is None or not guards.zones:
        return None
    zones = []
    for zone in guards.zones:
        value = _key_value(zone.key, request)
        if value:  # an empty key is not counted
            zones.append(((zone.name, value), zone.rate, zone.unit, zone.burst))
    refused = enf.limiter.take_all(zones, enf.clock()) if zones else None
    if refused is None:
        return None
    (name, value), rate, unit, burst = zones[refused]
    return Refusal(guards.reject, "RateLimited",
                   f"limit_req zone {name} ({rate}r/{unit[0]} burst={burst}) refused key {value}")


def auth_refusal(enf: Enforcement, guards: Guards, request: Request) -> Refusal | None:
    """The 401 of ``auth_basic`` without (valid) Basic credentials."""
    if guards.auth_secret is None:
        return None
    check = enf.credentials.check(guards.auth_secret, request.headers.get("authorization"))
    if check.ok:
        return None
    return Refusal(401, "Unauthorized", check.why,
                   Headers({"WWW-Authenticate": f'Basic realm="{guards.auth_realm}"'}))

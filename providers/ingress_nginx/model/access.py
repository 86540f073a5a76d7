"""The protections of an ingress-nginx location, in nginx's phases (semantics doc 0, 6, 7).

* find-config phase: ``client_max_body_size`` (``proxy-body-size``, ConfigMap default 1m)
  against the request's ``Content-Length`` -> 413, before any redirect of the location;
* pre-access phase: ``limit_req`` zones of ``limit-rps``/``limit-rpm`` (one zone per Ingress
  and unit, keyed by client address, ``burst = rate x limit-burst-multiplier nodelay``;
  ``limit-allowlist`` addresses are not counted) -> ``limit-req-status-code`` (503);
* access phase: deny/allow lists (403), basic auth checked against the ``--htpasswd`` file of
  the ``auth-secret`` (every format nginx accepts; without a file only the presence of
  credentials), external auth (``auth-url``) answered by the stand-in
  (:mod:`ing2gw.enforce.standin`): its 401 is the answer (a 302 to ``auth-signin`` when set),
  403 too, anything else 500; ``satisfy any`` lets a request through when one check passes.

:class:`Enforcement` holds the per-model state: credentials, the ``limit_req`` counters (none:
rate limits are not counted, every request is the first) and the clock they count on.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from ing2gw.enforce.buckets import NginxLimitReq
from ing2gw.enforce.standin import AuthAnswer
from ing2gw.enforce.state import Enforcement as ModelEnforcement
from ing2gw.http import Request

from .settings import ControllerConfig, Policy
from .uri import escape_uri

__all__ = ["Enforcement", "Refusal", "access", "body_too_large", "rate_limited"]

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


Enforcement = ModelEnforcement[NginxLimitReq]  # what the model checks protections with


@dataclass(frozen=True, slots=True)
class Refusal:
    """nginx's answer instead of the upstream's: status, reason, headers, and why (a note)."""

    status: int
    reason: str
    why: str
    headers: tuple[tuple[str, str], ...] = ()
    redirect: str | None = None


def body_too_large(pol: Policy | None, config: ControllerConfig, request: Request) -> Refusal | None:
    """The 413 of ``client_max_body_size`` for a request announcing its body size."""
    limit = pol.body_max if pol is not None else config.proxy_body_size
    length = request.headers.get("content-length")
    if limit is None or length is None or not length.strip().isdigit():
        return None
    size = int(length)
    if size <= limit:
        return None
    return Refusal(413, "PayloadTooLarge", f"request body of {size} bytes is over client_max_body_size {limit}")


def rate_limited(enf: Enforcement, pol: Policy, config: ControllerConfig, client: Address | None) -> Refusal | None:
    """The ``limit_req`` refusal of the Ingress's zones, counted in ``enf.limiter``."""
    if enf.limiter is None or not (pol.limit_rps or pol.limit_rpm):
        return None
    if client is not None and any(client in net for net in pol.limit_exempt):
        return None  # the zone key is empty: nginx does not count the request
    who = str(client) if client is not None else ""
    zones = []
    for rate, unit in ((pol.limit_rps, "second"), (pol.limit_rpm, "minute")):
        if rate:
            zones.append(((pol.ingress, unit, who), rate, unit, rate * pol.limit_burst_multiplier))
    refused = enf.limiter.take_all(zones, enf.clock())
    if refused is None:
        return None
    _, rate, unit, burst = zones[refused]
    return Refusal(config.limit_req_status_code, "RateLimited",
                   f"limit_req {rate}r/{unit[0]} burst={burst} nodelay of {pol.ingress} refused client {who}")


def access(enf: Enforcement, pol: Policy, request: Request, client: Address | None, notes: list[str]) -> Refusal | None:
    """The access phase: deny/allow, basic auth, external auth, combined by ``satisfy``."""
    ip_ok: bool | None = None
    if pol.allow or pol.deny:
        if client is None:
            notes.append("client address unknown: allow/deny rules not evaluated")
        else:
            denied = any(client in net for net in pol.deny)
            ip_ok = not denied and (not pol.allow or any(client in net for net in pol.allow))
    auth_ok: bool | None = None
    auth_why = ""
    if pol.auth_type:
        if pol.auth_type == "basic":
            secret = "/".join(pol.auth_secret) if pol.auth_secret else None
            check = enf.credentials.check(secret, request.headers.get("authorization"))
            auth_ok, auth_why = check.ok, check.why
            if check.ok and "not checked" in check.why:
                notes.append(check.why)
        else:
            given = (request.headers.get("authorization") or "").split(" ")[0].lower()
            auth_ok = given == "digest"
            auth_why = "digest credentials present; not checked" if auth_ok else "no Digest credentials"
            if auth_ok:
                notes.append(auth_why)
    ext: AuthAnswer | None = None
    if pol.auth_url and not (pol.satisfy_any and (ip_ok or auth_ok)):
        ext = enf.auth(request.headers)  # auth_request sends every client header
        notes.append(f"external auth {pol.auth_url} answered {ext.status} (the stand-in auth service)")
    checks = [c for c in (ip_ok, auth_ok, None if ext is None else ext.allowed) if c is not None]
    permitted = any(checks) if pol.satisfy_any and checks else all(checks)
    if permitted:
        return None
    if ip_ok is False and not (pol.satisfy_any and (auth_ok is False or ext is not None)):
        return Refusal(403, "Forbidden", f"client {client} is refused by the allow/deny lists")
    if auth_ok is False or ext is None:
        realm = pol.auth_realm or ""
        return Refusal(401, "Unauthorized", auth_why,
                       (("WWW-Authenticate", f'{str(pol.auth_type).capitalize()} realm="{realm}"'),))
    if ext.status == 401 and pol.auth_signin:
        target = f"{request.scheme}://{request.host}{escape_uri(request.path)}"
        target += f"?{request.query}" if request.query else ""
        sep = "&" if "?" in pol.auth_signin else "?"
        return Refusal(302, "Redirect", "external auth answered 401", redirect=f"{pol.auth_signin}{sep}rd={target}")
    if ext.status in (401, 403):
        return Refusal(ext.status, "Unauthorized" if ext.status == 401 else "Forbidden",
                       f"external auth {pol.auth_url} answered {ext.status}",
                       tuple((k, v) for k in ext.headers if k.lower() == "www-authenticate"
                             for v in ext.headers.get_all(k)))
    return Refusal(500, "AuthError", f"external auth {pol.auth_url} answered {ext.status}")

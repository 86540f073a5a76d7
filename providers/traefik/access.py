"""The protections of Traefik's middlewares in its model (:mod:`.model`), as Traefik applies them.

* ``basicAuth`` / ``digestAuth``: without Basic (Digest) credentials 401 with the realm's
  challenge; with ``--htpasswd`` files (:class:`~ing2gw.enforce.credentials.Credentials`) a
  ``basicAuth`` user is checked against the file of its ``secret`` (wrong credentials: 401);
* ``forwardAuth``: the auth service (``address``) is the stand-in
  (:mod:`ing2gw.enforce.standin`); it is sent the client's headers (only those named in
  ``authRequestHeaders`` when set); a 2xx lets the request on with the ``authResponseHeaders``
  copied into it, any other answer is returned to the client as the service gave it;
* ``rateLimit``: a token bucket per client address and middleware holding ``burst`` tokens
  (default 1), refilled at ``average`` per ``period`` (default 1s); an empty bucket answers
  429. Requests are counted only when the caller counts (``verify``'s bursts, ``route
  --cases``), so boundary probes stay independent;
* ``retry``: Traefik retries a request only when the backend cannot be reached (a network
  error, never an HTTP status); an answering backend's answer is the same with or without
  it, so it changes no outcome here (both sides agree by construction);
* ``inFlightReq`` limits concurrent requests, which sequential replays never exceed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ing2gw.enforce.buckets import TokenBuckets
from ing2gw.enforce.state import Enforcement as ModelEnforcement
from ing2gw.http import Headers, Request

from .crds import Middleware
from .middlewares import rate_of

__all__ = ["Enforcement", "Refusal", "check"]


Enforcement = ModelEnforcement[TokenBuckets]  # what the model checks protections with


@dataclass(frozen=True, slots=True)
class Refusal:
    """Traefik's answer instead of the backend's."""

    status: int
    reason: str
    headers: Headers = field(default_factory=Headers)


def _str_list(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def check(enf: Enforcement, mw: Middleware, request: Request, upstream: Headers) -> tuple[Refusal | None, Headers]:
    """Apply one protecting middleware: its refusal (None: the request goes on) and the
    request headers sent upstream afterwards."""
    cfg: Mapping[str, Any] = mw.config
    if mw.type in ("basicAuth", "digestAuth"):
        realm = cfg.get("realm") or "traefik"
        scheme = "Basic" if mw.type == "basicAuth" else "Digest"
        challenge = Headers({"www-authenticate": f'{scheme} realm="{realm}"'})
        header = request.headers.get("authorization") or ""
        if mw.type == "digestAuth":  # the digest itself is not checked
            ok = header.split(" ")[0].lower() == "digest"
        else:  # Basic credentials, checked against the Secret's --htpasswd file when there is one
            secret = f"{mw.obj.namespace}/{cfg['secret']}" if cfg.get("secret") else None
            ok = enf.credentials.check(secret, header).ok
        return (None if ok else Refusal(401, "Unauthorized", challenge)), upstream
    if mw.type == "forwardAuth":
        wanted = {h.lower() for h in _str_list(cfg.get("authRequestHeaders"))}
        sent = Headers([(k, v) for k in request.headers for v in request.headers.get_all(k)
                        if not wanted or k.lower() in wanted])
        answer = enf.auth(sent)
        if not answer.allowed:
            return Refusal(answer.status, "Unauthorized" if answer.status == 401 else "Forbidden",
                           answer.headers), upstream
        for name in _str_list(cfg.get("authResponseHeaders")):
            value = answer.headers.get(name)
            if value is not None:
                upstream = upstream.set(name, value)
        return None, upstream
    if mw.type == "rateLimit" and enf.limiter is not None and cfg.get("average"):
        rate, unit = rate_of(cfg)
        burst = int(cfg.get("burst") or 1)
        key = (mw.obj.ref, request.client or "")
        if not enf.limiter.take(key, rate, unit, 0, enf.clock(), capacity=burst):
            return Refusal(429, "TooManyRequests"), upstream
    return None, upstream

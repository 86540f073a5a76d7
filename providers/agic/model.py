"""A data-plane model of Azure Application Gateway configured by AGIC: what a request gets
(checked against AGIC's own tests, ``docs/upstream/agic``).

The listeners of :mod:`.appgw` answer on their port and protocol: the one with the lowest
priority among those whose host names match the request's host (a basic listener matches every
host) takes it; none: 404 on a port with HTTP listeners, a failed handshake on an HTTPS port, a
refused connection on a port nothing listens on. A redirect listener answers 301 to https with
the path and query kept. Otherwise the first path rule of its URL path map that matches the path
wins, else the map's default (the catch-all path or the Ingress's default backend), else the
gateway's empty default pool: 502. The backend HTTP settings of the Ingress then apply: the path
override (``backend-path-prefix`` replaces the matched prefix), ``backend-hostname``, and the
response headers of cookie affinity.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ing2gw.http import Headers, Request
from ing2gw.notes import Notes
from ing2gw.resources import ResourceSet
from ing2gw.router.outcome import Matched, Outcome, RedirectTo, RuleInfo, Upstream

from .._common.models import backend_key
from .appgw import Gateway, build

__all__ = ["AgicMatch", "AgicModel"]


@dataclass(frozen=True, slots=True)
class AgicMatch(Matched):
    """The listener and path rule that answered (JSON ``{"ingress", "path", "pattern", "priority"}``)."""

    pattern: str = ""
    priority: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"ingress": self.route, "path": self.rule_name, "pattern": self.pattern, "priority": self.priority}


class AgicModel:
    def __init__(self, gateway: Gateway, resources: ResourceSet) -> None:
        self.gateway = gateway
        self.resources = resources

    @classmethod
    def from_resources(cls, resources: ResourceSet) -> AgicModel:
        return cls(build(resources.ingresses, resources, Notes()), resources)

    def route(self, request: Request, client_ip: str | None = None) -> Outcome:
        found = self.gateway.candidates(request.port, request.scheme, request.hostname)
        if not found:
            if request.scheme == "https" and any(ls.port == request.port and ls.protocol == "https"
                                                 for ls in self.gateway.listeners):
                return Outcome(None, "TLSHandshakeFailed", notes=(f"no HTTPS listener for {request.hostname}",))
            if any(ls.port == request.port and ls.protocol == request.scheme for ls in self.gateway.listeners):
                return Outcome(404, "NoMatchingListener",
                               notes=(f"no {request.scheme} listener on port {request.port} for {request.hostname}",))
            return Outcome(None, "ConnectionRefused", notes=(f"nothing listens for {request.scheme} on port "
                                                             f"{request.port}",))
        ls = found[0]
        base = AgicMatch(gateway="appgw", listener=f"{ls.protocol}:{ls.port}", kind="Ingress", priority=ls.priority)
        if ls.redirect:
            location = f"https://{request.hostname}{request.target}"
            return Outcome(301, "Redirect", RuleInfo(matched=base, backend=None, weights={}),
                           redirect=RedirectTo(location, 301))
        entry = ls.select(request.path)
        if entry is not None:
            ing, backend, rule_name, prefix = entry.ingress, entry.path.backend, entry.path.path, entry.pattern
        elif ls.default is not None:
            ing, backend = ls.default
            rule_name, prefix = ls.default_path, "/*"
        else:
            return Outcome(502, "DefaultBackendPool", RuleInfo(matched=base, backend=None, weights={}),
                           notes=("the gateway's default backend pool has no members",))
        matched = AgicMatch(gateway="appgw", listener=f"{ls.protocol}:{ls.port}", kind="Ingress", route=ing.ref,
                            rule_name=rule_name or "/", pattern=prefix, priority=ls.priority)
        name = backend_key(self.resources, ing.namespace, backend)
        info = RuleInfo(matched=matched, backend=name, weights={name: 100} if name else {})
        if name is None:
            return Outcome(502, "NoBackend", info)
        ann = self.gateway.annotations[ing.ref]
        path = request.path
        override = ann.get("backend-path-prefix")
        if override is not None:
            stripped = prefix.rstrip("*")
            rest = path[len(stripped):] if entry is not None and prefix.endswith("*") else ""
            if entry is None:  # the default: the whole path follows the override
                rest = path
            path = override.rstrip("/") + "/" + rest.lstrip("/") if rest else override
        target = f"{path}?{request.query}" if request.query else path
        host = ann.get("backend-hostname") or request.host
        upstream = Upstream(request.method, host, target, request.headers)
        return Outcome(200, "Routed", info, served=True, upstream=upstream, response_headers=Headers())


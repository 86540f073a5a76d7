"""A data-plane model of the Envoy configuration Cilium writes for its Ingresses.

One load balancer per dedicated Ingress and one for all shared Ingresses. Each has an HTTP
route table (port 80) and, for hosts with TLS, a secure one (443) reached only with an SNI
naming such a host (else the TLS handshake fails). A virtual host per hostname: an exact name
first, then ``*.suffix`` (which matches ONE label only), then ``*`` (rules without a host and
the default backend). Inside a virtual host the routes are tried in order: Exact paths
(longest first), regular expressions (ImplementationSpecific; whole path, longest first),
prefixes (segment-wise, longest first), ``/`` last; equal matches from several Ingresses share
the traffic equally. A TLS host with force-https answers plain HTTP with 301 to https. A TLS
passthrough host hands TLS to its backend. A request goes to the load balancer that has its
host (DNS), the first by name when several do.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from ing2gw.http import Request
from ing2gw.notes import Notes
from ing2gw.resources import Ingress, IngressBackend, ResourceSet
from ing2gw.router.outcome import Matched, Outcome, RedirectTo, RuleInfo, Upstream
from ing2gw.router.paths import STANDARD, BadPath

from .annotations import TABLE
from .translator import ENFORCE_HTTPS, gateway_key, lb_mode

__all__ = ["CiliumModel"]

_KIND_ORDER = {"Exact": 0, "Regex": 1, "Prefix": 2}


@dataclass(frozen=True, slots=True)
class _Route:
    kind: str  # Exact | Regex | Prefix
    value: str
    backends: tuple[str, ...]  # "ns/svc:port"
    ingress: str
    path: str  # as the Ingress wrote it
    order: int

    def key(self) -> tuple[int, int, int, int]:
        root = 1 if self.kind == "Prefix" and self.value == "/" else 0
        return (root, _KIND_ORDER[self.kind], -len(self.value), self.order)

    def matches(self, path: str) -> bool:
        if self.kind == "Exact":
            return path == self.value
        if self.kind == "Prefix":
            p = self.value.rstrip("/")
            return not p or path == p or path.startswith(p + "/")
        try:
            return re.fullmatch(self.value, path) is not None
        except re.error:
            return False


@dataclass(slots=True)
class _Balancer:
    name: str
    http: dict[str, list[_Route]] = field(default_factory=dict)  # hostname ("*" = any) -> routes
    https: dict[str, list[_Route]] = field(default_factory=dict)
    redirect: set[str] = field(default_factory=set)  # hosts whose plain HTTP is redirected
    passthrough: dict[str, str] = field(default_factory=dict)  # host -> backend

    def seal(self) -> None:
        for table in (self.http, self.https):
            for host, routes in table.items():
                table[host] = sorted(routes, key=_Route.key)

    def has_host(self, hostname: str) -> bool:
        return _vhost(self.http, hostname) is not None or _vhost(self.https, hostname) is not None \
            or hostname in self.passthrough


def _vhost(table: dict[str, list[_Route]], hostname: str) -> str | None:
    """Envoy's virtual host choice: exact, then the longest ``*.suffix``, then ``*``."""
    if hostname in table:
        return hostname
    best = None
    for host in table:
        if host.startswith("*.") and hostname.endswith(host[1:]) and (best is None or len(host) > len(best)):
            best = host
    if best is not None:
        return best
    return "*" if "*" in table else None


def _backend(ing: Ingress, backend: IngressBackend, resources: ResourceSet) -> str | None:
    if backend.service is None:
        return None
    port = backend.port_number
    if port is None:
        svc = resources.services.get((ing.namespace, backend.service))
        port = next((p.port for p in svc.ports if p.name == backend.port_name), None) if svc else None
    return f"{ing.namespace}/{backend.service}:{port if port is not None else backend.port_name}"


class CiliumModel:
    """Cilium's load balancers for a set of Ingresses, and its request handling."""

    def __init__(self, balancers: Sequence[_Balancer]) -> None:
        self.balancers = sorted(balancers, key=lambda b: b.name)

    @classmethod
    def from_resources(cls, resources: ResourceSet) -> CiliumModel:
        notes = Notes()
        balancers: dict[str, _Balancer] = {}
        order = 0
        for ing in sorted(resources.ingresses, key=lambda i: (i.namespace, i.name)):
            ann = TABLE.read(ing, notes)
            name = gateway_key(ing) if lb_mode(ann) == "dedicated" else "cilium"
            lb = balancers.setdefault(name, _Balancer(name))
            tls_hosts = {h for t in ing.tls for h in t.hosts}
            if ann.get("tls-passthrough"):
                for rule in ing.rules:
                    root = next((p for p in rule.paths if p.path == "/"), None)
                    target = _backend(ing, root.backend, resources) if root else None
                    if rule.host and target:
                        lb.passthrough.setdefault(rule.host, target)
                continue
            forced = ann.get("force-https")
            force = ENFORCE_HTTPS if forced is None else bool(forced)
            entries: list[tuple[str, _Route]] = []
            if ing.default_backend is not None:
                target = _backend(ing, ing.default_backend, resources)
                entries.append(("*", _Route("Prefix", "/", (target,) if target else (), ing.ref, "", order)))
                order += 1
            for rule in ing.rules:
                for p in rule.paths:
                    kind = {"Exact": "Exact", "Prefix": "Prefix"}.get(p.path_type, "Regex")
                    value = p.path or "/"
                    target = _backend(ing, p.backend, resources)
                    entries.append((rule.host or "*", _Route(kind, value, (target,) if target else (), ing.ref,
                                                             value, order)))
                    order += 1
            for host, route in entries:
                _add(lb.http, host, route)
            for host in sorted(tls_hosts):
                own = [r for h, r in entries if h == host] or [r for h, r in entries if h == "*"]
                for route in own:
                    _add(lb.https, host, route)
                if force and own:
                    lb.redirect.add(host)
        for lb in balancers.values():
            lb.seal()
        return cls(list(balancers.values()))

    # --- one request ----------------------------------------------------------------------

    def route(self, request: Request, client_ip: str | None = None) -> Outcome:
        try:
            path = STANDARD.normalise(request.path).path
        except BadPath as exc:
            return Outcome(400, "BadRequest", notes=(str(exc),))
        if not self.balancers:
            return Outcome(None, "ConnectionRefused", notes=("no Cilium Ingress",))
        host = request.hostname
        candidates = [b for b in self.balancers if b.has_host(host)] or self.balancers
        first: Outcome | None = None
        for lb in candidates:
            out = self._route(lb, request, path)
            if out.reason not in ("NoMatchingRoute", "NoMatchingListener", "TLSHandshakeFailed", "ConnectionRefused"):
                return out
            first = first or out
        assert first is not None
        return first

    def _route(self, lb: _Balancer, request: Request, path: str) -> Outcome:
        host = request.hostname
        if request.scheme == "https":
            sni = request.sni or host
            if sni in lb.passthrough:
                return Outcome(None, "TLSPassthrough", notes=(
                    f"TLS for {sni} is passed unterminated to {lb.passthrough[sni]} (load balancer {lb.name})",))
            if _vhost({h: [] for h in lb.https if h != "*"}, sni) is None:
                return Outcome(None, "TLSHandshakeFailed", notes=(f"no certificate for {sni} on {lb.name}",))
            table = lb.https
        else:
            if not lb.http:
                return Outcome(None, "ConnectionRefused", notes=(f"{lb.name} has no plain-HTTP listener",))
            table = lb.http
        vhost = _vhost(table, host)
        if vhost is None:
            return Outcome(404, "NoMatchingListener", notes=(f"no virtual host for {host} on {lb.name}",))
        if vhost.startswith("*.") and "." in host[: len(host) - len(vhost) + 1].rstrip("."):
            return Outcome(404, "NoMatchingRoute", notes=(f"{vhost} matches one label only; {host} has more",))
        for route in table[vhost]:
            if not route.matches(path):
                continue
            backend = route.backends[0] if route.backends else None
            info = RuleInfo(Matched(lb.name, request.scheme, "Ingress", route.ingress, 0, route.path),
                            backend, {b: 100 / len(route.backends) for b in route.backends})
            if request.scheme == "http" and vhost in lb.redirect:
                location = f"https://{host}{request.target}"
                return Outcome(301, "Redirect", info, redirect=RedirectTo(location, 301))
            if backend is None:
                return Outcome(503, "NoBackend", info)
            target = f"{path}?{request.query}" if request.query else path
            notes = (f"equal matches share the traffic: {', '.join(route.backends)}",) if len(route.backends) > 1 \
                else ()
            return Outcome(200, "Routed", info, True, Upstream(request.method, request.host, target, request.headers),
                           notes=notes)
        return Outcome(404, "NoMatchingRoute", notes=(f"no route of {vhost} on {lb.name} matches {path}",))


def _add(table: dict[str, list[_Route]], host: str, route: _Route) -> None:
    """Add a route; an equal match (same kind and value) already there takes its backends too."""
    routes = table.setdefault(host, [])
    for i, r in enumerate(routes):
        if (r.kind, r.value) == (route.kind, route.value):
            routes[i] = _Route(r.kind, r.value, r.backends + route.backends, r.ingress, r.path, r.order)
            return
    routes.append(route)

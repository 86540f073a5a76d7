"""Servers, locations, upstreams and redirect servers, built the way the controller builds them.

A second implementation, independent of the data-plane model's (``model/servers.py``,
``model/locations.py``), written from the controller's ``createUpstreams``,
``createServers``, ``getBackendServers``, ``mergeAlternativeBackends``,
``updateServerLocations`` and ``BuildRedirects`` (controller.go, location.go, ingress.go):
mutable objects filled in the controller's loop order. The oracle renders what this module
builds, so real nginx checks the model against it. Annotation values come from the shared
reading (:func:`..model.settings.read_policy`), which the controller's parser tests check.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from ing2gw.resources import Ingress, IngressBackend

from ..model.settings import Policy
from .helpers import DEFAULT_UPSTREAM, needs_rewrite

__all__ = ["Build", "CLocation", "CServer", "Redirect", "Upstream", "build", "merge_canary", "upstream_name"]

DEFAULT_SERVER = "_"


def upstream_name(namespace: str, backend: IngressBackend) -> str:
    """``<namespace>-<service>-<port>`` (util.go upstreamName)."""
    port = backend.port_number if backend.port_number is not None and backend.port_number > 0 else backend.port_name
    if backend.service is None or port is None:
        return f"{namespace}-INVALID"
    return f"{namespace}-{backend.service}-{port}"


def service_label(namespace: str, backend: IngressBackend) -> str:
    """``ns/svc:port``: how the oracle's echo server names the Service that answered."""
    port = backend.port_number if backend.port_number is not None else backend.port_name
    return f"{namespace}/{backend.service}:{port}"


@dataclass
class Upstream:
    name: str
    label: str  # ns/svc:port
    no_server: bool = False  # a canary's own upstream
    canary: Policy | None = None  # the canary Ingress's settings (traffic shaping policy)
    alternatives: list[str] = field(default_factory=list)


@dataclass
class CLocation:
    path: str
    path_type: str  # "Exact" | "Prefix"
    backend: str  # upstream name
    is_def_backend: bool
    ingress: Ingress | None
    policy: Policy | None
    ingress_path: str = ""
    copy: bool = False  # the Exact twin updateServerLocations adds


@dataclass
class CServer:
    hostname: str
    locations: list[CLocation]
    aliases: list[str] = field(default_factory=list)
    tls: bool = False
    redirect_from_to_www: bool = False


@dataclass(frozen=True)
class Redirect:
    source: str  # the twin name
    target: str


@dataclass
class Build:
    servers: list[CServer]
    upstreams: dict[str, Upstream]
    redirects: list[Redirect]
    rejected: dict[str, str]


def _create_upstreams(items: Sequence[tuple[Ingress, Policy]]) -> dict[str, Upstream]:
    ups: dict[str, Upstream] = {DEFAULT_UPSTREAM: Upstream(DEFAULT_UPSTREAM, "default-backend")}
    for ing, pol in items:
        backend = ing.default_backend
        if backend is not None and backend.service is not None:
            name = upstream_name(ing.namespace, backend)
            ups[name] = Upstream(name, service_label(ing.namespace, backend))  # re-created every time
            if pol.canary is not None:
                ups[name].no_server, ups[name].canary = True, pol
        for rule in ing.rules:
            for path in rule.paths:
                if path.backend is None or path.backend.service is None:
                    continue
                name = upstream_name(ing.namespace, path.backend)
                if name in ups:
                    continue
                ups[name] = Upstream(name, service_label(ing.namespace, path.backend))
                if pol.canary is not None:
                    ups[name].no_server, ups[name].canary = True, pol
    return ups


def _root_only(pol: Policy) -> Policy:
    """``createServers`` restores the default server root's empty Redirect and Rewrite."""
    return replace(pol, redirect=None, from_to_www=False, rewrite_target=None, use_regex=False, app_root=None,
                   ssl_redirect=False, force_ssl_redirect=False, preserve_trailing_slash=False)


def _create_servers(items: Sequence[tuple[Ingress, Policy]], ups: dict[str, Upstream]) -> dict[str, CServer]:
    servers = {DEFAULT_SERVER: CServer(DEFAULT_SERVER, [CLocation("/", "Prefix", DEFAULT_UPSTREAM, True, None, None)])}
    for ing, pol in items:
        if pol.canary is not None:
            continue
        un = DEFAULT_UPSTREAM
        if ing.default_backend is not None and ing.default_backend.service is not None:
            name = upstream_name(ing.namespace, ing.default_backend)
            if name in ups:
                un = name
                root = servers[DEFAULT_SERVER].locations[0]
                if root.is_def_backend and not ing.rules:
                    root.is_def_backend, root.backend, root.ingress = False, name, ing
                    root.policy = _root_only(pol)
        for rule in ing.rules:
            host = rule.host or DEFAULT_SERVER
            if host in servers:
                continue
            servers[host] = CServer(host, [CLocation("/", "Prefix", un, True, ing, pol)])
    aliases: dict[str, list[str]] = {}
    for ing, pol in items:
        if pol.canary is not None:
            continue
        for rule in ing.rules:
            host = rule.host or DEFAULT_SERVER
            server = servers[host]
            if not server.aliases:
                server.aliases = list(pol.server_aliases)
                if not aliases.get(host):
                    aliases[host] = list(pol.server_aliases)
            if ing.tls and host != DEFAULT_SERVER:
                server.tls = True
    for host, names in aliases.items():
        servers[host].aliases = sorted({a for a in names if a != host and a not in servers})
    return servers


def _add_paths(items: Sequence[tuple[Ingress, Policy]], ups: dict[str, Upstream],
               servers: dict[str, CServer]) -> None:
    """getBackendServers' path loop: every Ingress, canaries included."""
    for ing, pol in items:
        for rule in ing.rules:
            host = rule.host or DEFAULT_SERVER
            server = servers.get(host) or servers[DEFAULT_SERVER]
            for path in rule.paths:
                if path.backend is None or path.backend.service is None:
                    continue
                up = ups[upstream_name(ing.namespace, path.backend)]
                if up.no_server:
                    continue
                nginx_path = path.path or "/"
                path_type = "Exact" if path.path_type == "Exact" else "Prefix"
                add = True
                for loc in server.locations:
                    if loc.path != nginx_path:
                        continue
                    if loc.path_type != path_type:
                        break
                    add = False
                    if loc.is_def_backend:
                        loc.backend, loc.is_def_backend, loc.ingress, loc.policy = up.name, False, ing, pol
                        if pol.from_to_www:
                            server.redirect_from_to_www = True
                    break
                if add:
                    server.locations.append(CLocation(nginx_path, path_type, up.name, False, ing, pol))
                    if pol.from_to_www:
                        server.redirect_from_to_www = True


def _merge_into(alt: Upstream, locations: list[CLocation], ups: dict[str, Upstream],
                key: tuple[str, str] | None) -> None:
    """One canary upstream against a server's locations (of path and type ``key``, or all):
    it joins each mergeable primary; if none takes it (and none is itself) it is deleted."""
    merged = same = False
    for loc in locations:
        primary = ups.get(loc.backend)
        if primary is None:
            continue
        same = primary.name == alt.name
        if same:
            break
        mergeable = primary.name != DEFAULT_UPSTREAM and not primary.no_server
        if mergeable and (key is None or (loc.path, loc.path_type) == key):
            if alt.name not in primary.alternatives:
                primary.alternatives.append(alt.name)
            merged = True
    if not same and not merged:
        del ups[alt.name]


def merge_canary(ing: Ingress, ups: dict[str, Upstream], servers: dict[str, CServer]) -> None:
    """mergeAlternativeBackends for one canary Ingress: its default backend against every
    location of the catch-all server, each path against the same path and type of its host."""
    if ing.default_backend is not None and ing.default_backend.service is not None:
        alt = ups.get(upstream_name(ing.namespace, ing.default_backend))
        if alt is not None and DEFAULT_SERVER in servers:
            _merge_into(alt, servers[DEFAULT_SERVER].locations, ups, None)
    for rule in ing.rules:
        server = servers.get(rule.host or DEFAULT_SERVER)
        for path in rule.paths:
            if path.backend is None or path.backend.service is None or server is None:
                continue
            alt = ups.get(upstream_name(ing.namespace, path.backend))
            if alt is not None:
                key = (path.path or "/", "Exact" if path.path_type == "Exact" else "Prefix")
                _merge_into(alt, server.locations, ups, key)


def _update_locations(locations: list[CLocation]) -> list[CLocation]:
    """updateServerLocations: Prefix paths end in ``/`` plus an Exact twin, unless they rewrite
    or use regex, or an Exact location of the same path exists."""
    exact = {loc.path for loc in locations if loc.path_type == "Exact"}
    out: list[CLocation] = []
    for loc in locations:
        loc.ingress_path = loc.path
        if loc.path == "/" or loc.path_type != "Prefix":
            out.append(loc)
            continue
        pol = loc.policy
        if pol is not None and (needs_rewrite(loc.path, pol.rewrite_target) or pol.use_regex):
            out.append(loc)
            continue
        original = loc.path
        loc.path = original if original.endswith("/") else original + "/"
        out.append(loc)
        if original not in exact:
            out.append(replace(loc, path=original, path_type="Exact", copy=True))
    return out


def _redirects(servers: list[CServer]) -> list[Redirect]:
    names = {s.hostname for s in servers}
    done: set[str] = set()
    out: list[Redirect] = []
    for server in servers:
        if not server.redirect_from_to_www:
            continue
        to = server.hostname
        source = to[4:] if to.startswith("www.") else "www." + to
        if to in done or source in names:
            continue
        out.append(Redirect(source, to))
        done.add(to)
    return out


def build(items: Sequence[tuple[Ingress, Policy]], *, update_locations: bool = True) -> Build:
    """The controller's servers for Ingresses already in its order (oldest first) with their
    annotation settings; Ingresses the controller refuses are not in ``items``.
    ``update_locations=False`` stops where ``getBackendServers`` stops (no Prefix expansion)."""
    ups = _create_upstreams(items)
    servers = _create_servers(items, ups)
    _add_paths(items, ups, servers)
    if any(p.canary is None for _, p in items):  # nonCanaryIngressExists
        for ing, pol in items:
            if pol.canary is not None:
                merge_canary(ing, ups, servers)
    ordered = sorted(servers.values(), key=lambda s: s.hostname)
    for server in ordered:
        server.locations.sort(key=lambda loc: (len(loc.path), loc.path.encode()), reverse=True)
        if update_locations:
            server.locations = _update_locations(server.locations)
    return Build(ordered, ups, _redirects(ordered), {})

"""A data-plane model of Kong serving KIC's configuration: what a request gets.

KIC writes one Kong route per (Ingress, rule host, backend) with the Kong paths of
:func:`~.paths.kong_paths`; Kong (``traditional_compatible`` router, KIC's default) splits a
route by path and orders the pieces by, most significant first: how many fields the route
sets (methods, hosts, headers, SNIs, paths), only plain hosts (no wildcard), the number of
headers, a regex path (then ``regex_priority``), the path's length. The first piece whose
hosts (exact; ``*.x`` any depth; ``x.*``), methods, headers (values ignoring case, ``~*``
regex) and path match wins; none: 404. With the ``expressions`` flavor (:mod:`.flavor`) the
route's one priority -- KIC's number, from the longest of its paths -- orders all its paths,
and header values compare case-sensitively. The request path is normalised first (RFC 3986:
unreserved escapes decoded, dot segments resolved, ``//`` merged) and sent upstream that way.

Then: an HTTPS-only route answers plain HTTP with ``https_redirect_status_code`` (426, or a
redirect); plugins in Kong's priority order (cors, the auth plugins -- 401 without
credentials --, ip-restriction 403, request-termination, redirect, response-transformer);
the upstream request with ``strip_path``, the Service path (``path_handling`` v0/v1),
``konghq.com/rewrite`` with the regex captures, and ``preserve_host``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from ing2gw.http import Headers, Request
from ing2gw.kinds import KubeObject
from ing2gw.notes import Notes
from ing2gw.provider import ingress_scope
from ing2gw.resources import Ingress, IngressBackend, ResourceSet
from ing2gw.router.outcome import Matched, Outcome, RedirectTo, RuleInfo, Upstream
from ing2gw.router.paths import BadPath, PathPolicy

from . import plugins as kp
from .flavor import COMPATIBLE, EXPRESSIONS, expression_priority
from .paths import kong_paths, match
from .settings import RouteSettings, ServiceSettings, route_settings, service_settings

__all__ = ["KONG_PATH_POLICY", "KongMatch", "KongModel", "traits"]

KONG_PATH_POLICY = PathPolicy(name="kong", backslash_is_slash=False, escaped_slashes="keep")

# Kong's plugin execution priorities (higher runs first) for the plugins the model runs.
_PRIORITY = {"cors": 2000, "jwt": 1450, "oauth2": 1400, "key-auth": 1250, "basic-auth": 1100, "hmac-auth": 1030,
             "ip-restriction": 990, "response-transformer": 800, "redirect": 779, "request-termination": 2}


@dataclass(frozen=True, slots=True)
class KongMatch(Matched):
    """The Kong route that answered: its Ingress and path, and the Kong path that matched
    (JSON ``{"ingress", "path", "kongRoute", "kongPath"}``)."""

    kong_route: str = ""
    kong_path: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"ingress": self.route, "path": self.rule_name, "kongRoute": self.kong_route,
                "kongPath": self.kong_path}


@dataclass(frozen=True, slots=True)
class Piece:
    """One Kong path of one route, with everything matching and proxying needs."""

    name: str  # the Kong route name KIC writes
    ingress: str
    ingress_path: str
    hosts: tuple[str, ...]
    kong_path: str
    route: RouteSettings
    service: ServiceSettings
    backend: str | None  # ns/svc:port
    upstream_host: str
    plugins: tuple[kp.Plugin, ...]
    order: int
    expression_priority: int | None = None  # KIC's priority of the route (expressions flavor)

    def priority(self) -> tuple[int, ...]:
        """Kong's order of the pieces of split routes (or of expression routes): smaller first."""
        if self.expression_priority is not None:
            return (-self.expression_priority, self.order)
        t = traits(self.route, self.hosts, [self.kong_path])
        regex = int(t["hasRegexPath"])
        return (-t["matchFields"], -int(t["plainHostOnly"]), -t["headerCount"], -regex,
                -self.route.regex_priority * regex, -t["maxPathLength"], self.order)


def traits(route: RouteSettings, hosts: Sequence[str], kong_paths: Sequence[str]) -> dict[str, Any]:
    """What orders a route (KIC encodes the same traits in expression routes' priorities):
    how many fields it matches on, only plain hosts (a route without hosts has none), its
    header count, a regex path, its longest path (a regex's ``~`` and final ``$`` not counted)."""
    lengths = [len(p[1:].removesuffix("$")) if p.startswith("~") else len(p) for p in kong_paths]
    return {
        "matchFields": sum(1 for f in (route.methods, hosts, route.headers, route.snis, kong_paths) if f),
        "plainHostOnly": bool(hosts) and not any("*" in h for h in hosts),
        "headerCount": len(route.headers),
        "maxPathLength": max(lengths, default=0),
        "hasRegexPath": any(p.startswith("~") for p in kong_paths),
    }


def _host_matches(pattern: str, hostname: str) -> bool:
    if pattern.startswith("*."):
        return hostname.endswith(pattern[1:])
    if pattern.endswith(".*"):
        return hostname.startswith(pattern[:-1])
    return hostname == pattern


def _header_matches(values: Sequence[str], got: str | None, exact_case: bool) -> bool:
    if got is None:
        return False
    for v in values:
        if v.startswith("~*"):
            try:
                if re.search(v[2:], got, 0 if exact_case else re.IGNORECASE):
                    return True
            except re.error:
                continue
        elif v == got if exact_case else v.lower() == got.lower():
            return True
    return False


def _join(base: str, rest: str, handling: str, request_path: str) -> str:
    """Kong's join of the Service path and the (stripped) request path; when the route path
    took the whole request path, a trailing ``/`` of the request is kept."""
    if not rest:
        if base == "/" or base.endswith("/") or not request_path.endswith("/"):
            return base
        return base + "/"
    if handling == "v1":
        return base[:-1] + rest if base.endswith("/") and rest.startswith("/") else base + rest
    if base.endswith("/"):
        return base + rest.lstrip("/") if rest.startswith("/") else base + rest
    return base + rest if rest.startswith("/") else f"{base}/{rest}"


def _backend_name(namespace: str, backend: IngressBackend, resources: ResourceSet) -> tuple[str | None, int | None]:
    if backend.service is None:
        return None, None
    port = backend.port_number
    if port is None:
        svc = resources.services.get((namespace, backend.service))
        port = next((p.port for p in svc.ports if p.name == backend.port_name), None) if svc else None
    return f"{namespace}/{backend.service}:{port if port is not None else backend.port_name}", port


class KongModel:
    """Kong's routes for a set of Ingresses, and its request handling."""

    def __init__(self, pieces: Sequence[Piece], notes: Notes, flavor: str = COMPATIBLE) -> None:
        self.pieces = sorted(pieces, key=Piece.priority)
        self.notes = notes
        self.flavor = flavor

    @classmethod
    def from_resources(cls, resources: ResourceSet, objects: Sequence[KubeObject] = (),
                       flavor: str = COMPATIBLE) -> KongModel:
        notes = Notes()
        objects = list(objects) or [o for objs in resources.objects.values() for o in objs]
        pieces: list[Piece] = []
        services: dict[tuple[str, str], ServiceSettings] = {}
        order = 0
        for ing in sorted(resources.ingresses, key=lambda i: (i.created or "~", i.namespace, i.name)):
            rs = route_settings(ing.annotations, ing.subject, ing.origin, ingress_scope(ing), notes)
            for host, path, ptype, backend in _paths(ing):
                key = (ing.namespace, backend.service or "")
                if key not in services:
                    svc = resources.services.get(key)
                    services[key] = (service_settings(svc.annotations, svc.namespace, f"Service {key[0]}/{key[1]}",
                                                      svc.origin, (), objects, notes) if svc else ServiceSettings())
                ss = services[key]
                name, port = _backend_name(ing.namespace, backend, resources)
                port_text = backend.port_number if backend.port_number is not None else backend.port_name
                found: list[Any] = []
                route_plugins = kp.resolve(objects, ing.namespace, rs.plugins, ing.subject, ing.origin, "", found)
                seen = {p.name for p in route_plugins}
                plugins = route_plugins + [p for p in kp.resolve(objects, ing.namespace, ss.plugins, ing.subject,
                                                                   ing.origin, "", found) if p.name not in seen]
                hosts = tuple(dict.fromkeys(([host] if host else []) + (list(rs.host_aliases) if host else [])))
                for kpath in kong_paths(path, ptype, rs.regex_marker):
                    pieces.append(Piece(
                        name=(f"{ing.namespace}.{ing.name}" if ptype == "" else
                              f"{ing.namespace}.{ing.name}.{backend.service}.{host.replace('*', '_')}.{port_text}"),
                        ingress=ing.ref, ingress_path=path or "/", hosts=hosts, kong_path=kpath, route=rs, service=ss,
                        backend=name, upstream_host=f"{backend.service}.{ing.namespace}.{port_text}.svc",
                        plugins=tuple(sorted(plugins, key=lambda p: -_PRIORITY.get(p.name, 0))), order=order))
                    order += 1
        if flavor == EXPRESSIONS:
            pieces = _with_expression_priorities(pieces, resources)
        return cls(pieces, notes, flavor)

    # --- one request -----------------------------------------------------------------------

    def route(self, request: Request, client_ip: str | None = None) -> Outcome:
        notes: list[str] = []
        try:
            path = KONG_PATH_POLICY.normalise(request.path).path
        except BadPath as exc:
            return Outcome(400, "BadRequest", notes=(str(exc),))
        piece, captured = self._select(request, path)
        if piece is None:
            return Outcome(404, "NoMatchingRoute", notes=("no Route matched with those values",))
        matched = KongMatch(gateway="kong", listener=request.scheme, kind="Ingress", route=piece.ingress,
                            rule_name=piece.ingress_path, kong_route=piece.name, kong_path=piece.kong_path)
        info = RuleInfo(matched=matched, backend=piece.backend, weights={piece.backend: 100} if piece.backend else {})
        r = piece.route
        if r.https_only and request.scheme == "http":
            code = r.https_redirect_code
            if code == 426:
                return Outcome(426, "UpgradeRequired", info, notes=("Please use HTTPS protocol",))
            location = f"https://{request.hostname}{request.target}"
            return Outcome(code, "Redirect", info, redirect=RedirectTo(location, code))
        response = Headers()
        for plugin in piece.plugins:
            end = self._plugin(plugin, request, client_ip or request.client, info, notes)
            if isinstance(end, Outcome):
                return end
            if isinstance(end, Headers):
                for name in end:
                    for value in end.get_all(name):
                        response = response.add(name, value)
        if piece.backend is None:
            return Outcome(503, "NoBackend", info, notes=tuple(notes))
        upstream_path = self._upstream_path(piece, path, captured)
        target = f"{upstream_path}?{request.query}" if request.query else upstream_path
        host = request.host
        if not r.preserve_host:
            host = piece.service.host_header or piece.upstream_host
        upstream = Upstream(request.method, host, target, request.headers)
        return Outcome(200, "Routed", info, served=True, upstream=upstream, response_headers=response,
                       notes=tuple(notes))

    def _select(self, request: Request, path: str) -> tuple[Piece | None, str]:
        for piece in self.pieces:
            r = piece.route
            if piece.hosts and not any(_host_matches(h, request.hostname) for h in piece.hosts):
                continue
            if r.methods and request.method.upper() not in r.methods:
                continue
            exact_case = self.flavor == EXPRESSIONS
            if any(not _header_matches(values, request.headers.get(name), exact_case) for name, values in r.headers):
                continue
            if r.snis and request.scheme == "https" and (request.sni or request.hostname) not in r.snis:
                continue
            got = match(piece.kong_path, path)
            if got is not None:
                return piece, got
        return None, ""

    def _upstream_path(self, piece: Piece, path: str, matched: str) -> str:
        r = piece.route
        if r.rewrite is not None:
            regex = piece.kong_path[1:] if piece.kong_path.startswith("~") else None
            groups: Sequence[str] = ()
            if regex is not None:
                found = re.match(regex if regex.startswith("^") else "^" + regex, path)
                groups = found.groups("") if found else ()

            def capture(m: re.Match[str]) -> str:
                n = int(m.group(1))
                return groups[n - 1] if 0 < n <= len(groups) else ""

            return re.sub(r"\$\(uri_captures\[(\d+)\]\)", capture, r.rewrite)
        rest = path[len(matched):] if r.strip_path else path
        base = piece.service.path or "/"
        return _join(base, rest, r.path_handling, path) or "/"

    @staticmethod
    def _plugin(p: kp.Plugin, request: Request, client: str | None, info: RuleInfo, notes: list[str]
                ) -> Outcome | Headers | None:
        cfg = p.config
        if p.name == "request-termination":
            code = cfg.get("status_code", 503)
            return Outcome(int(code), "Terminated", info)
        if p.name == "ip-restriction":
            allow = [str(a) for a in cfg.get("allow") or cfg.get("whitelist") or []]
            deny = [str(a) for a in cfg.get("deny") or cfg.get("blacklist") or []]
            if client is None:
                notes.append("client address unknown: ip-restriction not evaluated")
                return None
            addr = ipaddress.ip_address(client)

            def within(nets: list[str]) -> bool:
                return any(addr in ipaddress.ip_network(n, strict=False) for n in nets)

            if within(deny) or (allow and not within(allow)):
                status = cfg.get("status")
                return Outcome(status if isinstance(status, int) else 403, "Forbidden", info)
            return None
        if p.name in ("basic-auth", "key-auth", "jwt", "oauth2", "hmac-auth"):
            auth = request.headers.get("authorization") or ""
            present = {
                "basic-auth": auth.lower().startswith("basic "),
                "jwt": auth.lower().startswith("bearer ") or "jwt" in request.query_params,
                "oauth2": auth.lower().startswith("bearer ") or "access_token" in request.query_params,
                "hmac-auth": auth.lower().startswith("hmac ") or bool(request.headers.get("proxy-authorization")),
                "key-auth": any(request.headers.get(k) or k in request.query_params
                                for k in (cfg.get("key_names") or ["apikey"])),
            }[p.name]
            if not present:
                headers = Headers()
                if p.name == "basic-auth":
                    headers = headers.set("WWW-Authenticate", f'Basic realm="{cfg.get("realm") or "service"}"')
                return Outcome(401, "Unauthorized", info, response_headers=headers)
            notes.append(f"{p.name}: credentials present; the model does not check them")
            return None
        if p.name == "redirect":
            location = cfg.get("location")
            code = cfg.get("status_code", 301)
            if isinstance(location, str) and isinstance(code, int):
                if cfg.get("keep_incoming_path"):
                    location = location.rstrip("/") + request.target
                return Outcome(code, "Redirect", info, redirect=RedirectTo(location, code))
            return None
        if p.name == "response-transformer":
            out = Headers()
            for section in ("add", "append"):
                for item in (cfg.get(section) or {}).get("headers") or []:
                    if isinstance(item, str) and ":" in item:
                        name, _, value = item.partition(":")
                        out = out.add(name.strip(), value.strip())
            return out
        return None


def _with_expression_priorities(pieces: Sequence[Piece], resources: ResourceSet) -> list[Piece]:
    """The pieces with KIC's priority of their expression route: one route per (Ingress,
    host, backend), its priority from all its paths (the default backend's route: 0)."""
    ingresses = {ing.ref: ing for ing in resources.ingresses}
    paths: dict[tuple[str, str], list[tuple[str, str]]] = {}
    hosts: dict[tuple[str, str], str] = {}
    for ing in ingresses.values():
        for host, path, ptype, backend in _paths(ing):
            if ptype == "":
                continue
            port = backend.port_number if backend.port_number is not None else backend.port_name
            name = f"{ing.namespace}.{ing.name}.{backend.service}.{host.replace('*', '_')}.{port}"
            paths.setdefault((ing.ref, name), []).append((path, ptype))
            hosts[(ing.ref, name)] = host
    out = []
    for p in pieces:
        key = (p.ingress, p.name)
        priority = expression_priority(p.route, hosts.get(key, ""), paths.get(key, []),
                                       default_backend=key not in paths)
        out.append(replace(p, expression_priority=priority))
    return out


@dataclass(frozen=True, slots=True)
class Overtaken:
    """A request (``host`` + ``path``) that path ``ingress_path`` of Ingress ``ingress`` (rule
    host ``rule_host``) takes under ``traditional_compatible`` (its own, longer match) and that
    the expression route ``by_route`` (Ingress ``by_ingress``, rule host ``by_host``, path
    ``by_path``) takes under ``expressions``."""

    rule_host: str
    host: str
    path: str
    ingress: str
    ingress_path: str
    by_ingress: str
    by_host: str
    by_path: str
    by_route: str


def _sample(piece: Piece) -> tuple[str, str] | None:
    """A request (host, path) the piece's own path matches, or None when its regex is not a
    literal."""
    host = next(iter(piece.hosts), "ing2gw-any.invalid").replace("*", "a", 1)
    if host.endswith(".*"):
        host = host[:-1] + "example"
    text = piece.kong_path
    if text.startswith("~"):
        literal = text[1:].removeprefix("^").removesuffix("$")
        return (host, literal or "/") if re.fullmatch(r"[A-Za-z0-9._~/-]*", literal) else None
    return host, text


def expression_overtakes(resources: ResourceSet, objects: Sequence[KubeObject] = ()) -> list[Overtaken]:
    """The requests for an Ingress path that another route takes under ``expressions``
    because its priority comes from a longer path of that route (one sample per path)."""
    compatible = KongModel.from_resources(resources, objects, COMPATIBLE)
    expressions = KongModel.from_resources(resources, objects, EXPRESSIONS)
    out: dict[tuple[str, str, str], Overtaken] = {}
    winner = {p.name: next(iter(p.hosts), "") for p in expressions.pieces}  # route -> its rule host
    for piece in compatible.pieces:
        sample = _sample(piece)
        if sample is None:
            continue
        request = Request.build(host=sample[0], path=sample[1])
        mine, theirs = compatible.route(request), expressions.route(request)
        a, b = mine.matched, theirs.matched
        if not isinstance(a, KongMatch) or not isinstance(b, KongMatch) or a.kong_route != piece.name:
            continue
        if b.kong_route != a.kong_route:
            key = (a.route or "", a.rule_name or "", b.kong_route)
            out.setdefault(key, Overtaken(next(iter(piece.hosts), ""), sample[0], sample[1], a.route or "",
                                          a.rule_name or "", b.route or "", winner.get(b.kong_route, ""),
                                          b.rule_name or "", b.kong_route))
    return [out[k] for k in sorted(out)]


def _paths(ing: Ingress) -> list[tuple[str, str, str, IngressBackend]]:
    """(host, path, pathType, backend) of every Ingress path, and of the default backend (a
    host-less ``/`` route)."""
    out = [(rule.host, p.path, p.path_type, p.backend) for rule in ing.rules for p in rule.paths]
    if ing.default_backend is not None:
        out.append(("", "/", "", ing.default_backend))  # pathType "": the default backend's route
    return out


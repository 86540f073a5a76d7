"""The F5 NGINX model's servers for VirtualServers (and the VirtualServerRoutes they hand
paths to): one server per host, one location per route, and what its action does.

A route's ``matches`` are tried in order (every header and argument condition must hold; the
first that fits wins), else the route's own ``action`` or ``splits``; ``pass`` proxies to the
upstream's Service (``splits`` by weight: the largest share answers, the weights are kept),
``proxy`` too with ``rewritePath`` replacing the location's prefix, ``redirect`` and
``return`` answer directly. ``tls.redirect`` redirects plain HTTP (or ``X-Forwarded-Proto:
http``) to ``https://$host$request_uri``. Of the Policy objects in force on a route (the spec's,
replaced type by type by the route's and a subroute's, :mod:`.policies`), a missing or invalid
one makes the location answer 500 and an ``accessControl`` list answers 403 to the clients it
refuses (the model's client address: ``request.client``); the other policies are not modelled.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ing2gw.http import Headers, Request
from ing2gw.kinds import KubeObject
from ing2gw.router.outcome import Outcome, RedirectTo, RuleInfo, Upstream

from .._common.values import parse_size
from ..ingress_nginx.model.uri import escape_uri
from .access import Enforcement, Guards, Refusal, Zone, auth_refusal, body_refusal, limit_refusal
from .configmap import DEFAULT_BODY, F5Config
from .locations import Location
from .policies import PolicyRefs, access_lists, in_force_specs, parse_rate, references
from .virtualserver import vs_path

__all__ = ["VSLocation", "VSServer", "answer", "choose", "unmatched", "vs_servers"]


@dataclass(frozen=True, slots=True)
class VSLocation:
    location: Location
    kind: str  # VirtualServer or VirtualServerRoute
    source: str  # its ns/name
    path: str  # the route's path as written
    matches: tuple[tuple[tuple[tuple[str, str, str], ...], Mapping[str, Any]], ...]  # ((kind, name, value)...), target
    target: Mapping[str, Any]  # the route itself (action or splits)
    upstreams: Mapping[str, Mapping[str, Any]]
    namespace: str
    regex: re.Pattern[str] | None = None
    broken: bool = False  # a missing or invalid Policy: NGINX answers 500
    allow: tuple[str, ...] = ()  # accessControl in force
    deny: tuple[str, ...] = ()
    guards: Guards = Guards(DEFAULT_BODY)  # rateLimit and basicAuth in force; body_max: ConfigMap's
    dry_run: bool = False  # the first rateLimit policy's dryRun: nothing is refused


@dataclass(slots=True)
class VSServer:
    name: str
    ssl: bool
    redirect: Mapping[str, Any]
    locations: list[VSLocation] = field(default_factory=list)
    fallback: VSLocation | None = None  # the server's own protections (spec.policies)
    broken: bool = False  # a spec.policies reference names no usable Policy: the server returns 500


def _location(text: str) -> tuple[Location, re.Pattern[str] | None]:
    modifier, path = vs_path(text)
    if modifier in ("~", "~*"):
        try:
            return Location(modifier, path), re.compile(path, re.IGNORECASE if modifier == "~*" else 0)  # type: ignore[arg-type]
        except re.error:
            return Location(modifier, path), None  # type: ignore[arg-type]
    return Location("=" if modifier == "=" else "", path), None


Policies = Mapping[tuple[str, str], KubeObject]


def _guards(obj: KubeObject, owner: str, own: PolicyRefs, in_force: PolicyRefs, policies: Policies,
            config: F5Config) -> tuple[Guards, bool]:
    """The rateLimit zones and basicAuth in force on a route of ``obj`` (a zone per Policy and the
    resource referencing it: ``obj`` for its own references, else the VirtualServer ``owner``)."""
    zones = []
    specs = in_force_specs(in_force, "rateLimit", policies)
    for ref, spec in zip(in_force.get("rateLimit", ()), specs, strict=True):
        rate, unit = parse_rate(spec.get("rate"))
        holder = obj.ref if ref in own.get("rateLimit", ()) else owner
        zones.append(Zone(f"{ref}@{holder}", rate, unit, int(spec.get("burst") or 0),
                          str(spec.get("key") or "${binary_remote_addr}")))
    auth = in_force_specs(in_force, "basicAuth", policies)
    secret = None
    if auth:
        ref = in_force["basicAuth"][0]
        name = auth[0].get("secret")
        if not isinstance(name, str) or not name:
            raise ValueError("basicAuth.secret must name a Secret")
        secret = name if "/" in name else f"{ref.split('/', 1)[0]}/{name}"
    guards = Guards(config.client_max_body_size, tuple(zones), int(specs[0].get("rejectCode") or 503) if specs
                    else 503, secret, str(auth[0].get("realm") or "") if auth else "")
    return guards, bool(specs and specs[0].get("dryRun"))


def _entries(obj: KubeObject, key: str, policies: Policies, inherited: PolicyRefs, missing: list[str],
             owner: str, config: F5Config) -> list[VSLocation]:
    ups = {str(u.get("name")): u for u in obj.spec.get("upstreams") or [] if isinstance(u, Mapping)}
    out = []
    for route in obj.spec.get(key) or []:
        if not isinstance(route, Mapping) or "route" in route:
            continue
        loc, compiled = _location(str(route.get("path", "")))
        matches = tuple(
            (tuple((k, str(c[k]), str(c.get("value", ""))) for c in m.get("conditions") or []
                   for k in ("header", "argument", "cookie", "variable") if k in c), m)
            for m in route.get("matches") or [])
        in_force, broken = references(obj, route.get("policies"), "", [], (), policies, inherited)
        own, _ = references(obj, route.get("policies"), "", [], (), policies)
        out.append(VSLocation(loc, obj.kind.kind, obj.ref, str(route.get("path", "")), matches, route, ups,
                              obj.namespace, compiled,
                              *_protections(obj, owner, own, in_force, [*missing, *broken], policies, config)))
    return out


def _protections(obj: KubeObject, owner: str, own: PolicyRefs, in_force: PolicyRefs, missing: list[str],
                 policies: Policies, config: F5Config
                 ) -> tuple[bool, tuple[str, ...], tuple[str, ...], Guards, bool]:
    """(broken, allow, deny, guards, dry run) of the policies in force on a location."""
    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    guards, dry = Guards(config.client_max_body_size), False
    bad = bool(missing)
    try:
        if in_force.get("accessControl"):
            allow, deny = access_lists(in_force_specs(in_force, "accessControl", policies))
        guards, dry = _guards(obj, owner, own, in_force, policies, config)
    except (KeyError, TypeError, ValueError):
        bad = True
    return bad, allow, deny, guards, dry


def _route_policies(obj: KubeObject, path: str, policies: Policies, inherited: PolicyRefs, missing: list[str]
                    ) -> tuple[PolicyRefs, list[str]]:
    """The policies in force on the route of ``obj`` at ``path`` that hands it to a VirtualServerRoute."""
    for route in obj.spec.get("routes") or []:
        if isinstance(route, Mapping) and str(route.get("path", "")) == path:
            in_force, broken = references(obj, route.get("policies"), "", [], (), policies, inherited)
            return in_force, [*missing, *broken]
    return inherited, missing


def vs_servers(objects: Sequence[KubeObject], taken: set[str], config: F5Config | None = None) -> list[VSServer]:
    """The servers of the VirtualServers whose host no Ingress took first."""
    config = config or F5Config()
    vsrs = {o.ref: o for o in objects if o.kind.kind == "VirtualServerRoute"}
    policies = {(o.namespace, o.name): o for o in objects if o.kind.kind == "Policy"}
    out: dict[str, VSServer] = {}
    for vs in sorted((o for o in objects if o.kind.kind == "VirtualServer"), key=lambda o: (o.namespace, o.name)):
        host = str(vs.spec.get("host") or "")
        if not host or host in taken or host in out:
            continue
        tls = vs.spec.get("tls") or {}
        server = VSServer(host, bool(tls.get("secret")), tls.get("redirect") or {})
        spec_policies, missing = references(vs, vs.spec.get("policies"), "", [], (), policies)
        # what the server itself checks where no location answers (and its ``return 500``)
        server.fallback = VSLocation(Location("", ""), "VirtualServer", vs.ref, "", (), {}, {}, vs.namespace, None,
                                     *_protections(vs, vs.ref, spec_policies, spec_policies, missing, policies,
                                                   config))
        server.broken = bool(missing)
        server.locations += _entries(vs, "routes", policies, spec_policies, missing, vs.ref, config)
        for route in vs.spec.get("routes") or []:
            ref = str(route.get("route", "")) if isinstance(route, Mapping) else ""
            if ref:
                vsr = vsrs.get(ref if "/" in ref else f"{vs.namespace}/{ref}")
                if vsr is not None and str(vsr.spec.get("host") or "") == host:
                    in_force, broken = _route_policies(vs, str(route.get("path", "")), policies, spec_policies,
                                                       missing)
                    server.locations += _entries(vsr, "subroutes", policies, in_force, broken, vs.ref, config)
        out[host] = server
    return list(out.values())


def choose(server: VSServer, uri: str) -> VSLocation | None:
    """NGINX's location choice among the server's routes (exact, regex over prefix, longest prefix)."""
    for loc in server.locations:
        if loc.location.modifier == "=" and loc.location.path == uri:
            return loc
    prefixes = [loc for loc in server.locations if loc.location.modifier == "" and uri.startswith(loc.location.path)]
    best = max(prefixes, key=lambda loc: len(loc.location.path), default=None)
    for loc in server.locations:
        if loc.regex is not None and loc.regex.search(uri):
            return loc
    return best


def _first(pairs: Sequence[str], name: str, sep: str) -> str | None:
    """The raw value of the first ``name=value`` pair whose name is ``name`` in any case."""
    for pair in pairs:
        key, found, value = pair.strip().partition(sep)
        if found and key.lower() == name.lower():
            return value
    return None


def _fits(conditions: Sequence[tuple[str, str, str]], request: Request) -> bool:
    """Do all conditions hold? NGINX compares through ``map``: values in any case; argument and
    cookie names in any case, their first occurrence, undecoded."""
    for kind, name, value in conditions:
        if kind == "header":
            got = request.headers.get(name)
        elif kind == "argument":
            got = _first(request.query.split("&") if request.query else [], name, "=")
        elif kind == "cookie":
            got = _first((request.headers.get("cookie") or "").split(";"), name, "=")
        else:
            return False  # NGINX variables are not modelled
        negate = value.startswith("!")
        want = value[1:] if negate else value.removeprefix("\\")
        if ((got or "").lower() == want.lower() and got is not None) == negate:
            return False
    return True


def unmatched(server: VSServer, request: Request, enf: Enforcement | None = None) -> Refusal | None:
    """What the server answers, before its 404, to a request no location takes: NGINX's 1m body
    limit, then the access checks of ``spec.policies`` (server-level directives)."""
    refusal = body_refusal(DEFAULT_BODY, request)
    if refusal is not None or server.fallback is None:
        return refusal
    if _refused(server.fallback, request.client):
        return Refusal(403, "AccessDenied", "refused by the accessControl policy of spec.policies")
    return auth_refusal(enf or Enforcement(), server.fallback.guards, request)


def _refused(loc: VSLocation, client: str | None) -> bool:
    """Does the location's access list refuse ``client`` (NGINX's allow/deny, then deny all)?"""
    if not loc.allow and not loc.deny:
        return False
    try:
        addr = ipaddress.ip_address(client or "")
    except ValueError:
        return True
    inside = any(addr in ipaddress.ip_network(n, strict=False) for n in loc.allow or loc.deny)
    return not inside if loc.allow else inside


def _body_limit(loc: VSLocation, item: Mapping[str, Any]) -> int | None:
    """The ``client_max_body_size`` of the location that runs ``item`` (an action or splits)."""
    if "splits" in item:
        shares = [(float(split.get("weight", 0)), n) for n, split in enumerate(item["splits"])]
        item = item["splits"][max(shares)[1]] if shares else {}
    action = item.get("action") or {}
    if "redirect" in action or "return" in action:
        return DEFAULT_BODY  # no proxy_pass: no client_max_body_size of its own
    up = loc.upstreams.get(str(action.get("pass") or (action.get("proxy") or {}).get("upstream")))
    raw = (up or {}).get("client-max-body-size")
    if raw is None:
        return loc.guards.body_max
    try:
        return parse_size(str(raw)).bytes or None
    except ValueError:
        return loc.guards.body_max


def _refusal(loc: VSLocation, target: Mapping[str, Any], request: Request, enf: Enforcement) -> Refusal | None:
    """What stops the request before the route's action, in NGINX's phase order."""
    limits = [_body_limit(loc, target)]
    if "splits" in loc.target or loc.matches:  # first a location that only rewrites to the internal one
        limits.insert(0, DEFAULT_BODY)
    for limit in limits:
        refusal = body_refusal(limit, request)
        if refusal is not None:
            return refusal
    if loc.broken:
        return Refusal(500, "PolicyInvalid", "a Policy the route references is missing or invalid")
    if not loc.dry_run:
        refusal = limit_refusal(enf, loc.guards, request)
        if refusal is not None:
            return refusal
    if _refused(loc, request.client):
        return Refusal(403, "AccessDenied", "refused by the accessControl policy")
    return auth_refusal(enf, loc.guards, request)


def answer(server: VSServer, loc: VSLocation, request: Request, uri: str, info_for: Any,
           enf: Enforcement | None = None) -> Outcome:
    """What the location's route does with the request."""
    target: Mapping[str, Any] = loc.target
    for conditions, match in loc.matches:
        if _fits(conditions, request):
            target = match
            break
    refusal = _refusal(loc, target, request, enf or Enforcement())
    if refusal is not None:
        return Outcome(refusal.status, refusal.reason, info_for(loc, None, {}), response_headers=refusal.headers,
                       notes=(refusal.why,))
    if "splits" in target:
        shares: dict[str, float] = {}
        for split in target["splits"]:
            up = loc.upstreams.get(str((split.get("action") or {}).get("pass")))
            if up is not None:
                name = f"{loc.namespace}/{up.get('service')}:{up.get('port')}"
                shares[name] = shares.get(name, 0) + float(split.get("weight", 0))
        chosen = max(shares, key=lambda k: shares[k]) if shares else None
        info: RuleInfo = info_for(loc, chosen, shares)
        if chosen is None:
            return Outcome(502, "NoUpstream", info)
        return Outcome(200, "Routed", info, served=True,
                       upstream=Upstream(request.method, request.hostname, request.target, request.headers))
    action = target.get("action") or {}
    if "redirect" in action:
        red = action["redirect"]
        location = str(red.get("url", "")).replace("${request_uri}", request.target).replace(
            "${host}", request.hostname).replace("${scheme}", request.scheme)
        code = int(red.get("code", 301))
        return Outcome(code, "Redirect", info_for(loc, None, {}), redirect=RedirectTo(location, code))
    if "return" in action:
        return Outcome(int(action["return"].get("code", 200)), "Return", info_for(loc, None, {}))
    proxy = action.get("proxy") or {}
    upstream_name = action.get("pass") or proxy.get("upstream")
    up = loc.upstreams.get(str(upstream_name))
    if up is None:
        return Outcome(502, "NoUpstream", info_for(loc, None, {}))
    backend = f"{loc.namespace}/{up.get('service')}:{up.get('port')}"
    path = request.target
    rewrite = proxy.get("rewritePath")
    if isinstance(rewrite, str) and loc.location.modifier in ("", "="):
        rest = uri[len(loc.location.path):] if loc.location.modifier == "" else ""
        path = escape_uri(rewrite + rest) + (f"?{request.query}" if request.query else "")
    response = Headers()
    for h in (proxy.get("responseHeaders") or {}).get("add") or []:
        response = response.add(str(h.get("name")), str(h.get("value")))
    return Outcome(200, "Routed", info_for(loc, backend, {backend: 100}), served=True,
                   upstream=Upstream(request.method, request.hostname, path, request.headers),
                   response_headers=response)

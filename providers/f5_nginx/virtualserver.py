"""F5 NGINX VirtualServer and VirtualServerRoute (``k8s.nginx.org/v1``) -> IR.

A VirtualServer is one host: ``tls.secret`` gives it an HTTPS listener, ``tls.redirect``
(``enable``, ``code`` 301, ``basedOn`` scheme or x-forwarded-proto) an HTTP redirect. Each
``routes[]`` entry is an NGINX location: ``/p`` a character prefix (PathPrefix, noted),
``=/p`` exact, ``~``/``~*`` a regex (RegularExpression), ``^~/p`` a prefix; its ``action``
(``pass`` an upstream, ``proxy`` with ``rewritePath`` and header changes, ``redirect``,
``return``), ``splits`` (weighted backendRefs) and ``matches`` (header and argument
conditions, first match wins) become rules; ``route: ns/name`` hands the path to a
VirtualServerRoute, whose ``subroutes`` become a route in its own namespace. The ``policies``
of the spec, a route and a subroute (Policy objects) become filters and intents
(:mod:`.policies`). An upstream's ``client-max-body-size`` (else the ConfigMap's) is the body limit
of the routes proxying to it (a route with ``splits`` or ``matches`` passes first through a
location holding NGINX's 1m: the smaller applies). Whatever Gateway API cannot say (``return``, cookie or variable
conditions, negations, snippets, error pages) is noted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from ing2gw import intents as i
from ing2gw.ir import (
    IR,
    BackendRef,
    Certificate,
    Filter,
    GatewayRef,
    HeaderMatch,
    HeaderModifier,
    PathMatch,
    PathModifier,
    Provenance,
    QueryMatch,
    RequestRedirect,
    Route,
    RouteMatch,
    Rule,
    Section,
    URLRewrite,
)
from ing2gw.kinds import APIKind, KubeObject
from ing2gw.names import host_slug
from ing2gw.notes import Fidelity, Level, Note
from ing2gw.provider import Claimed, ProviderContext

from .._common.values import parse_size
from .configmap import DEFAULT_BODY, F5Config
from .policies import PolicyRefs, Resolved, references, resolve

__all__ = ["VIRTUAL_SERVER", "VIRTUAL_SERVER_ROUTE", "convert_virtual_servers", "vs_path"]

VIRTUAL_SERVER = APIKind("k8s.nginx.org", "v1", "VirtualServer")
VIRTUAL_SERVER_ROUTE = APIKind("k8s.nginx.org", "v1", "VirtualServerRoute")
_REDIRECT_CODES = (301, 302, 307, 308)


class _Bad(ValueError):
    pass


def vs_path(text: str) -> tuple[str, str]:
    """(modifier, path) of a route path: ``""`` prefix, ``=`` exact, ``~``/``~*`` regex, ``^~`` prefix."""
    value = text.strip()
    for modifier in ("=", "~*", "~", "^~"):
        if value.startswith(modifier):
            return modifier, value[len(modifier):].strip()
    return "", value


# A request another route (or none) answers differs in whatever that route's action does.
_ROUTED = ("status", "backend", "weights", "redirect", "path", "headers")


@dataclass(slots=True)
class _Ctx:
    obj: KubeObject
    upstreams: Mapping[str, Mapping[str, Any]]
    notes: list[Note] = field(default_factory=list)
    host: str = ""
    policies: Mapping[tuple[str, str], KubeObject] = field(default_factory=dict)
    config: F5Config = field(default_factory=F5Config)

    def note(self, code: str, level: Level, message: str, fld: str, *, fidelity: Fidelity | None = None,
             instead: str = "", aspects: Sequence[str] = ("status", "backend"), path: str = "") -> None:
        self.notes.append(Note(code=f"F5-VS-{code}", level=level, message=message, subject=self.obj.subject,
                               field=fld, fidelity=fidelity, instead=instead, origin=self.obj.origin,
                               aspects=frozenset(aspects), scope=((self.host, path),)))


def _backend(c: _Ctx, name: Any, fld: str, weight: int = 1) -> BackendRef | None:
    up = c.upstreams.get(str(name))
    if up is None:
        raise _Bad(f"{fld} names upstream {name!r}, which spec.upstreams does not declare")
    port = up.get("port")
    if not isinstance(up.get("service"), str) or not isinstance(port, int):
        raise _Bad(f"upstream {name!r} needs service and port")
    if (up.get("tls") or {}).get("enable"):
        c.note("UPSTREAM-TLS", Level.WARNING, f"upstream {name} is reached over TLS without verification", fld,
               fidelity=Fidelity.UNSUPPORTED, instead="no BackendTLSPolicy (it needs a CA and a hostname)",
               aspects=("status",))
    if up.get("type") == "grpc":
        c.note("UPSTREAM-GRPC", Level.INFO, f"upstream {name} is gRPC", fld, fidelity=Fidelity.APPROXIMATE,
               instead="an HTTPRoute rule: set appProtocol kubernetes.io/h2c on the Service port", aspects=("status",))
    extra = sorted(set(up) - {"name", "service", "port", "tls", "type", "client-max-body-size"})
    if extra:
        c.note("UPSTREAM-SETTINGS", Level.INFO, f"upstream {name} settings {', '.join(extra)} have no Gateway API "
               "form", fld, fidelity=Fidelity.UNSUPPORTED, instead="not converted", aspects=())
    return BackendRef(name=up["service"], namespace=c.obj.namespace, port=port, weight=weight)


def _redirect(c: _Ctx, spec: Mapping[str, Any], fld: str, path: str) -> Filter | None:
    url = str(spec.get("url") or "")
    code = spec.get("code", 301)
    if code not in _REDIRECT_CODES:
        raise _Bad(f"{fld}.code must be 301, 302, 307 or 308")
    keep_path = url.endswith("${request_uri}")
    base = url.removesuffix("${request_uri}")
    parts = urlsplit(base.replace("${host}", "host.invalid").replace("${scheme}", "http"))
    if "$" in base.replace("${host}", "").replace("${scheme}", "") or parts.query:
        c.note("REDIRECT-VARIABLES", Level.WARNING, f"redirect to {url} uses NGINX variables", fld,
               fidelity=Fidelity.UNSUPPORTED, instead="rule answers without the redirect", aspects=("redirect",),
               path=path)
        return None
    return Filter("RequestRedirect", RequestRedirect(
        scheme=None if "${scheme}" in base else parts.scheme or None,
        hostname=None if "${host}" in base else parts.hostname, port=parts.port,
        path=None if keep_path else PathModifier("ReplaceFullPath", parts.path or "/"), status_code=code))


def _action(c: _Ctx, action: Mapping[str, Any], fld: str, modifier: str, path: str
            ) -> tuple[list[BackendRef], list[Filter]]:
    if "pass" in action:
        b = _backend(c, action["pass"], f"{fld}.pass")
        return ([b] if b else []), []
    if "redirect" in action:
        f = _redirect(c, action["redirect"], f"{fld}.redirect", path)
        return [], [f] if f else []
    if "return" in action:
        ret = action["return"]
        c.note("RETURN", Level.WARNING, f"action return {ret.get('code', 200)} (a response NGINX writes itself)",
               f"{fld}.return", fidelity=Fidelity.UNSUPPORTED,
               instead="a rule without backends (the Gateway answers 500)", aspects=("status", "backend"), path=path)
        return [], []
    if "proxy" in action:
        proxy = action["proxy"]
        b = _backend(c, proxy.get("upstream"), f"{fld}.proxy.upstream")
        filters: list[Filter] = []
        rewrite = proxy.get("rewritePath")
        if isinstance(rewrite, str):
            if "$" in rewrite or modifier in ("~", "~*"):
                c.note("REWRITE-PATH", Level.WARNING, f"rewritePath {rewrite} on a regex path", f"{fld}.proxy",
                       fidelity=Fidelity.UNSUPPORTED, instead="not converted", aspects=("path",), path=path)
            else:
                kind = "ReplaceFullPath" if modifier == "=" else "ReplacePrefixMatch"
                filters.append(Filter("URLRewrite", URLRewrite(path=PathModifier(kind, rewrite))))  # type: ignore[arg-type]
        req = proxy.get("requestHeaders") or {}
        sets = tuple((h["name"], h["value"]) for h in req.get("set") or [] if "$" not in str(h.get("value")))
        if sets:
            filters.append(Filter("RequestHeaderModifier", HeaderModifier(set=sets)))
        if req.get("pass") is False:
            c.note("REQUEST-HEADERS-PASS", Level.WARNING, "requestHeaders.pass false drops the client's headers",
                   f"{fld}.proxy.requestHeaders", fidelity=Fidelity.UNSUPPORTED, instead="headers passed", aspects=(),
                   path=path)
        resp = proxy.get("responseHeaders") or {}
        add = tuple((h["name"], h["value"]) for h in resp.get("add") or [] if "$" not in str(h.get("value")))
        hide = tuple(resp.get("hide") or ())
        if add or hide:
            filters.append(Filter("ResponseHeaderModifier", HeaderModifier(add=add, remove=hide)))
        return ([b] if b else []), filters
    raise _Bad(f"{fld} needs pass, redirect, return or proxy")


def _target(c: _Ctx, item: Mapping[str, Any], fld: str, modifier: str, path: str
            ) -> tuple[list[BackendRef], list[Filter]]:
    if "splits" in item:
        backends: list[BackendRef] = []
        for n, split in enumerate(item["splits"]):
            action = split.get("action") or {}
            if "pass" not in action:
                raise _Bad(f"{fld}.splits[{n}].action must pass to an upstream")
            b = _backend(c, action["pass"], f"{fld}.splits[{n}]", weight=int(split.get("weight", 0)))
            if b:
                backends.append(b)
        return backends, []
    if "action" in item:
        return _action(c, item["action"], f"{fld}.action", modifier, path)
    raise _Bad(f"{fld} needs action or splits")


def _body_limit(c: _Ctx, item: Mapping[str, Any], fld: str, routed: bool) -> list[i.Intent]:
    """The body limit of the rule made of ``item`` (an action or splits; ``routed``: reached
    through the rewrite location of ``splits``/``matches``, which holds NGINX's 1m)."""
    limits: list[tuple[int | None, Provenance]] = []
    actions = [s.get("action") or {} for s in item["splits"]] if "splits" in item else [item.get("action") or {}]
    for action in actions:
        name = action.get("pass") or (action.get("proxy") or {}).get("upstream")
        up = c.upstreams.get(str(name)) if name is not None else None
        if up is None:
            continue  # redirect, return: no limit of their own (NGINX's 1m)
        raw = up.get("client-max-body-size")
        if raw is not None:
            try:
                size = parse_size(str(raw)).bytes or None
            except ValueError:
                raise _Bad(f"upstream {name} client-max-body-size {raw!r} is not an NGINX size") from None
            index = list(c.upstreams).index(str(name))
            limits.append((size, Provenance(c.obj.kind.kind, c.obj.namespace, c.obj.name,
                                            f"spec.upstreams[{index}].client-max-body-size", c.obj.origin)))
        elif c.config.client_max_body_size_set:
            limits.append((c.config.client_max_body_size, c.config.provenance("client-max-body-size")))
    if routed:
        limits = [(DEFAULT_BODY if size is None else min(size, DEFAULT_BODY), prov) for size, prov in limits]
    sized = [(size, prov) for size, prov in limits if size is not None and (size != DEFAULT_BODY or not routed)]
    if not sized:
        return []
    size, prov = min(sized, key=lambda sp: sp[0] or 0)
    return [i.BodyLimit(max_bytes=size, provenance=prov)]


def _path_match(c: _Ctx, text: str, fld: str) -> tuple[PathMatch, str, str]:
    modifier, path = vs_path(text)
    if modifier == "=":
        return PathMatch("Exact", path), modifier, path
    if modifier in ("~", "~*"):
        body = path[1:] if path.startswith("^") else path
        value = ("(?i)" if modifier == "~*" else "") + body + ".*"
        c.note("PATH-REGEX", Level.INFO, f"route path {text}: a PCRE regex checked before prefix locations",
               fld, fidelity=Fidelity.APPROXIMATE, instead=f"RegularExpression {value} (Gateway API prefers prefixes)",
               path=path)
        return PathMatch("RegularExpression", value), modifier, path
    if not path.startswith("/"):
        raise _Bad(f"{fld} {text!r} is not a path")
    value = path.rstrip("/") or "/"
    if path != "/" and modifier == "":
        c.note("PATH-CHARACTER-PREFIX", Level.INFO, f"route path {path} is a character prefix", fld,
               fidelity=Fidelity.APPROXIMATE, instead=f"PathPrefix {value}, which matches whole segments",
               path="~^" + re.escape(value) + ("([^/]|$)" if path.endswith("/") else "[^/]"), aspects=_ROUTED)
    return PathMatch("PathPrefix", value), modifier, path


def _conditions(c: _Ctx, conditions: Sequence[Mapping[str, Any]], fld: str, path: str
                ) -> tuple[tuple[HeaderMatch, ...], tuple[QueryMatch, ...]] | None:
    headers: list[HeaderMatch] = []
    query: list[QueryMatch] = []
    if conditions:
        c.note("CONDITION-CASE", Level.INFO, "NGINX compares condition values in any case (through map), and "
               "argument names too", fld, fidelity=Fidelity.APPROXIMATE,
               instead="Gateway API matches header values and query parameters exactly", path=path,
               aspects=("status", "backend", "weights", "path", "headers"))
    for n, cond in enumerate(conditions):
        value = str(cond.get("value", ""))
        if value.startswith("!"):
            c.note("CONDITION-NEGATION", Level.WARNING, f"condition {value} is a negation", f"{fld}[{n}]",
                   fidelity=Fidelity.UNSUPPORTED, instead="this match is not converted", path=path)
            return None
        if "header" in cond:
            headers.append(HeaderMatch(str(cond["header"]), value.removeprefix("\\")))
        elif "argument" in cond:
            query.append(QueryMatch(str(cond["argument"]), value.removeprefix("\\")))
        else:
            kind = next(iter(k for k in cond if k != "value"), "?")
            c.note("CONDITION-UNSUPPORTED", Level.WARNING, f"a {kind} condition has no Gateway API match",
                   f"{fld}[{n}]", fidelity=Fidelity.UNSUPPORTED, instead="this match is not converted", path=path)
            return None
    return tuple(headers), tuple(query)


def _rules(c: _Ctx, routes: Sequence[Mapping[str, Any]], key: str, prov: Provenance,
           delegated: dict[str, tuple[str, PolicyRefs, list[str]]], inherited: PolicyRefs,
           missing: list[str]) -> list[Rule]:
    rules: list[Rule] = []
    for n, route in enumerate(routes):
        fld = f"spec.{key}[{n}]"
        pm, modifier, path = _path_match(c, str(route.get("path", "")), fld + ".path")
        rprov = Provenance(prov.kind, prov.namespace, prov.name, fld, prov.origin)
        scope = ((c.host, path),)
        in_force, broken = references(c.obj, route.get("policies"), fld + ".policies", c.notes, scope, c.policies,
                                      inherited)
        broken = [*missing, *broken]
        if "route" in route:
            delegated[str(route["route"])] = (path, in_force, broken)
            continue
        applied = resolve(c.obj, in_force, broken, fld + ".policies", c.notes, scope, c.policies)
        matches = route.get("matches") or []
        if len(matches) > 1:
            c.note("MATCHES-ORDER", Level.INFO, "NGINX takes the first of several matches that fits; Gateway API "
                   "prefers the match with more conditions", fld + ".matches", fidelity=Fidelity.APPROXIMATE,
                   instead="one rule per match", path=path)
        for m, match in enumerate(matches):
            cond = _conditions(c, match.get("conditions") or [], f"{fld}.matches[{m}].conditions", path)
            if cond is None:
                continue
            backends, filters = _target(c, match, f"{fld}.matches[{m}]", modifier, path)
            rules.append(_with_policies(Rule(matches=(RouteMatch(path=pm, headers=cond[0], query=cond[1]),),
                                             backends=tuple(backends), filters=tuple(filters), provenance=(rprov,),
                                             intents=tuple(_body_limit(c, match, fld, True))), applied))
        for extra in ("errorPages", "location-snippets", "dos"):
            if route.get(extra):
                c.note("ROUTE-" + extra.upper(), Level.WARNING, f"route {extra} have no Gateway API form", fld,
                       fidelity=Fidelity.UNSUPPORTED, instead="not converted", path=path)
        backends, filters = _target(c, route, fld, modifier, path)
        body = _body_limit(c, route, fld, bool(matches) or "splits" in route)
        rules.append(_with_policies(Rule(matches=(RouteMatch(path=pm),), backends=tuple(backends),
                                         filters=tuple(filters), provenance=(rprov,), intents=tuple(body)), applied))
    return rules


def _with_policies(rule: Rule, applied: Resolved) -> Rule:
    """``rule`` with its policies' filters and intents; without backends (the controller answers
    500) when one of them is missing or invalid."""
    if applied.broken:
        return replace(rule, backends=(), filters=())
    return replace(rule, filters=(*rule.filters, *applied.filters), intents=(*rule.intents, *applied.intents))


def _upstreams(obj: KubeObject) -> dict[str, Mapping[str, Any]]:
    return {str(u.get("name")): u for u in obj.spec.get("upstreams") or [] if isinstance(u, Mapping)}


def convert_virtual_servers(ir: IR, claimed: Claimed, ctx: ProviderContext, config: F5Config | None = None) -> IR:
    """``ir`` plus the routes, certificates and redirects of the claimed VirtualServers."""
    routes = list(ir.routes)
    certificates = list(ir.certificates)
    vsrs = {(o.namespace, o.name): o for o in claimed.of("VirtualServerRoute", "k8s.nginx.org")}
    policies = {(o.namespace, o.name): o for o in claimed.of("Policy", "k8s.nginx.org")}
    for vs in sorted(claimed.of("VirtualServer", "k8s.nginx.org"), key=lambda o: (o.namespace, o.name)):
        c = _Ctx(vs, _upstreams(vs), host=str(vs.spec.get("host") or ""), policies=policies,
                 config=config or F5Config())
        try:
            new_routes, cert = _virtual_server(c, vs, vsrs, ctx)
        except (_Bad, KeyError, TypeError, ValueError) as exc:
            ctx.notes.add(Note(code="F5-VS-INVALID", level=Level.ERROR, subject=vs.subject, origin=vs.origin,
                               message=f"{vs.origin}: {exc}", instead="VirtualServer not converted",
                               aspects=frozenset({"status", "backend"}), scope=((c.host, ""),)))
            continue
        ctx.notes.extend(c.notes)
        routes += new_routes
        if cert is not None:
            certificates.append(cert)
    return IR(routes=tuple(routes), certificates=tuple(certificates), backend_tls=ir.backend_tls,
              passthrough=ir.passthrough, listeners=ir.listeners, gateway_intents=ir.gateway_intents)


def _virtual_server(c: _Ctx, vs: KubeObject, vsrs: Mapping[tuple[str, str], KubeObject], ctx: ProviderContext
                    ) -> tuple[list[Route], Certificate | None]:
    spec = vs.spec
    host = c.host
    if not host:
        raise _Bad("spec.host is required")
    gw: GatewayRef = ctx.gateway(str(spec.get("ingressClassName") or "nginx"))
    prov = Provenance("VirtualServer", vs.namespace, vs.name, "", vs.origin)
    tls = spec.get("tls") or {}
    cert = None
    if tls.get("secret"):
        cert = Certificate(gw, host, vs.namespace, str(tls["secret"]), replace_field(prov, "spec.tls.secret"))
    redirect = tls.get("redirect") or {}
    by_header = redirect.get("basedOn") == "x-forwarded-proto"
    https_only = cert is not None and bool(redirect.get("enable")) and not by_header
    sections: frozenset[Section] = frozenset({"https"}) if https_only else (
        frozenset({"http", "https"}) if cert else frozenset({"http"}))
    delegated: dict[str, tuple[str, PolicyRefs, list[str]]] = {}
    server_policies, missing = references(vs, spec.get("policies"), "spec.policies", c.notes, ((host, ""),),
                                          c.policies)
    guarding = sorted(k for k in server_policies if k in ("accessControl", "basicAuth")) + (
        ["a missing Policy (500)"] if missing else [])
    if guarding:
        c.note("SPEC-POLICIES-UNMATCHED", Level.INFO, f"spec.policies ({', '.join(guarding)}) are server-wide in "
               "NGINX: they also answer requests no route takes, before its 404", "spec.policies",
               fidelity=Fidelity.APPROXIMATE, instead="the Gateway answers those 404 (the policies ride on the rules)",
               aspects=("status", "auth"))
    rules = _rules(c, spec.get("routes") or [], "routes", prov, delegated, server_policies, missing)
    code = int(redirect.get("code", 301))
    if code not in _REDIRECT_CODES:
        raise _Bad("spec.tls.redirect.code must be 301, 302, 307 or 308")
    to_https = Filter("RequestRedirect", RequestRedirect(scheme="https", status_code=code))
    if cert is not None and redirect.get("enable") and by_header:
        # one redirect rule per path, so that it outranks the path's own rule, and one for /
        paths = sorted({m.path for r in rules for m in r.matches if m.path is not None}
                       | {PathMatch("PathPrefix", "/")}, key=lambda p: (p.type, p.value))
        header = (HeaderMatch("X-Forwarded-Proto", "http"),)
        rules[:0] = [Rule(matches=(RouteMatch(path=p, headers=header),), filters=(to_https,),
                          provenance=(replace_field(prov, "spec.tls.redirect"),)) for p in paths]
    for extra in ("server-snippets", "http-snippets", "dos", "externalDNS", "gunzip"):
        if spec.get(extra):
            c.note("SPEC-" + extra.upper(), Level.WARNING, f"spec.{extra} has no Gateway API form", f"spec.{extra}",
                   fidelity=Fidelity.UNSUPPORTED, instead="not converted", aspects=("status",))
    listener = spec.get("listener")
    if isinstance(listener, Mapping) and (listener.get("http") or listener.get("https")):
        named = ", ".join(f"{k} {listener[k]}" for k in ("http", "https") if listener.get(k))
        c.note("SPEC-LISTENER", Level.WARNING, f"spec.listener serves the host on custom listeners ({named}) "
               "whose ports the controller's GlobalConfiguration defines: the routes attach to the Gateway's "
               "port 80/443 listeners instead", "spec.listener", fidelity=Fidelity.UNSUPPORTED,
               instead="add Gateway listeners on those ports and attach the route to them", aspects=("status",))
    name = f"{vs.name}-{host_slug(host)}"
    out = [Route("HTTPRoute", vs.namespace, name, gw, (host,), sections, tuple(rules), (prov,))] if rules else []
    for ref, (prefix, in_force, broken) in sorted(delegated.items()):
        ns, _, vsr_name = ref.rpartition("/")
        vsr = vsrs.get((ns or vs.namespace, vsr_name))
        if vsr is None:
            c.note("ROUTE-MISSING", Level.ERROR, f"VirtualServerRoute {ref} is not in the input", "spec.routes",
                   instead="its paths are not converted", path=prefix)
            continue
        vc = _Ctx(vsr, _upstreams(vsr), host=host, policies=c.policies, config=c.config)
        if str(vsr.spec.get("host") or "") != host:
            c.note("ROUTE-HOST", Level.ERROR, f"VirtualServerRoute {ref} is for another host", "spec.routes",
                   instead="its paths are not converted", path=prefix)
            continue
        vprov = Provenance("VirtualServerRoute", vsr.namespace, vsr.name, "", vsr.origin)
        sub = _rules(vc, vsr.spec.get("subroutes") or [], "subroutes", vprov, {}, in_force, broken)
        c.notes.extend(vc.notes)
        if sub:
            out.append(Route("HTTPRoute", vsr.namespace, f"{vsr.name}-{host_slug(host)}", gw, (host,), sections,
                             tuple(sub), (vprov,)))
    if https_only:
        rule = Rule(matches=(RouteMatch(path=PathMatch("PathPrefix", "/")),), filters=(to_https,),
                    provenance=(replace_field(prov, "spec.tls.redirect"),))
        out.append(Route("HTTPRoute", vs.namespace, name + "-https-redirect", gw, (host,), frozenset({"http"}),
                         (rule,), (prov,)))
    return out, cert


def replace_field(prov: Provenance, fld: str) -> Provenance:
    return Provenance(prov.kind, prov.namespace, prov.name, fld, prov.origin)


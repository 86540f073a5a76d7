"""Route rules compiled: backendRefs (kind, port, ReferenceGrant, Service lookup), filters,
header/query/path matches (RE2 regular expressions) and the rule's backend shares, as the
frozen values of :mod:`.model`. A value the API server would refuse (an unknown filter
type, a redirect together with a rewrite) raises :class:`DropRule`: the table leaves the
rule out, with a note.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import re2

from ing2gw.http import Headers

from .filters import apply_header_modifier
from .inventory import GATEWAY_GROUP, Inventory, Obj, int_of, map_of, maps_of, seq_of, str_of
from .model import (
    EXACT,
    PREFIX,
    REGEX,
    Backend,
    Cors,
    Filter,
    HeaderModifier,
    Match,
    Mirror,
    Passive,
    PathModifier,
    Redirect,
    Rewrite,
    Rule,
    ValueMatch,
    new_rule,
)
from .outcome import AuthFilter, MirrorTarget
from .precedence import NEWEST, Head, MatchKey, grpc_head, http_head

__all__ = ["DropRule", "Template", "compile_rule", "compile_template", "resolve_backend", "rule_name"]

FILTER_TYPES = frozenset({
    "RequestHeaderModifier", "ResponseHeaderModifier", "RequestRedirect", "URLRewrite",
    "RequestMirror", "CORS", "ExtensionRef", "ExternalAuth",
})
GRPC_FILTER_TYPES = frozenset({
    "RequestHeaderModifier", "ResponseHeaderModifier", "RequestMirror", "ExtensionRef",
})
REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})

_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False



class DropRule(Exception):
    """A rule the API server would refuse; it is left out with a note."""


def compile_regex(pattern: str) -> tuple[Any | None, str | None]:
    try:
        return re2.compile(pattern, _RE2_OPTIONS), None
    except re2.error as exc:
        detail = exc.args[0] if exc.args else exc
        if isinstance(detail, bytes):
            detail = detail.decode("utf-8", "replace")
        return None, f"regular expression {pattern!r} is not valid RE2 ({detail})"



def resolve_backend(
    o: Obj, ref: Mapping[str, Any], where: str, inv: Inventory, filters: tuple[Filter, ...] = (),
    mesh: bool = False,
) -> Backend:
    group = str_of(o, ref.get("group"), f"{where}.group") or ""
    kind = str_of(o, ref.get("kind"), f"{where}.kind") or "Service"
    name = str_of(o, ref.get("name"), f"{where}.name") or ""
    ns = str_of(o, ref.get("namespace"), f"{where}.namespace") or o.namespace
    port = int_of(o, ref.get("port"), f"{where}.port")
    raw_weight = int_of(o, ref.get("weight"), f"{where}.weight")
    weight = max(1 if raw_weight is None else raw_weight, 0)
    tail = f":{port}" if port is not None else ""
    if (group, kind) != ("", "Service"):
        key = f"{group or 'core'}/{kind} {ns}/{name}{tail}"
        return Backend(key, weight, "InvalidKind", f"backend kind {group}/{kind} is not supported",
                       filters)
    key = f"{ns}/{name}{tail}"
    if port is None:
        return Backend(key, weight, "UnsupportedValue", "backendRef to a Service needs a port",
                       filters)
    if ns != o.namespace and not mesh and not inv.granted(GATEWAY_GROUP, o.kind, o.namespace, "", "Service",
                                             ns, name):
        return Backend(key, weight, "RefNotPermitted",
                       f"no ReferenceGrant in {ns} lets {o.kind} {o.ref} use Service {name}",
                       filters)
    exists, note = inv.resolve("", "Service", ns, name)
    if not exists:
        return Backend(key, weight, "BackendNotFound", f"Service {ns}/{name} not found", filters)
    if note:
        return Backend(key, weight, None, "", filters, (note,))
    svc = inv.by_key[("", "Service", ns, name)]
    sspec = map_of(svc, svc.body.get("spec"), "spec")
    if sspec.get("type") == "ExternalName":
        return Backend(key, weight, "UnsupportedValue",
                       f"Service {ns}/{name} is of type ExternalName", filters)
    for sp in maps_of(svc, sspec.get("ports"), "spec.ports"):
        if sp.get("port") == port:
            app = sp.get("appProtocol")
            return Backend(key, weight, None, "", filters, (),
                           str(app) if app is not None else None)
    return Backend(key, weight, "BackendNotFound", f"Service {ns}/{name} has no port {port}",
                   filters)


def _header_modifier(o: Obj, raw: Mapping[str, Any], where: str) -> HeaderModifier:
    def pairs(key: str) -> tuple[tuple[str, str], ...]:
        out = []
        for i, h in enumerate(maps_of(o, raw.get(key), f"{where}.{key}")):
            name = str_of(o, h.get("name"), f"{where}.{key}[{i}].name") or ""
            out.append((name, str(h.get("value") if h.get("value") is not None else "")))
        return tuple(out)

    remove = tuple(str(n) for n in seq_of(o, raw.get("remove"), f"{where}.remove"))
    return HeaderModifier(set=pairs("set"), add=pairs("add"), remove=remove)


def _path_modifier(o: Obj, raw: Mapping[str, Any], where: str) -> PathModifier | None:
    if not raw:
        return None
    kind = str(raw.get("type") or "")
    if kind == "ReplaceFullPath":
        return PathModifier(kind, str(raw.get("replaceFullPath") or "/"))
    if kind == "ReplacePrefixMatch":
        return PathModifier(kind, str(raw.get("replacePrefixMatch") or ""))
    raise DropRule(f"{where}.type {kind!r} is not supported")


def _filters(
    o: Obj, raws: list[Mapping[str, Any]], where: str, inv: Inventory, allowed: frozenset[str],
    mesh: bool = False,
) -> tuple[Filter, ...]:
    if not raws:
        return ()
    out: list[Filter] = []
    for i, f in enumerate(raws):
        w = f"{where}[{i}]"
        ftype = str(f.get("type") or "")
        if ftype not in allowed:
            raise DropRule(f"{w}: filter type {ftype!r} is not supported (UnsupportedValue)")
        if ftype == "RequestHeaderModifier":
            body = map_of(o, f.get("requestHeaderModifier"), f"{w}.requestHeaderModifier")
            out.append(Filter(ftype, request_headers=_header_modifier(o, body, w)))
        elif ftype == "ResponseHeaderModifier":
            body = map_of(o, f.get("responseHeaderModifier"), f"{w}.responseHeaderModifier")
            out.append(Filter(ftype, response_headers=_header_modifier(o, body, w)))
        elif ftype == "RequestRedirect":
            body = map_of(o, f.get("requestRedirect"), f"{w}.requestRedirect")
            status = int_of(o, body.get("statusCode"), f"{w}.requestRedirect.statusCode") or 302
            if status not in REDIRECT_CODES:
                raise DropRule(f"{w}: redirect status {status} is not supported")
            scheme = str_of(o, body.get("scheme"), f"{w}.requestRedirect.scheme")
            hostname = str_of(o, body.get("hostname"), f"{w}.requestRedirect.hostname")
            out.append(Filter(ftype, redirect=Redirect(
                scheme=scheme.lower() if scheme else None,
                hostname=hostname,
                port=int_of(o, body.get("port"), f"{w}.requestRedirect.port"),
                path=_path_modifier(o, map_of(o, body.get("path"), f"{w}.path"), f"{w}.path"),
                status=status,
            )))
        elif ftype == "URLRewrite":
            body = map_of(o, f.get("urlRewrite"), f"{w}.urlRewrite")
            out.append(Filter(ftype, rewrite=Rewrite(
                hostname=str_of(o, body.get("hostname"), f"{w}.urlRewrite.hostname"),
                path=_path_modifier(o, map_of(o, body.get("path"), f"{w}.path"), f"{w}.path"),
            )))
        elif ftype == "RequestMirror":
            body = map_of(o, f.get("requestMirror"), f"{w}.requestMirror")
            target = resolve_backend(o, map_of(o, body.get("backendRef"), f"{w}.backendRef"),
                              f"{w}.requestMirror.backendRef", inv, mesh=mesh)
            percent = 100.0
            if body.get("percent") is not None:
                percent = float(int_of(o, body.get("percent"), f"{w}.requestMirror.percent") or 0)
            elif body.get("fraction") is not None:
                frac = map_of(o, body.get("fraction"), f"{w}.requestMirror.fraction")
                num = int_of(o, frac.get("numerator"), f"{w}.fraction.numerator") or 0
                den = int_of(o, frac.get("denominator"), f"{w}.fraction.denominator") or 100
                percent = 100.0 * num / den if den else 0.0
            problem = f"{target.problem}: {target.detail}" if target.problem else None
            out.append(Filter(ftype, mirror=Mirror(target.key, percent, problem)))
        elif ftype == "CORS":
            body = map_of(o, f.get("cors"), f"{w}.cors")

            def names(key: str, body: Mapping[str, Any] = body, w: str = w) -> tuple[str, ...]:
                return tuple(str(v) for v in seq_of(o, body.get(key), f"{w}.cors.{key}"))

            max_age = int_of(o, body.get("maxAge"), f"{w}.cors.maxAge")
            out.append(Filter(ftype, cors=Cors(
                allow_origins=names("allowOrigins"),
                allow_methods=names("allowMethods"),
                allow_headers=names("allowHeaders"),
                expose_headers=names("exposeHeaders"),
                allow_credentials=bool(body.get("allowCredentials")),
                max_age=5 if max_age is None else max_age,
            )))
        elif ftype == "ExternalAuth":
            out.append(Filter(ftype, auth=_auth_filter(o, map_of(o, f.get("externalAuth"), f"{w}.externalAuth"),
                                                       f"{w}.externalAuth")))
        elif ftype == "ExtensionRef":
            ref = map_of(o, f.get("extensionRef"), f"{w}.extensionRef")
            group = str(ref.get("group") or "")
            kind = str(ref.get("kind") or "")
            name = str(ref.get("name") or "")
            label = f"{group}/{kind} {o.namespace}/{name}"
            exists, note = inv.resolve(group, kind, o.namespace, name)
            problem = None if exists else f"ExtensionRef {label} cannot be resolved"
            out.append(Filter(ftype, extension=label, problem=problem))
            if note:
                inv.notes.add(note)
    types = [f.type for f in out]
    for single in ("RequestHeaderModifier", "ResponseHeaderModifier", "RequestRedirect",
                   "URLRewrite", "CORS"):
        if types.count(single) > 1:
            raise DropRule(f"{where}: {single} appears more than once")
    if "RequestRedirect" in types and "URLRewrite" in types:
        raise DropRule(f"{where}: RequestRedirect and URLRewrite together (IncompatibleFilters)")
    return tuple(out)


def _auth_filter(o: Obj, body: Mapping[str, Any], w: str) -> AuthFilter:
    """The experimental ExternalAuth filter: the router calls the auth service after matching
    (:mod:`ing2gw.enforce.guard`)."""
    ref = map_of(o, body.get("backendRef"), f"{w}.backendRef")
    protocol = str_of(o, body.get("protocol"), f"{w}.protocol") or "HTTP"
    http = map_of(o, body.get("http"), f"{w}.http")
    grpc = map_of(o, body.get("grpc"), f"{w}.grpc")
    proto_body = http if protocol == "HTTP" else grpc

    def names(key: str) -> tuple[str, ...]:
        return tuple(str(v).lower() for v in seq_of(o, proto_body.get(key), f"{w}.{protocol.lower()}.{key}"))

    forward = map_of(o, body.get("forwardBody"), f"{w}.forwardBody")
    return AuthFilter(
        backend=f"{ref.get('namespace') or o.namespace}/{ref.get('name')}:{ref.get('port')}",
        protocol=protocol,
        path=(str_of(o, http.get("path"), f"{w}.http.path") or None) if protocol == "HTTP" else None,
        allowed_headers=names("allowedHeaders"),
        allowed_response_headers=names("allowedResponseHeaders") if protocol == "HTTP" else (),
        forward_body=int_of(o, forward.get("maxSize"), f"{w}.forwardBody.maxSize") or 0,
    )


def _value_matches(
    o: Obj, raws: list[Mapping[str, Any]], where: str, lower: bool
) -> tuple[tuple[ValueMatch, ...], str | None]:
    out: list[ValueMatch] = []
    seen: set[str] = set()
    broken: str | None = None
    for i, h in enumerate(raws):
        name = str_of(o, h.get("name"), f"{where}[{i}].name") or ""
        key = name.lower() if lower else name
        if key in seen:
            continue  # only the first entry for a name counts
        seen.add(key)
        value = str(h.get("value") if h.get("value") is not None else "")
        mtype = h.get("type") or "Exact"
        if mtype == "RegularExpression":
            rx, err = compile_regex(value)
            broken = broken or err
            out.append(ValueMatch(key, value, rx))
        elif mtype == "Exact":
            out.append(ValueMatch(key, value))
        else:
            raise DropRule(f"{where}[{i}].type {mtype!r} is not supported")
    return tuple(out), broken


def _http_match(o: Obj, m: Mapping[str, Any], where: str) -> tuple[Match, int]:
    path = map_of(o, m.get("path"), f"{where}.path")
    ptype = path.get("type") or "PathPrefix"
    value = str_of(o, path.get("value"), f"{where}.path.value")
    value = "/" if value is None else value
    broken: str | None = None
    regex = None
    if ptype in ("Exact", "PathPrefix"):
        if not value.startswith("/") or "//" in value:
            raise DropRule(f"{where}.path.value {value!r} is not a valid path")
        if ptype == "Exact":
            kind, stored, length = EXACT, value, len(value)
        else:
            stored = value.rstrip("/")
            kind, length = PREFIX, len(stored)
    elif ptype == "RegularExpression":
        regex, broken = compile_regex(value)
        kind, stored, length = REGEX, value, len(value)
    else:
        raise DropRule(f"{where}.path.type {ptype!r} is not supported")
    headers, hb = _value_matches(o, maps_of(o, m.get("headers"), f"{where}.headers"),
                                 f"{where}.headers", lower=True)
    query, qb = _value_matches(o, maps_of(o, m.get("queryParams"), f"{where}.queryParams"),
                               f"{where}.queryParams", lower=False)
    method = str_of(o, m.get("method"), f"{where}.method")
    match = Match(kind, stored, regex, method.upper() if method else None, headers, query,
                  broken or hb or qb)
    return match, length


def _grpc_match(o: Obj, m: Mapping[str, Any], where: str) -> tuple[Match, int, int]:
    meth = map_of(o, m.get("method"), f"{where}.method")
    mtype = meth.get("type") or "Exact"
    service = str_of(o, meth.get("service"), f"{where}.method.service")
    method = str_of(o, meth.get("method"), f"{where}.method.method")
    broken: str | None = None
    regex = None
    if mtype == "Exact":
        if service and method:
            kind, path = EXACT, f"/{service}/{method}"
        elif service:
            kind, path = PREFIX, f"/{service}"
        elif method:
            kind, path = REGEX, f"/[^/]+/{re2.escape(method)}"
            regex, broken = compile_regex(path)
        else:
            kind, path = PREFIX, ""
    elif mtype == "RegularExpression":
        kind, path = REGEX, f"/(?:{service or '[^/]+'})/(?:{method or '[^/]+'})"
        regex, broken = compile_regex(path)
    else:
        raise DropRule(f"{where}.method.type {mtype!r} is not supported")
    headers, hb = _value_matches(o, maps_of(o, m.get("headers"), f"{where}.headers"),
                                 f"{where}.headers", lower=True)
    return Match(kind, path, regex, None, headers, (), broken or hb), len(service or ""), len(
        method or "")


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


# Filter types whose compiled value depends on the filter alone (not on the route's
# namespace or the other objects): equal ones are compiled once (compile_template's ``memo``).
_ROUTE_FREE_FILTERS = frozenset({"RequestHeaderModifier", "ResponseHeaderModifier", "RequestRedirect",
                                 "URLRewrite", "CORS"})


def compile_rule(
    o: Obj, i: int, rule: Mapping[str, Any], inv: Inventory, mesh: bool = False,
) -> tuple[Rule, str | None, list[tuple[MatchKey, Match]]]:
    """Rule ``i`` of route ``o``: what it compiles to, its name and its matches, each with its
    precedence key; ``mesh``: for a Service parent (GAMMA), where a backendRef in another
    namespace needs no ReferenceGrant."""
    compiled, heads = compile_template(o, i, rule, inv, mesh, None)
    created, route = o.created or NEWEST, o.ref
    return compiled, rule_name(o, i, rule), [(head + (created, route, i, j), match)
                                             for j, (head, match) in enumerate(heads)]


def rule_name(o: Obj, i: int, rule: Mapping[str, Any]) -> str | None:
    """The name of rule ``i`` of route ``o``, if it has one."""
    name = rule.get("name")
    if name is None or type(name) is str:
        return name
    return str_of(o, name, f"spec.rules[{i}].name")


# What a rule compiles to apart from its route, index and name: the Rule, and each match with the
# first fields of its precedence key (:class:`~.precedence.MatchKey`)
Template = tuple[Rule, tuple[tuple[Head, Match], ...]]


def compile_template(
    o: Obj, i: int, rule: Mapping[str, Any], inv: Inventory, mesh: bool, memo: dict[Any, Any] | None,
) -> Template:
    """What rule ``i`` of route ``o`` compiles to apart from the route's name, its index and age.
    ``memo`` (one per compiled table, while its objects live; None: none) keeps what a filter list,
    a path match and a same-namespace backendRef compile to by the identity of their mappings:
    emitted routes share those (one dict for every equal match, filter list or backendRef). Each
    entry keeps its input, so no other mapping takes its id. Only what compiled without error is
    kept: a malformed one fails where it first appears, as before."""
    where = f"spec.rules[{i}]"
    grpc = o.kind == "GRPCRoute"
    allowed = GRPC_FILTER_TYPES if grpc else FILTER_TYPES
    raw_filters = maps_of(o, rule.get("filters"), f"{where}.filters")
    filters: tuple[Filter, ...] | None = None
    key: Any = None
    if memo is not None and raw_filters and all(f.get("type") in _ROUTE_FREE_FILTERS for f in raw_filters):
        key = ("filters", grpc, *map(id, raw_filters))
        filters = memo.get(key, (None, None))[1]
    if filters is None:
        filters = _filters(o, raw_filters, f"{where}.filters", inv, allowed, mesh)
        if key is not None:
            memo[key] = (raw_filters, filters)  # type: ignore[index]  # (the inputs kept: their ids stay theirs)
    backends: list[Backend] = []
    for j, ref in enumerate(maps_of(o, rule.get("backendRefs"), f"{where}.backendRefs")):
        bf = _filters(o, maps_of(o, ref.get("filters"), f"{where}.backendRefs[{j}].filters"),
                      f"{where}.backendRefs[{j}].filters", inv, allowed, mesh)
        if memo is None or bf or ref.get("namespace") not in (None, o.namespace):
            backends.append(resolve_backend(o, ref, f"{where}.backendRefs[{j}]", inv, bf, mesh))
            continue
        bkey = ("backend", id(ref), o.namespace, mesh)  # (no ReferenceGrant: the route's kind and name do not count)
        backend = memo.get(bkey, (None, None))[1]
        if backend is None:
            backend = resolve_backend(o, ref, f"{where}.backendRefs[{j}]", inv, bf, mesh)
            memo[bkey] = (ref, backend)
        backends.append(backend)
    if any(f.type == "RequestRedirect" for f in filters) and backends:
        raise DropRule(f"{where}: RequestRedirect with backendRefs (IncompatibleFilters)")
    heads: list[tuple[Head, Match]] = []
    raw_matches = maps_of(o, rule.get("matches"), f"{where}.matches") or [{}]
    prefixes: list[str] = []
    for j, m in enumerate(raw_matches):
        if grpc:
            gm, slen, mlen = _grpc_match(o, m, f"{where}.matches[{j}]")
            heads.append((grpc_head(slen, mlen, len(gm.headers)), gm))
        else:
            found = None if memo is None else memo.get(("match", id(m)), (None, None))[1]
            if found is None:
                found = _http_match(o, m, f"{where}.matches[{j}]")
                if memo is not None:
                    memo[("match", id(m))] = (m, found)
            hm, length = found
            if hm.path_kind == PREFIX:
                prefixes.append(hm.path)
            heads.append((http_head(hm.path_kind, length, hm.method is not None, len(hm.headers),
                                    len(hm.query)), hm))
    prefix = prefixes[0] if len(prefixes) == 1 and len(raw_matches) == 1 else None
    uses_prefix = [
        f for f in filters + tuple(x for b in backends for x in b.filters)
        if (f.redirect and f.redirect.path and f.redirect.path.type == "ReplacePrefixMatch")
        or (f.rewrite and f.rewrite.path and f.rewrite.path.type == "ReplacePrefixMatch")
    ]
    if uses_prefix and prefix is None:
        raise DropRule(f"{where}: ReplacePrefixMatch needs exactly one PathPrefix match")
    shares: dict[str, float] = {}
    total = sum(b.weight for b in backends)
    for b in backends:
        shares[b.key] = shares.get(b.key, 0.0) + (100.0 * b.weight / total if total else 0.0)
    chosen = None
    if total:
        chosen = max(backends, key=lambda b: b.weight)  # first of the largest
    str_of(o, rule.get("name"), f"{where}.name")  # (a malformed name fails here, before any other rule)
    timeouts = map_of(o, rule.get("timeouts"), f"{where}.timeouts")
    retry = map_of(o, rule.get("retry"), f"{where}.retry")
    sp = map_of(o, rule.get("sessionPersistence"), f"{where}.sessionPersistence")
    rnotes = tuple(sorted({m.broken for _, m in heads if m.broken}))
    simple = (not filters and chosen is not None and chosen.problem is None
              and not chosen.filters and len(shares) == 1)
    return new_rule(filters, tuple(backends), chosen, shares, _plain(timeouts) if timeouts else None,
                    _plain(retry) if retry else None, _plain(sp) if sp else None, rnotes, prefix, simple,
                    None if simple else _passive(filters, chosen, len(shares))), tuple(heads)


_PASSIVE_TYPES = frozenset({"ResponseHeaderModifier", "RequestMirror", "CORS", "ExternalAuth"})  # (auth: the guard's)


def _passive(filters: tuple[Filter, ...], chosen: Backend | None, shares: int) -> Passive | None:
    """:class:`~.model.Passive` of a rule with these filters and chosen backend, if it is one."""
    if (chosen is None or chosen.problem is not None or chosen.filters or shares != 1
            or any(f.type not in _PASSIVE_TYPES for f in filters) or sum(f.type == "CORS" for f in filters) > 1):
        return None
    mods: list[HeaderModifier] = []
    mirrors: list[MirrorTarget] = []
    cors: Cors | None = None
    before: tuple[MirrorTarget, ...] = ()
    for f in filters:
        if f.response_headers is not None:
            mods.append(f.response_headers)
        elif f.mirror is not None:
            mirrors.append(MirrorTarget(f.mirror.backend, f.mirror.percent, f.mirror.problem))
        elif f.cors is not None:
            cors, before = f.cors, tuple(mirrors)
        elif f.auth is None:  # a filter of these types without its settings: the plain path says what it does
            return None
    headers = Headers()
    for mod in mods:
        headers = apply_header_modifier(headers, mod)
    return Passive(tuple(mods), tuple(mirrors), cors, before, headers)


"""One route rule as Gateway API YAML: matches, filters, backendRefs, timeouts and session
persistence -- minus what the CRDs' CEL rules forbid.

A provider never asks for a forbidden combination (a repeated filter, a redirect with a
rewrite or with backends, ``ReplacePrefixMatch`` without exactly one PathPrefix match, a
match or filter on a TLS/TCP/UDP rule, one of those without backends); if one does, the
conflicting part is dropped with an ``EMIT-INVALID-COMBINATION`` error note instead of
emitting an object the API server would refuse.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from ..ir import (
    CORS,
    BackendRef,
    ExternalAuthFilter,
    Filter,
    HeaderModifier,
    PathModifier,
    RequestMirror,
    RequestRedirect,
    Route,
    RouteMatch,
    Rule,
    URLRewrite,
)
from ..notes import Level, Note, Notes
from .limits import L4_KINDS

__all__ = ["Leaves", "backend", "leaf", "render_rule"]


Leaves = dict[Hashable, dict[str, Any]]


def leaf(leaves: Leaves | None, key: Hashable, make: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """``make(*args)``, or the dict made before for an equal ``key``: the emitted rules of a
    large input repeat the same match, filter, backendRef and parentRef thousands of times,
    and each is held once (nothing changes an emitted leaf in place; emitters that add to a
    rule replace its lists)."""
    if leaves is None:
        return make(*args)
    try:
        hit = leaves.get(key)
    except TypeError:  # a value that cannot be hashed: not shared
        return make(*args)
    if hit is None:
        hit = leaves[key] = make(*args)
    return hit


def render_rule(route: Route, rule: Rule, notes: Notes, leaves: Leaves | None = None) -> dict[str, Any] | None:
    """The rule's YAML; None when nothing valid is left of it. With ``leaves``, equal matches,
    filters and backendRefs are one shared dict (:func:`leaf`)."""
    out: dict[str, Any] = {}
    if rule.name:
        out["name"] = rule.name
    if route.kind in L4_KINDS:
        return _l4_rule(route, rule, out, notes)
    kind, ns = route.kind, route.namespace
    matches = [leaf(leaves, ("match", kind, m), _match, m, kind) for m in rule.matches]
    if matches and matches != [{}]:
        out["matches"] = matches
    filters, backends = _legal(route, rule, notes)
    if filters:
        out["filters"] = [leaf(leaves, ("filter", ns, f.type, f.value), _filter, f, ns) for f in filters]
    if backends:
        out["backendRefs"] = [leaf(leaves, ("backend", ns, b), backend, b, ns) for b in backends]
    if rule.timeouts and route.kind == "HTTPRoute":
        t: dict[str, str] = {}
        if rule.timeouts.request:
            t["request"] = rule.timeouts.request
        if rule.timeouts.backend_request:
            t["backendRequest"] = rule.timeouts.backend_request
        if t:
            out["timeouts"] = t
    if rule.session_persistence:
        sp = rule.session_persistence
        s: dict[str, Any] = {"type": sp.type}
        if sp.session_name:
            s["sessionName"] = sp.session_name
        if sp.absolute_timeout:
            s["absoluteTimeout"] = sp.absolute_timeout
        if sp.idle_timeout:
            s["idleTimeout"] = sp.idle_timeout
        if sp.lifetime_type:
            s["cookieConfig"] = {"lifetimeType": sp.lifetime_type}
        out["sessionPersistence"] = s
    return out


def _drop(route: Route, rule: Rule, what: str, notes: Notes) -> None:
    subject = rule.provenance[0].subject if rule.provenance else f"{route.kind} {route.namespace}/{route.name}"
    notes.add(Note("EMIT-INVALID-COMBINATION", Level.ERROR,
                   f"{route.kind} {route.namespace}/{route.name}: {what} (the API server would reject it)",
                   subject=subject, instead="dropped (a bug in the provider)"))


def _l4_rule(route: Route, rule: Rule, out: dict[str, Any], notes: Notes) -> dict[str, Any] | None:
    """A TLS/TCP/UDP rule: backendRefs only (1 to 16, Services without filters)."""
    if rule.matches or rule.filters or rule.timeouts or rule.session_persistence:
        _drop(route, rule, "matches, filters, timeouts or session persistence on a layer-4 rule", notes)
    backends = [b for b in rule.backends if not b.filters][:16]
    if len(backends) != len(rule.backends):
        _drop(route, rule, "backend filters or more than 16 backends on a layer-4 rule", notes)
    if not backends:
        _drop(route, rule, "a layer-4 rule without backends", notes)
        return None
    out["backendRefs"] = [backend(b, route.namespace) for b in backends]
    return out


def _replaces_prefix(f: Filter) -> bool:
    v = f.value
    return isinstance(v, (RequestRedirect, URLRewrite)) and v.path is not None and v.path.type == "ReplacePrefixMatch"


def _legal(route: Route, rule: Rule, notes: Notes) -> tuple[list[Filter], tuple[BackendRef, ...]]:
    """Filters and backends, minus the combinations the CRDs' CEL rules reject."""
    filters: list[Filter] = []
    seen: set[str] = set()
    for f in rule.filters:
        if f.type in seen and f.type != "RequestMirror":
            _drop(route, rule, f"repeated {f.type} filter", notes)
            continue
        if {f.type, *seen} >= {"RequestRedirect", "URLRewrite"}:
            _drop(route, rule, "RequestRedirect together with URLRewrite", notes)
            continue
        if _replaces_prefix(f) and not (len(rule.matches) == 1 and rule.matches[0].path is not None
                                        and rule.matches[0].path.type == "PathPrefix"):
            _drop(route, rule, "ReplacePrefixMatch without exactly one PathPrefix match", notes)
            continue
        seen.add(f.type)
        filters.append(f)
    backends = rule.backends
    if "RequestRedirect" in seen and backends:
        _drop(route, rule, "RequestRedirect together with backendRefs", notes)
        backends = ()
    return filters, backends


def _match(m: RouteMatch, kind: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if kind == "GRPCRoute":
        # For GRPCRoute the path holds "service/method" (either part may be empty).
        if m.path is not None:
            service, _, method = m.path.value.strip("/").partition("/")
            meth: dict[str, Any] = {"type": "Exact" if m.path.type != "RegularExpression" else "RegularExpression"}
            if service:
                meth["service"] = service
            if method:
                meth["method"] = method
            out["method"] = meth
    elif m.path is not None:
        out["path"] = {"type": m.path.type, "value": m.path.value}
    if m.headers:
        out["headers"] = [{"type": h.type, "name": h.name, "value": h.value} for h in m.headers]
    if m.query and kind == "HTTPRoute":
        out["queryParams"] = [{"type": q.type, "name": q.name, "value": q.value} for q in m.query]
    if m.method and kind == "HTTPRoute":
        out["method"] = m.method
    return out


def _path_modifier(p: PathModifier) -> dict[str, Any]:
    if p.type == "ReplaceFullPath":
        return {"type": "ReplaceFullPath", "replaceFullPath": p.value}
    return {"type": "ReplacePrefixMatch", "replacePrefixMatch": p.value}


def _header_modifier(h: HeaderModifier) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if h.set:
        out["set"] = [{"name": n, "value": v} for n, v in h.set]
    if h.add:
        out["add"] = [{"name": n, "value": v} for n, v in h.add]
    if h.remove:
        out["remove"] = list(h.remove)
    return out


def _filter(f: Filter, namespace: str) -> dict[str, Any]:
    v = f.value
    if isinstance(v, HeaderModifier):
        key = "requestHeaderModifier" if f.type == "RequestHeaderModifier" else "responseHeaderModifier"
        return {"type": f.type, key: _header_modifier(v)}
    if isinstance(v, RequestRedirect):
        r: dict[str, Any] = {}
        if v.scheme:
            r["scheme"] = v.scheme
        if v.hostname:
            r["hostname"] = v.hostname
        if v.port is not None:
            r["port"] = v.port
        if v.path:
            r["path"] = _path_modifier(v.path)
        r["statusCode"] = v.status_code
        return {"type": "RequestRedirect", "requestRedirect": r}
    if isinstance(v, URLRewrite):
        u: dict[str, Any] = {}
        if v.hostname:
            u["hostname"] = v.hostname
        if v.path:
            u["path"] = _path_modifier(v.path)
        return {"type": "URLRewrite", "urlRewrite": u}
    if isinstance(v, RequestMirror):
        m: dict[str, Any] = {"backendRef": backend(v.backend, namespace, weight=False)}
        if v.percent is not None:
            m["percent"] = v.percent
        return {"type": "RequestMirror", "requestMirror": m}
    if isinstance(v, CORS):
        c: dict[str, Any] = {}
        if v.allow_origins:
            c["allowOrigins"] = list(v.allow_origins)
        if v.allow_credentials is not None:
            c["allowCredentials"] = v.allow_credentials
        if v.allow_methods:
            c["allowMethods"] = list(v.allow_methods)
        if v.allow_headers:
            c["allowHeaders"] = list(v.allow_headers)
        if v.expose_headers:
            c["exposeHeaders"] = list(v.expose_headers)
        if v.max_age is not None:
            c["maxAge"] = v.max_age
        return {"type": "CORS", "cors": c}
    if isinstance(v, ExternalAuthFilter):
        http: dict[str, Any] = {}
        if v.path:
            http["path"] = v.path
        if v.allowed_headers:
            http["allowedHeaders"] = list(v.allowed_headers)
        if v.allowed_response_headers:
            http["allowedResponseHeaders"] = list(v.allowed_response_headers)
        auth = {"protocol": "HTTP", "backendRef": backend(v.backend, namespace, weight=False), "http": http}
        return {"type": "ExternalAuth", "externalAuth": auth}
    raise TypeError(f"unknown filter value {type(v).__name__}")


def backend(b: BackendRef, namespace: str, weight: bool = True) -> dict[str, Any]:
    """A backendRef (namespace only when it differs from the route's)."""
    out: dict[str, Any] = {}
    if b.group:
        out["group"] = b.group
    if b.kind != "Service":
        out["kind"] = b.kind
    out["name"] = b.name
    if b.namespace != namespace:
        out["namespace"] = b.namespace
    if b.port is not None:
        out["port"] = b.port
    if weight and b.weight != 1:
        out["weight"] = b.weight
    if b.filters:
        out["filters"] = [_filter(f, namespace) for f in b.filters]
    return out

"""Compile Gateway API manifests into per-listener match tables.

Input: plain Kubernetes objects (Gateway, HTTPRoute, GRPCRoute, ReferenceGrant, Service,
Namespace, Secret, ...). Output: a :class:`Table` of :class:`~.model.Gateway` values whose
listeners hold every attached route match under its effective hostname, sorted by
precedence (:mod:`.precedence`).

What happens here (``docs/case-format.md`` and the spec summary describe the rules):

* listeners: HTTP and HTTPS only; conflicted listeners are left out; an HTTPS listener
  needs a resolvable certificate (or it answers nothing);
* attachment: parentRefs (``sectionName``, ``port``), ``allowedRoutes`` (namespaces
  Same/All/Selector, kinds) and hostname intersection;
* references: backends, mirrors, certificates and ExtensionRefs are resolved, with
  ReferenceGrants for cross-namespace references. A *kind* absent from the input
  altogether is assumed to exist (and every outcome that relies on it says so) unless
  ``strict_refs`` is set.

Objects that are not well-formed (a ``spec`` that is not a mapping, a list where a
mapping belongs) raise :class:`~ing2gw.errors.InputError` naming the file, line and
object. Values the API server would refuse (an unknown filter type, a redirect together
with a rewrite) drop the rule, with a note.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import re2

from ing2gw.errors import InputError

from .hostnames import HostIndex, intersect
from .model import (
    EXACT,
    PREFIX,
    REGEX,
    Backend,
    Cors,
    Entry,
    Filter,
    Gateway,
    Group,
    HeaderModifier,
    Listener,
    Match,
    Mirror,
    PathModifier,
    Redirect,
    Rewrite,
    Rule,
    ValueMatch,
)
from .outcome import Matched, RuleInfo
from .precedence import MatchKey, grpc_key, http_key

__all__ = ["GATEWAY_GROUP", "Table", "compile_table"]

GATEWAY_GROUP = "gateway.networking.k8s.io"
ROUTE_KINDS = ("HTTPRoute", "GRPCRoute")
CLUSTER_SCOPED = frozenset({"Namespace", "GatewayClass", "ClusterRole", "Node"})
ROUTED_PROTOCOLS = ("HTTP", "HTTPS")
FILTER_TYPES = frozenset({
    "RequestHeaderModifier", "ResponseHeaderModifier", "RequestRedirect", "URLRewrite",
    "RequestMirror", "CORS", "ExtensionRef",
})
GRPC_FILTER_TYPES = frozenset({
    "RequestHeaderModifier", "ResponseHeaderModifier", "RequestMirror", "ExtensionRef",
})
REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})

_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False


@dataclass(frozen=True, slots=True)
class Table:
    gateways: Mapping[str, Gateway]  # "ns/name" -> compiled Gateway
    by_port: Mapping[int, tuple[Gateway, ...]]  # port -> Gateways listening, by name
    notes: tuple[str, ...]  # compile-time findings, sorted
    # (port, hostname) -> the Gateways on the port with a listener for the hostname, filled
    # as requests come (several Gateways share a port when listeners were split over them)
    serving: dict[tuple[int, str], tuple[Gateway, ...]] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True)
class _Obj:
    group: str
    kind: str
    namespace: str
    name: str
    body: Mapping[str, Any]
    origin: str

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

    @property
    def created(self) -> str:
        meta = self.body.get("metadata")
        ts = meta.get("creationTimestamp") if isinstance(meta, Mapping) else None
        return str(ts) if ts is not None else ""

    def fail(self, message: str) -> InputError:
        return InputError(f"{self.origin}: {self.kind} {self.ref}: {message}")


# -- small typed accessors that turn malformed input into one-line errors ------------------

def _map(o: _Obj, value: Any, where: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise o.fail(f"{where} must be a mapping, not {type(value).__name__}")
    return value


def _seq(o: _Obj, value: Any, where: str) -> Sequence[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise o.fail(f"{where} must be a list, not {type(value).__name__}")
    return value


def _maps(o: _Obj, value: Any, where: str) -> list[Mapping[str, Any]]:
    return [_map(o, item, f"{where}[{i}]") for i, item in enumerate(_seq(o, value, where))]


def _str(o: _Obj, value: Any, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise o.fail(f"{where} must be a string, not {type(value).__name__}")
    return value


def _int(o: _Obj, value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise o.fail(f"{where} must be an integer, not {type(value).__name__}")
    return value


class _DropRule(Exception):
    """A rule the API server would refuse; it is left out with a note."""


def _compile_regex(pattern: str) -> tuple[Any | None, str | None]:
    try:
        return re2.compile(pattern, _RE2_OPTIONS), None
    except re2.error as exc:
        detail = exc.args[0] if exc.args else exc
        if isinstance(detail, bytes):
            detail = detail.decode("utf-8", "replace")
        return None, f"regular expression {pattern!r} is not valid RE2 ({detail})"


# -- the inventory of input objects -------------------------------------------------------

class _Inventory:
    def __init__(self, objects: list[_Obj], strict: bool) -> None:
        self.strict = strict
        self.by_key: dict[tuple[str, str, str, str], _Obj] = {}
        self.kinds: set[tuple[str, str]] = set()
        self.notes: set[str] = set()
        for o in objects:
            key = (o.group, o.kind, o.namespace, o.name)
            first = self.by_key.get(key)
            if first is not None:
                if first.body != o.body:
                    raise InputError(
                        f"{o.origin}: {o.kind} {o.ref} is defined twice, differently "
                        f"(first at {first.origin})"
                    )
                continue
            self.by_key[key] = o
            self.kinds.add((o.group, o.kind))
        self.grants: dict[str, list[_Obj]] = {}
        for (group, kind, ns, _), o in sorted(self.by_key.items()):
            if group == GATEWAY_GROUP and kind == "ReferenceGrant":
                self.grants.setdefault(ns, []).append(o)

    def of_kind(self, group: str, kind: str) -> list[_Obj]:
        return [o for (g, k, _, _), o in sorted(self.by_key.items()) if g == group and k == kind]

    def resolve(self, group: str, kind: str, namespace: str, name: str) -> tuple[bool, str | None]:
        """``(exists, assumption note)`` for a referenced object."""
        if (group, kind, namespace, name) in self.by_key:
            return True, None
        if (group, kind) not in self.kinds and not self.strict:
            what = f"{group}/{kind}" if group else kind
            note = f"assumed {what} {namespace}/{name} exists (no {what} objects in the input)"
            self.notes.add(f"no {what} objects in the input: referenced ones are assumed to exist")
            return True, note
        return False, None

    def namespace_labels(self, namespace: str) -> tuple[Mapping[str, str] | None, str | None]:
        """Labels of a Namespace; ``(None, note)`` when Namespaces are absent and assumed."""
        o = self.by_key.get(("", "Namespace", "", namespace))
        if o is not None:
            meta = _map(o, o.body.get("metadata"), "metadata")
            labels = _map(o, meta.get("labels"), "metadata.labels")
            return {str(k): str(v) for k, v in labels.items()}, None
        if ("", "Namespace") not in self.kinds and not self.strict:
            self.notes.add(
                "no Namespace objects in the input: allowedRoutes namespace selectors are "
                "assumed to select every route namespace"
            )
            return None, f"assumed Namespace {namespace} matches the listener's selector"
        return {}, None

    def granted(
        self, from_group: str, from_kind: str, from_ns: str,
        to_group: str, to_kind: str, to_ns: str, to_name: str,
    ) -> bool:
        for grant in self.grants.get(to_ns, ()):
            spec = _map(grant, grant.body.get("spec"), "spec")
            froms = _maps(grant, spec.get("from"), "spec.from")
            tos = _maps(grant, spec.get("to"), "spec.to")
            if not any(
                (f.get("group") or "") == from_group and f.get("kind") == from_kind
                and f.get("namespace") == from_ns for f in froms
            ):
                continue
            if any(
                (t.get("group") or "") == to_group and t.get("kind") == to_kind
                and (not t.get("name") or t.get("name") == to_name) for t in tos
            ):
                return True
        return False


def _to_objects(manifests: Iterable[tuple[Mapping[str, Any], str]]) -> list[_Obj]:
    objects: list[_Obj] = []
    for body, origin in manifests:
        api = body.get("apiVersion")
        kind = body.get("kind")
        if not isinstance(api, str) or not isinstance(kind, str):
            raise InputError(f"{origin}: object without apiVersion and kind")
        group = api.split("/", 1)[0] if "/" in api else ""
        meta = body.get("metadata")
        if not isinstance(meta, Mapping) or not isinstance(meta.get("name"), str):
            raise InputError(f"{origin}: {kind} without metadata.name")
        ns = meta.get("namespace")
        if ns is not None and not isinstance(ns, str):
            raise InputError(
                f"{origin}: {kind} {meta['name']}: metadata.namespace must be a string"
            )
        namespace = "" if kind in CLUSTER_SCOPED else (ns or "default")
        objects.append(_Obj(group, kind, namespace, meta["name"], body, origin))
    return objects


# -- listeners ------------------------------------------------------------------------------

@dataclass(slots=True)
class _ListenerSpec:
    gateway: _Obj
    name: str
    port: int
    protocol: str
    hostname: str | None
    allowed_from: str
    selector: Mapping[str, Any]
    kinds: frozenset[str]
    problem: str | None
    notes: list[str]
    routes: HostIndex[Group]


def _label_selector_matches(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    match_labels = selector.get("matchLabels") or {}
    if isinstance(match_labels, Mapping):
        for k, v in match_labels.items():
            if labels.get(str(k)) != str(v):
                return False
    for expr in selector.get("matchExpressions") or []:
        if not isinstance(expr, Mapping):
            return False
        key, op = str(expr.get("key")), expr.get("operator")
        values = [str(v) for v in expr.get("values") or []]
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def _listener_specs(gw: _Obj, inv: _Inventory, notes: set[str]) -> list[_ListenerSpec]:
    spec = _map(gw, gw.body.get("spec"), "spec")
    specs: list[_ListenerSpec] = []
    for i, raw in enumerate(_maps(gw, spec.get("listeners"), "spec.listeners")):
        where = f"spec.listeners[{i}]"
        name = _str(gw, raw.get("name"), f"{where}.name") or str(i)
        port = _int(gw, raw.get("port"), f"{where}.port") or 0
        protocol = _str(gw, raw.get("protocol"), f"{where}.protocol") or ""
        hostname = _str(gw, raw.get("hostname"), f"{where}.hostname")
        allowed = _map(gw, raw.get("allowedRoutes"), f"{where}.allowedRoutes")
        namespaces = _map(gw, allowed.get("namespaces"), f"{where}.allowedRoutes.namespaces")
        kinds_raw = _maps(gw, allowed.get("kinds"), f"{where}.allowedRoutes.kinds")
        problem: str | None = None
        lnotes: list[str] = []
        if kinds_raw:
            kinds = frozenset(
                str(k.get("kind")) for k in kinds_raw
                if (k.get("group") or GATEWAY_GROUP) == GATEWAY_GROUP
                and k.get("kind") in ROUTE_KINDS
            )
        else:
            kinds = frozenset(ROUTE_KINDS)
        if protocol == "HTTPS":
            problem = _check_tls(gw, raw, where, inv, lnotes)
        specs.append(_ListenerSpec(
            gateway=gw, name=name, port=port, protocol=protocol,
            hostname=hostname.lower() if hostname else None,
            allowed_from=str(namespaces.get("from") or "Same"),
            selector=_map(gw, namespaces.get("selector"),
                          f"{where}.allowedRoutes.namespaces.selector"),
            kinds=kinds, problem=problem, notes=lnotes, routes=HostIndex(),
        ))
    # Listeners that are not distinct are left out (Conflicted=True).
    by_port: dict[int, list[_ListenerSpec]] = {}
    for ls in specs:
        by_port.setdefault(ls.port, []).append(ls)
    kept: list[_ListenerSpec] = []
    for port, group in sorted(by_port.items()):
        protocols = {ls.protocol for ls in group}
        if len(protocols) > 1 and protocols != {"HTTPS", "TLS"}:
            for ls in group:
                notes.add(f"Gateway {gw.ref} listener {ls.name}: ProtocolConflict on port {port}; "
                          "left out")
            continue
        seen: dict[tuple[str, str | None], int] = {}
        for ls in group:
            seen[(ls.protocol, ls.hostname)] = seen.get((ls.protocol, ls.hostname), 0) + 1
        for ls in group:
            if seen[(ls.protocol, ls.hostname)] > 1:
                notes.add(f"Gateway {gw.ref} listener {ls.name}: HostnameConflict on port {port}; "
                          "left out")
            elif ls.protocol not in ROUTED_PROTOCOLS:
                notes.add(f"Gateway {gw.ref} listener {ls.name}: protocol {ls.protocol or '?'} "
                          "is not routed by this router; left out")
            else:
                kept.append(ls)
    return kept


def _check_tls(
    gw: _Obj, raw: Mapping[str, Any], where: str, inv: _Inventory, notes: list[str]
) -> str | None:
    tls = _map(gw, raw.get("tls"), f"{where}.tls")
    mode = tls.get("mode") or "Terminate"
    if mode != "Terminate":
        return f"HTTPS listener with TLS mode {mode} (must be Terminate)"
    refs = _maps(gw, tls.get("certificateRefs"), f"{where}.tls.certificateRefs")
    if not refs:
        return "InvalidCertificateRef: HTTPS listener without certificateRefs"
    problems: list[str] = []
    for ref in refs:
        group, kind = str(ref.get("group") or ""), str(ref.get("kind") or "Secret")
        name = str(ref.get("name") or "")
        ns = str(ref.get("namespace") or gw.namespace)
        if (group, kind) != ("", "Secret"):
            problems.append(f"InvalidCertificateRef: {kind} {ns}/{name} is not a Secret")
            continue
        if ns != gw.namespace and not inv.granted(
            GATEWAY_GROUP, "Gateway", gw.namespace, "", "Secret", ns, name
        ):
            problems.append(f"RefNotPermitted: Secret {ns}/{name} (no ReferenceGrant)")
            continue
        exists, note = inv.resolve("", "Secret", ns, name)
        if not exists:
            problems.append(f"InvalidCertificateRef: Secret {ns}/{name} not found")
            continue
        if note:
            notes.append(note)
        return None
    return "; ".join(problems)


# -- routes ---------------------------------------------------------------------------------

def _backend(
    o: _Obj, ref: Mapping[str, Any], where: str, inv: _Inventory, filters: tuple[Filter, ...] = ()
) -> Backend:
    group = _str(o, ref.get("group"), f"{where}.group") or ""
    kind = _str(o, ref.get("kind"), f"{where}.kind") or "Service"
    name = _str(o, ref.get("name"), f"{where}.name") or ""
    ns = _str(o, ref.get("namespace"), f"{where}.namespace") or o.namespace
    port = _int(o, ref.get("port"), f"{where}.port")
    raw_weight = _int(o, ref.get("weight"), f"{where}.weight")
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
    if ns != o.namespace and not inv.granted(GATEWAY_GROUP, o.kind, o.namespace, "", "Service",
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
    sspec = _map(svc, svc.body.get("spec"), "spec")
    if sspec.get("type") == "ExternalName":
        return Backend(key, weight, "UnsupportedValue",
                       f"Service {ns}/{name} is of type ExternalName", filters)
    for sp in _maps(svc, sspec.get("ports"), "spec.ports"):
        if sp.get("port") == port:
            app = sp.get("appProtocol")
            return Backend(key, weight, None, "", filters, (),
                           str(app) if app is not None else None)
    return Backend(key, weight, "BackendNotFound", f"Service {ns}/{name} has no port {port}",
                   filters)


def _header_modifier(o: _Obj, raw: Mapping[str, Any], where: str) -> HeaderModifier:
    def pairs(key: str) -> tuple[tuple[str, str], ...]:
        out = []
        for i, h in enumerate(_maps(o, raw.get(key), f"{where}.{key}")):
            name = _str(o, h.get("name"), f"{where}.{key}[{i}].name") or ""
            out.append((name, str(h.get("value") if h.get("value") is not None else "")))
        return tuple(out)

    remove = tuple(str(n) for n in _seq(o, raw.get("remove"), f"{where}.remove"))
    return HeaderModifier(set=pairs("set"), add=pairs("add"), remove=remove)


def _path_modifier(o: _Obj, raw: Mapping[str, Any], where: str) -> PathModifier | None:
    if not raw:
        return None
    kind = str(raw.get("type") or "")
    if kind == "ReplaceFullPath":
        return PathModifier(kind, str(raw.get("replaceFullPath") or "/"))
    if kind == "ReplacePrefixMatch":
        return PathModifier(kind, str(raw.get("replacePrefixMatch") or ""))
    raise _DropRule(f"{where}.type {kind!r} is not supported")


def _filters(
    o: _Obj, raws: list[Mapping[str, Any]], where: str, inv: _Inventory, allowed: frozenset[str]
) -> tuple[Filter, ...]:
    out: list[Filter] = []
    for i, f in enumerate(raws):
        w = f"{where}[{i}]"
        ftype = str(f.get("type") or "")
        if ftype not in allowed:
            raise _DropRule(f"{w}: filter type {ftype!r} is not supported (UnsupportedValue)")
        if ftype == "RequestHeaderModifier":
            body = _map(o, f.get("requestHeaderModifier"), f"{w}.requestHeaderModifier")
            out.append(Filter(ftype, request_headers=_header_modifier(o, body, w)))
        elif ftype == "ResponseHeaderModifier":
            body = _map(o, f.get("responseHeaderModifier"), f"{w}.responseHeaderModifier")
            out.append(Filter(ftype, response_headers=_header_modifier(o, body, w)))
        elif ftype == "RequestRedirect":
            body = _map(o, f.get("requestRedirect"), f"{w}.requestRedirect")
            status = _int(o, body.get("statusCode"), f"{w}.requestRedirect.statusCode") or 302
            if status not in REDIRECT_CODES:
                raise _DropRule(f"{w}: redirect status {status} is not supported")
            scheme = _str(o, body.get("scheme"), f"{w}.requestRedirect.scheme")
            hostname = _str(o, body.get("hostname"), f"{w}.requestRedirect.hostname")
            out.append(Filter(ftype, redirect=Redirect(
                scheme=scheme.lower() if scheme else None,
                hostname=hostname,
                port=_int(o, body.get("port"), f"{w}.requestRedirect.port"),
                path=_path_modifier(o, _map(o, body.get("path"), f"{w}.path"), f"{w}.path"),
                status=status,
            )))
        elif ftype == "URLRewrite":
            body = _map(o, f.get("urlRewrite"), f"{w}.urlRewrite")
            out.append(Filter(ftype, rewrite=Rewrite(
                hostname=_str(o, body.get("hostname"), f"{w}.urlRewrite.hostname"),
                path=_path_modifier(o, _map(o, body.get("path"), f"{w}.path"), f"{w}.path"),
            )))
        elif ftype == "RequestMirror":
            body = _map(o, f.get("requestMirror"), f"{w}.requestMirror")
            target = _backend(o, _map(o, body.get("backendRef"), f"{w}.backendRef"),
                              f"{w}.requestMirror.backendRef", inv)
            percent = 100.0
            if body.get("percent") is not None:
                percent = float(_int(o, body.get("percent"), f"{w}.requestMirror.percent") or 0)
            elif body.get("fraction") is not None:
                frac = _map(o, body.get("fraction"), f"{w}.requestMirror.fraction")
                num = _int(o, frac.get("numerator"), f"{w}.fraction.numerator") or 0
                den = _int(o, frac.get("denominator"), f"{w}.fraction.denominator") or 100
                percent = 100.0 * num / den if den else 0.0
            problem = f"{target.problem}: {target.detail}" if target.problem else None
            out.append(Filter(ftype, mirror=Mirror(target.key, percent, problem)))
        elif ftype == "CORS":
            body = _map(o, f.get("cors"), f"{w}.cors")

            def names(key: str, body: Mapping[str, Any] = body, w: str = w) -> tuple[str, ...]:
                return tuple(str(v) for v in _seq(o, body.get(key), f"{w}.cors.{key}"))

            max_age = _int(o, body.get("maxAge"), f"{w}.cors.maxAge")
            out.append(Filter(ftype, cors=Cors(
                allow_origins=names("allowOrigins"),
                allow_methods=names("allowMethods"),
                allow_headers=names("allowHeaders"),
                expose_headers=names("exposeHeaders"),
                allow_credentials=bool(body.get("allowCredentials")),
                max_age=5 if max_age is None else max_age,
            )))
        elif ftype == "ExtensionRef":
            ref = _map(o, f.get("extensionRef"), f"{w}.extensionRef")
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
            raise _DropRule(f"{where}: {single} appears more than once")
    if "RequestRedirect" in types and "URLRewrite" in types:
        raise _DropRule(f"{where}: RequestRedirect and URLRewrite together (IncompatibleFilters)")
    return tuple(out)


def _value_matches(
    o: _Obj, raws: list[Mapping[str, Any]], where: str, lower: bool
) -> tuple[tuple[ValueMatch, ...], str | None]:
    out: list[ValueMatch] = []
    seen: set[str] = set()
    broken: str | None = None
    for i, h in enumerate(raws):
        name = _str(o, h.get("name"), f"{where}[{i}].name") or ""
        key = name.lower() if lower else name
        if key in seen:
            continue  # only the first entry for a name counts
        seen.add(key)
        value = str(h.get("value") if h.get("value") is not None else "")
        mtype = h.get("type") or "Exact"
        if mtype == "RegularExpression":
            rx, err = _compile_regex(value)
            broken = broken or err
            out.append(ValueMatch(key, value, rx))
        elif mtype == "Exact":
            out.append(ValueMatch(key, value))
        else:
            raise _DropRule(f"{where}[{i}].type {mtype!r} is not supported")
    return tuple(out), broken


def _http_match(o: _Obj, m: Mapping[str, Any], where: str) -> tuple[Match, int]:
    path = _map(o, m.get("path"), f"{where}.path")
    ptype = path.get("type") or "PathPrefix"
    value = _str(o, path.get("value"), f"{where}.path.value")
    value = "/" if value is None else value
    broken: str | None = None
    regex = None
    if ptype in ("Exact", "PathPrefix"):
        if not value.startswith("/") or "//" in value:
            raise _DropRule(f"{where}.path.value {value!r} is not a valid path")
        if ptype == "Exact":
            kind, stored, length = EXACT, value, len(value)
        else:
            stored = value.rstrip("/")
            kind, length = PREFIX, len(stored)
    elif ptype == "RegularExpression":
        regex, broken = _compile_regex(value)
        kind, stored, length = REGEX, value, len(value)
    else:
        raise _DropRule(f"{where}.path.type {ptype!r} is not supported")
    headers, hb = _value_matches(o, _maps(o, m.get("headers"), f"{where}.headers"),
                                 f"{where}.headers", lower=True)
    query, qb = _value_matches(o, _maps(o, m.get("queryParams"), f"{where}.queryParams"),
                               f"{where}.queryParams", lower=False)
    method = _str(o, m.get("method"), f"{where}.method")
    match = Match(kind, stored, regex, method.upper() if method else None, headers, query,
                  broken or hb or qb)
    return match, length


def _grpc_match(o: _Obj, m: Mapping[str, Any], where: str) -> tuple[Match, int, int]:
    meth = _map(o, m.get("method"), f"{where}.method")
    mtype = meth.get("type") or "Exact"
    service = _str(o, meth.get("service"), f"{where}.method.service")
    method = _str(o, meth.get("method"), f"{where}.method.method")
    broken: str | None = None
    regex = None
    if mtype == "Exact":
        if service and method:
            kind, path = EXACT, f"/{service}/{method}"
        elif service:
            kind, path = PREFIX, f"/{service}"
        elif method:
            kind, path = REGEX, f"/[^/]+/{re2.escape(method)}"
            regex, broken = _compile_regex(path)
        else:
            kind, path = PREFIX, ""
    elif mtype == "RegularExpression":
        kind, path = REGEX, f"/(?:{service or '[^/]+'})/(?:{method or '[^/]+'})"
        regex, broken = _compile_regex(path)
    else:
        raise _DropRule(f"{where}.method.type {mtype!r} is not supported")
    headers, hb = _value_matches(o, _maps(o, m.get("headers"), f"{where}.headers"),
                                 f"{where}.headers", lower=True)
    return Match(kind, path, regex, None, headers, (), broken or hb), len(service or ""), len(
        method or "")


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _compile_rule(
    o: _Obj, i: int, rule: Mapping[str, Any], inv: _Inventory
) -> tuple[Rule, list[tuple[MatchKey, Match]]]:
    where = f"spec.rules[{i}]"
    grpc = o.kind == "GRPCRoute"
    allowed = GRPC_FILTER_TYPES if grpc else FILTER_TYPES
    filters = _filters(o, _maps(o, rule.get("filters"), f"{where}.filters"), f"{where}.filters",
                       inv, allowed)
    backends: list[Backend] = []
    for j, ref in enumerate(_maps(o, rule.get("backendRefs"), f"{where}.backendRefs")):
        bf = _filters(o, _maps(o, ref.get("filters"), f"{where}.backendRefs[{j}].filters"),
                      f"{where}.backendRefs[{j}].filters", inv, allowed)
        backends.append(_backend(o, ref, f"{where}.backendRefs[{j}]", inv, bf))
    if any(f.type == "RequestRedirect" for f in filters) and backends:
        raise _DropRule(f"{where}: RequestRedirect with backendRefs (IncompatibleFilters)")
    created, route = o.created, o.ref
    entries: list[tuple[MatchKey, Match]] = []
    raw_matches = _maps(o, rule.get("matches"), f"{where}.matches") or [{}]
    prefixes: list[str] = []
    for j, m in enumerate(raw_matches):
        if grpc:
            gm, slen, mlen = _grpc_match(o, m, f"{where}.matches[{j}]")
            entries.append((grpc_key(slen, mlen, len(gm.headers), created, route, i, j), gm))
        else:
            hm, length = _http_match(o, m, f"{where}.matches[{j}]")
            if hm.path_kind == PREFIX:
                prefixes.append(hm.path)
            entries.append((http_key(hm.path_kind, length, hm.method is not None,
                                     len(hm.headers), len(hm.query), created, route, i, j), hm))
    prefix = prefixes[0] if len(prefixes) == 1 and len(raw_matches) == 1 else None
    uses_prefix = [
        f for f in filters + tuple(x for b in backends for x in b.filters)
        if (f.redirect and f.redirect.path and f.redirect.path.type == "ReplacePrefixMatch")
        or (f.rewrite and f.rewrite.path and f.rewrite.path.type == "ReplacePrefixMatch")
    ]
    if uses_prefix and prefix is None:
        raise _DropRule(f"{where}: ReplacePrefixMatch needs exactly one PathPrefix match")
    shares: dict[str, float] = {}
    total = sum(b.weight for b in backends)
    for b in backends:
        shares[b.key] = shares.get(b.key, 0.0) + (100.0 * b.weight / total if total else 0.0)
    chosen = None
    if total:
        chosen = max(backends, key=lambda b: b.weight)  # first of the largest
    name = _str(o, rule.get("name"), f"{where}.name")
    timeouts = _map(o, rule.get("timeouts"), f"{where}.timeouts")
    retry = _map(o, rule.get("retry"), f"{where}.retry")
    sp = _map(o, rule.get("sessionPersistence"), f"{where}.sessionPersistence")
    rnotes = tuple(sorted({m.broken for _, m in entries if m.broken}))
    simple = (not filters and chosen is not None and chosen.problem is None
              and not chosen.filters and len(shares) == 1)
    return Rule(
        kind=o.kind, route=route, index=i, name=name, filters=filters,
        backends=tuple(backends), chosen=chosen, weights=shares,
        timeouts=_plain(timeouts) or None, retry=_plain(retry) or None,
        session_persistence=_plain(sp) or None, notes=rnotes, prefix=prefix, simple=simple,
    ), entries


def _attach(
    o: _Obj, ls: _ListenerSpec, hostnames: list[str], inv: _Inventory
) -> tuple[list[str | None], list[str]] | None:
    """Effective hostnames and assumption notes, or None when the route does not attach."""
    if o.kind not in ls.kinds:
        return None
    gw_ns = ls.gateway.namespace
    notes: list[str] = []
    if ls.allowed_from == "Same":
        if o.namespace != gw_ns:
            return None
    elif ls.allowed_from == "Selector":
        labels, note = inv.namespace_labels(o.namespace)
        if labels is None:
            notes.append(note or "")
        elif not _label_selector_matches(ls.selector, labels):
            return None
    elif ls.allowed_from != "All":
        return None
    if not hostnames:
        return [ls.hostname], notes
    effective: list[str | None] = []
    for h in hostnames:
        ok, eff = intersect(ls.hostname, h)
        if ok and eff not in effective:
            effective.append(eff)
    return (effective, notes) if effective else None


def compile_table(
    manifests: Iterable[tuple[Mapping[str, Any], str]], strict_refs: bool = False
) -> Table:
    """Compile ``(object, origin)`` pairs; ``origin`` ("file:line") names it in errors."""
    inv = _Inventory(_to_objects(manifests), strict_refs)
    notes: set[str] = set()
    listeners: dict[str, list[_ListenerSpec]] = {}
    for gw in inv.of_kind(GATEWAY_GROUP, "Gateway"):
        listeners[gw.ref] = _listener_specs(gw, inv, notes)
    routes = [o for kind in ROUTE_KINDS for o in inv.of_kind(GATEWAY_GROUP, kind)]
    interned: dict[Match, Match] = {}
    for o in routes:
        spec = _map(o, o.body.get("spec"), "spec")
        hostnames = [
            str(h).lower().rstrip(".")
            for h in _seq(o, spec.get("hostnames"), "spec.hostnames")
        ]
        compiled: list[tuple[Rule, list[tuple[MatchKey, Match]]]] = []
        for i, rule in enumerate(_maps(o, spec.get("rules"), "spec.rules")):
            try:
                compiled.append(_compile_rule(o, i, rule, inv))
            except _DropRule as exc:
                notes.add(f"{o.kind} {o.ref}: rule {i} dropped: {exc}")
        for rule_obj, _ in compiled:
            for n in rule_obj.notes:
                notes.add(f"{o.kind} {o.ref} rule {rule_obj.index}: {n}; that match never matches")
        attached: dict[int, tuple[_ListenerSpec, list[str | None], list[str]]] = {}
        parent_refs = _maps(o, spec.get("parentRefs"), "spec.parentRefs")
        for k, pref in enumerate(parent_refs):
            where = f"spec.parentRefs[{k}]"
            if (pref.get("group") or GATEWAY_GROUP) != GATEWAY_GROUP or (
                pref.get("kind") or "Gateway"
            ) != "Gateway":
                notes.add(f"{o.kind} {o.ref}: parentRef {k} is not a Gateway; ignored")
                continue
            gw_ref = f"{_str(o, pref.get('namespace'), where + '.namespace') or o.namespace}/" \
                     f"{_str(o, pref.get('name'), where + '.name') or ''}"
            section = _str(o, pref.get("sectionName"), f"{where}.sectionName")
            port = _int(o, pref.get("port"), f"{where}.port")
            found = False
            for ls in listeners.get(gw_ref, ()):
                if section is not None and ls.name != section:
                    continue
                if port is not None and ls.port != port:
                    continue
                result = _attach(o, ls, hostnames, inv)
                if result is None:
                    continue
                found = True
                attached.setdefault(id(ls), (ls, result[0], result[1]))
            if not found:
                notes.add(f"{o.kind} {o.ref}: parentRef {k} ({gw_ref}) attaches to no listener")
        for ls, effective, anotes in attached.values():
            enotes = tuple(n for n in anotes if n)
            for rule_obj, matches in compiled:
                bnotes = tuple(n for b in rule_obj.backends for n in b.notes)
                info = RuleInfo(
                    Matched(ls.gateway.ref, ls.name, rule_obj.kind, rule_obj.route,
                            rule_obj.index, rule_obj.name),
                    None if rule_obj.chosen is None else rule_obj.chosen.key,
                    rule_obj.weights, rule_obj.timeouts, rule_obj.retry,
                    rule_obj.session_persistence,
                )
                for key, match in matches:
                    match = interned.setdefault(match, match)  # share equal matches (cache)
                    entry = Entry(key, match, rule_obj, info, rule_obj.simple, enotes + bnotes)
                    for eff in effective:
                        group = ls.routes.setdefault(eff, Group)
                        (group.grpc if o.kind == "GRPCRoute" else group.http).append(entry)
    gateways: dict[str, Gateway] = {}
    for gw_ref, specs in listeners.items():
        ports: dict[int, HostIndex[Listener]] = {}
        protocols: dict[int, str] = {}
        for ls in specs:
            protocols[ls.port] = ls.protocol
            for group in ls.routes.values():
                group.seal()
            listener = Listener(gw_ref, ls.name, ls.port, ls.protocol, ls.hostname, ls.routes,
                                ls.problem, tuple(ls.notes))
            ports.setdefault(ls.port, HostIndex()).put(ls.hostname, listener)
        gateways[gw_ref] = Gateway(gw_ref, ports, protocols)
    by_port: dict[int, list[Gateway]] = {}
    for _, gw_obj in sorted(gateways.items()):
        for port in gw_obj.ports:
            by_port.setdefault(port, []).append(gw_obj)
    return Table(gateways, {p: tuple(g) for p, g in by_port.items()},
                 tuple(sorted(notes | inv.notes)))

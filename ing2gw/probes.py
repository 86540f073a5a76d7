"""Requests that tell routing configurations apart, generated from Gateway API objects.

For every route hostname and path match: the path itself, with and without a trailing
slash, one segment deeper, a sibling sharing a character prefix (``/foo`` vs ``/foobar``),
a case change; the header and query matches a rule names; each over http and, where the
host has an HTTPS listener, https. Wildcard hostnames are probed one and two labels deep;
one unknown host is always probed. The list is deterministic and free of duplicates.
Routes made from a provider's own route objects (an IngressRoute, a VirtualServer: no Ingress
to probe from), and hostnames routes gained beyond the Ingress rules' (aliases), are probed the
same way, plus each of their hosts' root (:func:`object_probes`).

Routes attached to a Service (GAMMA) are probed east-west: the Service's name and port, from
the route's own namespace and from one namespace with no routes of its own (which sees the
producer routes only).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import starmap
from typing import Any

from .making import maker

__all__ = ["PROBE_CLIENT", "UNKNOWN_HOST", "Probe", "ProbeFields", "ProbeValues", "ingress_probe_fields",
           "ingress_probes", "object_probes", "probe_values", "probe_values_order", "probes_for", "regex_sample"]

UNKNOWN_HOST = "unknown.ing2gw.invalid"
# The client address generated requests come from: a public address (TEST-NET-3) that no
# private allow-list admits, so a lost allow-list shows as a difference.
PROBE_CLIENT = "203.0.113.9"
_REGEX_META = re.compile(r"[\\^$.|?*+()\[\]{}]")


@dataclass(frozen=True, slots=True, order=True)
class Probe:
    """A request in its light form (plain, hashable, cheap to send to a worker): generated
    ones, and those read from access logs; built into a Request where it is replayed."""

    scheme: str
    host: str
    path: str  # with the query
    headers: tuple[tuple[str, str], ...] = ()
    method: str = "GET"
    client: str | None = PROBE_CLIENT
    port: int | None = None  # None: the scheme's (a mesh probe: the Service port)
    mesh: str | None = None  # east-west from a client in this namespace (host names the Service)

    def key(self) -> str:
        hdrs = "".join(f" {k}:{v}" for k, v in self.headers)
        port = f":{self.port}" if self.port is not None else ""
        mesh = f" mesh:{self.mesh}" if self.mesh is not None else ""
        return f"{self.scheme}://{self.host}{port}{self.path}{hdrs}{mesh}"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"scheme": self.scheme, "host": self.host, "path": self.path,
                               "headers": dict(self.headers)}
        if self.mesh is not None:
            out.update(port=self.port, mesh={"namespace": self.mesh})
        return out


def _probe_order(p: Probe) -> tuple[str, str, str, tuple[tuple[str, str], ...], str, int]:
    # a plain tuple: much faster than dataclass ordering
    return (p.scheme, p.host, p.path, p.headers, p.mesh or "", p.port or 0)


def probe_values_order(v: ProbeValues) -> tuple[str, str, str, tuple[tuple[str, str], ...], str, int]:
    """:func:`_probe_order` of a probe given as its :data:`ProbeValues`."""
    return (v[0], v[1], v[2], v[3], v[7] or "", v[6] or 0)


def _hosts(hostnames: Iterable[str]) -> list[str]:
    out: list[str] = []
    for h in hostnames:
        if h.startswith("*."):
            out += ["probe" + h[1:], "a.probe" + h[1:]]
        else:
            out.append(h)
    return out


# the standard library's regular-expression parser (untyped, stable since 3.11)
_SRE: Any = importlib.import_module("re._parser")
_CATEGORY_CHARS = {"CATEGORY_DIGIT": "1", "CATEGORY_WORD": "a", "CATEGORY_SPACE": " ", "CATEGORY_NOT_DIGIT": "a",
                   "CATEGORY_NOT_WORD": "-", "CATEGORY_NOT_SPACE": "a"}


def regex_sample(regex: str) -> str | None:
    """A string ``regex`` matches whole (each repeat taken once or its minimum, the first
    alternative, a character each class admits), or None when none is found that way: a
    path that reaches a regular-expression rule, where its literal start does not."""
    try:
        out = _sample(list(_SRE.parse(regex)), 0)
        return out if out is not None and re.fullmatch(regex, out) else None
    except (re.error, RecursionError, OverflowError, ValueError):
        return None


def _sample(items: list[Any], depth: int) -> str | None:
    if depth > 16:
        return None
    out: list[str] = []
    for op, av in items:
        name = str(op)
        part: str | None
        if name == "LITERAL":
            part = chr(av)
        elif name == "NOT_LITERAL":
            part = "b" if chr(av) == "a" else "a"
        elif name == "ANY":
            part = "a"
        elif name == "IN":
            part = _one_of(av)
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            low, high, sub = av
            inner = _sample(list(sub), depth + 1)
            part = None if inner is None else inner * min(max(low, 1), high)
        elif name == "SUBPATTERN":
            part = _sample(list(av[-1]), depth + 1)
        elif name == "ATOMIC_GROUP":
            part = _sample(list(av), depth + 1)
        elif name == "BRANCH":
            part = _sample(list(av[1][0]), depth + 1)
        elif name == "AT":
            part = ""
        else:  # back references, lookarounds, conditionals
            return None
        if part is None:
            return None
        out.append(part)
    return "".join(out)


def _one_of(items: list[Any]) -> str | None:
    """A character of a ``[...]`` class."""
    if any(str(op) == "NEGATE" for op, _ in items):
        banned: set[str] = set()
        for op, av in items:
            if str(op) == "LITERAL":
                banned.add(chr(av))
            elif str(op) == "RANGE":
                banned |= {chr(c) for c in range(av[0], min(av[1], 0x2FF) + 1)}
        return next((ch for ch in "axz0-_.~" if ch not in banned), None)
    for op, av in items:
        if str(op) == "LITERAL":
            return chr(av)
        if str(op) == "RANGE":
            return chr(av[0])
        if str(op) == "CATEGORY":
            return _CATEGORY_CHARS.get(str(av))
    return None


def _literal_prefix(regex: str) -> str:
    """The literal start of a path regex (enough to reach the rule), e.g. ``/api`` of ``^/api/.*``."""
    body = regex.removeprefix("(?i)").lstrip("^")
    m = _REGEX_META.search(body)
    literal = body[: m.start()] if m else body
    return literal if literal.startswith("/") else "/"


def _paths(match: Mapping[str, Any]) -> list[str]:
    path = match.get("path") or {"type": "PathPrefix", "value": "/"}
    value = str(path.get("value", "/"))
    ptype = path.get("type", "PathPrefix")
    if ptype == "RegularExpression":
        base = _literal_prefix(value)
        return sorted({base, base.rstrip("/") + "/x", base.upper()})
    stem = value.rstrip("/") or ""
    out = {value, stem + "/" if stem else "/", stem + "/deeper" if stem else "/deeper"}
    if stem:
        out |= {stem, stem + "x", stem.upper()}
    if ptype == "Exact":
        out.add(value + "/extra" if not value.endswith("/") else value + "extra")
    return sorted(out)


def _headers(match: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    out = []
    for h in match.get("headers") or []:
        if h.get("type", "Exact") == "Exact":
            out.append((str(h["name"]).lower(), str(h["value"])))
    return tuple(sorted(out))


def _query(match: Mapping[str, Any]) -> str:
    parts = [f"{q['name']}={q['value']}" for q in match.get("queryParams") or [] if q.get("type", "Exact") == "Exact"]
    return ("?" + "&".join(sorted(parts))) if parts else ""


# A probe as the tuple of its fields in Probe's order (scheme, host, path, headers, method,
# client, port, mesh): made, hashed and compared in C, where a Probe's are Python calls.
ProbeValues = tuple[str, str, str, tuple[tuple[str, str], ...], str, "str | None", "int | None", "str | None"]
assert tuple(Probe.__dataclass_fields__) == ("scheme", "host", "path", "headers", "method", "client", "port", "mesh")


def probes_for(manifests: Iterable[Mapping[str, Any]]) -> list[Probe]:
    """Boundary requests for every HTTPRoute in ``manifests`` (sorted, unique)."""
    return sorted((Probe(*values) for values in probe_values(manifests)), key=_probe_order)


def probe_values(manifests: Iterable[Mapping[str, Any]]) -> set[ProbeValues]:
    """:func:`probes_for`'s probes as :data:`ProbeValues`, in no order (``diff`` makes and
    sends those of both sides' routes, and needs no Probe)."""
    objs = list(manifests)
    https_hosts: set[str] = set()
    for m in objs:
        if m.get("kind") in ("Gateway", "ListenerSet"):
            for lst in (m.get("spec") or {}).get("listeners") or []:
                if lst.get("protocol") == "HTTPS":
                    https_hosts.add(str(lst.get("hostname") or "*"))
    probes: set[ProbeValues] = {("http", UNKNOWN_HOST, "/", (), "GET", PROBE_CLIENT, None, None)}
    other_ports = _other_ports(objs)
    for m in objs:
        if m.get("kind") != "HTTPRoute":
            continue
        spec = m.get("spec") or {}
        probes |= _mesh_probes(m, objs)
        parents = spec.get("parentRefs") or []
        if parents and not any(_is_gateway_parent(p) for p in parents):
            continue  # mesh only
        hosts = _hosts(spec.get("hostnames") or [UNKNOWN_HOST])
        ported = sorted({other_ports[key] for key in _listener_keys(m) if key in other_ports})
        for rule in spec.get("rules") or []:
            matches = rule.get("matches") or [{}]
            for match in matches:
                headers = _headers(match)
                query = _query(match)
                for host in hosts:
                    schemes: list[tuple[str, int | None]] = [("http", None)]
                    if host in https_hosts or ("*." + host.split(".", 1)[-1]) in https_hosts:
                        schemes.append(("https", None))
                    if ported:
                        schemes = list(ported)
                    for other, number in ported:  # a host no route names, on that port
                        probes.add((other, f"{UNKNOWN_HOST}:{number}", "/", (), "GET", PROBE_CLIENT, number, None))
                    for path in _paths(match):
                        for scheme, port in schemes:
                            where = f"{host}:{port}" if port is not None else host
                            probes.add((scheme, where, path + query, headers, "GET", PROBE_CLIENT, port, None))
                            if headers:
                                probes.add((scheme, where, path + query, (), "GET", PROBE_CLIENT, port, None))
    return probes


def _other_ports(objs: list[Mapping[str, Any]]) -> dict[tuple[str, str, str, str], tuple[str, int]]:
    """(kind, namespace, name, listener) -> (scheme, port) of the HTTP and HTTPS listeners of the
    Gateways and ListenerSets in ``objs`` on ports other than 80 and 443."""
    out: dict[tuple[str, str, str, str], tuple[str, int]] = {}
    for m in objs:
        if m.get("kind") not in ("Gateway", "ListenerSet"):
            continue
        meta = m.get("metadata") or {}
        for lst in (m.get("spec") or {}).get("listeners") or []:
            port, protocol = lst.get("port"), lst.get("protocol")
            if isinstance(port, int) and port not in (80, 443) and protocol in ("HTTP", "HTTPS"):
                key = (str(m["kind"]), str(meta.get("namespace") or ""), str(meta.get("name")), str(lst.get("name")))
                out[key] = (str(protocol).lower(), port)
    return out


def _listener_keys(route: Mapping[str, Any]) -> list[tuple[str, str, str, str]]:
    """(kind, namespace, name, sectionName) of the route's parentRefs that name a listener."""
    ns = str((route.get("metadata") or {}).get("namespace") or "")
    return [(str(p.get("kind") or "Gateway"), str(p.get("namespace") or ns), str(p.get("name")),
             str(p["sectionName"])) for p in (route.get("spec") or {}).get("parentRefs") or []
            if isinstance(p, Mapping) and p.get("sectionName") and _is_gateway_parent(p)]


def route_source_subjects(manifest: Mapping[str, Any]) -> list[str]:
    """The source objects (``Kind ns/name``) a route says it was made from."""
    src = ((manifest.get("metadata") or {}).get("annotations") or {}).get("ing2gw.io/source", "")
    return [s for s in str(src).split(", ") if s]


def object_probes(manifests: Iterable[Mapping[str, Any]], subjects: set[str], known_hosts: set[str]) -> list[Probe]:
    """Boundary requests for the HTTPRoutes made from the objects ``subjects`` (``Kind ns/name``,
    e.g. ``VirtualServer cafe/cafe``) and for the hostnames no Ingress rule names (``known_hosts``
    are those) that other routes gained from annotations (a server alias, a redirect from another
    host), and for the routes on listeners of ports other than 80 and 443 (a provider's port
    annotations): :func:`probes_for` over them, and the root of each host."""
    objs = list(manifests)
    other_ports = _other_ports(objs)
    routes = []
    for m in objs:
        if m.get("kind") != "HTTPRoute":
            continue
        if ((subjects and not subjects.isdisjoint(route_source_subjects(m)))
                or (other_ports and any(key in other_ports for key in _listener_keys(m)))):
            routes.append(m)
            continue
        spec = m.get("spec") or {}
        hostnames = spec.get("hostnames")
        if not hostnames or (type(hostnames) is list and known_hosts.issuperset(hostnames)):
            continue  # (every hostname an Ingress rule's: most routes)
        extra = [h for h in hostnames if h not in known_hosts]
        if extra:
            routes.append({**m, "spec": {**spec, "hostnames": extra}})
    if not routes:
        return []
    listeners = [m for m in objs if m.get("kind") in ("Gateway", "ListenerSet")]
    out = set(probes_for([*listeners, *routes]))
    out |= {Probe(p.scheme, p.host, "/", port=p.port) for p in out if p.mesh is None}
    return sorted(out, key=_probe_order)
MESH_OTHER_NAMESPACE = "ing2gw-probe"  # a client namespace with no routes of its own


def _is_gateway_parent(pref: Any) -> bool:
    return isinstance(pref, Mapping) and not (pref.get("group") == "" and pref.get("kind") == "Service")


def _service_ports(objs: list[Mapping[str, Any]], ns: str, name: str, section: Any) -> list[int]:
    """The Service's ports (only the one named ``section``, when given); none if it is not in ``objs``."""
    for o in objs:
        meta = o.get("metadata") or {}
        if o.get("kind") == "Service" and meta.get("name") == name and (meta.get("namespace") or "default") == ns:
            return sorted({int(p["port"]) for p in (o.get("spec") or {}).get("ports") or []
                           if isinstance(p, Mapping) and isinstance(p.get("port"), int)
                           and (section is None or p.get("name") == section)})
    return []


def _mesh_probes(route: Mapping[str, Any], objs: list[Mapping[str, Any]]) -> set[ProbeValues]:
    """East-west requests for an HTTPRoute's Service parents: each rule's paths, to the
    Service's port(s), from the route's namespace and from a namespace without routes."""
    out: set[ProbeValues] = set()
    spec = route.get("spec") or {}
    route_ns = (route.get("metadata") or {}).get("namespace") or "default"
    for pref in spec.get("parentRefs") or []:
        if not isinstance(pref, Mapping) or _is_gateway_parent(pref):
            continue
        ns, name = str(pref.get("namespace") or route_ns), str(pref.get("name") or "")
        ports = [pref["port"]] if isinstance(pref.get("port"), int) else \
            _service_ports(objs, ns, name, pref.get("sectionName")) or [80]
        for rule in spec.get("rules") or []:
            for match in rule.get("matches") or [{}]:
                headers, query = _headers(match), _query(match)
                for path in _paths(match):
                    for port in ports:
                        for client in dict.fromkeys((route_ns, MESH_OTHER_NAMESPACE)):
                            out.add(("http", f"{name}.{ns}", path + query, headers, "GET", None, port, client))
    return out


def _ingress_paths(path: str, path_type: str) -> set[str]:
    """Boundary paths for one Ingress path: as written, the trailing-slash twin, deeper,
    a character-prefix sibling, a case change, percent-encoded and dot-segment forms."""
    value = path or "/"
    if any(ch in value for ch in "()[]{}*+?|^$\\"):
        # a regular expression (use-regex): probe its literal start
        value = _literal_prefix(value)
    stem = value.rstrip("/")
    out = {value, (stem or "") + "/", (stem or "") + "/deeper"}
    if stem:
        last = stem.rsplit("/", 1)[-1]
        out |= {stem, stem + "x", stem.upper()}
        if last:
            encoded = stem[: len(stem) - len(last)] + "%" + format(ord(last[0]), "02X") + last[1:]
            out.add(encoded)
        out.add("/x/.." + stem)
        out.add(stem + "//deeper")
    if path_type == "Exact":
        out.add(stem + "/extra")
    return out


def ingress_probes(
    ingresses: Iterable[Any],
    extra_headers: Mapping[str, Iterable[tuple[tuple[str, str], ...]]] | None = None,
    extra_paths: Mapping[str, Iterable[str]] | None = None,
) -> list[Probe]:
    """Boundary requests for a set of :class:`~ing2gw.resources.Ingress`.

    Every host (wildcards one and two labels deep) and path gets the boundary paths, over
    http and, for hosts with TLS, https (hosts without TLS get one https request for /:
    a controller may answer it with a default certificate); ``extra_headers`` maps an Ingress ``ns/name`` to
    header sets a provider wants probed too (canary headers and cookies), ``extra_paths`` to
    paths (on each of its hosts) a provider wants probed too. One unknown host is always
    probed.
    """
    # Probe(scheme, host, path, headers) per item, without the __init__ (ing2gw.making)
    return list(starmap(_probe, ingress_probe_fields(ingresses, extra_headers, extra_paths)))


ProbeFields = tuple[str, str, str, tuple[tuple[str, str], ...]]  # a probe's scheme, host, path and headers


def ingress_probe_fields(
    ingresses: Iterable[Any],
    extra_headers: Mapping[str, Iterable[tuple[tuple[str, str], ...]]] | None = None,
    extra_paths: Mapping[str, Iterable[str]] | None = None,
) -> list[ProbeFields]:
    """:func:`ingress_probes`, each as its (scheme, host, path, headers), in the same order
    (its other fields are Probe's defaults): ``verify``'s source worker sends probes as plain
    values, and needs no Probe object in between (one per generated request)."""
    # (path, headers) pairs per (scheme, host) while collecting: a Probe is built once per
    # distinct request, in order -- (scheme, host) first, then each one's pairs, sorted apart
    # (far fewer comparisons than one sort of every request, with the same order: every
    # field these probes do not set is the same, so the order is _probe_order's). Rules of
    # the same shape (paths, path types, extra paths and header sets) share one frozen set
    # of pairs, and its sorted order: a host only one rule names takes them as they are.
    found: dict[tuple[str, str], set[Pair] | frozenset[Pair]] = {("http", UNKNOWN_HOST): {("/", ()), ("/healthz", ())}}
    shapes: dict[tuple[Any, ...], frozenset[Pair]] = {}
    ordered: dict[int, list[Pair]] = {}  # a shape's pairs (by id: ``shapes`` keeps them) -> in order
    hints = extra_headers or {}
    more_paths = extra_paths or {}
    root: Pair = ("/", ())

    def add(key: tuple[str, str], pairs: frozenset[Pair]) -> None:
        got = found.get(key)
        if got is None:
            found[key] = pairs  # (shared: copied when anything is added to it)
        elif isinstance(got, frozenset):
            if not pairs <= got:
                merged = set(got)
                merged |= pairs
                found[key] = merged
        else:
            got |= pairs

    only_root = frozenset((root,))
    for ing in ingresses:
        has_tls = bool(ing.tls)  # (a host among the TLS hosts has TLS: only has_tls tells)
        ref = ing.ref
        variants = (), *hints.get(ref, ())
        extra = tuple(more_paths.get(ref, ()))
        for rule in ing.rules:
            hosts = _hosts([rule.host]) if rule.host else [UNKNOWN_HOST]
            schemes = ("http", "https") if rule.host and has_tls else ("http",)
            if len(schemes) == 1:  # controllers may answer https:// without a certificate of the host's
                for host in hosts:
                    if host != UNKNOWN_HOST:
                        add(("https", host), only_root)
            shape = (tuple((p.path, p.path_type) for p in rule.paths), extra, variants)
            pairs = shapes.get(shape)
            if pairs is None:
                paths: set[str] = {"/", *extra}
                for p in rule.paths:
                    paths |= _ingress_paths(p.path, p.path_type)
                pairs = shapes[shape] = frozenset((path, headers) for path in paths for headers in variants)
            for host in hosts:
                for scheme in schemes:
                    add((scheme, host), pairs)
                add(("http", host.upper()), only_root)
    for pairs in (*shapes.values(), only_root):
        ordered[id(pairs)] = sorted(pairs)
    out: list[ProbeFields] = []
    append = out.append
    for key in sorted(found):
        scheme, host = key
        collected = found[key]
        for path, headers in ordered.get(id(collected)) or sorted(collected):
            append((scheme, host, path, headers))
    return out


Pair = tuple[str, tuple[tuple[str, str], ...]]  # a probe's path and headers


# Probe(...) writes each field through object.__setattr__ (it is frozen); ingress_probes
# builds hundreds of thousands: the same objects, without the __init__.
_probe = maker(Probe)

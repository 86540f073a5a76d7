"""The HTTPProxy tree as Contour builds it: root proxies, includes followed down the tree with
their conditions prepended, and the flat routes each virtual host ends up with.

Both the converter (:mod:`.httpproxy`) and the data-plane model (:mod:`.model`) start from
:func:`build`, which follows Contour's rules (facts in ``testdata/upstream/contour/``):

* a root is an HTTPProxy with ``spec.virtualhost``; its ``fqdn`` is required and may be used
  by one root only (every root claiming a shared fqdn is invalid);
* an include names an HTTPProxy (its own namespace unless ``namespace`` is given); include
  conditions allow only ``prefix`` and header/query conditions, and two includes of one proxy
  may not have identical conditions (the second is skipped);
* an include of a missing proxy, or of another root, becomes a route answering 502 on the
  include's conditions; an include cycle drops the routes of the proxy closing it;
* a route needs exactly one of ``services``, ``requestRedirectPolicy``,
  ``directResponsePolicy``; an invalid route or condition block drops every route of its
  proxy; services are looked up in the namespace of the proxy defining the route;
* a proxy no root reaches is orphaned and serves nothing;
* routes of a virtual host with equal conditions: the last one added wins.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ing2gw.kinds import APIKind, KubeObject

from .conditions import (
    HeaderCondition,
    PathCondition,
    QueryCondition,
    condition_errors,
    header_conditions,
    merge_path,
    query_conditions,
)

__all__ = ["HTTPPROXY", "TLS_DELEGATION", "EXTENSION_SERVICE", "KINDS", "ContourRoute", "Problem", "Tree",
           "VirtualHost", "build"]

HTTPPROXY = APIKind("projectcontour.io", "v1", "HTTPProxy")
TLS_DELEGATION = APIKind("projectcontour.io", "v1", "TLSCertificateDelegation", selectable=False)
EXTENSION_SERVICE = APIKind("projectcontour.io", "v1alpha1", "ExtensionService", selectable=False)
KINDS: tuple[APIKind, ...] = (EXTENSION_SERVICE, HTTPPROXY, TLS_DELEGATION)


@dataclass(frozen=True, slots=True)
class Problem:
    """Something Contour refuses (``error``) or handles in its own way (``warning``)."""

    obj: KubeObject
    field: str
    message: str
    code: str
    error: bool = True


@dataclass(frozen=True, slots=True)
class ContourRoute:
    """One route of a virtual host, conditions merged down the include chain.

    ``owner`` defines it (``spec`` is its ``spec.routes[index]``); ``status`` is set for a
    route Contour answers itself (502 for a broken include, ``spec`` then empty)."""

    owner: KubeObject
    index: int
    path: PathCondition
    headers: tuple[HeaderCondition, ...]
    query: tuple[QueryCondition, ...]
    spec: Mapping[str, Any]
    status: int | None = None
    via: tuple[str, ...] = ()  # the proxies of the include chain, root first ("ns/name")
    include_field: str = ""  # for a 502 route: the include it stands for

    @property
    def field(self) -> str:
        return self.include_field or f"spec.routes[{self.index}]"

    @property
    def key(self) -> tuple[str, ...]:
        """What makes two routes "the same route" on a virtual host."""
        return (self.path.text(), *sorted(h.text() for h in self.headers), *sorted(q.text() for q in self.query))


@dataclass(slots=True)
class VirtualHost:
    """A root proxy's virtual host: its fqdn, TLS settings and routes (in definition order)."""

    root: KubeObject
    fqdn: str
    routes: list[ContourRoute] = field(default_factory=list)
    tcpproxy: Mapping[str, Any] | None = None
    tcp_owner: KubeObject | None = None

    @property
    def virtualhost(self) -> Mapping[str, Any]:
        vh = self.root.spec.get("virtualhost")
        return vh if isinstance(vh, Mapping) else {}

    @property
    def tls(self) -> Mapping[str, Any] | None:
        tls = self.virtualhost.get("tls")
        return tls if isinstance(tls, Mapping) else None

    @property
    def passthrough(self) -> bool:
        return bool(self.tls and self.tls.get("passthrough"))

    @property
    def secret(self) -> str:
        tls = self.tls
        return str(tls.get("secretName") or "") if tls else ""

    def ordered_routes(self) -> list[ContourRoute]:
        """The routes after de-duplication: one per condition set, the last added wins."""
        by_key: dict[tuple[str, ...], ContourRoute] = {}
        for r in self.routes:
            by_key.pop(r.key, None)
            by_key[r.key] = r
        return list(by_key.values())


@dataclass(slots=True)
class Tree:
    hosts: list[VirtualHost] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    orphans: list[KubeObject] = field(default_factory=list)


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else []


class _Builder:
    def __init__(self, proxies: Iterable[KubeObject]) -> None:
        self.proxies = {(p.namespace, p.name): p for p in proxies}
        self.tree = Tree()
        self.reached: set[tuple[str, str]] = set()
        self._reported: set[tuple[str, str, str]] = set()

    def problem(self, obj: KubeObject, fld: str, message: str, code: str, error: bool = True) -> None:
        if (obj.ref, fld, code) not in self._reported:
            self._reported.add((obj.ref, fld, code))
            self.tree.problems.append(Problem(obj, fld, message, code, error))

    def run(self) -> Tree:
        roots = [p for _, p in sorted(self.proxies.items()) if isinstance(p.spec.get("virtualhost"), Mapping)]
        by_fqdn: dict[str, list[KubeObject]] = {}
        for root in roots:
            fqdn = str(root.spec["virtualhost"].get("fqdn") or "").lower()
            if not fqdn:
                self.problem(root, "spec.virtualhost.fqdn", "a root HTTPProxy needs spec.virtualhost.fqdn",
                             "FQDN-MISSING")
                continue
            by_fqdn.setdefault(fqdn, []).append(root)
        for fqdn, owners in sorted(by_fqdn.items()):
            if len(owners) > 1:
                names = ", ".join(o.ref for o in owners)
                for o in owners:
                    self.problem(o, "spec.virtualhost.fqdn", f"fqdn {fqdn} is used by several HTTPProxies ({names}): "
                                 "Contour serves none of them", "FQDN-CONFLICT")
                    self.reached.add((o.namespace, o.name))
                continue
            self._root(owners[0], fqdn)
        for key, p in sorted(self.proxies.items()):
            if key not in self.reached:
                self.tree.orphans.append(p)
        return self.tree

    def _root(self, root: KubeObject, fqdn: str) -> None:
        self.reached.add((root.namespace, root.name))
        vh = VirtualHost(root, fqdn)
        tls = vh.tls
        if tls is not None:
            if tls.get("passthrough") and tls.get("secretName"):
                self.problem(root, "spec.virtualhost.tls", "both passthrough and secretName are set", "TLS-INVALID")
                return
            if not tls.get("passthrough") and not tls.get("secretName"):
                self.problem(root, "spec.virtualhost.tls", "neither passthrough nor secretName is set", "TLS-INVALID")
                return
            if tls.get("passthrough") and tls.get("clientValidation"):
                self.problem(root, "spec.virtualhost.tls", "clientValidation needs TLS terminated at Contour, not "
                             "passthrough", "TLS-INVALID")
                return
        tcp = root.spec.get("tcpproxy")
        if isinstance(tcp, Mapping):
            if tls is None:
                self.problem(root, "spec.tcpproxy", "tcpproxy needs spec.virtualhost.tls (passthrough or secretName)",
                             "TCPPROXY-NO-TLS")
                return
            vh.tcpproxy, vh.tcp_owner = self._tcp(root, tcp, [root])
        vh.routes = self._routes(root, [], [], ())
        self.tree.hosts.append(vh)

    def _tcp(self, obj: KubeObject, tcp: Mapping[str, Any], seen: list[KubeObject]) -> tuple[Mapping[str, Any] | None,
                                                                                            KubeObject | None]:
        inc = tcp.get("include") or tcp.get("includes")
        if isinstance(inc, Mapping):
            key = (str(inc.get("namespace") or obj.namespace), str(inc.get("name") or ""))
            child = self.proxies.get(key)
            if child is None:
                self.problem(obj, "spec.tcpproxy.include", f"tcpproxy include {key[0]}/{key[1]} not found",
                             "INCLUDE-NOT-FOUND")
                return None, None
            if any(s is child for s in seen):
                self.problem(obj, "spec.tcpproxy.include", "tcpproxy include creates a cycle", "INCLUDE-CYCLE")
                return None, None
            self.reached.add(key)
            ctcp = child.spec.get("tcpproxy")
            if not isinstance(ctcp, Mapping):
                self.problem(child, "spec.tcpproxy", "included by a tcpproxy but has no tcpproxy", "TCPPROXY-INVALID")
                return None, None
            return self._tcp(child, ctcp, [*seen, child])
        if not _list(tcp.get("services")):
            self.problem(obj, "spec.tcpproxy", "tcpproxy names neither services nor an include", "TCPPROXY-INVALID")
            return None, None
        return tcp, obj

    def _routes(self, proxy: KubeObject, conditions: list[Mapping[str, Any]], visited: list[KubeObject],
                via: tuple[str, ...]) -> list[ContourRoute]:
        if any(v is proxy for v in visited):
            chain = " -> ".join([*(v.ref for v in visited), proxy.ref])
            self.problem(visited[-1], "spec.includes", f"include creates an include cycle: {chain}", "INCLUDE-CYCLE")
            return []
        visited = [*visited, proxy]
        via = (*via, proxy.ref)
        spec = proxy.spec
        routes: list[ContourRoute] = []
        seen: list[list[Any]] = []
        for n, inc in enumerate(_list(spec.get("includes"))):
            fld = f"spec.includes[{n}]"
            if not isinstance(inc, Mapping) or not inc.get("name"):
                self.problem(proxy, fld, "an include needs a name", "INCLUDE-INVALID")
                continue
            conds = _list(inc.get("conditions"))
            errors = condition_errors(conds, include=True)
            if errors:
                self.problem(proxy, fld + ".conditions", "; ".join(errors), "CONDITIONS-INVALID")
                continue
            if conds in seen:
                self.problem(proxy, fld + ".conditions", "duplicate conditions on an include: Contour skips it",
                             "INCLUDE-DUPLICATE")
                continue
            seen.append(conds)
            key = (str(inc.get("namespace") or proxy.namespace), str(inc["name"]))
            child = self.proxies.get(key)
            merged = [*conditions, *conds]
            if child is None or isinstance(child.spec.get("virtualhost"), Mapping):
                why = "not found" if child is None else "is a root HTTPProxy (a root cannot include another root)"
                self.problem(proxy, fld, f"include {key[0]}/{key[1]} {why}: Contour answers 502 on its conditions",
                             "INCLUDE-NOT-FOUND" if child is None else "INCLUDE-ROOT")
                if conds:
                    routes.append(ContourRoute(proxy, -1, merge_path(merged), header_conditions(merged),
                                               query_conditions(merged), {}, 502, via, fld))
                continue
            self.reached.add(key)
            routes += self._routes(child, merged, visited, via)
        own: list[ContourRoute] = []
        for n, route in enumerate(_list(spec.get("routes"))):
            fld = f"spec.routes[{n}]"
            if not isinstance(route, Mapping):
                self.problem(proxy, fld, "a route must be an object", "ROUTE-INVALID")
                return routes
            actions = [k for k in ("services", "requestRedirectPolicy", "directResponsePolicy") if route.get(k)]
            if len(actions) != 1:
                self.problem(proxy, fld, "a route needs exactly one of services, requestRedirectPolicy, "
                             "directResponsePolicy: Contour drops every route of this HTTPProxy", "ROUTE-INVALID")
                return routes
            conds = _list(route.get("conditions"))
            errors = condition_errors(conds, include=False)
            if errors:
                self.problem(proxy, fld + ".conditions", "; ".join(errors) + ": Contour drops every route of this "
                             "HTTPProxy", "CONDITIONS-INVALID")
                return routes
            merged = [*conditions, *conds]
            own.append(ContourRoute(proxy, n, merge_path(merged), header_conditions(merged), query_conditions(merged),
                                    route, None, via))
        return routes + own


def build(proxies: Sequence[KubeObject]) -> Tree:
    """The virtual hosts Contour builds from ``proxies`` (HTTPProxy objects)."""
    return _Builder(p for p in proxies if p.kind.kind == "HTTPProxy").run()

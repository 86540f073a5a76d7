"""Route scoping for policies that can only target a whole Gateway (Istio AuthorizationPolicy,
GKE GCPAuthzPolicy): a route rule's requests as Istio-style ``rules[].to[].operation``
(hosts, paths, notPaths, methods), and back -- which emitted route rules an operation list
covers, as policy targets (for ``read_policies``).

Gateway API sends a request to the most specific match, so a rule for ``/`` does not see the
requests of a sibling rule for ``/public`` on the same host: those paths are excluded
(``notPaths``) unless the sibling carries the same policy or has header/query conditions (it
then does not take every request of its path, and the policy stays on, which only refuses
more). Hosts are written with and without a port (``host`` and ``host:*``), as Istio
compares the Host header as sent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ...intents import Intent
from ...ir import RouteMatch, Rule
from ...policy import PolicyTarget
from ..gateway import Placed
from ..objects import GROUP
from .base import Site
from .shared import per_run

__all__ = ["Carries", "covered_rules", "gateway_routes", "operations", "route_targets", "same_intent"]

Carries = Callable[[Rule], bool]


def same_intent(kind: type[Intent], intent: Intent) -> Carries:
    """Does a rule carry an intent of ``kind`` equal to ``intent`` (same values, any source)?"""
    key = repr(sorted(intent.params().items()))
    return lambda rule: any(isinstance(i, kind) and repr(sorted(i.params().items())) == key for i in rule.intents)


def _hosts(hostnames: Sequence[str]) -> list[str]:
    out: list[str] = []
    for h in hostnames:
        out += [h, f"{h}:*"]
    return out


def _paths(m: RouteMatch | None) -> list[str] | None:
    """Istio paths covering a match's path; ``[]`` = every path; None = not expressible."""
    if m is None or m.path is None:
        return []
    if m.path.type == "Exact":
        return [m.path.value]
    if m.path.type == "PathPrefix":
        p = m.path.value.rstrip("/")
        return [p, f"{p}/*"] if p else []
    return None


def _under(child: RouteMatch, parent: list[str]) -> list[str]:
    """The Istio paths of ``child`` when it is more specific than the prefix ``parent`` covers."""
    if child.path is None or child.path.type == "RegularExpression" or child.headers or child.query or child.method:
        return []
    own = _paths(child) or []
    prefix = next((p[:-2] for p in parent if p.endswith("/*")), None) if parent else ""
    if prefix is None:
        return []
    inside = [p for p in own if p.startswith(prefix + "/") and p not in parent]
    return inside if (child.path.type == "Exact" and inside) or len(inside) == len(own) else []


def _by_hosts(placed: Sequence[Placed]) -> dict[frozenset[str], list[tuple[Rule, Mapping[str, Any]]]]:
    out: dict[frozenset[str], list[tuple[Rule, Mapping[str, Any]]]] = {}
    for route, rule, m, _ in placed:
        out.setdefault(frozenset(route.hostnames), []).append((rule, m))
    return out


def _parents(m: Mapping[str, Any]) -> set[tuple[str, str, str]]:
    """The listeners a route attaches to: only routes sharing one compete for a request."""
    ns = m["metadata"]["namespace"]
    return {(r.get("namespace", ns), r["name"], r.get("sectionName", "")) for r in m["spec"].get("parentRefs") or ()}


def operations(site: Site, carries: Carries) -> tuple[list[dict[str, Any]], list[str]]:
    """The ``to`` entries of the site's rule (one per match), and what they cover beyond it
    (in words, for the note). ``carries`` tells whether a sibling rule carries the same policy."""
    hosts = list(site.route.hostnames)
    wider: list[str] = []
    parents = _parents(site.manifest)
    siblings = [r for r, m in per_run(site.placed, "rules-by-hosts", _by_hosts).get(frozenset(hosts), ())
                if r is not site.rule and not carries(r) and parents & _parents(m)]
    out: list[dict[str, Any]] = []
    for m in site.rule.matches or (None,):
        op: dict[str, Any] = {}
        if hosts:
            op["hosts"] = _hosts(hosts)
        paths = _paths(m)
        if paths is None:
            assert m is not None and m.path is not None
            wider.append(f"the regular expression path {m.path.value} cannot be matched, so every path of the "
                         "host is covered")
            paths = []
        if paths:
            op["paths"] = paths
        excluded: list[str] = []
        for sibling in siblings:
            for sm in sibling.matches:
                excluded += [p for p in _under(sm, paths) if p not in excluded]
        if excluded:
            op["notPaths"] = excluded
        if m is not None and m.method:
            op["methods"] = [m.method]
        if m is not None and (m.headers or m.query):
            wider.append("header and query conditions of the rule cannot be matched, so requests without them "
                         "are covered too")
        out.append({"operation": op} if op else {})
    return [o for o in out if o] if all(out) else [], sorted(set(wider))


# -- reading back --------------------------------------------------------------------------------------------


def _match(patterns: Sequence[str], value: str) -> bool:
    """Istio's string match: exact, ``prefix*``, ``*suffix`` or ``*``."""
    for p in patterns:
        if p == "*" or p == value:
            return True
        if p.endswith("*") and value.startswith(p[:-1]):
            return True
        if p.startswith("*") and value.endswith(p[1:]):
            return True
    return False


def _request_of(match: Mapping[str, Any]) -> tuple[str, str | None]:
    """A representative request path and method of an emitted HTTPRoute match."""
    path = match.get("path") or {}
    value = str(path.get("value", "/"))
    if path.get("type", "PathPrefix") == "PathPrefix" and value != "/":
        value = value.rstrip("/")
    return value, match.get("method")


def _covers(op: Mapping[str, Any], host: str | None, path: str, method: str | None) -> bool:
    if op.get("hosts") and (host is None or not _match(op["hosts"], host)):
        return False
    if op.get("notHosts") and host is not None and _match(op["notHosts"], host):
        return False
    if op.get("paths") and not _match(op["paths"], path):
        return False
    if op.get("notPaths") and _match(op["notPaths"], path):
        return False
    return not (op.get("methods") and method not in op["methods"])


def covered_rules(to: Sequence[Mapping[str, Any]], route: Mapping[str, Any]) -> list[int]:
    """Indexes of the emitted ``route``'s rules whose every match an operation list covers
    (an empty list covers everything)."""
    hostnames: list[str | None] = list(route["spec"].get("hostnames") or ()) or [None]
    out: list[int] = []
    for i, rule in enumerate(route["spec"].get("rules") or ()):
        matches: Sequence[Mapping[str, Any]] = rule.get("matches") or ({},)
        requests = [_request_of(m) for m in matches]
        if all(not to or any(_covers(t.get("operation") or {}, h, p, meth) for t in to)
               for h in hostnames for p, meth in requests):
            out.append(i)
    return out


def route_targets(route: Mapping[str, Any], to: Sequence[Mapping[str, Any]]) -> list[PolicyTarget]:
    """The policy targets an operation list covers in ``route``: the route, or its named rules."""
    rules = route["spec"].get("rules") or ()
    covered = covered_rules(to, route)
    meta = route["metadata"]
    if covered and len(covered) == len(rules):
        return [PolicyTarget(route["kind"], meta["namespace"], meta["name"])]
    return [PolicyTarget(route["kind"], meta["namespace"], meta["name"], rules[i]["name"])
            for i in covered if rules[i].get("name")]


def gateway_routes(manifests: Sequence[Mapping[str, Any]], namespace: str,
                   gateways: set[str]) -> list[Mapping[str, Any]]:
    """The emitted HTTPRoutes/GRPCRoutes attached to one of ``gateways`` in ``namespace``."""
    out = []
    for m in manifests:
        if m.get("kind") not in ("HTTPRoute", "GRPCRoute"):
            continue
        ns = m["metadata"].get("namespace", "")
        if any(r.get("kind", "Gateway") == "Gateway" and r.get("group", GROUP) == GROUP
               and r.get("namespace", ns) == namespace and r.get("name") in gateways
               for r in m["spec"].get("parentRefs") or ()):
            out.append(m)
    return out

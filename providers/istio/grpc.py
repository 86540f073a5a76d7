"""gRPC in Istio: which ports carry it, and an HTTP route of a VirtualService as a GRPCRoute.

Istio treats traffic as gRPC on a Gateway server of protocol ``GRPC`` and, for a Service port,
when ``appProtocol`` is ``grpc`` or, without one, the port name is ``grpc`` or starts with
``grpc-`` (``grpc-web`` names gRPC-Web, which is plain HTTP for routing). A VirtualService
served there becomes a GRPCRoute (:func:`as_grpc`):

* ``uri`` matches name the request path ``/<service>/<method>``: an exact path of that form ->
  a method match (type Exact); a prefix ``/`` -> every method; a prefix ending in a whole
  service (``/pkg.Svc/``) -> that service; any other prefix (Istio's prefix is character-wise)
  -> a RegularExpression method match that keeps it exactly (``/pkg.Sv`` -> service
  ``pkg\\.Sv.*``); a regex ``/S/M`` whose halves have no ``/`` -> RegularExpression service
  ``S``, method ``M``. A path gRPC never sends (three segments, an exact ``/pkg.Svc``) matches
  no gRPC request: the match is left out with a note; so is any other regex.
* header matches carry over; a ``POST`` method condition holds for every gRPC call (dropped);
  query parameters and other methods have no GRPCRoute form (the match is left out).
* rewrites, redirects, CORS and timeouts have no GRPCRoute form (a note each, the rule keeps
  its backends); header modifiers, mirrors and the retry intent carry over.
* a GRPCRoute prefers longer service and method matches where Istio takes the first route
  that matches: a later rule that would take calls an earlier one answers is noted.
* a GRPCRoute matches gRPC requests only: plain HTTP requests Istio still routes there get a
  404 from the Gateway (:data:`GRPC_ONLY`, a note per route).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from ing2gw.ir import PathMatch, Route, RouteMatch, Rule
from ing2gw.resources import ResourceSet, ServicePort

from .objects import ServiceHost

__all__ = ["GRPC_ONLY", "as_grpc", "grpc_ports", "is_grpc_port"]

GRPC_ONLY = ("a GRPCRoute matches gRPC requests (content-type application/grpc) only; Istio also routes plain "
             "HTTP requests on this port, which the Gateway answers 404")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_METHOD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

Problem = Callable[[str, str, str, str], None]  # (code, field, message, regex of the paths concerned or "")


def is_grpc_port(port: ServicePort) -> bool:
    """Does Istio speak gRPC on this Service port (appProtocol first, then the name prefix)?"""
    if port.app_protocol:
        return port.app_protocol.lower() == "grpc"
    name = port.name.lower()
    return name == "grpc" or (name.startswith("grpc-") and not name.startswith("grpc-web"))


def grpc_ports(rs: ResourceSet, svc: ServiceHost) -> tuple[frozenset[int], frozenset[int]] | None:
    """(gRPC ports, other ports) of a Service in the input; None when it is not there."""
    found = rs.services.get((svc.namespace, svc.name))
    if found is None:
        return None
    grpc = frozenset(p.port for p in found.ports if is_grpc_port(p))
    return grpc, frozenset(p.port for p in found.ports) - grpc


def _method_match(path: PathMatch | None) -> tuple[PathMatch | None, str]:
    """An HTTP path match as the IR's GRPCRoute method match (``service/method`` in a path
    value), or why there is none ("" when it is every method)."""
    if path is None:
        return None, ""
    value = path.value
    if path.type == "PathPrefix":
        rest = value.lstrip("/")
        if not rest:
            return None, ""
        service, slash, method = rest.partition("/")
        if not slash and _NAME.fullmatch(service):  # /pkg.Sv: any service starting so
            return PathMatch("RegularExpression", re.escape(service) + ".*"), ""
        if slash and "/" not in method and _NAME.fullmatch(service) and (not method or _METHOD.fullmatch(method)):
            if not method:
                return PathMatch("Exact", service), ""
            return PathMatch("RegularExpression", f"{re.escape(service)}/{re.escape(method)}.*"), ""
        return None, f"prefix {value} is no /<service>/<method> beginning gRPC requests can have"
    if path.type == "Exact":
        service, slash, method = value.lstrip("/").partition("/")
        if value.startswith("/") and slash and _NAME.fullmatch(service) and _METHOD.fullmatch(method):
            return PathMatch("Exact", f"{service}/{method}"), ""
        return None, f"path {value} is no /<service>/<method>: no gRPC request has it"
    if value.startswith("/") and value.count("/") == 2 and not value.startswith("/(?i)"):
        service, _, method = value[1:].partition("/")
        if service and method:
            return PathMatch("RegularExpression", f"{service}/{method}"), ""
    return None, f"regex {value} does not split into a service and a method pattern"


def _match(m: RouteMatch) -> tuple[RouteMatch | None, str]:
    method, why = _method_match(m.path)
    if why:
        return None, why
    if m.query:
        return None, "query parameters have no GRPCRoute match"
    if m.method not in (None, "POST"):
        return None, f"method {m.method}: gRPC calls are POST"
    return RouteMatch(path=method, headers=m.headers), ""


def _key(m: RouteMatch) -> tuple[int, int, int]:
    """A GRPCRoute match's precedence (smaller wins): characters of the service, then of the
    method, then header matches -- the reference router's reading of the spec."""
    service, _, method = m.path.value.partition("/") if m.path is not None else ("", "", "")
    return -len(service), -len(method), -len(m.headers)


def _overlap(a: RouteMatch, b: RouteMatch) -> bool:
    """Can one gRPC call meet both matches? (True when that cannot be ruled out.)"""
    for ha in a.headers:
        for hb in b.headers:
            if ha.name.lower() == hb.name.lower() and ha.type == hb.type == "Exact" and ha.value != hb.value:
                return False
    if a.path is None or b.path is None:
        return True
    for x, y in ((a.path, b.path), (b.path, a.path)):
        if x.type == "Exact" and "/" in x.value:  # one call: does the other take it?
            if y.type == "Exact":
                return x.value == y.value or ("/" not in y.value and x.value.startswith(y.value + "/"))
            service, _, method = y.value.partition("/")
            return re.fullmatch(f"(?:{service})/(?:{method or '[^/]+'})", x.value) is not None
    if a.path.type == b.path.type == "Exact":
        return a.path.value == b.path.value
    return True


def _path_rx(m: RouteMatch) -> str:
    """The request paths of the calls a GRPCRoute match takes, as a regular expression."""
    if m.path is None:
        return "^/"
    service, slash, method = m.path.value.partition("/")
    if m.path.type == "Exact":
        return f"^/{re.escape(m.path.value)}$" if slash else f"^/{re.escape(service)}/"
    return f"^/(?:{service})/(?:{method or '[^/]+'})$"


def _order_problems(rules: list[Rule], problem: Problem) -> None:
    """Rules are in Istio's first-match order; a GRPCRoute prefers the longer service and method
    instead: name each later rule that takes calls an earlier one answers in Istio."""
    for j, late in enumerate(rules):
        for early in rules[:j]:
            if early.backends == late.backends and early.filters == late.filters:
                continue
            taken = [a for a in early.matches for b in late.matches if _key(b) < _key(a) and _overlap(a, b)]
            if taken:
                where = early.provenance[0].field if early.provenance else "spec.http"
                problem("GRPC-ORDER", late.provenance[0].field if late.provenance else "spec.http",
                        f"Istio answers calls both match with {where}, which comes first; the GRPCRoute prefers "
                        "this rule's longer service or method match for them", "|".join(_path_rx(a) for a in taken))
                break


def as_grpc(route: Route, problem: Problem) -> Route | None:
    """The GRPCRoute of an HTTPRoute built from a VirtualService (None: no rule is left);
    ``problem`` hears what could not be kept."""
    rules: list[Rule] = []
    for rule in route.rules:
        where = rule.provenance[0].field if rule.provenance else "spec.http"
        matches: list[RouteMatch] = []
        for m in rule.matches or (RouteMatch(),):
            g, why = _match(m)
            if g is None:
                problem("GRPC-MATCH", where, why, "")
            elif g not in matches:
                matches.append(g)
        if not matches:
            continue
        kept = []
        calls = "|".join(_path_rx(m) for m in matches)
        for f in rule.filters:
            if f.type in ("URLRewrite", "RequestRedirect", "CORS"):
                problem("GRPC-FILTER", where, f"{f.type} has no GRPCRoute form", calls)
            else:
                kept.append(f)
        if any(f.type == "RequestRedirect" for f in rule.filters) and not rule.backends:
            continue
        if rule.timeouts is not None:
            problem("GRPC-TIMEOUT", where, "a GRPCRoute has no timeouts field", calls)
        rules.append(replace(rule, matches=tuple(matches), filters=tuple(kept), timeouts=None,
                             session_persistence=None))
    if not rules:
        return None
    _order_problems(rules, problem)
    return replace(route, kind="GRPCRoute", rules=tuple(rules))

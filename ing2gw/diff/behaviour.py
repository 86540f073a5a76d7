"""Behaviour changes between the sides: requests the reference router now serves differently.

Boundary requests generated from both sides (plus the caller's extra requests) go through
the reference router over BASE and over HEAD and are compared as ``verify`` compares (one
summariser, :func:`ing2gw.verify.summarise`); only hosts whose routing can differ are
probed when that can be shown.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from ..http import Request
from ..probes import ProbeValues, probe_values, probe_values_order
from ..router.paths import may_change
from ..router.rules import REDIRECT_CODES
from ..verify import Summary, compare_summaries, probe_request, shown_request, summary_dict, summary_of
from .model import BehaviourChange, Side
from .sides import identity

if TYPE_CHECKING:
    from ..router import Router

__all__ = ["ProbeKey", "Replay", "replay"]

_ROUTES = ("HTTPRoute", "GRPCRoute")


def _affected_hosts(base: Side, head: Side) -> set[str] | None:
    """Hostnames whose routing can differ between the sides; ``None`` means any host.

    Routing for a host depends on the routes whose hostnames match it, the Gateways and
    the references (grants, Services). When only routes with exact hostnames changed, only
    those hosts need probing; anything else (Gateways, grants, wildcard or host-less
    routes) can move every host.
    """
    old = {identity(m): m for m in base.manifests}
    new = {identity(m): m for m in head.manifests}
    hosts: set[str] = set()
    for key in set(old) | set(new):
        a, b = old.get(key), new.get(key)
        if a == b:
            continue
        for m in (a, b):
            if m is None:
                continue
            if m.get("kind") not in ("HTTPRoute", "GRPCRoute"):
                return None
            names = (m.get("spec") or {}).get("hostnames") or []
            if not names or any(str(h).startswith("*") for h in names):
                return None
            hosts.update(str(h) for h in names)
    return hosts


# Probe requests in their light form (every field of a probe, :data:`~ing2gw.probes.ProbeValues`:
# a listener's port, a mesh request's namespace), sorted; each process builds its own Requests
# from them.
ProbeKey = ProbeValues
# A share of the probes, each probe as the tuple of its fields (cheap to send to a worker;
# equal tuples are equal probes).
ProbeShare = set[ProbeValues]

# Fewer routes are compiled and routed faster than a worker starts and sends its summaries back.
_WORTH_A_WORKER = 1_500
# BASE's outcomes go to the other process in this many runs, each compared there as it comes.
_PARTS = 8


@dataclass(frozen=True, slots=True)
class Replay:
    """What to replay through both sides: the objects of each side that can take part in
    routing the probed hosts (``old``, ``new``), the routes probes come from, and the caller's
    extra requests. Each side's router and outcomes may be made apart (another process); so
    may each side's share of the probes (:meth:`base_probes`, :meth:`head_probes`), which
    together are the probes (:meth:`probes`)."""

    old: list[dict[str, Any]]
    new: list[dict[str, Any]]
    probed: tuple[list[dict[str, Any]], list[dict[str, Any]]]  # each side's objects probes come from
    extra: list[Request]
    routes_only: bool = False  # only routes with exact hostnames differ between the sides (_affected_hosts)
    _requests: dict[int, list[Request]] = field(default_factory=dict, compare=False)

    @property
    def worth_a_worker(self) -> bool:
        return sum(1 for side in (self.old, self.new) for m in side if m.get("kind") in _ROUTES) >= _WORTH_A_WORKER

    def base_probes(self) -> ProbeShare:
        """BASE's share of the probes: those of BASE's routes (:func:`_base_share`)."""
        return _base_share(self.probed[0])

    def head_probes(self) -> ProbeShare:
        """HEAD's share: those of its routes BASE's share does not hold (:func:`_head_share`)."""
        return _head_share(*self.probed)

    @staticmethod
    def probes(base: ProbeShare, head: ProbeShare) -> list[ProbeKey]:
        """The probes of both shares, sorted."""
        return sorted(base | head, key=probe_values_order)

    def routed(self, probes: list[ProbeKey]) -> list[ProbeKey]:
        """The probes whose outcome may differ between the sides: all of them but those of a
        host whose routes change only in rules that no path of the probe's can reach
        (:func:`_reach`); the others are served alike on both sides, and not routed."""
        reach = _reach(self.old, self.new) if self.routes_only else None
        if not reach:
            return probes
        return [p for p in probes if p[1] not in reach or _may_reach(p[2], reach[p[1]])]

    def requests(self, probes: list[ProbeKey]) -> list[Request]:
        """The requests of ``probes`` then the extra ones (built once per process)."""
        out = self._requests.get(id(probes))
        if out is None:
            out = self._requests[id(probes)] = [probe_request(*probe) for probe in probes] + self.extra
        return out

    def router(self, side: str) -> Router:
        """The reference router over BASE's (``"base"``) or HEAD's objects."""
        from ..router import Router

        return Router.from_manifests(self.old if side == "base" else self.new)

    def parts(self, probes: list[ProbeKey]) -> list[range]:
        """The requests in :data:`_PARTS` runs (routed and compared a run at a time)."""
        count = len(self.requests(probes))
        size = max(1, -(-count // _PARTS))
        return [range(start, min(start + size, count)) for start in range(0, count, size)]

    def outcomes(self, router: Router, probes: list[ProbeKey], part: range | None = None) -> list[Summary]:
        """Each request's outcome summary through ``router`` (of the requests of ``part``, or
        all), in its tuple form (:func:`ing2gw.verify.summary_of`: the dicts are made for the
        changes only)."""
        requests = self.requests(probes)
        if part is not None:
            requests = requests[part.start:part.stop]
        route = router.route
        return [summary_of(route(req)) for req in requests]

    def changes(self, probes: list[ProbeKey], before: list[Summary], after: list[Summary],
                part: range | None = None) -> list[BehaviourChange]:
        """The requests (of ``part``, or all) whose outcome differs, in no order (:meth:`in_report_order`)."""
        requests = self.requests(probes)
        if part is not None:
            requests = requests[part.start:part.stop]
        out: list[BehaviourChange] = []
        for req, a, b in zip(requests, before, after, strict=True):
            what = compare_summaries(a, b)
            if what:
                out.append(BehaviourChange(shown_request(req), summary_dict(a), summary_dict(b), what))
        return out

    @staticmethod
    def in_report_order(changes: list[BehaviourChange]) -> list[BehaviourChange]:
        return sorted(changes, key=lambda c: (c.request["url"], json.dumps(c.request["headers"], sort_keys=True),
                                              c.request["method"]))


def _probes(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> ProbeShare:
    """The probes of both sides (:func:`ing2gw.probes.probe_values`), each made once: BASE's
    share and HEAD's."""
    return _base_share(old) | _head_share(old, new)


def _base_share(old: list[dict[str, Any]]) -> ProbeShare:
    return probe_values(old)


def _head_share(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> ProbeShare:
    """The probes of HEAD's side that BASE's share may not hold.

    A route's probes come from each of its rules' matches alone, given the route's namespace,
    hostnames and parentRefs and the side's objects other than HTTPRoutes (listeners,
    Services); nothing else of a rule (filters, backends) makes a probe. When those objects
    are the same on both sides, HEAD's probes not already BASE's can only come from HEAD's
    rules whose matches no rule of BASE's route of the same name has, given the same
    namespace and spec but the rules: HEAD's routes go in with those rules only. "The same"
    is :func:`_same` (tells ``1`` from ``True`` and ``1.0``, which probe differently)."""
    context = [m for m in old if m.get("kind") != "HTTPRoute"]
    if not _same(context, [m for m in new if m.get("kind") != "HTTPRoute"]):
        return probe_values(new)
    base_routes = {identity(m): m for m in old if m.get("kind") == "HTTPRoute"}
    routes: list[dict[str, Any]] = []
    for m in new:
        if m.get("kind") != "HTTPRoute":
            continue
        b = base_routes.get(identity(m))
        known = _matches_of(m, b) if b is not None else None
        if known is None:
            routes.append(m)
            continue
        spec = m["spec"]
        fresh = [r for r in spec["rules"] if type(r) is not dict or not any(
            matches == r.get("matches") for matches in known.get(_key(r.get("matches")), ()))]
        if fresh:
            routes.append({**m, "spec": {**spec, "rules": fresh}})
    return probe_values(context + routes)


def _matches_of(route: Mapping[str, Any], base: Mapping[str, Any]) -> dict[bytes | str, list[Any]] | None:
    """The matches of each rule of BASE's route ``base`` by :func:`_key`, when
    HEAD's ``route`` of the same name probes the same way but for its rules (same namespace,
    same spec without the rules), else None."""
    spec, base_spec = route.get("spec"), base.get("spec")
    meta, base_meta = route.get("metadata"), base.get("metadata")
    if type(spec) is not dict or type(base_spec) is not dict or type(meta) is not dict \
            or type(base_meta) is not dict or type(spec.get("rules")) is not list \
            or type(base_spec.get("rules")) is not list \
            or not _same(meta.get("namespace"), base_meta.get("namespace")) \
            or not _same(_without(spec, "rules"), _without(base_spec, "rules")):
        return None
    out: dict[bytes | str, list[Any]] = {}
    for rule in base_spec["rules"]:
        if type(rule) is dict:
            matches = rule.get("matches")
            out.setdefault(_key(matches), []).append(matches)
    return out


def _key(value: Any) -> bytes | str:
    """``value`` written out, to find equal values by hashing: values of other types (``1``,
    ``1.0``, ``True``) or key orders give other keys (NaN and ``None`` share one). orjson's
    JSON (C), or ``repr`` where orjson declines."""
    try:
        return orjson.dumps(value)
    except TypeError:  # orjson.JSONEncodeError: keys that are not strings, integers beyond 64 bits...
        return repr(value)


def _same(a: Any, b: Any) -> bool:
    """Are ``a`` and ``b`` the same value, types included (``==`` alone takes ``1`` for
    ``True`` and ``1.0``; the JSON alone takes NaN for ``null``)?"""
    return bool(a == b) and _key(a) == _key(b)


def _without(obj: Mapping[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k != key}


# A hostname as the router keeps it (lower case, no final dot): a probe's host is looked up as is.
_PLAIN_HOST = re.compile(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?")


def _reach(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> dict[str, tuple[str, ...]] | None:
    """For each hostname of an HTTPRoute that changes: the starts (lower case) of the paths its
    changed rules match. None when some change is not only that (then every probe is routed).

    A request is served by the rule that takes it first in precedence order (path, method,
    headers, query, route age and name, then rule order). When a route keeps its metadata, its
    spec but the rules, and at least one rule the router surely keeps (it also keeps the route
    attached to its listeners, whatever else is dropped), and its other rules change --
    rules of BASE's route and HEAD's route between the start and the end both hold, compared
    types included (:func:`_same`) -- a request none of the changed rules
    can take is taken by the same rule on both sides, with the same filters and backends: its
    outcome is the same. A changed rule can take a path only if it matches an Exact or
    PathPrefix path (a regular expression or no path match could take any): its value stripped
    of the final ``/``, compared in lower case, starts the path. Everything else (a route
    added, removed or moved, other hostnames) gives None."""
    a_routes = {identity(m): m for m in old if m.get("kind") in _ROUTES}
    b_routes = {identity(m): m for m in new if m.get("kind") in _ROUTES}
    out: dict[str, set[str]] = {}
    for key in a_routes.keys() | b_routes.keys():
        a, b = a_routes.get(key), b_routes.get(key)
        if a is b:
            continue
        if a is None or b is None or a.get("kind") != "HTTPRoute" or b.get("kind") != "HTTPRoute":
            return None
        if _same(a, b):
            continue
        spec_a, spec_b = a.get("spec"), b.get("spec")
        if type(spec_a) is not dict or type(spec_b) is not dict:
            return None
        rules_a, rules_b, hostnames = spec_a.get("rules"), spec_b.get("rules"), spec_a.get("hostnames")
        if type(rules_a) is not list or type(rules_b) is not list or type(hostnames) is not list or not hostnames \
                or not all(type(h) is str and _PLAIN_HOST.fullmatch(h) for h in hostnames) \
                or not _same(_without(a, "spec"), _without(b, "spec")) \
                or not _same(_without(spec_a, "rules"), _without(spec_b, "rules")):
            return None
        changed = _changed_rules(rules_a, rules_b)
        if changed is None:
            return None
        stems: set[str] = set()
        for rule in changed:
            starts = _starts(rule)
            if starts is None:
                return None
            stems.update(starts)
        for h in hostnames:
            out.setdefault(h, set()).update(stems)
    return {h: tuple(sorted(stems)) for h, stems in out.items()}


def _changed_rules(old: list[Any], new: list[Any]) -> list[Any] | None:
    """The rules of both versions of a route but those of their common start and common end
    (the same, types included: :func:`_same`), which keep their order; None when those
    include no rule the router surely keeps (:func:`_kept_rule`)."""
    size = min(len(old), len(new))
    start = 0
    while start < size and _same(old[start], new[start]):
        start += 1
    end = 0
    while end < size - start and _same(old[-1 - end], new[-1 - end]):
        end += 1
    kept = old[:start] + old[len(old) - end:]
    if not any(_kept_rule(r) for r in kept):
        return None
    return old[start:len(old) - end] + new[start:len(new) - end]


def _kept_rule(rule: Any) -> bool:
    """Is this a rule the router compiles whatever the objects around it (none of
    :mod:`ing2gw.router.rules`' DropRule cases: Exact or PathPrefix path matches of valid
    paths, header and query matches it knows, header modifiers, CORS, a redirect with a known
    status and no backends or a rewrite, backends without filters)?"""
    if type(rule) is not dict or not rule.keys() <= _RULE_KEYS:
        return False
    matches = rule.get("matches") or []
    if type(matches) is not list or not all(_kept_match(m) for m in matches):
        return False
    filters = rule.get("filters") or []
    if type(filters) is not list or not all(type(f) is dict and _kept_filter(f) for f in filters):
        return False
    types = [f["type"] for f in filters]
    backends = rule.get("backendRefs") or []
    if len(set(types)) != len(types) or ("RequestRedirect" in types and ("URLRewrite" in types or backends)):
        return False
    return type(backends) is list and all(type(b) is dict and "filters" not in b for b in backends)


_RULE_KEYS = frozenset({"name", "matches", "filters", "backendRefs", "timeouts", "sessionPersistence", "retry"})
_PATH_MODIFIERS = (None, "ReplaceFullPath", "ReplacePrefixMatch")


def _kept_match(m: Any) -> bool:
    if type(m) is not dict or not m.keys() <= {"path", "headers", "queryParams", "method"}:
        return False
    path = m.get("path")
    if path is not None:
        if type(path) is not dict or not path.keys() <= {"type", "value"} or path.get("type") not in (
                None, "Exact", "PathPrefix"):
            return False
        value = path.get("value")
        if value is not None and (type(value) is not str or not value.startswith("/") or "//" in value):
            return False
    for key in ("headers", "queryParams"):
        values = m.get(key) or []
        if type(values) is not list or not all(
                type(v) is dict and v.get("type") in (None, "", "Exact", "RegularExpression") for v in values):
            return False
    return True


def _kept_filter(f: dict[str, Any]) -> bool:
    kind = f.get("type")
    if kind in ("RequestHeaderModifier", "ResponseHeaderModifier", "CORS"):
        return True
    if kind == "RequestRedirect":
        body = f.get("requestRedirect")
        return type(body) is dict and (body.get("statusCode") is None or body.get("statusCode") in REDIRECT_CODES) \
            and _kept_modifier(body)
    if kind == "URLRewrite":
        body = f.get("urlRewrite")
        return type(body) is dict and _kept_modifier(body)
    return False


def _kept_modifier(body: dict[str, Any]) -> bool:
    path = body.get("path")
    return path is None or (type(path) is dict and path.get("type") in _PATH_MODIFIERS)


def _starts(rule: Any) -> list[str] | None:
    """The starts (lower case) of the paths ``rule`` can match; None when it could match any."""
    matches = rule.get("matches") if type(rule) is dict else None
    if type(matches) is not list or not matches:
        return None  # no match: every request
    out: list[str] = []
    for m in matches:
        path = m.get("path") if type(m) is dict else None
        if type(path) is not dict or path.get("type") not in (None, "Exact", "PathPrefix"):
            return None  # no path match, a regular expression, or a shape the router reads otherwise
        value = path.get("value")
        if type(value) is not str or not value.startswith("/") or not value.isascii() or may_change(value):
            return None
        stem = value.rstrip("/").lower()
        if not stem:
            return None
        out.append(stem)
    return out


def _may_reach(target: str, starts: tuple[str, ...]) -> bool:
    """Can a changed rule whose paths start with one of ``starts`` take a request for
    ``target`` (a path with its query)? Yes also for a path a data plane may normalise
    (the router matches the normalised one) or that is not ASCII."""
    path = target.partition("?")[0].partition("#")[0]
    if not path.startswith("/"):
        path = "/" + path
    if may_change(path) or not path.isascii():
        return True
    low = path.lower()
    return any(low.startswith(s) for s in starts)


def replay(base: Side, head: Side, extra: Iterable[Request]) -> Replay:
    hosts = _affected_hosts(base, head)
    extra = list(extra)
    if hosts is not None:
        hosts |= {r.hostname for r in extra}

    def serves(m: Mapping[str, Any]) -> bool:
        """Could this route answer a request for one of ``hosts``?"""
        if hosts is None or m.get("kind") not in ("HTTPRoute", "GRPCRoute"):
            return True
        names = (m.get("spec") or {}).get("hostnames") or []
        return not names or any(
            n in hosts or (n.startswith("*.") and any(h.endswith(n[1:]) for h in hosts)) for n in names
        )

    def changed_routes(manifests: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if hosts is None:
            return manifests
        return [m for m in manifests if m.get("kind") not in ("HTTPRoute", "GRPCRoute")
                or set((m.get("spec") or {}).get("hostnames") or []) & hosts]

    # Only objects that can take part in routing these hosts are compiled.
    return Replay([m for m in base.manifests if serves(m)], [m for m in head.manifests if serves(m)],
                  (changed_routes(base.manifests), changed_routes(head.manifests)), extra, hosts is not None)


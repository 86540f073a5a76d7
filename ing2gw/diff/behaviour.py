"""Behaviour changes between the sides: requests the reference router now serves differently.

Boundary requests generated from both sides (plus the caller's extra requests) go through
the reference router over BASE and over HEAD and are compared as ``verify`` compares (one
summariser, :func:`ing2gw.verify.summarise`); only hosts whose routing can differ are
probed when that can be shown.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from ..http import Headers, Request, plain_request
from ..probes import ProbeValues, probe_values
from ..verify import Summary, compare_summaries, summary_dict, summary_of
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


# Probe requests in their light form: (scheme, host, path, headers), sorted; each process
# builds its own Requests from them.
ProbeKey = tuple[str, str, str, tuple[tuple[str, str], ...]]
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
        return sorted(p[:4] for p in base | head)

    def requests(self, probes: list[ProbeKey]) -> list[Request]:
        """The requests of ``probes`` then the extra ones (built once per process)."""
        out = self._requests.get(id(probes))
        if out is None:
            out = self._requests[id(probes)] = [_request(*probe) for probe in probes] + self.extra
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
                described = {"method": req.method, "url": f"{req.scheme}://{req.host}{req.target}",
                             "headers": req.headers.as_dict()}
                out.append(BehaviourChange(described, summary_dict(a), summary_dict(b), what))
        return out

    @staticmethod
    def in_report_order(changes: list[BehaviourChange]) -> list[BehaviourChange]:
        return sorted(changes, key=lambda c: (c.request["url"], json.dumps(c.request["headers"], sort_keys=True),
                                              c.request["method"]))


_HEADERS: dict[tuple[tuple[str, str], ...], Headers] = {}


def _request(scheme: str, host: str, path: str, headers: tuple[tuple[str, str], ...]) -> Request:
    """``Request.build(host=host, path=path, scheme=scheme, headers=headers)``: a plain GET
    (:func:`ing2gw.http.plain_request`, without the keyword handling) with each set of
    headers built once (probes repeat a few; Headers are immutable)."""
    built = _HEADERS.get(headers)
    if built is None:
        if len(_HEADERS) >= 10_000:
            _HEADERS.clear()
        built = _HEADERS[headers] = Headers(headers)
    if scheme == "http" or scheme == "https":  # every probe of probe_values
        return plain_request(scheme, host, path, built, "GET", None)
    return Request.build(host=host, path=path, scheme=scheme, headers=built)


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
                  (changed_routes(base.manifests), changed_routes(head.manifests)), extra)


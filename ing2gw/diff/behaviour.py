"""Behaviour changes between the sides: requests the reference router now serves differently.

Boundary requests generated from both sides (plus the caller's extra requests) go through
the reference router over BASE and over HEAD and are compared as ``verify`` compares (one
summariser, :func:`ing2gw.verify.summarise`); only hosts whose routing can differ are
probed when that can be shown.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..http import Request
from ..probes import Probe, probes_for
from ..verify import compare_outcomes, summarise
from .model import BehaviourChange, Side
from .sides import identity

__all__ = ["Replay", "replay"]


def _request_of(p: Probe) -> Request:
    return Request.build(host=p.host, path=p.path, scheme=p.scheme, headers=list(p.headers))


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


def _outcomes(manifests: list[dict[str, Any]], requests: list[Request]) -> list[dict[str, Any]]:
    """Each request's outcome summary through the reference router over ``manifests``."""
    from ..router import Router

    router = Router.from_manifests(manifests)
    return [summarise(router.route(req)) for req in requests]


# Fewer requests are routed faster than a worker starts and sends its summaries back.
_WORTH_A_WORKER = 20_000


@dataclass(frozen=True, slots=True)
class Replay:
    """The requests to send through both sides, and the objects of each side that can take
    part in routing them; each side's outcomes may be computed apart (another process)."""

    requests: list[Request]
    old: list[dict[str, Any]]
    new: list[dict[str, Any]]

    @property
    def worth_a_worker(self) -> bool:
        return len(self.requests) >= _WORTH_A_WORKER

    def base_outcomes(self) -> list[dict[str, Any]]:
        return _outcomes(self.old, self.requests)

    def head_outcomes(self) -> list[dict[str, Any]]:
        return _outcomes(self.new, self.requests)

    def changes(self, before: list[dict[str, Any]], after: list[dict[str, Any]]) -> list[BehaviourChange]:
        """The requests whose outcome differs, in report order."""
        out: list[BehaviourChange] = []
        for req, a, b in zip(self.requests, before, after, strict=True):
            what = compare_outcomes(a, b)
            if what:
                described = {"method": req.method, "url": f"{req.scheme}://{req.host}{req.target}",
                             "headers": req.headers.as_dict()}
                out.append(BehaviourChange(described, a, b, what))
        out.sort(key=lambda c: (c.request["url"], json.dumps(c.request["headers"], sort_keys=True),
                                c.request["method"]))
        return out


def _probes(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> set[Probe]:
    """The probes of both sides (:func:`ing2gw.probes.probes_for`), each made once.

    A route's probes come from each of its rules alone, given its namespace, hostnames and
    parentRefs and the side's objects other than HTTPRoutes (listeners, Services). When those
    objects are the same on both sides, HEAD's probes not already BASE's can only come from
    HEAD's rules that BASE's route of the same name does not have (same metadata and spec but
    the rules): HEAD's routes go in with those rules only, and both sides in one call. Values
    are compared by ``repr`` (a C-speed deep comparison that also tells ``1`` from ``True``
    and ``1.0``; equal values written in another key order only cost a second look)."""
    context = [m for m in old if m.get("kind") != "HTTPRoute"]
    if repr(context) != repr([m for m in new if m.get("kind") != "HTTPRoute"]):
        return set(probes_for(old)) | set(probes_for(new))
    base_routes = {identity(m): m for m in old if m.get("kind") == "HTTPRoute"}
    routes = list(base_routes.values())
    for m in new:
        if m.get("kind") != "HTTPRoute":
            continue
        b = base_routes.get(identity(m))
        spec, base_spec = m.get("spec"), (b or {}).get("spec")
        if b is None or type(spec) is not dict or type(base_spec) is not dict \
                or type(spec.get("rules")) is not list or type(base_spec.get("rules")) is not list \
                or repr(_without(m, "spec")) != repr(_without(b, "spec")) \
                or repr(_without(spec, "rules")) != repr(_without(base_spec, "rules")):
            routes.append(m)
            continue
        known = {repr(r) for r in base_spec["rules"]}
        fresh = [r for r in spec["rules"] if repr(r) not in known]
        if fresh:
            routes.append({**m, "spec": {**spec, "rules": fresh}})
    return set(probes_for(context + routes))


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

    probes = sorted(_probes(changed_routes(base.manifests), changed_routes(head.manifests)),
                    key=lambda p: (p.scheme, p.host, p.path, p.headers))
    # Only objects that can take part in routing these hosts are compiled.
    return Replay([_request_of(p) for p in probes] + extra, [m for m in base.manifests if serves(m)],
                  [m for m in head.manifests if serves(m)])


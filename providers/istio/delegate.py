"""Delegate VirtualServices: a root route's ``delegate`` replaced by the delegate's routes.

Istio merges each delegate (leaf) route with the root route that names it: every root match
is combined with every leaf match that does not conflict with it (the leaf's conditions win,
the root's fill in what the leaf leaves open); a leaf match that fits no root match drops the
whole leaf route; the root's other fields (headers, timeout, retries, mirrors ...) fill in
what the leaf route does not set. Conflicts (:func:`has_conflict`): a leaf path outside the
root's, a regular expression on either side where both give a path, differing exact values,
ports, source namespaces or labels, or gateways the root does not list. The conversion and
the data-plane model both expand delegates with :func:`expand`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["expand", "has_conflict", "merge_matches", "merge_route"]

Match = Mapping[str, Any]
_STRING_FIELDS = ("uri", "scheme", "method", "authority")
_MAP_FIELDS = ("headers", "queryParams", "withoutHeaders")


def _string_conflict(root: Any, leaf: Any) -> bool:
    """Two StringMatch values: does the leaf's fall outside the root's?"""
    if not isinstance(root, Mapping) or not isinstance(leaf, Mapping) or not root or not leaf:
        return False
    if "regex" in root or "regex" in leaf:
        return bool(root != leaf)
    if "exact" in root:
        return bool(leaf.get("exact") != root["exact"])
    if "prefix" in root:
        value = leaf.get("exact", leaf.get("prefix"))
        return not isinstance(value, str) or not value.startswith(str(root["prefix"]))
    return False


def has_conflict(root: Match, leaf: Match) -> bool:
    """Can the leaf match not be narrowed into the root match?"""
    for f in _STRING_FIELDS:
        if _string_conflict(root.get(f), leaf.get(f)):
            return True
    for f in _MAP_FIELDS:
        r, lf = root.get(f), leaf.get(f)
        if isinstance(r, Mapping) and isinstance(lf, Mapping):
            if any(_string_conflict(r[k], lf[k]) for k in r.keys() & lf.keys()):
                return True
    if bool(root.get("ignoreUriCase")) != bool(leaf.get("ignoreUriCase")) and root.get("uri") and leaf.get("uri"):
        return True
    if root.get("port") and leaf.get("port") and root["port"] != leaf["port"]:
        return True
    rl, ll = root.get("sourceLabels"), leaf.get("sourceLabels")
    if isinstance(rl, Mapping) and isinstance(ll, Mapping) and any(rl[k] != ll[k] for k in rl.keys() & ll.keys()):
        return True
    if root.get("sourceNamespace") and leaf.get("sourceNamespace") and root["sourceNamespace"] != \
            leaf["sourceNamespace"]:
        return True
    rg, lg = root.get("gateways") or [], leaf.get("gateways") or []
    return bool(rg) and bool(lg) and not set(lg) <= set(rg)


def _merge_match(root: Match, leaf: Match) -> dict[str, Any]:
    out = dict(root)
    for k, v in leaf.items():
        if k in _MAP_FIELDS + ("sourceLabels",) and isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = {**out[k], **v}
        elif v not in (None, {}, [], "", 0):
            out[k] = v
    return out


def merge_matches(root: list[Match], leaf: list[Match]) -> list[dict[str, Any]] | None:
    """The merged matches of a leaf route under a root route (None: the leaf route is dropped)."""
    if not root:
        return [dict(m) for m in leaf]
    if not leaf:
        return [dict(m) for m in root]
    fitted = [False] * len(leaf)
    out = []
    for r in root:
        for n, lf in enumerate(leaf):
            if has_conflict(r, lf):
                continue
            fitted[n] = True
            out.append(_merge_match(r, lf))
    return out if all(fitted) else None


def merge_route(root: Mapping[str, Any], leaf: Mapping[str, Any]) -> dict[str, Any] | None:
    """One leaf route under the root route that delegates to it (None: dropped)."""
    matches = merge_matches(_matches(root), _matches(leaf))
    if matches is None:
        return None
    out = {k: v for k, v in root.items() if k not in ("match", "delegate", "name")}
    out.update({k: v for k, v in leaf.items() if k != "match"})
    if matches:
        out["match"] = matches
    return out


def _matches(route: Mapping[str, Any]) -> list[Match]:
    value = route.get("match")
    return [m for m in value if isinstance(m, Mapping)] if isinstance(value, list) else []


def expand(routes: list[Mapping[str, Any]], namespace: str,
           lookup: Callable[[str, str], list[Mapping[str, Any]] | None],
           dropped: Callable[[int, str], None]) -> list[tuple[int, Mapping[str, Any]]]:
    """``routes`` (a VirtualService's ``http``) with each delegating route replaced by its
    delegate's merged routes, each with the index of the root route it stands for. ``lookup``
    gives a delegate VirtualService's ``http`` (None: missing or not usable); ``dropped`` is told
    about each route that disappears and why."""
    out: list[tuple[int, Mapping[str, Any]]] = []
    for n, route in enumerate(routes):
        target = route.get("delegate")
        if not isinstance(target, Mapping):
            out.append((n, route))
            continue
        ns = str(target.get("namespace") or namespace)
        leaves = lookup(ns, str(target.get("name") or ""))
        if leaves is None:
            dropped(n, f"delegate VirtualService {ns}/{target.get('name')} is missing or names hosts")
            continue
        for m, leaf in enumerate(leaves):
            if isinstance(leaf.get("delegate"), Mapping):
                dropped(n, f"route {m} of delegate {ns}/{target.get('name')} delegates again (one level only)")
                continue
            merged = merge_route(route, leaf)
            if merged is None:
                dropped(n, f"route {m} of delegate {ns}/{target.get('name')} conflicts with the root's match")
                continue
            out.append((n, merged))
    return out

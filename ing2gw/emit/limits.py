"""The Gateway API's size limits, and how the emitter stays within them.

* Routes: HTTPRoute/GRPCRoute at most 16 rules, 64 matches per rule and 128 per route;
  TLSRoute/TCPRoute/UDPRoute exactly one rule. :func:`split_rules` packs rules into chunks
  (keeping their order), each chunk becoming one route with the same parents and hostnames.
* Gateways: at most 64 listeners. :func:`chunk_listeners` keeps the first listener on the
  Gateway and spreads the rest over several Gateways, or over ListenerSets, keeping the
  listeners of one certificate together.
* ReferenceGrants: at most 16 ``to`` items each.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import replace
from typing import TypeVar

from ..ir import Rule

__all__ = [
    "MAX_GRANT_ITEMS",
    "MAX_LISTENERS",
    "MAX_MATCHES_PER_ROUTE",
    "MAX_MATCHES_PER_RULE",
    "MAX_RULES",
    "L4_KINDS",
    "chunk_listeners",
    "max_rules",
    "split_rules",
]

MAX_RULES = 16
MAX_MATCHES_PER_RULE = 64
MAX_MATCHES_PER_ROUTE = 128
MAX_LISTENERS = 64
MAX_GRANT_ITEMS = 16
L4_KINDS = frozenset({"TLSRoute", "TCPRoute", "UDPRoute"})  # one rule, backendRefs only

T = TypeVar("T")


def max_rules(kind: str) -> int:
    return 1 if kind in L4_KINDS else MAX_RULES


def split_rules(rules: Sequence[Rule], limit: int = MAX_RULES) -> list[list[Rule]]:
    """Pack rules into chunks within the rule and match limits (keeping rule order)."""
    if len(rules) <= limit:  # the common case: everything fits in one route
        total = 0
        for r in rules:
            n = len(r.matches)
            if n > MAX_MATCHES_PER_RULE:
                break
            total += n or 1
        else:
            if total <= MAX_MATCHES_PER_ROUTE:
                return [list(rules)] if rules else []
    expanded: list[Rule] = []
    for r in rules:
        if len(r.matches) <= MAX_MATCHES_PER_RULE:
            expanded.append(r)
            continue
        for i in range(0, len(r.matches), MAX_MATCHES_PER_RULE):
            expanded.append(replace(r, matches=r.matches[i:i + MAX_MATCHES_PER_RULE], name=None))
    chunks: list[list[Rule]] = [[]]
    count = 0
    for r in expanded:
        n = max(1, len(r.matches))
        if chunks[-1] and (len(chunks[-1]) >= limit or count + n > MAX_MATCHES_PER_ROUTE):
            chunks.append([])
            count = 0
        chunks[-1].append(r)
        count += n
    return [c for c in chunks if c]


def chunk_listeners(listeners: Sequence[T], listener_sets: bool,
                    group: Callable[[T], Hashable] | None = None) -> list[list[T]]:
    """Listeners per holder: one Gateway when they fit; else with ``listener_sets`` the first
    stays on the Gateway and the rest fill ListenerSets of up to 64; else several Gateways,
    each repeating the first listener. ``group`` (the certificate) packs: the listeners of one
    group go to one holder whenever they fit in one (first fit, in order of appearance)."""
    if len(listeners) <= MAX_LISTENERS:
        return [list(listeners)]
    first, rest = listeners[0], list(listeners[1:])
    cap = MAX_LISTENERS if listener_sets else MAX_LISTENERS - 1
    groups: dict[Hashable, list[T]] = {}
    for i, item in enumerate(rest):
        groups.setdefault(group(item) if group is not None else i, []).append(item)
    bins: list[list[T]] = []
    open_from = 0  # bins before this one are full: no group fits there (bins only grow)
    for members in groups.values():
        while len(members) > cap:  # more listeners of one certificate than a holder takes
            bins.append(members[:cap])
            members = members[cap:]
        while open_from < len(bins) and len(bins[open_from]) >= cap:
            open_from += 1
        for b in bins[open_from:]:
            if len(b) + len(members) <= cap:
                b.extend(members)
                break
        else:
            bins.append(list(members))
    if listener_sets:
        return [[first], *bins]
    return [[first, *b] for b in bins]

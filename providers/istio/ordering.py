"""First-match order -> Gateway API precedence: reorder and split a route list so both agree.

Istio answers a request with the first route (in ``http[]`` order) whose match holds; a
Gateway with the highest-precedence match, ties going to the earlier rule of the route.
Given the (match, action) items of one VirtualService in Istio's order, :func:`to_precedence`
returns items whose Gateway API answer is Istio's for every request:

* an item whose match an earlier item's match contains can never answer in Istio: it is
  dropped (``unreachable``);
* whenever an earlier item ``o`` and a later item ``j`` with different actions overlap and
  ``j``'s match has the higher precedence, the intersection ``o ∧ j`` is added with ``o``'s
  action right before ``j``: it has at least ``j``'s precedence and comes first, so it takes
  exactly the requests Istio gives ``o`` (the added item is checked the same way against
  every item before ``o``);
* where the intersection is no single Gateway API match (two unrelated paths, a regular
  expression against a prefix), the pair is returned in ``conflicts`` for a note.

With every overlapping pair ordered by precedence (or tied, the earlier first), the highest
-precedence match of any request is the first one that holds -- Istio's answer.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

from ing2gw.ir import RouteMatch

from .matching import NotExpressible, covers, intersect, overlap, precedence

__all__ = ["Item", "Ordered", "to_precedence"]

_MAX_ADDED = 96  # intersections added per route list before giving up (noted)


@dataclass(frozen=True, slots=True)
class Item:
    """One match of one route, with the action (what answers) it leads to."""

    match: RouteMatch
    action: Hashable  # equal actions answer alike
    origin: int  # index of the Istio route it comes from
    added: bool = False  # an intersection made here


@dataclass(slots=True)
class Ordered:
    items: list[Item] = field(default_factory=list)
    unreachable: list[tuple[Item, Item]] = field(default_factory=list)  # (dropped, the earlier one covering it)
    conflicts: list[tuple[Item, Item, str]] = field(default_factory=list)  # (earlier, later, why)
    gave_up: bool = False


def to_precedence(items: Sequence[Item]) -> Ordered:
    out = Ordered()
    for item in items:
        _place(item, out, len(out.items), 0)
    return out


def _place(item: Item, out: Ordered, before: int, depth: int) -> None:
    """Append ``item``, which first-match order puts right after ``out.items[:before]``
    (an intersection stands where the item it was cut from stands)."""
    cover = next((o for o in out.items[:before] if covers(o.match, item.match)), None)
    if cover is not None:
        if not item.added:
            out.unreachable.append((item, cover))
        return
    if item.added and any(o.match == item.match and o.action == item.action for o in out.items):
        return
    rank = precedence(item.match)
    # an intersection answers like the item it was cut from: only what comes before that one
    # must lose to it (later overlapping items already lose to their own intersections)
    for at, o in enumerate(out.items[:before]):
        if o.action == item.action or precedence(o.match) <= rank or not overlap(o.match, item.match):
            continue
        try:
            both = intersect(o.match, item.match)
        except NotExpressible as exc:
            out.conflicts.append((o, item, str(exc)))
            continue
        if both is None:
            continue
        if depth > 8 or sum(1 for i in out.items if i.added) >= _MAX_ADDED:
            out.gave_up = True
            out.conflicts.append((o, item, "too many intersections"))
            continue
        _place(Item(both, o.action, o.origin, added=True), out, at, depth + 1)
    out.items.append(item)

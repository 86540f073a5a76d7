"""The scopes of the VirtualService conversion's notes: which requests a note is about, as
``verify`` matches them (:class:`ing2gw.notes.Note` ``scope``): a host with a rule's path, or a
``~regex`` on the request path for any host (``*``)."""

from __future__ import annotations

import re

from ing2gw.ir import RouteMatch
from ing2gw.notes import Scope

__all__ = ["conflict_scope", "host_scope", "path_rx", "prefix_scope", "scope"]


def host_scope(hosts: list[str]) -> Scope:
    return tuple(sorted({("" if h == "*" else h.lower(), "") for h in hosts}))


def path_rx(match: RouteMatch) -> str:
    """The requests a match's path takes, as a scope pattern (a property of the request)."""
    p = match.path
    if p is None or (p.type == "PathPrefix" and not p.value.rstrip("/")):
        return "~^/"
    if p.type == "RegularExpression":
        return f"~^(?:{p.value})$"
    if p.type == "Exact":
        return f"~^{re.escape(p.value)}$"
    return f"~^{re.escape(p.value.rstrip('/'))}(/|$)"


def scope(hosts: list[str], match: RouteMatch) -> Scope:
    """A match's rule on each host (as the route's hostnames and rule paths name it), and the
    requests its path takes on any host."""
    path = match.path.value if match.path else "/"
    return tuple(sorted({("" if h == "*" else h.lower(), path) for h in hosts} | {("*", path_rx(match))}))


def conflict_scope(hosts: list[str], early: RouteMatch, late: RouteMatch) -> Scope:
    """The requests two overlapping matches both take: within the regular expression when one
    path is one, else within the later (more specific) match."""
    narrow = early if early.path is not None and early.path.type == "RegularExpression" else late
    return scope(hosts, narrow)


def prefix_scope(hosts: list[str], match: RouteMatch) -> Scope:
    """The requests a character prefix and the Gateway's PathPrefix disagree on: below the
    prefix but not at a segment boundary (``/apix``), or the prefix without its slash."""
    value = match.path.value if match.path else "/"
    stem = value.rstrip("/")
    rx = f"~^{re.escape(stem)}$" if value.endswith("/") else f"~^{re.escape(stem)}[^/]"
    return tuple(sorted({("*", rx)} | {("" if h == "*" else h.lower(), value) for h in hosts}))

"""Which access-log lines share one replay decision: a line stands for its *class*, its
request with the last path segment and the query left out where neither side of the
migration can tell them apart.

An access log repeats requests and, more often still, requests that differ only in an id:
``/api/v1/items/1234``, ``/products/77?page=3``. Both sides choose a rule by a prefix of
such a path and copy the rest through unchanged, so the decision for the line (agree, or
where each side served it, what differs and which notes explain it) is the same for every
id. :class:`Sharing` holds what that rests on, read once from both sides:

* the last segment is left out when it is plain lower-case text (``[a-z0-9_-]``, dots
  inside; nothing a normalisation or a case-insensitive match reads differently, at most 64
  characters), the path holds nothing a normalisation changes (``%``, ``//``, ``/.``,
  ``\\``), no literal path of either side reaches into the segment (starts with
  ``PARENT/`` and is longer: an exact path, a longer prefix, nginx's ``/foo/`` expansion),
  and no side matches the host's paths by regex;
* the query is left out when it is plain text (``[A-Za-z0-9_.=&-]``, at most 256
  characters) and no route matches on the query (both sides copy it through as it is);
* which ``~regex`` note scopes the path matches is part of the class (they choose the
  explaining notes).

A side that cannot say what it matches on (a data-plane model without ``path_literals``)
shares nothing: every line is its own class. The equality tests replay logs both ways.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .notes import Note
from .router.paths import may_change

__all__ = ["Sharing", "gateway_paths", "sharing"]

_SEGMENT = re.compile(r"[a-z0-9_-][a-z0-9_.-]{0,63}")
_QUERY = re.compile(r"[A-Za-z0-9_.=&-]{1,256}")
_LEFT_OUT = "\n"  # stands for what a class leaves out (no log line holds one)


@dataclass(slots=True)
class Sharing:
    """When the last path segment and the query of a request can be left out."""

    literals: Sequence[str]  # literal paths of both sides, lower case, sorted
    regex_hosts: frozenset[str]  # hosts (lower case) some side matches by regex: nothing shared there
    query: bool  # no route matches on the query
    scopes: tuple[re.Pattern[str], ...] = ()  # the notes' ~regex scopes
    _parents: dict[str, bool] = field(default_factory=dict)  # parent (lower case) -> no literal reaches below it

    def key(self, host: str, path: str) -> tuple[str, ...]:
        """``(path with what is shared left out, *which ~regex scopes the path matches)``."""
        shared = self._shared(host, path)
        if not self.scopes:
            return (shared,)
        matched = path.partition("?")[0].partition("#")[0] or "/"  # the request's path, as the explainer reads it
        return (shared, *["1" if rx.search(matched) else "" for rx in self.scopes])

    def _shared(self, host: str, path: str) -> str:
        target, mark, query = path.partition("?")
        if mark and self.query and _QUERY.fullmatch(query):
            query = _LEFT_OUT
        cut = target.rfind("/")
        if (cut >= 0 and _SEGMENT.fullmatch(target, cut + 1) and not may_change(target)
                and (not self.regex_hosts or host.split(":", 1)[0].lower() not in self.regex_hosts)
                and self._parent_free(target[:cut + 1].lower())):
            target = target[:cut + 1] + _LEFT_OUT
        return target + mark + query

    def _parent_free(self, parent: str) -> bool:
        free = self._parents.get(parent)
        if free is None:
            at = bisect.bisect_left(self.literals, parent)
            free = True
            for literal in self.literals[at:at + 2]:  # the parent itself sorts first
                if literal.startswith(parent) and len(literal) > len(parent):
                    free = False
            if len(self._parents) >= 100_000:
                self._parents.clear()
            self._parents[parent] = free
        return free


def gateway_paths(manifests: Iterable[Mapping[str, Any]]) -> tuple[set[str], set[str] | None, bool]:
    """(literal path values of the HTTPRoutes' matches, the hostnames of routes matching a
    path by regex -- None when such a route has no hostname or a wildcard one --, whether
    any match reads the query)."""
    literals: set[str] = set()
    regex: set[str] | None = set()
    query = False
    for m in manifests:
        if m.get("kind") != "HTTPRoute":
            continue
        spec = m.get("spec") or {}
        hosts = [str(h).lower() for h in spec.get("hostnames") or ()]
        for rule in spec.get("rules") or ():
            for match in rule.get("matches") or ():
                query = query or bool(match.get("queryParams"))
                path = match.get("path") or {}
                if path.get("type") == "RegularExpression":
                    if regex is not None and hosts and not any(h.startswith("*") for h in hosts):
                        regex.update(hosts)
                    else:
                        regex = None
                else:
                    literals.add(str(path.get("value") or "/"))
    return literals, regex, query


def sharing(model: Any, manifests: Iterable[Mapping[str, Any]], notes: Iterable[Note]) -> Sharing | None:
    """What both sides match on (:class:`Sharing`), or None when a side cannot say: the
    source model lacks ``path_literals`` or some side matches every host by regex."""
    literals_of = getattr(model, "path_literals", None)
    if not callable(literals_of):
        return None
    source, source_regex = literals_of()
    literals, regex, query = gateway_paths(manifests)
    if source_regex is None or regex is None:
        return None
    scopes = {p for n in notes for _, p in n.scope if p.startswith("~")}
    return Sharing(sorted({p.lower() for p in (*source, *literals)}), frozenset({*source_regex, *regex}),
                   not query, tuple(re.compile(p[1:]) for p in sorted(scopes)))

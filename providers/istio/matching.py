"""Gateway API matches as sets of requests: precedence, overlap, containment and intersection.

Istio tries a VirtualService's routes in order; Gateway API picks the match with the highest
precedence (Exact path, longer PathPrefix, RegularExpression; then a method, more headers,
more query parameters; then rule order). :mod:`.ordering` uses these functions on the
matches a VirtualService becomes to find where the two disagree and to build the
intersections that make them agree. The answers are conservative: :func:`overlap` says True
and :func:`covers` False when they cannot decide (regular expressions), and
:func:`intersect` raises :class:`NotExpressible` when the intersection is no single
Gateway API match.

The path semantics are the reference router's (:mod:`ing2gw.router`): a PathPrefix matches
its value without a trailing ``/`` and everything below it, segment-wise; a regular
expression must match the whole path.
"""

from __future__ import annotations

import re
from functools import lru_cache

from ing2gw.ir import HeaderMatch, PathMatch, QueryMatch, RouteMatch

__all__ = ["ANY", "NotExpressible", "covers", "intersect", "literal_start", "overlap", "precedence", "prefix_matches"]

ANY = RouteMatch()  # no condition: every request

_KIND = {"Exact": 0, "PathPrefix": 1, "RegularExpression": 2}


class NotExpressible(Exception):
    """The intersection of two matches is no single Gateway API match."""


@lru_cache(maxsize=1024)
def _regex(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:
        return None


def _path(m: RouteMatch) -> PathMatch:
    return m.path or PathMatch("PathPrefix", "/")


def _prefix(value: str) -> str:
    return value.rstrip("/")


def prefix_matches(prefix: str, path: str) -> bool:
    """Does the Gateway PathPrefix ``prefix`` match ``path``?"""
    p = _prefix(prefix)
    return not p or path == p or path.startswith(p + "/")


def precedence(m: RouteMatch) -> tuple[int, int, int, int, int]:
    """Gateway API precedence of a match within one hostname: smaller wins."""
    p = _path(m)
    length = len(_prefix(p.value)) if p.type == "PathPrefix" else len(p.value)
    return (_KIND[p.type], -length, 0 if m.method else 1, -len(m.headers), -len(m.query))


_META = re.compile(r"[\\^$.|?*+()\[\]{}]")


def literal_start(pattern: str) -> str:
    """The text every full match of ``pattern`` starts with (up to its first operator; a
    character a quantifier follows is not part of it; none after an inline flag)."""
    if pattern.startswith("(?"):
        return ""
    m = _META.search(pattern)
    if m is None:
        return pattern
    stem = pattern[: m.start()]
    return stem[:-1] if m.group() in "?*{" and stem else stem


def _compatible(a: str, b: str) -> bool:
    """Can one string start both ways (is one a prefix of the other)?"""
    return a.startswith(b) or b.startswith(a)


def _path_overlap(a: PathMatch, b: PathMatch) -> bool:
    if a.type == "RegularExpression" or b.type == "RegularExpression":
        rx, other = (a, b) if a.type == "RegularExpression" else (b, a)
        compiled = _regex(rx.value)
        if other.type == "Exact" and compiled is not None:
            return compiled.fullmatch(other.value) is not None
        stem = literal_start(rx.value)
        if other.type == "RegularExpression":
            return _compatible(stem, literal_start(other.value))
        prefix = _prefix(other.value)
        return _compatible(stem, prefix + "/") or stem == prefix or (not prefix)
    if a.type == "Exact" and b.type == "Exact":
        return a.value == b.value
    if a.type == "Exact":
        return prefix_matches(b.value, a.value)
    if b.type == "Exact":
        return prefix_matches(a.value, b.value)
    return prefix_matches(a.value, _prefix(b.value) or "/") or prefix_matches(b.value, _prefix(a.value) or "/")


def _path_covers(a: PathMatch, b: PathMatch) -> bool:
    """Every path ``b`` matches, ``a`` matches."""
    if a.type == "PathPrefix" and not _prefix(a.value):
        return True
    if a.type == "Exact":
        return b.type == "Exact" and b.value == a.value
    if a.type == "PathPrefix":
        if b.type == "Exact":
            return prefix_matches(a.value, b.value)
        if b.type == "PathPrefix":
            return prefix_matches(a.value, _prefix(b.value) or "/")
        return False
    compiled = _regex(a.value)
    if b.type == "Exact":
        return compiled is not None and compiled.fullmatch(b.value) is not None
    return b.type == "RegularExpression" and b.value == a.value


def _value_overlap(a: tuple[str, str], b: tuple[str, str]) -> bool:
    """(type, value) conditions on one header or query parameter: can both hold?"""
    if a == b:
        return True
    if a[0] == "Exact" and b[0] == "Exact":
        return False
    if a[0] == "Exact" or b[0] == "Exact":
        exact, rx = (a, b) if a[0] == "Exact" else (b, a)
        compiled = _regex(rx[1])
        return compiled is None or compiled.fullmatch(exact[1]) is not None
    return True


def _value_implies(strong: tuple[str, str], weak: tuple[str, str]) -> bool:
    if strong == weak:
        return True
    if weak[0] == "RegularExpression" and strong[0] == "Exact":
        compiled = _regex(weak[1])
        return compiled is not None and compiled.fullmatch(strong[1]) is not None
    return False


Conds = dict[str, tuple[str, str]]


def _headers(m: RouteMatch) -> Conds:
    return {h.name.lower(): (h.type, h.value) for h in m.headers}


def _query(m: RouteMatch) -> Conds:
    return {q.name: (q.type, q.value) for q in m.query}


def _conds_overlap(a: Conds, b: Conds) -> bool:
    return all(_value_overlap(a[k], b[k]) for k in a.keys() & b.keys())


def _conds_cover(a: Conds, b: Conds) -> bool:
    """Every request meeting ``b``'s conditions meets ``a``'s."""
    return all(k in b and _value_implies(b[k], v) for k, v in a.items())


def _conds_and(a: Conds, b: Conds) -> Conds:
    out = dict(a)
    for k, v in b.items():
        if k not in out or _value_implies(v, out[k]):
            out[k] = v
        elif not _value_implies(out[k], v):
            raise NotExpressible(f"two conditions on {k!r} ({out[k][1]!r} and {v[1]!r})")
    return out


def overlap(a: RouteMatch, b: RouteMatch) -> bool:
    """Could one request match both (True when undecidable)?"""
    if a.method and b.method and a.method != b.method:
        return False
    return (_path_overlap(_path(a), _path(b)) and _conds_overlap(_headers(a), _headers(b))
            and _conds_overlap(_query(a), _query(b)))


def covers(a: RouteMatch, b: RouteMatch) -> bool:
    """Does every request matching ``b`` match ``a`` (False when undecidable)?"""
    if a.method and a.method != b.method:
        return False
    return (_path_covers(_path(a), _path(b)) and _conds_cover(_headers(a), _headers(b))
            and _conds_cover(_query(a), _query(b)))


def intersect(a: RouteMatch, b: RouteMatch) -> RouteMatch | None:
    """The requests matching both, as one match (None: no request does)."""
    if not overlap(a, b):
        return None
    pa, pb = _path(a), _path(b)
    if _path_covers(pa, pb):
        path = pb
    elif _path_covers(pb, pa):
        path = pa
    else:
        raise NotExpressible(f"the paths {pa.type} {pa.value} and {pb.type} {pb.value}")
    headers = _conds_and(_headers(a), _headers(b))
    query = _conds_and(_query(a), _query(b))
    names = {h.name.lower(): h.name for h in (*a.headers, *b.headers)}
    return RouteMatch(
        path=None if path == PathMatch("PathPrefix", "/") and a.path is None and b.path is None else path,
        headers=tuple(HeaderMatch(names[k], v, t) for k, (t, v) in sorted(headers.items())),  # type: ignore[arg-type]
        query=tuple(QueryMatch(k, v, t) for k, (t, v) in sorted(query.items())),  # type: ignore[arg-type]
        method=a.method or b.method)

"""First-match order -> Gateway API precedence (``providers/istio/ordering.py``): for route lists
mixing paths, headers and methods, every request gets the same action from the reordered list
under Gateway API precedence as from the original list under Istio's first match. Both sides
are computed here by plain matchers independent of ``providers/istio/matching.py``."""

from __future__ import annotations

import itertools
import random
import re

import pytest

from ing2gw.ir import HeaderMatch, PathMatch, RouteMatch
from ing2gw.providers.istio.ordering import Item, to_precedence

PATHS = ["/", "/a", "/a/", "/a/b", "/a/b/c", "/ab", "/b", "/a/bc"]
HEADERS = [(), (("x", "1"),), (("x", "2"),), (("y", "1"),), (("x", "1"), ("y", "1"))]
METHODS = ["GET", "POST"]


def _path_ok(m: PathMatch | None, path: str) -> bool:
    if m is None:
        return True
    if m.type == "Exact":
        return path == m.value
    if m.type == "PathPrefix":
        p = m.value.rstrip("/")
        return not p or path == p or path.startswith(p + "/")
    return re.fullmatch(m.value, path) is not None


def _ok(m: RouteMatch, path: str, headers: dict[str, str], method: str) -> bool:
    return (_path_ok(m.path, path) and all(headers.get(h.name) == h.value for h in m.headers)
            and (m.method is None or m.method == method))


def _rank(m: RouteMatch) -> tuple[int, int, int, int]:
    """Gateway API precedence, written out independently: smaller wins."""
    p = m.path or PathMatch("PathPrefix", "/")
    kind = {"Exact": 0, "PathPrefix": 1, "RegularExpression": 2}[p.type]
    length = len(p.value.rstrip("/")) if p.type == "PathPrefix" else len(p.value)
    return (kind, -length, 0 if m.method else 1, -len(m.headers))


def _first_match(items: list[Item], path: str, headers: dict[str, str], method: str) -> object:
    return next((i.action for i in items if _ok(i.match, path, headers, method)), None)


def _gateway(items: list[Item], path: str, headers: dict[str, str], method: str) -> object:
    found = [(_rank(i.match), n, i.action) for n, i in enumerate(items) if _ok(i.match, path, headers, method)]
    return min(found)[2] if found else None


def _random_match(rng: random.Random) -> RouteMatch:
    kind = rng.choice(["Exact", "PathPrefix", "PathPrefix", None])
    path = PathMatch(kind, rng.choice(PATHS)) if kind else None  # type: ignore[arg-type]
    headers = tuple(HeaderMatch(n, v) for n, v in rng.choice(HEADERS))
    return RouteMatch(path=path, headers=headers, method=rng.choice([None, None, None, "GET"]))


REQUESTS = [(p, dict(h), m) for p in [*PATHS, "/a/b/c/d", "/abc", "/z"] for h in HEADERS for m in METHODS]


@pytest.mark.parametrize("seed", range(60))
def test_precedence_answers_like_first_match(seed: int) -> None:
    rng = random.Random(seed)
    items = [Item(_random_match(rng), f"route{n}", n) for n in range(rng.randint(2, 7))]
    out = to_precedence(items)
    assert not out.conflicts  # exact, prefix, header and method matches always intersect exactly
    for path, headers, method in REQUESTS:
        assert _gateway(out.items, path, headers, method) == _first_match(items, path, headers, method), \
            (path, headers, method, items, out.items)


def test_unreachable_routes_are_reported() -> None:
    catch_all = Item(RouteMatch(), "root", 0)
    late = Item(RouteMatch(path=PathMatch("PathPrefix", "/late")), "late", 1)
    out = to_precedence([catch_all, late])
    assert out.items == [catch_all] and out.unreachable == [(late, catch_all)]


def test_a_regex_before_a_prefix_it_overlaps_cannot_be_kept() -> None:
    rx = Item(RouteMatch(path=PathMatch("RegularExpression", "/api/v[0-9]+/.*")), "legacy", 0)
    api = Item(RouteMatch(path=PathMatch("PathPrefix", "/api")), "api", 1)
    other = Item(RouteMatch(path=PathMatch("PathPrefix", "/web")), "web", 2)
    out = to_precedence([rx, api, other])
    assert [(a.action, b.action) for a, b, _ in out.conflicts] == [("legacy", "api")]  # /web cannot overlap


def test_exhaustive_pairs_and_triples() -> None:
    """Every ordered pair (and a sample of triples) of a small match vocabulary."""
    vocab = [RouteMatch(path=PathMatch(t, p), headers=h) for t in ("Exact", "PathPrefix") for p in ("/", "/a", "/a/b")
             for h in ((), (HeaderMatch("x", "1"),))] + [RouteMatch()]
    combos = list(itertools.permutations(vocab, 2)) + list(itertools.permutations(vocab, 3))[::7]
    for combo in combos:
        items = [Item(m, f"r{n}", n) for n, m in enumerate(combo)]
        out = to_precedence(items)
        for path, headers, method in REQUESTS:
            assert _gateway(out.items, path, headers, method) == _first_match(items, path, headers, method)

"""Faster forms of emitter helpers against their plain forms (as first written), on many
random inputs: listener packing, slugs and unique names give exactly the same results."""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import pytest

from ing2gw.emit.limits import (
    MAX_LISTENERS,
    MAX_MATCHES_PER_ROUTE,
    MAX_MATCHES_PER_RULE,
    MAX_RULES,
    chunk_listeners,
    split_rules,
)
from ing2gw.ir import PathMatch, RouteMatch, Rule
from ing2gw.names import MAX_NAME, slug, unique_names


def _plain_chunks(listeners: Sequence[Any], listener_sets: bool,
                  group: Callable[[Any], Hashable] | None = None) -> list[list[Any]]:
    """First fit over every bin (the packing as first written)."""
    if len(listeners) <= MAX_LISTENERS:
        return [list(listeners)]
    first, rest = listeners[0], list(listeners[1:])
    cap = MAX_LISTENERS if listener_sets else MAX_LISTENERS - 1
    groups: dict[Hashable, list[Any]] = {}
    for i, item in enumerate(rest):
        groups.setdefault(group(item) if group is not None else i, []).append(item)
    bins: list[list[Any]] = []
    for members in groups.values():
        while len(members) > cap:
            bins.append(members[:cap])
            members = members[cap:]
        for b in bins:
            if len(b) + len(members) <= cap:
                b.extend(members)
                break
        else:
            bins.append(list(members))
    if listener_sets:
        return [[first], *bins]
    return [[first, *b] for b in bins]


@pytest.mark.parametrize("seed", range(60))
def test_listener_packing_equals_first_fit_over_every_bin(seed: int) -> None:
    rng = random.Random(seed)
    n = rng.choice([1, 64, 65, 130, rng.randint(66, 2000)])
    # groups of very different sizes: one listener each, a few large certificates, a mix
    groups = rng.choice([n, 3, rng.randint(1, 40), rng.randint(n // 4 + 1, n)])
    weights = [rng.random() ** rng.choice([1, 4]) for _ in range(groups)]
    items = [(rng.choices(range(groups), weights)[0], i) for i in range(n)]
    for sets in (False, True):
        assert chunk_listeners(items, sets, lambda x: x[0]) == _plain_chunks(items, sets, lambda x: x[0])
        assert chunk_listeners(items, sets) == _plain_chunks(items, sets)


def _plain_split(rules: Sequence[Rule], limit: int) -> list[list[Rule]]:
    """Expand, then chunk (the packing as first written)."""
    expanded: list[Rule] = []
    for r in rules:
        if len(r.matches) <= MAX_MATCHES_PER_RULE:
            expanded.append(r)
            continue
        for i in range(0, len(r.matches), MAX_MATCHES_PER_RULE):
            expanded.append(Rule(matches=r.matches[i:i + MAX_MATCHES_PER_RULE], backends=r.backends,
                                 filters=r.filters, provenance=r.provenance))
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


@pytest.mark.parametrize("seed", range(40))
def test_rule_splitting_equals_the_plain_one(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(20):
        count = rng.choice([0, 1, rng.randint(2, MAX_RULES), MAX_RULES, MAX_RULES + 1, rng.randint(2, 40)])
        most = rng.choice([1, 2, MAX_MATCHES_PER_RULE, MAX_MATCHES_PER_RULE + 3, 40])
        rules = [Rule(matches=tuple(RouteMatch(path=PathMatch("Exact", f"/{i}/{j}"))
                                    for j in range(rng.randint(0, most)))) for i in range(count)]
        for limit in (1, MAX_RULES):
            assert split_rules(rules, limit) == _plain_split(rules, limit)


def _plain_slug(text: str) -> str:
    s = re.sub(r"[^a-z0-9-]+", "-", text.lower())
    return re.sub(r"-{2,}", "-", s).strip("-")


def _plain_unique(wanted: list[tuple[str, str]], limit: int = MAX_NAME) -> dict[str, str]:
    pairs = sorted(set(wanted))
    counts: dict[str, int] = {}
    for _, base in pairs:
        counts[_plain_slug(base)] = counts.get(_plain_slug(base), 0) + 1
    out: dict[str, str] = {}
    for original, base in pairs:
        b = _plain_slug(base)
        if counts[b] == 1 and len(b) <= limit and b:
            out[original] = b
            continue
        suffix = hashlib.sha256(original.encode()).hexdigest()[:6]
        head = b[: limit - len(suffix) - 1].rstrip("-")
        out[original] = f"{head}-{suffix}" if head else suffix
    return out


def _text(rng: random.Random) -> str:
    return "".join(rng.choice("abcxyz019-._*/AZ ÄéK\u0130") for _ in range(rng.randint(0, 24)))


def test_slug_equals_the_plain_one() -> None:
    rng = random.Random(7)
    texts = [_text(rng) for _ in range(20_000)]
    texts += ["", "-", "a", "a-b", "a--b", "-a", "a-", "app0-team-00-example-com", "A", "ab_c", "\u0130", "x" * 300]
    for text in texts:
        assert slug(text) == _plain_slug(text), text


def test_unique_names_equal_the_plain_ones() -> None:
    rng = random.Random(11)
    for _ in range(300):
        wanted = [(_text(rng), rng.choice([_text(rng), "same", "Same", "s-a-m-e", "x" * 70]))
                  for _ in range(rng.randint(0, 30))]
        assert unique_names(wanted) == _plain_unique(wanted)

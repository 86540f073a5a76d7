"""``deep_changes`` walks dicts itself and hands only differing values to deepdiff: its result
must be deepdiff's own on the whole pair, for any shapes (random pairs, fixed seed)."""

from __future__ import annotations

import random
from typing import Any

from deepdiff import DeepDiff

from ing2gw.diff.fields import _KINDS, FieldChange, deep_changes, path_text

SCALARS: list[Any] = [1, 2, 1.0, True, False, "a", "b", None, float("nan")]


def deepdiff_changes(a: Any, b: Any) -> list[FieldChange]:
    dd = DeepDiff(a, b, verbose_level=2)
    return [FieldChange(path_text(item.path(output_format="list")), change,
                        None if change == "added" else item.t1, None if change == "removed" else item.t2)
            for kind, change in _KINDS.items() for item in dd.tree.get(kind, [])]


def _value(rnd: random.Random, depth: int = 0) -> Any:
    r = rnd.random()
    if depth > 3 or r < 0.4:
        return rnd.choice(SCALARS)
    if r < 0.75:
        return {rnd.choice("abcde"): _value(rnd, depth + 1) for _ in range(rnd.randint(0, 4))}
    return [_value(rnd, depth + 1) for _ in range(rnd.randint(0, 3))]


def _mutated(rnd: random.Random, v: Any, depth: int = 0) -> Any:
    if rnd.random() < 0.15:
        return _value(rnd, depth)
    if type(v) is dict:
        out = {k: _mutated(rnd, x, depth + 1) for k, x in v.items() if rnd.random() > 0.1}
        if rnd.random() < 0.2:
            out[rnd.choice("fgh")] = _value(rnd, depth + 1)
        return out
    if type(v) is list:
        return [_mutated(rnd, x, depth + 1) for x in v]
    return v


def test_the_walk_gives_deepdiffs_changes() -> None:
    rnd = random.Random(19)
    differing = 0
    for _ in range(3000):
        a = _value(rnd)
        b = _mutated(rnd, a)
        ours = sorted(map(repr, deep_changes(a, b)))
        theirs = sorted(map(repr, deepdiff_changes(a, b)))
        assert ours == theirs, (a, b)
        differing += bool(theirs)
    assert differing > 1000  # the pairs really differ, in many ways


def test_a_type_change_under_equal_values_is_still_handed_to_deepdiff() -> None:
    # True == 1 in Python: the walk must not take them for the same value
    old = {"spec": {"weights": [1, 2], "flag": True, "name": "x"}}
    new = {"spec": {"weights": [1.0, 2], "flag": 1, "name": "x"}}
    assert [c.path for c in deep_changes(old, new)] == ["spec.flag"] == [c.path for c in deepdiff_changes(old, new)]

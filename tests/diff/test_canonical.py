"""``objects._canonical`` follows only the paths that can reach a set-like list: its result must
be the plain walk's (every path checked against every pattern) on random route-shaped objects
and on the objects of the golden diff cases."""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from typing import Any

from support import TESTDATA

from ing2gw.diff.objects import _SET_FIELDS, _canonical
from ing2gw.sources import read_paths


def _reference(value: Any, path: tuple[str, ...] = ()) -> Any:
    """The plain walk: copy everything, sort the lists whose path matches a set pattern."""
    if isinstance(value, Mapping):
        return {k: _reference(v, (*path, str(k))) for k, v in value.items()}
    if isinstance(value, list):
        items = [_reference(v, (*path, "*")) for v in value]
        key = next((k for pattern, k in _SET_FIELDS.items() if len(pattern) == len(path) and all(
            p in ("*", q) for p, q in zip(pattern, path, strict=True))), None)
        if key == "":
            items.sort(key=str)
        elif key == "json":
            items.sort(key=lambda v: json.dumps(v, sort_keys=True))
        elif key is not None:
            items.sort(key=lambda v: str(v.get(key, "")) if isinstance(v, Mapping) else str(v))
        return items
    return value


KEYS = ["spec", "rules", "matches", "headers", "queryParams", "backendRefs", "hostnames", "parentRefs",
        "listeners", "name", "from", "to", "targetRefs", "value", "x"]


def _value(rnd: random.Random, depth: int = 0) -> Any:
    r = rnd.random()
    if depth > 5 or r < 0.3:
        return rnd.choice([1, "b", "a", None, True, 2.5, "c"])
    if r < 0.7:
        return {rnd.choice(KEYS): _value(rnd, depth + 1) for _ in range(rnd.randint(0, 4))}
    return [_value(rnd, depth + 1) for _ in range(rnd.randint(0, 4))]


def test_canonical_is_the_plain_walk() -> None:
    rnd = random.Random(19)
    for _ in range(3000):
        obj = {"kind": "HTTPRoute", "spec": _value(rnd)}
        got = _canonical(obj)
        assert got == _reference(obj)
        assert json.dumps(got) == json.dumps(_reference(obj))  # the same order too
    for path in sorted((TESTDATA / "diff").rglob("*.yaml")) + sorted((TESTDATA / "convert").rglob("*.yaml"))[:200]:
        for doc in read_paths([str(path)]):
            assert json.dumps(_canonical(doc.obj)) == json.dumps(_reference(doc.obj)), str(path)


def test_canonical_copies() -> None:
    obj = {"spec": {"rules": [{"matches": [{"path": {"value": "/b"}}, {"path": {"value": "/a"}}]}]}}
    got = _canonical(obj)
    assert got["spec"] is not obj["spec"] and got["spec"]["rules"][0] is not obj["spec"]["rules"][0]
    assert [m["path"]["value"] for m in got["spec"]["rules"][0]["matches"]] == ["/a", "/b"]

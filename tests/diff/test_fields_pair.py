"""``objects._fields`` makes each value the two versions of an object share canonical once, or
not at all (``objects._pair``, ``objects._canonical_rules``): its field changes must be those
of canonicalising both versions whole, on random route-shaped pairs (rules added, removed,
reordered, changed; set-like lists reordered; values equal but of other types: ``1``,
``1.0``, ``True``, NaN, ``None``; Mapping and list subclasses; specs and rules that are not
dicts and lists) and on the objects of the golden diff cases, and it must leave both
versions as they were."""

from __future__ import annotations

import copy
import random
from collections import UserDict
from typing import Any

from support import TESTDATA

from ing2gw.convert import ConvertOptions
from ing2gw.diff.fields import FieldChange, deep_changes, sort_path
from ing2gw.diff.objects import _canonical, _fields, _rule_changes
from ing2gw.diff.sides import build_side, identity
from ing2gw.plugins import discover
from ing2gw.sources import read_paths


def _plain_fields(old: Any, new: Any) -> tuple[FieldChange, ...]:
    """Both versions made canonical whole, then compared (the form before sharing)."""
    a = _canonical({k: v for k, v in old.items() if k != "status"})
    b = _canonical({k: v for k, v in new.items() if k != "status"})
    changes: list[FieldChange] = []
    rules_a = (a.get("spec") or {}).pop("rules", None) if isinstance(a.get("spec"), dict) else None
    rules_b = (b.get("spec") or {}).pop("rules", None) if isinstance(b.get("spec"), dict) else None
    if rules_a is not None or rules_b is not None:
        changes += _rule_changes(rules_a or [], rules_b or [])
    changes += deep_changes(a, b, ())
    return tuple(sorted(changes, key=lambda c: (sort_path(c.path), c.change)))


class Text(str):
    """A str subclass (JSON writes it as a str; orjson declines it here)."""


ODD = [1, 1.0, True, "1", None, float("nan"), float("inf"), 0, False, "a", -0.0, 2**70, Text("a"),
       {1: "x"}, {1: "x", "a": "y"}, "null", "é"]


def _leaf(rnd: random.Random) -> Any:
    return rnd.choice(ODD) if rnd.random() < 0.3 else rnd.choice(ODD[:10])


def _match(rnd: random.Random) -> Any:
    m: dict[str, Any] = {"path": {"type": rnd.choice(["PathPrefix", "Exact"]), "value": rnd.choice(["/", "/a", 1])}}
    if rnd.random() < 0.4:
        m["headers"] = [{"name": n, "value": _leaf(rnd)} for n in rnd.sample(["x", "y", "z"], rnd.randint(1, 3))]
    return UserDict(m) if rnd.random() < 0.05 else m


def _rule(rnd: random.Random) -> Any:
    if rnd.random() < 0.03:
        return _leaf(rnd)
    rule: dict[str, Any] = {"matches": [_match(rnd) for _ in range(rnd.randint(0, 3))],
                            "backendRefs": [{"name": n, "port": rnd.choice([80, 80.0])}
                                            for n in rnd.sample(["a", "b", "c"], rnd.randint(1, 2))]}
    if rnd.random() < 0.3:
        rule["filters"] = [{"type": "X", "x": {"set": [{"name": "h", "value": _leaf(rnd)}]}}]
    return rule


def _route(rnd: random.Random) -> dict[str, Any]:
    spec: Any = {"parentRefs": [{"name": n, "sectionName": s} for n, s in rnd.sample(
        [("g", "a"), ("g", "b"), ("h", "a")], rnd.randint(1, 3))],
        "hostnames": rnd.sample(["a.example", "b.example", "c.example"], rnd.randint(0, 3)),
        "rules": [_rule(rnd) for _ in range(rnd.randint(0, 5))]}
    if rnd.random() < 0.03:
        spec = rnd.choice([None, "x", [1], UserDict(spec)])
    elif rnd.random() < 0.03:
        spec["rules"] = rnd.choice([None, {"a": 1}, "x"])
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
            "metadata": {"name": "r", "namespace": "n", "annotations": {"a": _leaf(rnd)}}, "spec": spec}


def _mutate(rnd: random.Random, route: dict[str, Any]) -> None:
    for _ in range(rnd.randint(0, 3)):
        spec = route["spec"]
        if not isinstance(spec, dict) or not isinstance(spec.get("rules"), list):
            route["spec"] = _route(rnd)["spec"]
            continue
        rules = spec["rules"]
        what = rnd.choice(["add", "remove", "swap", "rule", "hosts", "parents", "meta", "leaf", "drop", "status"])
        if what == "add":
            rules.insert(rnd.randint(0, len(rules)), _rule(rnd))
        elif what == "remove" and rules:
            rules.pop(rnd.randrange(len(rules)))
        elif what == "swap":
            rnd.shuffle(rules)
        elif what == "rule" and rules:
            rules[rnd.randrange(len(rules))] = _rule(rnd)
        elif what == "hosts" and "hostnames" in spec:
            rnd.shuffle(spec["hostnames"])
        elif what == "parents" and "parentRefs" in spec:
            spec["parentRefs"].reverse()
        elif what == "meta":
            route["metadata"]["annotations"]["a"] = _leaf(rnd)
        elif what == "leaf" and rules and isinstance(rules[0], dict) and rules[0]["backendRefs"]:
            rules[0]["backendRefs"][0]["port"] = rnd.choice([80, 80.0, True, 81])
        elif what == "drop":
            spec.pop(rnd.choice(["hostnames", "parentRefs", "rules"]), None)
        elif what == "status":
            route["status"] = {"x": _leaf(rnd)}


def _text(changes: tuple[FieldChange, ...]) -> str:
    return repr([(c.path, c.change, repr(c.old), repr(c.new)) for c in changes])


def _outcome(fields: Any, old: Any, new: Any) -> str:
    """The changes, or the error (a spec too odd to compare fails the same way either way)."""
    try:
        return _text(fields(old, new))
    except Exception as exc:  # noqa: BLE001 - compared, not hidden
        return f"{type(exc).__name__}: {exc}"


def test_shared_values_give_the_changes_of_whole_canonical_versions() -> None:
    rnd = random.Random(19)
    crashed = 0
    for _ in range(1200):
        old = _route(rnd)
        new = copy.deepcopy(old)
        _mutate(rnd, new)
        if rnd.random() < 0.1:
            new["extra"] = {"k": 1}
        before = (repr(old), repr(new))
        got, want = _outcome(_fields, old, new), _outcome(_plain_fields, old, new)
        assert got == want or (want.startswith("TypeError") and not got.startswith("TypeError"))
        crashed += got != want
        assert (repr(old), repr(new)) == before  # neither version changed
    assert crashed < 60


def test_golden_objects() -> None:
    """The golden diff cases' input objects and the objects converted from them."""
    registry, options = discover(), ConvertOptions()
    compared = 0
    for case in sorted((TESTDATA / "diff").iterdir()):
        if not (case / "base").exists() or not (case / "head").exists():
            continue
        docs = [read_paths([str(case / side)], recursive=True) for side in ("base", "head")]
        pairs = [[d.obj for d in side] for side in docs]
        pairs += [build_side(side, side_docs, options, registry).manifests
                  for side, side_docs in zip(("base", "head"), docs, strict=True)]
        for old_side, new_side in (pairs[:2], pairs[2:]):
            old, new = ({identity(m): m for m in side} for side in (old_side, new_side))
            for key in old.keys() & new.keys():
                assert _text(_fields(old[key], new[key])) == _text(_plain_fields(old[key], new[key]))
                compared += 1
    assert compared >= 15

"""Object changes between the sides: added, removed, renamed or changed, field by field.

Objects are keyed by apiVersion/kind/namespace/name. A removed and an added object are a
rename when they share kind, namespace and ``ing2gw.io/source`` (or their whole content
but the name). Rules stay ordered (aligned first, so an inserted rule reads as one); lists
that are sets (hostnames, parentRefs, matches, backendRefs, listeners, ...) are compared as
sets.
"""

from __future__ import annotations

import difflib
import json
import pickle
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import orjson

from ..emit.gateway import SOURCE_ANNOTATION
from .fields import FieldChange, deep_changes, mostly_shared, sort_path
from .model import ObjectChange, Side
from .sides import identity

__all__ = ["ChangedObjects", "object_changes"]

# Lists compared as sets, by the key that identifies an element. Path patterns use "*"
# for any list index and match the field path from the object root.
_SET_FIELDS: dict[tuple[str, ...], str] = {
    ("spec", "hostnames"): "",
    ("spec", "parentRefs"): "json",
    ("spec", "listeners"): "name",
    ("spec", "rules", "*", "matches"): "json",
    ("spec", "rules", "*", "backendRefs"): "json",
    ("spec", "rules", "*", "matches", "*", "headers"): "json",
    ("spec", "rules", "*", "matches", "*", "queryParams"): "json",
    ("spec", "from"): "json",
    ("spec", "to"): "json",
    ("spec", "targetRefs"): "json",
}


_PATTERNS = tuple(_SET_FIELDS.items())
_JSON = json.JSONEncoder(sort_keys=True)  # json.dumps(v, sort_keys=True) without a new encoder per call


class _State:
    """The patterns whose beginning matches a path: where the walk of :func:`_canonical` is,
    with the states after one more path part made once and remembered."""

    __slots__ = ("alive", "depth", "key", "star", "_next")

    def __init__(self, alive: tuple[int, ...], depth: int) -> None:
        self.alive = alive
        self.depth = depth
        # the identifying key of a set-like list here (the first pattern matching all of the path)
        self.key = next((_PATTERNS[i][1] for i in alive if len(_PATTERNS[i][0]) == depth), None)
        self._next: dict[str, _State | None] = {}
        self.star = self.step("*")

    def step(self, part: str) -> _State | None:
        """The state after ``part`` (None: no pattern can match below, copy plainly)."""
        try:
            return self._next[part]
        except KeyError:
            pass
        alive = tuple(i for i in self.alive if len(_PATTERNS[i][0]) > self.depth
                      and _PATTERNS[i][0][self.depth] in ("*", part))
        out = _State(alive, self.depth + 1) if alive else None
        if len(self._next) < 256:
            self._next[part] = out
        return out


_ROOT = _State(tuple(range(len(_PATTERNS))), 0)
_SCALARS = (str, int, float, bool, type(None))


def _plain(value: Any) -> Any:
    """A copy made of dicts and lists (no set-like list below)."""
    t = type(value)
    if t is dict:
        return {k: v if type(v) in _SCALARS else _plain(v) for k, v in value.items()}
    if t in _SCALARS:
        return value
    if t is list or isinstance(value, list):
        return [v if type(v) in _SCALARS else _plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _canonical(value: Any, state: _State | None = _ROOT) -> Any:
    """Sort the set-like lists so that element order does not count as a change."""
    t = type(value)
    if t in _SCALARS:
        return value
    if state is None:
        return _plain(value)
    if t is dict or isinstance(value, Mapping):
        step = state.step
        return {k: v if type(v) in _SCALARS else _canonical(v, step(str(k))) for k, v in value.items()}
    if t is list or isinstance(value, list):
        below = state.star
        items = [v if type(v) in _SCALARS else _canonical(v, below) for v in value]
        key = state.key
        if key is not None and len(items) > 1:
            if key == "":
                items.sort(key=str)
            elif key == "json":
                items.sort(key=_JSON.encode)
            else:
                items.sort(key=lambda v: str(v.get(key, "")) if isinstance(v, Mapping) else str(v))
        return items
    return value


def _fields(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[FieldChange, ...]:
    a, b = _pair({k: v for k, v in old.items() if k != "status"}, {k: v for k, v in new.items() if k != "status"},
                 _ROOT)
    changes: list[FieldChange] = []
    # Rules are ordered, but a rule inserted or removed should read as that, not as every
    # later rule changing: align them first (difflib), then diff the pairs.
    spec_a, spec_b = a.get("spec"), b.get("spec")
    if spec_a is not spec_b:  # (one value on both sides: the same, nothing changed in it)
        rules_a = spec_a.pop("rules", None) if isinstance(spec_a, dict) else None
        rules_b = spec_b.pop("rules", None) if isinstance(spec_b, dict) else None
        if rules_a is not None or rules_b is not None:
            changes += _rule_changes(rules_a or [], rules_b or [])
    changes += deep_changes(a, b, ())
    return tuple(sorted(changes, key=lambda c: (sort_path(c.path), c.change)))


_SPEC = _ROOT.step("spec")
_RULES = _SPEC.step("rules") if _SPEC is not None else None
_RULE = _RULES.star if _RULES is not None else None  # where the walk is at a rule


def _pair(a: dict[str, Any], b: dict[str, Any], state: _State | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """``_canonical(a)`` and ``_canonical(b)`` of two versions of an object (fresh dicts),
    made for :func:`deep_changes`, which walks dicts sharing most of their keys key by key
    and skips a value the same on both sides (types included): such a value is put on both
    sides as it is, one object (canonical or not, it is skipped at once), instead of being
    made canonical twice. ``spec`` is paired the same way, and its ``rules`` made canonical
    once per distinct rule (:func:`_canonical_rules`)."""
    if state is None or not mostly_shared(a, b):
        return _canonical(a, state), _canonical(b, state)
    both: dict[str, tuple[Any, Any]] = {}
    for k, v in a.items():
        if k not in b:
            continue
        w = b[k]
        if _identical(v, w):
            both[k] = (v, v)
        elif state is _ROOT and k == "spec" and type(v) is dict and type(w) is dict:
            both[k] = _pair(v, w, _SPEC)
        elif state is _SPEC and k == "rules" and type(v) is list and type(w) is list:
            both[k] = _canonical_rules(v, w)
    step = state.step
    return ({k: both[k][0] if k in both else v if type(v) in _SCALARS else _canonical(v, step(str(k)))
             for k, v in a.items()},
            {k: both[k][1] if k in both else v if type(v) in _SCALARS else _canonical(v, step(str(k)))
             for k, v in b.items()})


def _canonical_rules(old: list[Any], new: list[Any]) -> tuple[list[Any], list[Any]]:
    """The canonical rules of both versions; a rule both hold (the same, types included:
    :func:`_identical`) is made canonical once, one object in both lists."""
    seen: dict[bytes, list[tuple[Any, Any]]] = {}

    def canonical(rule: Any) -> Any:
        if type(rule) in _SCALARS:
            return rule
        key = _pickled(rule)
        if key is None:
            return _canonical(rule, _RULE)
        for raw, done in seen.get(key, ()):
            if type(raw) is type(rule) and raw == rule:
                return done
        done = _canonical(rule, _RULE)
        seen.setdefault(key, []).append((rule, done))
        return done

    return [canonical(r) for r in old], [canonical(r) for r in new]


def _pickled(value: Any) -> bytes | None:
    try:
        return pickle.dumps(value, 5)
    except Exception:  # noqa: BLE001 - a value that does not pickle is compared the long way
        return None


def _identical(a: Any, b: Any) -> bool:
    """Are ``a`` and ``b`` the same (as :func:`fields._same`: equal, and of the same types all
    the way down)? Decided in C: equal (``==``) and pickled alike -- a pickle records the type
    of every value (``1``, ``1.0``, ``True``, a dict and a Mapping). False may also mean "not
    shown" (values with shared parts pickle otherwise): the caller then takes the long way."""
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    if type(a) in _SCALARS:
        return bool(a == b)
    try:
        return bool(a == b) and _pickled(a) == _pickled(b) is not None
    except Exception:  # noqa: BLE001 - values that do not compare: the long way
        return False


def _rule_changes(old: list[Any], new: list[Any]) -> list[FieldChange]:
    if old is new:
        return []
    keys_a, keys_b = _rule_keys(old, new)
    out: list[FieldChange] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=keys_a, b=keys_b, autojunk=False).get_opcodes():
        if op == "equal":
            continue
        if op == "replace" and i2 - i1 == j2 - j1:
            for i, j in zip(range(i1, i2), range(j1, j2), strict=True):
                out += [replace(c, path=c.path.replace(f"spec.rules[{i}]", f"spec.rules[{j}]", 1))
                        for c in deep_changes(old[i], new[j], ("spec", "rules", i))]
            continue
        out += [FieldChange(f"spec.rules[{i}]", "removed", old[i], None) for i in range(i1, i2)]
        out += [FieldChange(f"spec.rules[{j}]", "added", None, new[j]) for j in range(j1, j2)]
    return out


def _rule_keys(old: list[Any], new: list[Any]) -> tuple[list[Any], list[Any]]:
    """A key per rule, equal for rules equal as JSON (difflib aligns the rules by them). A
    rule both versions hold is one object (:func:`_canonical_rules`): its key is made once.
    orjson writes them (C, many times quicker than the json module), unless a rule holds what
    orjson writes otherwise (NaN and infinities are its ``null``) or not as JSON at all
    (subclasses of str or int, dates); then the json module writes every key of the pair."""
    keys: dict[int, Any] = {}
    try:
        for r in (*old, *new):
            if id(r) not in keys:
                key = orjson.dumps(r, option=_ORJSON_KEY)
                if b"null" in key:
                    raise TypeError("null")  # perhaps NaN
                keys[id(r)] = key
    except TypeError:  # orjson.JSONEncodeError too
        keys = {}
        for r in (*old, *new):
            if id(r) not in keys:
                keys[id(r)] = _JSON.encode(r)
    return [keys[id(r)] for r in old], [keys[id(r)] for r in new]


_ORJSON_KEY = (orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_SUBCLASS | orjson.OPT_PASSTHROUGH_DATETIME
               | orjson.OPT_PASSTHROUGH_DATACLASS)


def _content_key(obj: Mapping[str, Any]) -> str:
    """Kind, namespace and content without name and source annotation."""
    meta = dict(obj.get("metadata") or {})
    meta.pop("name", None)
    annotations = {k: v for k, v in (meta.pop("annotations", None) or {}).items() if k != SOURCE_ANNOTATION}
    body = {k: v for k, v in obj.items() if k not in ("metadata", "status")}
    return json.dumps([obj.get("kind"), meta, annotations, _canonical(body)], sort_keys=True)


def _parts(m: Mapping[str, Any]) -> tuple[str, str, str, str]:
    meta = m.get("metadata") or {}
    src = (meta.get("annotations") or {}).get(SOURCE_ANNOTATION, "")
    return str(m.get("kind")), str(meta.get("namespace", "")), str(meta.get("name", "")), src


class ChangedObjects:
    """The changes of the objects both sides hold, in pieces of :attr:`SIZE` objects in key
    order (the bulk of the work, which both processes of a diff share: any piece may be made
    anywhere, and the pieces' changes together, sorted by key, are :meth:`all`)."""

    SIZE = 150

    def __init__(self, base: Side, head: Side) -> None:
        self._old = {identity(m): m for m in base.manifests}
        self._new = {identity(m): m for m in head.manifests}
        self._keys = sorted(self._old.keys() & self._new.keys())

    @property
    def pieces(self) -> int:
        return -(-len(self._keys) // self.SIZE)

    def piece(self, number: int) -> list[ObjectChange]:
        old, new = self._old, self._new
        changes: list[ObjectChange] = []
        for key in self._keys[number * self.SIZE:(number + 1) * self.SIZE]:
            if old[key] == new[key]:
                continue
            f = _fields(old[key], new[key])
            if f:
                kind, ns, name, src = _parts(new[key])
                changes.append(ObjectChange("changed", key, kind, ns, name, fields=f, sources=src))
        return changes

    def all(self) -> list[ObjectChange]:
        return [c for number in range(self.pieces) for c in self.piece(number)]


def object_changes(base: Side, head: Side, changed: list[ObjectChange] | None = None) -> list[ObjectChange]:
    """Every object change, in report order; ``changed``: those of the objects both sides hold
    (:class:`ChangedObjects`) when they are made already."""
    old = {identity(m): m for m in base.manifests}
    new = {identity(m): m for m in head.manifests}
    removed = sorted(set(old) - set(new))
    added = sorted(set(new) - set(old))
    changes: list[ObjectChange] = []

    # Renames: a removed and an added object of the same kind and namespace made from the
    # same source objects.
    by_source: dict[tuple[str, str, str], list[str]] = {}
    for key in added:
        kind, ns, _, src = _parts(new[key])
        if src:
            by_source.setdefault((kind, ns, src), []).append(key)
    renamed_to: dict[str, str] = {}
    for key in removed:
        kind, ns, _, src = _parts(old[key])
        candidates = by_source.get((kind, ns, src)) if src else None
        if candidates:
            renamed_to[key] = candidates.pop(0)
    # Then objects whose content is identical apart from name and source (a renamed Ingress).
    taken = set(renamed_to.values())
    by_content: dict[str, list[str]] = {}
    for key in added:
        if key not in taken:
            by_content.setdefault(_content_key(new[key]), []).append(key)
    for key in removed:
        if key not in renamed_to:
            candidates = by_content.get(_content_key(old[key]))
            if candidates:
                renamed_to[key] = candidates.pop(0)
    for key in removed:
        kind, ns, name, src = _parts(old[key])
        if key in renamed_to:
            target = renamed_to[key]
            o = dict(old[key], metadata={**old[key].get("metadata", {}), "name": ""})
            n = dict(new[target], metadata={**new[target].get("metadata", {}), "name": ""})
            _, _, new_name, _ = _parts(new[target])
            changes.append(ObjectChange("renamed", target, kind, ns, new_name, name, _fields(o, n), src))
        else:
            changes.append(ObjectChange("removed", key, kind, ns, name, sources=src))
    for key in added:
        if key in renamed_to.values():
            continue
        kind, ns, name, src = _parts(new[key])
        changes.append(ObjectChange("added", key, kind, ns, name, sources=src))
    changes += ChangedObjects(base, head).all() if changed is None else changed
    order = {"removed": 0, "renamed": 1, "changed": 2, "added": 3}
    return sorted(changes, key=lambda c: (c.kind, c.namespace, c.name, order[c.change]))

"""Field-level differences between two versions of one object, as dotted field paths.

Shared by ``diff`` (BASE against HEAD) and ``dry-run`` (the live object against what the
dry-run apply would store): :func:`deep_changes` turns deepdiff's tree into
:class:`FieldChange` records with paths such as ``spec.rules[0].matches[0].path.value``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["FieldChange", "deep_changes", "mostly_shared", "path_text", "sort_path"]

Change = Literal["added", "removed", "changed"]

# deepdiff's report categories -> the change they describe
_KINDS: dict[str, Change] = {
    "dictionary_item_added": "added",
    "iterable_item_added": "added",
    "attribute_added": "added",
    "dictionary_item_removed": "removed",
    "iterable_item_removed": "removed",
    "attribute_removed": "removed",
    "values_changed": "changed",
    "type_changes": "changed",
}


@dataclass(frozen=True, slots=True)
class FieldChange:
    path: str  # "spec.rules[0].matches[0].path.value"
    change: Change
    old: Any = None
    new: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "change": self.change, "old": self.old, "new": self.new}


def path_text(parts: Sequence[Any]) -> str:
    """``["spec", "rules", 0, "name"]`` -> ``spec.rules[0].name``."""
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def sort_path(path: str) -> list[Any]:
    """A sort key putting field paths in document order: list indices compare as numbers."""
    out: list[Any] = []
    for token in path.replace("]", "").replace("[", ".#").split("."):
        out.append((0, int(token[1:]), "") if token.startswith("#") and token[1:].isdigit() else (1, 0, token))
    return out


def deep_changes(a: Any, b: Any, prefix: tuple[Any, ...] = ()) -> list[FieldChange]:
    """Every field added, removed or changed from ``a`` to ``b``; paths start with ``prefix``.

    Dicts sharing most keys are walked here and only their differing values go to deepdiff
    (lists, scalars, type changes, dicts with few keys in common, which deepdiff reports as
    one changed value): the result is deepdiff's, without its cost on the large identical
    parts of two versions of an object."""
    changes: list[FieldChange] = []
    if type(a) is dict and type(b) is dict and mostly_shared(a, b):
        for key in a:
            if key not in b:
                changes.append(FieldChange(path_text([*prefix, key]), "removed", a[key], None))
            elif not _same(a[key], b[key]):
                changes += deep_changes(a[key], b[key], (*prefix, key))
        changes += [FieldChange(path_text([*prefix, key]), "added", None, b[key]) for key in b if key not in a]
        return changes
    from deepdiff import DeepDiff  # here: most diffs never get this far, and importing it costs a tenth of a second

    dd = DeepDiff(a, b, verbose_level=2)
    for dd_kind, change in _KINDS.items():
        for item in dd.tree.get(dd_kind, []):
            parts = [*prefix, *item.path(output_format="list")]
            t1 = None if change == "added" else item.t1
            t2 = None if change == "removed" else item.t2
            changes.append(FieldChange(path_text(parts), change, t1, t2))
    return changes


def mostly_shared(a: dict[Any, Any], b: dict[Any, Any]) -> bool:
    """At least half of the keys in common: deepdiff (threshold_to_diff_deeper, 0.33) then
    reports per key, as the walk does."""
    union = len(a.keys() | b.keys())
    return union <= 1 or len(a.keys() & b.keys()) * 2 >= union


def _same(a: Any, b: Any) -> bool:
    """Equal, and of the same types all the way down (``1`` and ``1.0`` or ``True`` differ, as
    deepdiff reports them)."""
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    if type(a) is dict:
        return a.keys() == b.keys() and all(_same(v, b[k]) for k, v in a.items())
    if type(a) is list:
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)

"""Field-level differences between two versions of one object, as dotted field paths.

Shared by ``diff`` (BASE against HEAD) and ``dry-run`` (the live object against what the
dry-run apply would store): :func:`deep_changes` turns deepdiff's tree into
:class:`FieldChange` records with paths such as ``spec.rules[0].matches[0].path.value``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from deepdiff import DeepDiff

__all__ = ["FieldChange", "deep_changes", "path_text", "sort_path"]

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
    """Every field added, removed or changed from ``a`` to ``b``; paths start with ``prefix``."""
    dd = DeepDiff(a, b, verbose_level=2)
    changes: list[FieldChange] = []
    for dd_kind, change in _KINDS.items():
        for item in dd.tree.get(dd_kind, []):
            parts = [*prefix, *item.path(output_format="list")]
            t1 = None if change == "added" else item.t1
            t2 = None if change == "removed" else item.t2
            changes.append(FieldChange(path_text(parts), change, t1, t2))
    return changes

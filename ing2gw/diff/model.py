"""The diff report's data: object changes, behaviour changes, the two sides, the verdict.

:class:`DiffReport` is what ``diff`` renders; :meth:`DiffReport.to_dict` is also the JSON
report as is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..notes import Note
from .fields import FieldChange

__all__ = ["BehaviourChange", "DiffReport", "ObjectChange", "Side"]


@dataclass(frozen=True, slots=True)
class ObjectChange:
    change: str  # "added" | "removed" | "changed" | "renamed"
    key: str  # apiVersion/kind/namespace/name (HEAD's for renamed)
    kind: str
    namespace: str
    name: str
    old_name: str | None = None
    fields: tuple[FieldChange, ...] = ()
    sources: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "change": self.change,
            "key": self.key,
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
            "oldName": self.old_name,
            "sources": self.sources,
            "fields": [f.to_dict() for f in self.fields],
        }


@dataclass(frozen=True, slots=True)
class BehaviourChange:
    request: dict[str, Any]
    before: dict[str, Any]
    after: dict[str, Any]
    what: tuple[str, ...]  # which parts changed: status, backend, redirect, path, host

    def to_dict(self) -> dict[str, Any]:
        return {"request": self.request, "before": self.before, "after": self.after, "changed": list(self.what)}


@dataclass(slots=True)
class Side:
    label: str
    manifests: list[dict[str, Any]]
    notes: list[Note] = field(default_factory=list)
    ingresses: int = 0


@dataclass(frozen=True, slots=True)
class DiffReport:
    base: str
    head: str
    objects: tuple[ObjectChange, ...]
    behaviour: tuple[BehaviourChange, ...]
    notes_added: tuple[Note, ...]
    notes_removed: tuple[Note, ...]
    requests: int
    lost: tuple[Note, ...] = ()  # protections HEAD's output does not carry (PROTECTION-LOST notes)

    @property
    def has_differences(self) -> bool:
        return bool(self.objects or self.behaviour or self.notes_added or self.notes_removed)

    def summary(self) -> dict[str, int]:
        counts = {c: 0 for c in ("added", "removed", "changed", "renamed")}
        for o in self.objects:
            counts[o.change] += 1
        return {
            **counts,
            "requests": self.requests,
            "behaviourChanges": len(self.behaviour),
            "notesAdded": len(self.notes_added),
            "notesRemoved": len(self.notes_removed),
        }

    def verdict(self) -> str:
        if not self.has_differences:
            return "No differences: the Gateway API output and its behaviour are unchanged."
        s = self.summary()
        objects = s["added"] + s["removed"] + s["changed"] + s["renamed"]
        if self.behaviour:
            return (f"{len(self.behaviour)} of {self.requests} probed requests are served differently; "
                    f"{objects} object(s) change.")
        if objects:
            return f"{objects} object(s) change; no probed request is served differently."
        return "Only conversion notes change."

    def to_dict(self) -> dict[str, Any]:
        return {
            "base": self.base,
            "head": self.head,
            "verdict": self.verdict(),
            "summary": self.summary(),
            "objects": [o.to_dict() for o in self.objects],
            "behaviour": [b.to_dict() for b in self.behaviour],
            "notes": {
                "added": [n.as_dict() for n in self.notes_added],
                "removed": [n.as_dict() for n in self.notes_removed],
            },
            "lostProtections": [n.as_dict() for n in self.lost],
        }
